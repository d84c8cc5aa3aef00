"""EventPacker vs the model's rule (``EventSequencer``): the same EVENTS datagrams, byte for byte.

Order reports, gaps and counter snapshots arrive at random cycles (several in
one cycle too) while the mask changes; with a slow host (back-pressure) the
queues overflow: lost events are counted, their sequence numbers skipped,
and nothing upstream ever waits.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from amaranth.sim import Simulator
from feed_streams import join

from tick2trade.hdl.csr.events import EventPacker
from tick2trade.hdl.order.layouts import OrderReport
from tick2trade.hdl.risk.layouts import Reason
from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif
from tick2trade.proto import control as c
from tick2trade.sim.model.control import EventSequencer, report_event

COUNTERS_ADDR, LINE, REF_BASE = 0x1C0, 1, 0xFFFF_FFF0
ALL = sum(1 << int(t) for t in c.EventType)


def random_report(rng):
    request = SimpleNamespace(
        kind=rng.choice(list(OrderKind)).value, side=rng.choice(list(Side)).value,
        tif=rng.choice(list(Tif)).value,
        reason=rng.choice([Reason.SENT.value] * 3 + [r.value for r in Reason]),
        slot=rng.getrandbits(8), locate=rng.getrandbits(16), price=rng.getrandbits(32),
        shares=rng.getrandbits(32), token=rng.getrandbits(32), orig_token=rng.getrandbits(32),
        trigger_ts=rng.getrandbits(48), trigger_seq=rng.getrandbits(64),
        trigger_hw_ts=rng.getrandbits(64), stamp_tob=rng.getrandbits(64),
        stamp_strategy=rng.getrandbits(64), stamp_risk=rng.getrandbits(64))
    return request, rng.getrandbits(32), rng.getrandbits(64)


def report_value(request, number, stamp_encoder):
    fields = vars(request).copy()
    fields.update(kind=OrderKind(fields["kind"]), side=Side(fields["side"]),
                  tif=Tif(fields["tif"]), reason=Reason(fields["reason"]))
    return OrderReport.const({"request": fields, "number": number,
                              "stamp_encoder": stamp_encoder})


def schedule(rng, cycles, density):
    """Per cycle: (report or None, gap (first, count) or None, snapshot, mask, counter words)."""
    plan, mask, words = [], ALL, (1, 2, 3)
    for _ in range(cycles):
        if rng.random() < 0.01:
            mask = rng.choice([ALL, 0, 1 << c.EventType.GAP | 1 << c.EventType.ORDER_SENT,
                               1 << c.EventType.ORDER_REJECTED | 1 << c.EventType.COUNTERS])
        if rng.random() < 0.05:
            words = tuple(rng.getrandbits(32) for _ in range(3))
        report = random_report(rng) if rng.random() < density else None
        gap = ((rng.getrandbits(40), rng.randint(1, 1000)) if rng.random() < density / 3
               else None)
        plan.append((report, gap, rng.random() < density / 4, mask, words))
    return plan


def expected(plan):
    """(seq, datagram) of every event the mask takes, in the packer's order."""
    seq, out = EventSequencer(), []
    for t, (report, gap, _, mask, _) in enumerate(plan):
        if report is not None:
            out.append(seq.take(report_event(*report, ref_base=REF_BASE), mask))
        if gap is not None:
            first, count = gap
            out.append(seq.take(c.Gap(LINE, first, first + count, t), mask))
        if t and plan[t - 1][2]:     # asked the cycle before: taken now, words of this cycle
            out.append(seq.take(c.Counters(COUNTERS_ADDR, plan[t][4]), mask))
    return [e for e in out if e is not None]


