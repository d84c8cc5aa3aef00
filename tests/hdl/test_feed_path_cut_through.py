"""Cut-through FeedLayer (ingress × 2 → arbiter → decoder) against the chained models.

Packets are broken after their header went out — bad FCS, truncated,
a malformed tail, a block count that disagrees — so records have already
left when the packet turns bad; the records, the gap events and every
counter must equal the models'. Line A leads line B (first copy wins), so
when A's packet dies midway B's copy supplies the rest (an overlap), and
when both die the rest is a gap. For good packets the record sequence is
the store-and-forward one.
"""

from __future__ import annotations

import random

import pytest
from feed_streams import TIMING_IDS, TIMINGS, beats, receive, run, send

from tick2trade.hdl.feed.arbiter import COUNTERS as ARBITER_COUNTERS
from tick2trade.hdl.feed.itch import COUNTERS as DECODER_COUNTERS
from tick2trade.hdl.feed.layer import LINES, FeedLayer
from tick2trade.hdl.feed.moldudp64 import COUNTERS as INGRESS_COUNTERS
from tick2trade.proto.moldudp64 import MoldPacker, MoldPacket
from tick2trade.sim.model.feed.arbiter import MoldArbiterModel
from tick2trade.sim.model.feed.itch import ItchDecoderModel
from tick2trade.sim.model.feed.moldudp64 import MoldIngressModel, UdpPayload
from tick2trade.sim.model.feed.records import record_from_bits

SESSION = b"GENERATED1"


def generated_packets(messages=500, size=300, session=SESSION):
    from tick2trade.sim.model.generator import FlowConfig, FlowGenerator
    flow = (m for _, m in FlowGenerator(FlowConfig(messages, 8, 3)))
    return list(MoldPacker(session, 1, max_payload=size).pack(flow))


