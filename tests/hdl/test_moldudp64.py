"""MoldIngress (MoldUDP64 §2, §5 checks + packet buffer) against its model."""

from __future__ import annotations

import random

import pytest
from feed_streams import (
    TIMING_IDS,
    TIMINGS,
    beats,
    capture_payloads,
    join,
    receive,
    run,
    send,
)

from tick2trade.hdl.feed.moldudp64 import MoldIngress
from tick2trade.proto.moldudp64 import END_OF_SESSION, MoldPacket
from tick2trade.sim.model.feed.moldudp64 import MoldIngressModel, UdpPayload

SESSION = b"000010059B"


def random_messages(rng, n):
    return tuple(bytes([rng.choice(b"AFECXDURHSPQ")]) + rng.randbytes(rng.randint(11, 49))
                 for _ in range(n))


def mangle(rng, payload: bytes) -> bytes:
    """One way to break a data packet (MoldUDP64 §5 validation)."""
    kind = rng.randrange(6)
    if kind == 0:  # count says one more block than there is
        count = int.from_bytes(payload[18:20], "big") + 1
        return payload[:18] + count.to_bytes(2, "big") + payload[20:]
    if kind == 1:  # cut short: the last block runs past the end
        return payload[:rng.randrange(20, len(payload))]
    if kind == 2:  # trailing bytes after the last block
        return payload + rng.randbytes(rng.randint(1, 9))
    if kind == 3:  # a block shorter than any ITCH message
        short = rng.randint(0, 11)
        block = short.to_bytes(2, "big") + rng.randbytes(short)
        count = int.from_bytes(payload[18:20], "big") + 1
        return payload[:18] + count.to_bytes(2, "big") + block + payload[20:]
    if kind == 4:  # shorter than the header
        return payload[:rng.randrange(0, 20)] or b"\0"
    return payload[:-1] + bytes([payload[-1]]) + b"\0"  # one byte too many


def random_flow(rng, n):
    seq, flow = 1, []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.1:
            pkt = MoldPacket(SESSION, seq, (), rng.choice([0, END_OF_SESSION]))
        else:
            pkt = MoldPacket(SESSION, seq, random_messages(rng, rng.randint(1, 6)))
            seq += len(pkt.messages)
        payload = pkt.encode()
        if roll > 0.8 and pkt.count:
            payload = mangle(rng, payload)
        flow.append(UdpPayload(payload, line=0, dst_port=26477, timestamp=rng.getrandbits(64),
                               error=rng.random() < 0.1))
    return flow


def udp_beats(p: UdpPayload):
    return beats(p.payload, error=p.error, line=p.line, dst_port=p.dst_port,
                 timestamp=p.timestamp)


def simulate(flow, *, idle, stall, seed, depth=2048, take_prob=0.8):
    dut = MoldIngress(depth=depth, info_depth=128)  # back-to-back payloads: no overflow
    model = MoldIngressModel()
    expected = [b for b in (model.push(p) for p in flow) if b is not None]
    rng = random.Random(seed)
    got = []

    async def producer(ctx):
        for p in flow:
            await send(ctx, dut.i, udp_beats(p), rng, idle)

    async def consumer(ctx):
        crng = random.Random(seed + 1)
        for _ in expected:
            take = crng.random() < take_prob
            ctx.set(dut.o.take, take)
            info = await receive(ctx, dut.o.info, crng, stall)
            chunks = []
            while take:
                beat = await receive(ctx, dut.o.beats, crng, stall)
                chunks.append((beat.data, beat.keep))
                if beat.last:
                    break
            got.append((info, join(chunks) if take else None))
        for _ in range(50):
            await ctx.tick()
        assert not ctx.get(dut.o.info.valid)
        for name in ("packets", "errored", "malformed", "overflowed"):
            assert ctx.get(getattr(dut, name)) == getattr(model.counters, name), name

    run(dut, producer, consumer)
    assert len(got) == len(expected)
    for (info, payload), want in zip(got, expected, strict=True):
        assert info.session.to_bytes(10, "little") == want.session
        assert (info.seq, info.count, info.beats) == (want.seq, want.count, want.beats)
        assert info.timestamp == want.timestamp
        assert (info.dst_port, info.line) == (want.dst_port, want.line)
        if payload is not None:
            assert payload == want.payload
    return model


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_random_packets_match_model(idle, stall):
    rng = random.Random(4)
    flow = random_flow(rng, 60)
    model = simulate(flow, idle=idle, stall=stall, seed=7)
    c = model.counters
    assert c.malformed >= 5 and c.errored >= 1 and c.packets == 60


