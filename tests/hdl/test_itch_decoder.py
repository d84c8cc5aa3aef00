"""ItchDecoder (ITCH 5.0 message blocks → records) against its model and proto."""

from __future__ import annotations

import random

import pytest
from feed_streams import (
    TIMING_IDS,
    TIMINGS,
    beats,
    capture_payloads,
    proto_json,
    receive,
    run,
    send,
)

from tick2trade.hdl.feed.itch import COUNTERS, ItchDecoder
from tick2trade.proto import itch
from tick2trade.proto.itch import LENGTHS
from tick2trade.proto.moldudp64 import MoldPacket
from tick2trade.sim.model.feed.itch import Delivery, ItchDecoderModel
from tick2trade.sim.model.feed.records import record_from_bits, record_json

SESSION = b"000010059B"
UNKNOWN = [c for c in b"abcdeGMTZ" if chr(c) not in LENGTHS]


def random_message(rng, code=None):
    if code is None:
        if rng.random() < 0.05:
            return bytes([rng.choice(UNKNOWN)]) + rng.randbytes(rng.randint(11, 70))
        code = rng.choice("AFECXDURHAFECXDUSPQLIJBNOVWKYh")
    return code.encode() + rng.randbytes(LENGTHS[code] - 1)


def block(msg: bytes) -> bytes:
    return len(msg).to_bytes(2, "big") + msg


def random_packet(rng, seq):
    msgs = tuple(random_message(rng) for _ in range(rng.randint(1, 12)))
    return MoldPacket(SESSION, seq, msgs).encode()


def broken_packet(rng, seq):
    """A packet the ingress would refuse, to show the decoder copes on its own."""
    good = [block(random_message(rng)) for _ in range(rng.randint(1, 5))]
    kind = rng.randrange(5)
    if kind == 0:    # known type, wrong length
        bad = block(b"A" + rng.randbytes(rng.choice([20, 36, 44])))
    elif kind == 1:  # shorter than any ITCH message
        bad = block(rng.randbytes(rng.randint(0, 11)))
    elif kind == 2:  # runs past the end of the packet
        bad = block(b"D" + rng.randbytes(18))[:rng.randint(3, 20)]
    elif kind == 3:  # a lone byte of a length prefix
        bad = b"\0"
    else:            # unknown type, long
        bad = block(bytes([UNKNOWN[0]]) + rng.randbytes(200))
    tail = [block(random_message(rng)) for _ in range(rng.randint(0, 3))] if kind != 2 else []
    header = MoldPacket(SESSION, seq, ()).encode()[:18] + (len(good) + 1).to_bytes(2, "big")
    return header + b"".join(good) + bad + b"".join(tail)


def simulate(deliveries, *, idle=0.0, stall=0.0, seed=0):
    dut = ItchDecoder()
    model = ItchDecoderModel()
    expected = [rec for d in deliveries for rec in model.push(d)]
    got = []

    async def producer(ctx):
        rng = random.Random(seed)
        for d in deliveries:
            await send(ctx, dut.i, beats(d.payload, seq=d.seq, skip=d.skip, line=d.line,
                                         timestamp=d.timestamp), rng, idle)

    async def consumer(ctx):
        rng = random.Random(seed + 1)
        for _ in expected:
            rec = await receive(ctx, dut.o, rng, stall)
            got.append(record_from_bits(rec.as_value().value))
        for _ in range(20):
            await ctx.tick()
        assert not ctx.get(dut.o.valid)
        for name in COUNTERS:
            assert ctx.get(getattr(dut, name)) == getattr(model.counters, name), name

    run(dut, producer, consumer)
    assert got == expected
    return model, got


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_random_messages_every_type(idle, stall):
    rng = random.Random(11)
    deliveries, seq = [], 1
    for _ in range(30):
        payload = random_packet(rng, seq)
        count = int.from_bytes(payload[18:20], "big")
        skip = rng.choice([0, 0, 0, rng.randrange(count)])
        deliveries.append(Delivery(payload, seq, skip, rng.randrange(2), rng.getrandbits(64)))
        seq += count
    model, _ = simulate(deliveries, idle=idle, stall=stall, seed=12)
    c = model.counters
    assert c.records > 80 and c.skipped > 20 and c.unknown > 0
    assert c.malformed == c.truncated == 0


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_bad_blocks_drop_the_rest_and_resync(idle, stall):
    rng = random.Random(13)
    deliveries = []
    for n in range(24):
        payload = broken_packet(rng, 100 * n) if n % 2 else random_packet(rng, 100 * n)
        deliveries.append(Delivery(payload, 100 * n))
    model, _ = simulate(deliveries, idle=idle, stall=stall, seed=14)
    c = model.counters
    assert c.malformed >= 3 and c.truncated >= 3 and c.records > 50


def test_every_start_lane_and_straddled_prefix():
    """Message lengths 19..26 walk the block starts over all 8 lanes of a beat."""
    rng = random.Random(15)
    deliveries = []
    for shift in range(8):
        msgs = (b"S" + rng.randbytes(11),) * shift + tuple(random_message(rng) for _ in range(9))
        deliveries.append(Delivery(MoldPacket(SESSION, 7, msgs).encode(), 7))
    model, _ = simulate(deliveries, seed=16)
    assert model.counters.truncated == model.counters.malformed == 0


def test_back_to_back_minimum_messages_never_stall():
    """Full packets of 19-byte D messages at line rate: one beat per cycle, no drop."""
    rng = random.Random(17)
    msgs = tuple(b"D" + rng.randbytes(18) for _ in range(76))  # 20 + 76 * 21 = 1616 bytes
    payload = MoldPacket(SESSION, 1, msgs).encode()
    dut = ItchDecoder()
    items = [b for _ in range(4) for b in beats(payload, seq=1)]
    stalls = []

    async def producer(ctx):
        ctx.set(dut.o.ready, 1)
        for item in items:
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload, item)
            _, _, ready = await ctx.tick().sample(dut.i.ready)
            stalls.append(not ready)
        ctx.set(dut.i.valid, 0)
        for _ in range(4):
            await ctx.tick()
        assert ctx.get(dut.records) == 4 * 76

    run(dut, producer)
    assert not any(stalls)


def test_real_captures_match_proto(captures_dir):
    from conftest import itch_pcaps
    deliveries, want = [], []
    for path in itch_pcaps():
        for ts, _, payload in capture_payloads(path):
            pkt = MoldPacket.decode(payload)
            deliveries.append(Delivery(payload, pkt.sequence, 0, 0, ts))
            for n, raw in enumerate(pkt.messages):
                if chr(raw[0]) in "AFECXDURH":
                    want.append(proto_json(itch.decode(raw), pkt.sequence + n))
    model, got = simulate(deliveries, idle=0.2, stall=0.2, seed=18)
    assert [record_json(r) for r in got] == want
    assert model.counters.skipped > 0 and model.counters.unknown == 0


@pytest.mark.slow
def test_itch_decoder_ecp5_fmax():
    """ECP5-85 speed 8, out of context (the recipe of ``test_net_synth``): 156.25 MHz target.

    Measured 2026-11-27 at 158.2-173.3 MHz over placement seeds 1-3 (docs/performance.md, "Feed
    path"); the floor catches a timing regression.
    """
    from test_net_synth import synthesize

    report = synthesize(ItchDecoder(), "itch_decoder")
    fmax = report["fmax"]["clk"]["achieved"]
    print(f"ItchDecoder on ECP5-85 speed 8: fmax {fmax:.1f} MHz")
    assert fmax >= 145.0, f"fmax {fmax:.1f} MHz < 145 MHz; see {report['folder']}"
