"""Drive the gateware decision path in the Amaranth simulator (docs/strategy.md).

:func:`run_decision_path` writes the tables, then feeds a list of events in
order, with optional random idle cycles and back-pressure: top-of-book
records (anything with the :class:`~tick2trade.hdl.book.layouts.TopOfBook`
fields) and the inputs of :mod:`~tick2trade.sim.model.strategy.events`. It returns the
decisions as the model's :class:`~tick2trade.sim.model.strategy.decision.Decision`
with, for each, the cycles from the record's acceptance to the order leaving.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from amaranth.hdl import Elaboratable, Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from tick2trade.hdl.book.layouts import TopOfBook
from tick2trade.hdl.order.encoder import OuchEncoder
from tick2trade.hdl.risk.layouts import COUNTERS, Reason
from tick2trade.hdl.strategy.decision import DecisionPath
from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif
from tick2trade.sim.model.strategy.decision import Decision
from tick2trade.sim.model.strategy.events import ClearTrip, Exec, Gap, SetPosition

__all__ = ["RtlRun", "DecisionWithEncoder", "run_decision_path"]

_TOB_FIELDS = tuple(name for name, _ in TopOfBook.as_shape())


@dataclass
class RtlRun:
    decisions: list
    cycles: list           # per decision: record accepted → order handed out (or first byte)
    stages: list           # per decision: (strategy, risk, encoder) cycles, see docs/strategy.md
    counters: dict
    total_cycles: int      # first event presented → everything decided


def _enum(cls, value):
    return value if isinstance(value, cls) else cls(int(value))


def _decision(p) -> Decision:
    return Decision(kind=_enum(OrderKind, p.kind), side=_enum(Side, p.side),
                    tif=_enum(Tif, p.tif), reason=_enum(Reason, p.reason), slot=int(p.slot),
                    locate=int(p.locate), price=int(p.price), shares=int(p.shares),
                    token=int(p.token), orig_token=int(p.orig_token),
                    trigger_ts=int(p.trigger_ts), trigger_seq=int(p.trigger_seq),
                    trigger_hw_ts=int(p.trigger_hw_ts))


class DecisionWithEncoder(Elaboratable):
    """The decision path feeding the OUCH encoder, as the full pipeline will (simulation)."""

    def __init__(self, symbols: int):
        self.decision = DecisionPath(symbols)
        self.encoder = OuchEncoder()

    def elaborate(self, platform):
        m = Module()
        m.submodules.decision = self.decision
        m.submodules.encoder = self.encoder
        wiring.connect(m, self.decision.orders, self.encoder.requests)
        m.d.comb += self.encoder.now.eq(self.decision.now)
        return m


def _stages(request, leaves: int) -> tuple[int, int, int]:
    """Cycles in the strategy (record in → decided), risk (→ handed out), encoder (→ leaves)."""
    tob, strategy, risk = (int(request.stamp_tob), int(request.stamp_strategy),
                           int(request.stamp_risk))
    return strategy - tob, risk - strategy, leaves - risk


def run_decision_path(strategy_rows, risk_rows, glob: dict, events, *, symbols: int = 64,
                      idle: float = 0.0, stall: float = 0.0, seed: int = 0,
                      max_cycles: int | None = None, encoder: bool = False) -> RtlRun:
    """Simulate ``events`` through a fresh :class:`DecisionPath` (rows by slot).

    With ``encoder``, the decisions go on into the OUCH encoder and are read
    from its reports: ``cycles`` then runs to the first byte of the order's
    packet (a reject: to its consumption).
    """
    top = DecisionWithEncoder(symbols) if encoder else None
    dut = top.decision if encoder else DecisionPath(symbols)
    rng = random.Random(seed)
    out, cycles, stages = [], [], []
    state = {"done": False, "now": 0, "counters": {}}
    budget = max_cycles or 2_000 + 200 * len(events)

    async def clock(ctx):
        async for _ in ctx.tick():
            state["now"] += 1
            ctx.set(dut.now, state["now"])

    async def feeder(ctx):
        ctx.set(dut.glob, glob)
        for table, rows in (("strategy", strategy_rows), ("risk", risk_rows)):
            for slot, row in enumerate(rows):
                port = getattr(dut, f"{table}_table")
                ctx.set(port.en, 1)
                ctx.set(port.addr, slot)
                ctx.set(port.data, row)
                await ctx.tick()
                ctx.set(port.en, 0)
        state["start"] = state["now"]
        for ev in events:
            while rng.random() < idle:
                await ctx.tick()
            if isinstance(ev, Gap):
                await ctx.tick().until(dut.idle)
                ctx.set(dut.gap, 1)
                await ctx.tick()
                ctx.set(dut.gap, 0)
            elif isinstance(ev, ClearTrip):
                await ctx.tick().until(dut.idle)
                ctx.set(dut.clear_trip, 1)
                await ctx.tick()
                ctx.set(dut.clear_trip, 0)
            elif isinstance(ev, SetPosition):
                ctx.set(dut.position_table.en, 1)
                ctx.set(dut.position_table.addr, ev.slot)
                ctx.set(dut.position_table.data, ev.position)
                await ctx.tick()
                ctx.set(dut.position_table.en, 0)
            elif isinstance(ev, Exec):
                ctx.set(dut.executed.valid, 1)
                ctx.set(dut.executed.payload, {"locate": ev.locate, "side": ev.side,
                                               "shares": ev.shares, "price": ev.price})
                await ctx.tick().until(dut.executed.ready)
                ctx.set(dut.executed.valid, 0)
            else:
                ctx.set(dut.tob.valid, 1)
                ctx.set(dut.tob.payload, {name: getattr(ev, name) for name in _TOB_FIELDS})
                await ctx.tick().until(dut.tob.ready)
                ctx.set(dut.tob.valid, 0)
        await ctx.tick().until(dut.idle)
        state["end"] = state["now"]
        for _ in range(16 if encoder else 1):  # the encoder's last packet
            await ctx.tick()
        state["counters"] = {name: ctx.get(dut.counters[i]) for i, name in enumerate(COUNTERS)}
        state["done"] = True

    async def reports(ctx):
        enc = top.encoder
        while True:
            ready = rng.random() >= stall
            ctx.set(enc.packets.ready, ready)
            *_, valid, report = await ctx.tick().sample(enc.reports.valid, enc.reports.payload)
            if valid:
                req = report.request
                out.append(_decision(req))
                cycles.append(int(report.stamp_encoder) - int(req.stamp_tob))
                stages.append(_stages(req, int(report.stamp_encoder)))

    async def receiver(ctx):
        while True:
            ready = rng.random() >= stall
            ctx.set(dut.orders.ready, ready)
            *_, valid, payload = await ctx.tick().sample(dut.orders.valid, dut.orders.payload)
            if ready and valid:
                out.append(_decision(payload))
                cycles.append(int(payload.stamp_risk) - int(payload.stamp_tob))
                stages.append(_stages(payload, int(payload.stamp_risk)))

    sim = Simulator(top if encoder else dut)
    period = 1e-8
    sim.add_clock(period)
    sim.add_testbench(feeder)
    sim.add_testbench(reports if encoder else receiver, background=True)
    sim.add_process(clock)
    step = 2_000
    for chunk in range(step, budget + step, step):
        sim.run_until(period * chunk)
        if state["done"]:
            break
    if not state["done"]:
        raise TimeoutError(f"decision path still busy after {budget} cycles (hang?)")
    return RtlRun(out, cycles, stages, state["counters"], state["end"] - state["start"])