def test_every_lane_offset_of_block_boundaries():
    """Messages of every length 12..27 put block prefixes on every lane, straddles too."""
    flow = []
    for first in range(12, 28):
        msgs = tuple(bytes([65]) + bytes(range(first - 1 + k)) for k in range(8))
        flow.append(UdpPayload(MoldPacket(SESSION, 1, msgs).encode()))
    model = simulate(flow, idle=0.0, stall=0.0, seed=1, take_prob=1.0)
    assert model.counters.malformed == 0


def test_overflow_is_counted_and_recovers():
    rng = random.Random(9)
    msgs = tuple(b"A" + rng.randbytes(39) for _ in range(30))  # 1280 bytes = 160 beats
    big = [UdpPayload(MoldPacket(SESSION, 1, msgs).encode()) for _ in range(3)]
    dut = MoldIngress(depth=256, info_depth=4)
    small = UdpPayload(MoldPacket(SESSION, 99, random_messages(rng, 1)).encode())

    async def bench(ctx):
        for p in big:  # nobody reads: the second one cannot fit
            await send(ctx, dut.i, udp_beats(p), rng, 0.0)
        await ctx.tick()  # the walk stage registers each beat (one cycle)
        assert ctx.get(dut.overflowed) == 2
        ctx.set(dut.o.take, 0)
        info = await receive(ctx, dut.o.info, rng, 0.0)  # discard the first
        assert info.seq == 1
        await send(ctx, dut.i, udp_beats(small), rng, 0.0)
        ctx.set(dut.o.take, 1)
        info = await receive(ctx, dut.o.info, rng, 0.0)
        assert info.seq == 99
        chunks = []
        while True:
            beat = await receive(ctx, dut.o.beats, rng, 0.0)
            chunks.append((beat.data, beat.keep))
            if beat.last:
                break
        assert join(chunks) == small.payload

    run(dut, bench)


def test_real_capture_payloads(captures_dir):
    from conftest import itch_pcaps
    flow = [UdpPayload(payload, dst_port=port, timestamp=ts)
            for path in itch_pcaps() for ts, port, payload in capture_payloads(path)]
    assert flow
    model = simulate(flow, idle=0.2, stall=0.2, seed=3, take_prob=1.0)
    assert model.counters.malformed == 0


def test_packet_without_last_beat_is_counted_errored():
    rng = random.Random(10)
    cut = UdpPayload(MoldPacket(SESSION, 1, random_messages(rng, 3)).encode())
    good = UdpPayload(MoldPacket(SESSION, 9, random_messages(rng, 2)).encode())
    dut = MoldIngress()
    items = udp_beats(cut)[:-1] + udp_beats(good)  # the first packet loses its last beat

    async def bench(ctx):
        await send(ctx, dut.i, items, rng, 0.0)
        ctx.set(dut.o.take, 1)
        info = await receive(ctx, dut.o.info, rng, 0.0)
        assert info.seq == 9
        assert (ctx.get(dut.packets), ctx.get(dut.errored)) == (2, 1)

    run(dut, bench)


# ---- cut-through: offered at the header, streamed as written, bad tails abort ----------

def long_flow(rng, n):
    """Data packets long enough to die after their header beat, broken in every way."""
    seq, flow = 1, []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.08:
            pkt = MoldPacket(SESSION, seq, (), rng.choice([0, END_OF_SESSION]))
        else:
            pkt = MoldPacket(SESSION, seq, random_messages(rng, rng.randint(1, 9)))
            seq += len(pkt.messages)
        payload = pkt.encode()
        if roll > 0.7 and pkt.count:
            payload = mangle(rng, payload)
        flow.append(UdpPayload(payload, line=0, dst_port=26477, timestamp=rng.getrandbits(64),
                               error=rng.random() < 0.15, aborted=rng.random() < 0.05))
    flow.append(UdpPayload(MoldPacket(SESSION, seq, random_messages(rng, 2)).encode()))
    return flow


def udp_items(flow):
    """Input beats of a flow; an ``aborted`` payload loses its last beat's ``last``."""
    items = []
    for p in flow:
        bs = udp_beats(p)
        if p.aborted:
            bs[-1]["last"] = 0
        items += bs
    return items


