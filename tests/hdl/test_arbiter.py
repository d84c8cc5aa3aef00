"""MoldArbiter (MoldUDP64 §5 sequencing, A/B arbitration) against its model.

Two MoldIngress blocks feed the arbiter as in the feed path; lines are
driven by independent testbenches (so their packets interleave at random,
and line B lags), the model sees each line's queue.
"""

from __future__ import annotations

import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from feed_streams import TIMING_IDS, TIMINGS, beats, join, receive, run, send

from tick2trade.hdl.feed.arbiter import COUNTERS, MoldArbiter
from tick2trade.hdl.feed.moldudp64 import MoldIngress
from tick2trade.proto.moldudp64 import END_OF_SESSION, MoldPacket
from tick2trade.sim.model.feed.arbiter import MoldArbiterModel
from tick2trade.sim.model.feed.moldudp64 import MoldIngressModel, UdpPayload

SESSION = b"000010059B"
OTHER = b"000010060A"


class Lines(wiring.Component):
    """Ingress per line + arbiter, wired as the feed path wires them."""

    def __init__(self, lines=2, timeout=3000):
        self.ingress = [MoldIngress(depth=2048, info_depth=128) for _ in range(lines)]
        self.arbiter = MoldArbiter(lines=lines, timeout=timeout)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        for n, ing in enumerate(self.ingress):
            m.submodules[f"ingress{n}"] = ing
            wiring.connect(m, ing.o, self.arbiter.a if n == 0 else self.arbiter.b)
        m.submodules.arbiter = self.arbiter
        return m


def packet(seq, n, rng, session=SESSION):
    msgs = tuple(b"A" + rng.randbytes(35) for _ in range(n))
    return MoldPacket(session, seq, msgs)


def stream_of(n_packets, rng, start=1):
    seq, out = start, []
    for _ in range(n_packets):
        p = packet(seq, rng.randint(1, 4), rng)
        out.append(p)
        seq += p.count
    return out


def payloads(packets, line):
    # the same timestamp on both copies, so which copy wins does not show in the output
    return [UdpPayload(p.encode(), line=line, timestamp=p.sequence * 1000 + p.count)
            for p in packets]