def break_late(rng: random.Random, packet: MoldPacket) -> UdpPayload:
    """The packet, broken so that it turns bad only after some of its messages went out."""
    payload = packet.encode()
    kind = rng.randrange(5)
    if kind == 0:    # bad FCS: the last beat says error
        return UdpPayload(payload, error=True)
    if kind == 1:    # truncated frame, flagged by the MAC/UDP stage
        return UdpPayload(payload[:rng.randrange(len(payload) // 2, len(payload))], error=True)
    if kind == 2:    # truncated without a flag: the last block runs past the end
        return UdpPayload(payload[:rng.randrange(len(payload) // 2, len(payload) - 1)])
    if kind == 3:    # malformed tail: bytes after the last block
        return UdpPayload(payload + rng.randbytes(rng.randint(1, 13)))
    count = packet.count - rng.choice([1, -1])   # the header's count disagrees
    return UdpPayload(payload[:18] + count.to_bytes(2, "big") + payload[20:])


def line_payloads(packets, line, broken):
    out = []
    for i, p in enumerate(packets):
        u = broken[i] if i in broken else UdpPayload(p.encode())
        out.append(UdpPayload(u.payload, line=line, dst_port=26477, timestamp=p.sequence,
                              error=u.error, aborted=u.aborted))
    return out


def models(lines, *, cut_through=True):
    ingress = [MoldIngressModel(cut_through=cut_through) for _ in lines]
    arbiter = MoldArbiterModel(lines=len(lines))
    arbiter.run([[b for b in map(ingress[n].push, flow) if b] for n, flow in enumerate(lines)])
    decoder = ItchDecoderModel()
    records = [r for d in arbiter.delivered for r in decoder.push(d)]
    counters = {}
    for n, ing in enumerate(ingress):
        counters.update({f"{LINES[n]}_{k}": getattr(ing.counters, k) for k in INGRESS_COUNTERS})
    counters.update({k: getattr(arbiter.counters, k) for k in ARBITER_COUNTERS})
    counters.update({k: getattr(decoder.counters, k) for k in DECODER_COUNTERS})
    counters["missing"] = arbiter.counters.missing
    return records, arbiter.gaps, counters


def simulate(lines, *, idle, stall, lag=300, cut_through=True, timeout=2000):
    """Drive the lines into a FeedLayer; return (records, gap events, counters)."""
    dut = FeedLayer(lines=len(lines), depth=1024, info_depth=64, timeout=timeout,
                    cut_through=cut_through)
    want, _, _ = models(lines, cut_through=cut_through)
    got, gaps, counters = [], [], {}

    def driver(n):
        async def drive(ctx):
            drng = random.Random(n)
            for _ in range(lag * n):  # line B lags
                await ctx.tick()
            items = []
            for p in lines[n]:
                bs = beats(p.payload, error=p.error, line=n, dst_port=p.dst_port,
                           timestamp=p.timestamp)
                if p.aborted:
                    bs[-1]["last"] = 0
                items += bs
            await send(ctx, getattr(dut, LINES[n]), items, drng, idle)
        drive.__name__ = f"line_{LINES[n]}"
        return drive

    async def gap_watch(ctx):
        ctx.set(dut.gap.ready, 1)
        while True:
            _, _, valid, event = await ctx.tick().sample(dut.gap.valid, dut.gap.payload)
            if valid:
                gaps.append((event.first, event.count))

    async def consumer(ctx):
        crng = random.Random(5)
        for _ in want:
            rec = await receive(ctx, dut.o, crng, stall)
            got.append(record_from_bits(rec.as_value().value))
        for _ in range(timeout + 500):
            await ctx.tick()
        assert not ctx.get(dut.o.valid)
        names = [f"{LINES[n]}_{k}" for n in range(len(lines)) for k in INGRESS_COUNTERS]
        for name in names + list(ARBITER_COUNTERS + DECODER_COUNTERS) + ["missing"]:
            counters[name] = ctx.get(getattr(dut.stats, name))

    run(dut, *[driver(n) for n in range(len(lines))], consumer, processes=[gap_watch],
        max_cycles=400_000)
    return got, gaps, counters


def check(lines, **timing):
    want, want_gaps, want_counters = models(lines)
    got, gaps, counters = simulate(lines, **timing)
    assert got == want
    assert gaps == want_gaps
    assert counters == want_counters
    return want, want_gaps, want_counters


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_one_line_bad_tails_after_records_went_out(idle, stall):
    rng = random.Random(31)
    packets = generated_packets(250)
    broken = {i: break_late(rng, packets[i]) for i in range(1, len(packets))
              if rng.random() < 0.3}
    records, gaps, counters = check([line_payloads(packets, 0, broken)], idle=idle, stall=stall)
    assert counters["a_late_errors"] == counters["cut_short"] >= 8
    assert gaps and counters["missing"] == sum(n for _, n in gaps)
    # the records that did go out are those of the store-and-forward stream, in order
    whole, _, _ = models([line_payloads(packets, 0, {})], cut_through=False)
    assert len(records) > len(whole) // 2 and set(records) <= set(whole)


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_line_a_dies_midway_line_b_supplies_the_rest(idle, stall):
    rng = random.Random(32)
    packets = generated_packets(220)
    dies_a = {i: break_late(rng, packets[i]) for i in range(1, len(packets), 3)}
    dies_b = {i: break_late(rng, packets[i]) for i in range(2, len(packets), 7) if i % 3 != 1}
    both = {i: break_late(rng, packets[i]) for i in (4, 10)}   # both die on the same packet
    lines = [line_payloads(packets, 0, dies_a | both), line_payloads(packets, 1, dies_b | both)]
    records, gaps, counters = check(lines, idle=idle, stall=stall)
    assert counters["overlaps"] >= 5 and counters["cut_short"] >= 10
    missing = {p.sequence + k for i in both for p in [packets[i]] for k in range(p.count)}
    assert 1 <= len(gaps) <= 2 and {first for first, _ in gaps} <= missing
    # every message of a packet only one line lost went out, in order, exactly once
    whole, _, _ = models([line_payloads(packets, 0, {})], cut_through=False)
    assert [r for r in whole if r.seq not in missing] == [
        r._replace(line=0) for r in records if r.seq not in missing]


def test_aborted_packet_and_unsequenced_death():
    rng = random.Random(33)
    packets = generated_packets(120)
    cut = UdpPayload(packets[3].encode(), aborted=True)   # no last beat: the next ends it
    unseq = [MoldPacket(SESSION, 0, p.messages) for p in generated_packets(40, 200)]
    lines = [line_payloads(packets, 0, {3: cut, 5: break_late(rng, packets[5])})
             + line_payloads(unseq, 0, {1: UdpPayload(unseq[1].encode(), error=True)})]
    _, _, counters = check(lines, idle=0.0, stall=0.0)
    assert counters["a_late_errors"] == 3 and counters["a_errored"] >= 2


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_good_packets_give_the_store_and_forward_records(idle, stall):
    packets = generated_packets(150)
    lines = [line_payloads(packets, 0, {})]
    saf, _, _ = simulate(lines, idle=idle, stall=stall, cut_through=False)
    ct, _, counters = simulate(lines, idle=idle, stall=stall)
    assert ct == saf and len(ct) > 100
    assert counters["a_late_errors"] == counters["cut_short"] == 0


def run_feed_path(frames, *, cut_through, seed=1, bad_fcs=()):
    """XGMII (lane-4 starts, random idles, random back-pressure) → FeedPathTop → records."""
    from amaranth.sim import Simulator

    from tick2trade.sim.feed_engine import replay_config
    from tick2trade.sim.feed_top import FeedPathTop
    from tick2trade.sim.model.net import with_fcs
    from tick2trade.sim.model.xgmii import encode_xgmii

    wires = [with_fcs(f) for f in frames]
    wires = [w[:-1] + bytes([w[-1] ^ 0x55]) if i in bad_fcs else w for i, w in enumerate(wires)]
    rng = random.Random(seed)
    columns = encode_xgmii(wires, lane4=True, extra_idle=6, rng=rng)
    idle = (int.from_bytes(b"\x07" * 8, "little"), 0xFF)
    dut = FeedPathTop(replay_config(frames), cut_through=cut_through)
    got, counters = [], {}

    async def bench(ctx):
        for data, ctrl in columns + [idle] * 400:
            ctx.set(dut.xgmii.data, data)
            ctx.set(dut.xgmii.ctrl, ctrl)
            ctx.set(dut.o.ready, rng.random() < 0.8)
            _, _, valid, ready, rec = await ctx.tick().sample(dut.o.valid, dut.o.ready,
                                                               dut.o.payload)
            if valid and ready:
                got.append(record_from_bits(rec.as_value().value)._replace(hw_ts=0))
        for name in ("a_late_errors", "a_errored", "cut_short", "records", "gaps"):
            counters[name] = ctx.get(getattr(dut.stats, name))

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    from tick2trade.sim.model.feed.path import FeedPathModel
    model = FeedPathModel(replay_config(frames), cut_through=cut_through)
    assert got == model.run(wires)
    for name, value in counters.items():
        assert model.counters()[f"stats__{name}"] == value, name
    return got, counters


def test_every_real_capture_through_the_feed_path(captures_dir):
    """Every capture's frames through FeedPath(cut_through=True): the store-and-forward
    records exactly; then the same with bad FCS on some frames, as the models say."""
    from conftest import itch_pcaps

    from tick2trade.proto.pcap import iter_records
    frames = [rec.frame for path in itch_pcaps() for rec in iter_records(path)]
    saf, _ = run_feed_path(frames, cut_through=False)
    ct, counters = run_feed_path(frames, cut_through=True)
    assert ct == saf and len(ct) >= 70 and counters["a_late_errors"] == 0
    big = max(range(len(frames)), key=lambda i: len(frames[i]))
    _, counters = run_feed_path(frames, cut_through=True, bad_fcs={big, 5, 40})
    assert counters["a_late_errors"] == counters["cut_short"] == 3