async def take_cut_through(ctx, port, rng, stall):
    """Beats of one taken packet until its ``last`` beat or its ``abort`` (done) arrives."""
    chunks = []
    ctx.set(port.abort.ready, 1)
    while True:
        ctx.set(port.beats.ready, rng.random() >= stall)
        _, _, valid, ready, beat, aborted, abort = await ctx.tick().sample(
            port.beats.valid, port.beats.ready, port.beats.payload, port.abort.valid,
            port.abort.payload)
        if valid and ready:
            chunks.append((beat.data, beat.keep))
            if beat.last:
                ctx.set(port.beats.ready, 0)
                return join(chunks), None
        if aborted:
            assert not valid, "abort before the good beats were taken"
            ctx.set(port.beats.ready, 0)
            return join(chunks), abort.done


def simulate_cut_through(flow, *, idle, stall, seed, take_prob=0.8):
    dut = MoldIngress(depth=2048, info_depth=64, cut_through=True)
    model = MoldIngressModel(cut_through=True)
    expected = [b for b in (model.push(p) for p in flow) if b is not None]
    rng = random.Random(seed)
    got = []

    async def producer(ctx):
        await send(ctx, dut.i, udp_items(flow), rng, idle)

    async def consumer(ctx):
        crng = random.Random(seed + 1)
        for want in expected:
            take = crng.random() < take_prob and want.is_data  # control packets: no beats
            ctx.set(dut.o.take, take)
            info = await receive(ctx, dut.o.info, crng, stall)
            got.append((info, await take_cut_through(ctx, dut.o, crng, stall) if take else None))
        for _ in range(50):
            await ctx.tick()
        assert not ctx.get(dut.o.info.valid)
        for name in ("packets", "errored", "malformed", "overflowed", "late_errors"):
            assert ctx.get(getattr(dut, name)) == getattr(model.counters, name), name

    run(dut, producer, consumer)
    assert len(got) == len(expected)
    for (info, taken), want in zip(got, expected, strict=True):
        assert info.session.to_bytes(10, "little") == want.session
        assert (info.seq, info.count, info.timestamp) == (want.seq, want.count, want.timestamp)
        if taken is not None:
            payload, done = taken
            if want.cut is None:
                assert (payload, done) == (want.payload, None)
            else:
                assert (payload, done) == (want.payload[:8 * want.cut[0]], want.cut[1])
    return model


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_cut_through_matches_model(idle, stall):
    flow = long_flow(random.Random(12), 90)
    model = simulate_cut_through(flow, idle=idle, stall=stall, seed=5)
    c = model.counters
    assert c.late_errors >= 10 and c.malformed >= 5 and c.errored >= 5


def test_cut_through_every_lane_offset():
    flow = []
    for first in range(12, 28):
        msgs = tuple(bytes([65]) + bytes(range(first - 1 + k)) for k in range(8))
        flow.append(UdpPayload(MoldPacket(SESSION, 1, msgs).encode(), error=first % 2 == 0))
    model = simulate_cut_through(flow, idle=0.0, stall=0.0, seed=1, take_prob=1.0)
    assert model.counters.late_errors == 8


def test_cut_through_real_capture_payloads(captures_dir):
    from conftest import itch_pcaps
    flow = [UdpPayload(payload, dst_port=port, timestamp=ts)
            for path in itch_pcaps() for ts, port, payload in capture_payloads(path)]
    model = simulate_cut_through(flow, idle=0.2, stall=0.2, seed=3, take_prob=1.0)
    assert model.counters.late_errors == model.counters.malformed == 0


@pytest.mark.slow
@pytest.mark.parametrize("cut_through", [False, True], ids=["store_and_forward", "cut_through"])
def test_ingress_ecp5_fmax(cut_through):
    """ECP5-85 speed 8, out of context (the recipe of ``test_net_synth``): 156.25 MHz target.

    Measured 2026-11-27 over placement seeds 1-3: store-and-forward 173.9-175.9 MHz,
    cut-through 158.3-170.5 MHz (docs/performance.md, "Cut-through ingress"); the floor
    catches a timing regression.
    """
    from test_net_synth import synthesize

    report = synthesize(MoldIngress(cut_through=cut_through),
                        "mold_ingress_ct" if cut_through else "mold_ingress_sf")
    fmax = report["fmax"]["clk"]["achieved"]
    print(f"MoldIngress(cut_through={cut_through}) on ECP5-85 speed 8: fmax {fmax:.1f} MHz")
    assert fmax >= 145.0, f"fmax {fmax:.1f} MHz < 145 MHz; see {report['folder']}"