def simulate(lines_in, *, idle=0.0, stall=0.0, seed=0, timeout=3000, skew=0,
             seq_check=True, b_enable=True):
    """Drive each line's payloads; compare deliveries, gaps and counters with the model."""
    n_lines = len(lines_in)
    dut = Lines(n_lines, timeout)
    arb = dut.arbiter
    queues = []
    for flow in lines_in:
        ingress_model = MoldIngressModel()
        queues.append([b for b in map(ingress_model.push, flow) if b is not None])
    model = MoldArbiterModel(lines=n_lines, seq_check=seq_check, b_enable=b_enable)
    model.run(queues)
    got, gaps = [], []

    def line_driver(n):
        async def drive(ctx):
            rng = random.Random(seed * 10 + n)
            for _ in range(skew * n):
                await ctx.tick()
            for p in lines_in[n]:
                await send(ctx, dut.ingress[n].i,
                           beats(p.payload, error=p.error, line=p.line, dst_port=p.dst_port,
                                 timestamp=p.timestamp), rng, idle)
        drive.__name__ = f"line{n}"
        return drive

    async def gap_watch(ctx):
        ctx.set(arb.gap.ready, 1)
        while True:
            _, _, valid, event = await ctx.tick().sample(arb.gap.valid, arb.gap.payload)
            if valid:
                gaps.append((event.first, event.count))

    async def consumer(ctx):
        ctx.set(arb.seq_check, seq_check)
        if n_lines == 2:
            ctx.set(arb.b_enable, b_enable)
        rng = random.Random(seed + 99)
        for _ in model.delivered:
            chunks, head = [], None
            while True:
                beat = await receive(ctx, arb.o, rng, stall)
                head = head or (beat.seq, beat.skip, beat.timestamp)
                chunks.append((beat.data, beat.keep))
                if beat.last:
                    break
            got.append((join(chunks), *head))
        for _ in range(timeout + 200):
            await ctx.tick()
        assert not ctx.get(arb.o.valid)
        for name in COUNTERS:
            assert ctx.get(getattr(arb, name)) == getattr(model.counters, name), name
        assert ctx.get(arb.expected) == model.expected
        assert ctx.get(arb.missing) == model.counters.missing

    run(dut, *[line_driver(n) for n in range(n_lines)], consumer, processes=[gap_watch],
        max_cycles=400_000)
    want = [(d.payload, d.seq, d.skip, d.timestamp) for d in model.delivered]
    assert got == want
    assert gaps == model.gaps
    return model


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_ab_random_losses_are_seamless(idle, stall):
    rng = random.Random(1)
    packets = stream_of(40, rng)
    # the first packet synchronises the arbiter (policy), so both lines carry it
    lose_a = {i for i in range(1, len(packets)) if rng.random() < 0.25}
    lose_b = {i for i in range(1, len(packets)) if rng.random() < 0.25 and i not in lose_a}
    a = payloads([p for i, p in enumerate(packets) if i not in lose_a], 0)
    b = payloads([p for i, p in enumerate(packets) if i not in lose_b], 1)
    model = simulate([a, b], idle=idle, stall=stall, seed=2, skew=150)
    assert model.counters.gaps == 0
    assert model.expected == packets[-1].next_sequence
    assert model.counters.delivered == len(packets)


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_both_lines_lose_the_same_packet(idle, stall):
    rng = random.Random(3)
    packets = stream_of(20, rng)
    both = {5, 6, 12}
    lose_a = both | {2, 9}
    lose_b = both | {3, 15}
    a = payloads([p for i, p in enumerate(packets) if i not in lose_a], 0)
    b = payloads([p for i, p in enumerate(packets) if i not in lose_b], 1)
    model = simulate([a, b], idle=idle, stall=stall, seed=4, skew=60)
    assert model.gaps == [(packets[5].sequence, packets[5].count + packets[6].count),
                          (packets[12].sequence, packets[12].count)]


def test_single_line_gaps_duplicates_overlaps_heartbeats():
    rng = random.Random(5)
    p = stream_of(8, rng)
    p[3] = packet(p[3].sequence, 3, rng)  # several blocks, so the overlap skips some
    p[4:] = stream_of(4, rng, start=p[3].next_sequence)
    retrans = MoldPacket(SESSION, p[3].sequence + 1, p[3].messages[1:] + p[4].messages)
    flow = [p[0], p[1], p[1], p[3], retrans, p[4],                       # dup, gap, overlap
            MoldPacket(SESSION, p[5].sequence, (), 0),                    # heartbeat at next
            MoldPacket(SESSION, p[6].sequence, (), 0),                    # ahead: tail gap
            p[6], p[7], MoldPacket(SESSION, p[7].next_sequence, (), END_OF_SESSION),
            packet(1, 2, rng, session=OTHER), packet(3, 1, rng, session=OTHER),  # new session
            packet(0, 2, rng)]                                            # unsequenced
    model = simulate([payloads(flow, 0)], seed=6)
    c = model.counters
    assert (c.duplicates, c.overlaps, c.heartbeats, c.end_of_session) == (2, 1, 2, 1)
    assert (c.session_changes, c.unsequenced) == (1, 1)
    assert c.gaps == 2 and model.session == OTHER


def test_timeout_releases_a_wait_for_the_silent_line():
    rng = random.Random(7)
    packets = stream_of(6, rng)
    a = payloads([p for i, p in enumerate(packets) if i != 2], 0)
    model = simulate([a, []], seed=8, timeout=400)
    assert model.gaps == [(packets[2].sequence, packets[2].count)]


def test_sequence_checking_off_and_line_b_disabled():
    rng = random.Random(9)
    packets = stream_of(6, rng)
    a = payloads(packets[::-1], 0)
    b = payloads(packets, 1)
    model = simulate([a, b], seed=10, seq_check=False, b_enable=False)
    assert model.counters.unsequenced == len(packets) and model.counters.gaps == 0