def simulate(plan, *, stall, seed):
    dut = EventPacker(line=LINE, counters=3, counters_addr=COUNTERS_ADDR, order_depth=4)
    rng = random.Random(seed)
    datagrams, state, done = [], {}, []

    async def drive(ctx):
        ctx.set(dut.ref_base, REF_BASE)
        for t, (report, gap, snap, mask, words) in enumerate(plan):
            ctx.set(dut.now, t)
            ctx.set(dut.mask, mask)
            for i, w in enumerate(words):
                ctx.set(dut.counters[i], w)
            ctx.set(dut.orders.valid, report is not None)
            if report is not None:
                ctx.set(dut.orders.payload, report_value(*report))
            ctx.set(dut.gap.valid, gap is not None)
            if gap is not None:
                ctx.set(dut.gap.payload, {"first": gap[0], "count": gap[1]})
            ctx.set(dut.snapshot, snap)
            await ctx.tick()
        ctx.set(dut.orders.valid, 0)
        ctx.set(dut.gap.valid, 0)
        ctx.set(dut.snapshot, 0)
        done.append(True)

    async def collect(ctx):
        got, quiet = [], 0
        while quiet < 200:
            ready = rng.random() >= stall
            ctx.set(dut.o.ready, ready)
            *_, valid, beat = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            quiet += bool(done)
            if ready and valid:
                quiet = 0
                assert beat.first == (not got)
                got.append((beat.data, beat.keep))
                if beat.last:
                    datagrams.append(join(got))
                    got = []
        state.update(sent=ctx.get(dut.sent), dropped=ctx.get(dut.dropped))

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    return datagrams, state


def test_sparse_events_equal_the_model_byte_for_byte():
    plan = schedule(random.Random(1), 3000, density=0.02)
    want = expected(plan)
    got, state = simulate(plan, stall=0.0, seed=1)
    assert got == [d for _, d in want]
    assert state == {"sent": len(want), "dropped": 0}
    kinds = {type(e) for d in got for e in c.decode(d)[1].events}
    assert kinds == {c.OrderEvent, c.Gap, c.Counters}


@pytest.mark.parametrize("stall", [0.0, 0.6], ids=["ready", "slow-host"])
def test_bursts_drop_and_count_and_the_seq_shows_the_hole(stall):
    plan = schedule(random.Random(2), 1500, density=0.4)
    want = dict(expected(plan))
    got, state = simulate(plan, stall=stall, seed=2)
    seqs = [c.decode(d)[1].seq for d in got]
    assert seqs == sorted(seqs)
    for s, d in zip(seqs, got, strict=True):
        assert d == want[s]                       # byte for byte, at the same number
    assert state["sent"] == len(got) and state["sent"] + state["dropped"] == len(want)
    assert state["dropped"] > 0


def test_periodic_snapshots():
    dut = EventPacker(counters=2, counters_addr=0x40)
    got = []

    async def bench(ctx):
        ctx.set(dut.mask, 1 << c.EventType.COUNTERS)
        ctx.set(dut.period, 50)
        ctx.set(dut.counters[0], 7)
        ctx.set(dut.counters[1], 9)
        ctx.set(dut.o.ready, 1)
        buf = []
        for _ in range(230):
            await ctx.tick()
            if ctx.get(dut.o.valid):
                buf.append((ctx.get(dut.o.payload.data), ctx.get(dut.o.payload.keep)))
                if ctx.get(dut.o.payload.last):
                    got.append(join(buf))
                    buf = []

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    assert got == [c.encode(c.Events(k, (c.Counters(0x40, (7, 9)),))) for k in range(4)]


def test_the_model_device_sends_the_same_datagrams():
    """``ControlServer`` (the Python device) streams what the packer streams."""
    import asyncio
    import socket

    from tick2trade.sim.model.control import ControlServer

    rng = random.Random(6)
    events = [report_event(*random_report(rng), ref_base=REF_BASE), c.Gap(0, 5, 9, 77),
              c.Counters(COUNTERS_ADDR, (1, 2, 3)), report_event(*random_report(rng), ref_base=0)]
    mask = ALL & ~(1 << c.EventType.COUNTERS)
    seq = EventSequencer()
    want = [d for d in (seq.take(e, mask) for e in events) if d is not None]

    async def main():
        server = ControlServer()
        host, port = await server.start()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(2)
        sock.bind(("127.0.0.1", 0))
        loop = asyncio.get_running_loop()
        try:
            sock.sendto(c.encode(c.Subscribe(mask), 1), (host, port))
            await loop.run_in_executor(None, sock.recv, 2048)
            server.publish(*events)
            return [await loop.run_in_executor(None, sock.recv, 2048) for _ in want]
        finally:
            sock.close()
            await server.stop()

    assert asyncio.run(main()) == [d for _, d in want]
