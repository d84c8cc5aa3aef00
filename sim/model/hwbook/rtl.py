"""Run the gateware :class:`~tick2trade.hdl.book.Book` in the Amaranth simulator.

Records go in through the ``i`` stream (with optional random idle cycles),
tops are collected from ``o`` (with optional back-pressure), and at the end
the book is read back through its ``peek_*`` ports: published tops, window
states and levels, as the host would read them from hardware. This is the
engine of ``t2t replay --engine rtl`` for small inputs; it runs a few
thousand cycles a second.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tick2trade.hdl.book import COUNTERS, Book, BookParams

from .model import TobRecord

__all__ = ["RtlRun", "run_book", "TOB_FIELDS"]

TOB_FIELDS = ("locate", "bid_px", "bid_qty", "ask_px", "ask_qty", "bid_exact", "ask_exact",
              "ts", "seq", "hw_ts")


@dataclass
class RtlRun:
    """What one simulation produced."""

    tops: list[TobRecord]
    counters: dict[str, int]
    #: cycles from the first record offered to the book going idle (the C++ harness's figure)
    cycles: int
    #: per top, cycles from its record's input handshake (matched by ``seq``) to the top
    latencies: list[int] = field(default_factory=list)
    #: slot → (bid_px, bid_qty, ask_px, ask_qty, bid_exact, ask_exact), read back at the end
    published: dict[int, tuple] = field(default_factory=dict)
    #: (slot, ask) → [(price, shares, orders)] best first, read back at the end
    levels: dict[tuple[int, int], list[tuple[int, int, int]]] = field(default_factory=dict)
    #: slot → live orders the windows do not hold (below, above, off the grid; both sides)
    outside: dict[int, int] = field(default_factory=dict)
    #: seconds the simulation itself took (the C++ harness reports it)
    wall_seconds: float = 0.0


def run_book(params: BookParams, subscriptions, records, *, idle: float = 0.0,
             stall: float = 0.0, seed: int = 0, read_back: bool = False,
             max_cycles: int = 50_000_000) -> RtlRun:
    """Drive ``records`` through a :class:`Book` subscribed to ``subscriptions`` (slot order)."""
    from amaranth.sim import Simulator

    dut = Book(params)
    rng = random.Random(seed)
    run = RtlRun([], {}, 0)
    state = {"done": False, "cycle": 0}
    accepts: dict[int, int] = {}    # seq -> cycle of the record's input handshake

    async def testbench(ctx):
        for slot, locate in enumerate(subscriptions):
            ctx.set(dut.sub_we, 1)
            ctx.set(dut.sub_slot, slot)
            ctx.set(dut.sub_locate, locate)
            ctx.set(dut.sub_valid, 1)
            await ctx.tick()
        ctx.set(dut.sub_we, 0)
        state["start"] = state["cycle"]
        for r in records:
            while idle and rng.random() < idle:
                await ctx.tick()
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload, r._asdict())
            while not ctx.get(dut.i.ready):
                await ctx.tick()
            accepts[r.seq] = state["cycle"]
            await ctx.tick()
            ctx.set(dut.i.valid, 0)
        quiet = 0
        while quiet < 4:
            await ctx.tick()
            quiet = quiet + 1 if ctx.get(dut.idle) and not ctx.get(dut.o.valid) else 0
        state["busy"] = state["cycle"] - state["start"]
        run.counters = {name: ctx.get(getattr(dut, name)) for name in COUNTERS}
        if read_back:
            await _read_back(ctx, dut, params, len(subscriptions), run)
        state["done"] = True

    async def sink(ctx):
        while True:
            ready = not (stall and rng.random() < stall)
            ctx.set(dut.o.ready, ready)
            if ready and ctx.get(dut.o.valid):
                payload = ctx.get(dut.o.payload)
                run.tops.append(TobRecord(*(int(getattr(payload, f)) for f in TOB_FIELDS)))
                run.latencies.append(state["cycle"] - accepts.get(payload.seq, state["cycle"]))
            await ctx.tick()
            state["cycle"] += 1

    sim = Simulator(dut)
    period = 1e-8
    sim.add_clock(period)
    sim.add_testbench(testbench)
    sim.add_testbench(sink, background=True)
    for chunk in range(2000, max_cycles + 2000, 2000):
        sim.run_until(period * chunk)
        if state["done"]:
            break
    if not state["done"]:
        raise RuntimeError(f"book still busy after {max_cycles} cycles (hang?)")
    run.cycles = state["busy"]
    return run


async def _read_back(ctx, dut, p: BookParams, slots: int, run: RtlRun) -> None:
    """Published tops and every window's levels, through the peek ports."""
    for slot in range(slots):
        ctx.set(dut.peek_tob_addr, slot)
        await ctx.tick()
        q = ctx.get(dut.peek_tob)
        run.published[slot] = (q.bid_px, q.bid_qty, q.ask_px, q.ask_qty, q.bid_exact,
                               q.ask_exact)
        for ask in (0, 1):
            side_addr = slot << 1 | ask
            ctx.set(dut.peek_side_addr, side_addr)
            await ctx.tick()
            await ctx.tick()
            s = ctx.get(dut.peek_side)
            base, bitmap = s.base, s.bitmap
            run.outside[slot] = run.outside.get(slot, 0) + s.low + s.high + s.off_grid
            order = range(p.window) if ask else reversed(range(p.window))
            levels = []
            for i in order:
                if bitmap >> i & 1:
                    tick = base + i
                    ctx.set(dut.peek_level_addr, side_addr << p.window_bits
                            | tick & (p.window - 1))
                    await ctx.tick()
                    await ctx.tick()
                    lvl = ctx.get(dut.peek_level)
                    levels.append((tick * p.tick, lvl.shares, lvl.count))
            run.levels[(slot, ask)] = levels
