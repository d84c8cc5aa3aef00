"""cocotb testbench: feed records through the gateware :class:`~tick2trade.hdl.book.Book`.

Run under Verilator by ``test_book_cocotb.py`` through
:func:`tick2trade.sim.cocotb.runner.run_cocotb`. The case file named by
``T2T_BOOK_CASE`` (JSON, written by the pytest side) holds the subscribed
locates (slot order), the :class:`~tick2trade.hdl.feed.layouts.FeedRecord`
payloads as integers, the probabilities of an idle input cycle and of a
stalled output cycle, a seed, the counter ports to read, and how many
cycles without progress (no record accepted, no top taken) mean a hang.

Each cycle the bench drives its inputs just after the clock edge and
samples the settled handshakes in the read-only phase before the next edge,
so a beat counts exactly when ``valid`` and ``ready`` are both high at an
edge. It writes every top-of-book payload taken from ``o`` (as an integer),
the counters and the cycle count to ``T2T_BOOK_RESULT``; the pytest side
compares them with :class:`~tick2trade.sim.model.hwbook.HwBookModel`.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

#: consecutive cycles the book must be idle with nothing to send before the run ends
QUIET_CYCLES = 4


async def reset(dut) -> None:
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    dut.sub_we.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


async def subscribe(dut, locates: list[int]) -> None:
    """One ``sub_we`` cycle per slot, in slot order."""
    for slot, locate in enumerate(locates):
        dut.sub_we.value = 1
        dut.sub_slot.value = slot
        dut.sub_locate.value = locate
        dut.sub_valid.value = 1
        await RisingEdge(dut.clk)
    dut.sub_we.value = 0


async def run_records(dut, records: list[int], idle: float, stall: float,
                      rng: random.Random, hang_cycles: int) -> tuple[list[int], int]:
    """Offer every record (random idle cycles), take tops (random stalls); (tops, cycles)."""
    edge, settled = RisingEdge(dut.clk), ReadOnly()
    tops: list[int] = []
    sent, offering, valid_high, ready_high = 0, False, False, False
    quiet = cycles = progress = 0
    while quiet < QUIET_CYCLES:
        if cycles - progress > hang_cycles:
            raise AssertionError(f"no progress for {hang_cycles} cycles (hang?) at cycle "
                                 f"{cycles}: {sent} of {len(records)} records accepted, "
                                 f"{len(tops)} tops taken")
        # drive this cycle's inputs (only the ones that change)
        if not offering and sent < len(records) and not (idle and rng.random() < idle):
            dut.i__payload.value = records[sent]
            offering = True
        if offering != valid_high:
            valid_high = offering
            dut.i__valid.value = int(offering)
        ready = not (stall and rng.random() < stall)
        if ready != ready_high:
            ready_high = ready
            dut.o__ready.value = int(ready)
        await settled
        if offering and dut.i__ready.value:
            sent, offering, progress = sent + 1, False, cycles
        out_valid = bool(dut.o__valid.value)
        if ready and out_valid:
            tops.append(int(dut.o__payload.value))
            progress = cycles
        done = sent == len(records) and not offering
        quiet = quiet + 1 if done and dut.idle.value and not out_valid else 0
        await edge
        cycles += 1
    return tops, cycles


@cocotb.test()
async def tops_and_counters(dut):
    """Subscribe, drive the case's records, collect the tops and the counters."""
    with open(os.environ["T2T_BOOK_CASE"]) as f:
        case = json.load(f)
    rng = random.Random(case["seed"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await reset(dut)
    await subscribe(dut, case["subscriptions"])
    records = [int(r, 16) for r in case["records"]]
    tops, cycles = await run_records(dut, records, case["idle"], case["stall"], rng,
                                     case["hang_cycles"])
    counters = {name: int(getattr(dut, name).value) for name in case["counters"]}
    with open(os.environ["T2T_BOOK_RESULT"], "w") as f:
        json.dump({"tops": [hex(t) for t in tops], "counters": counters, "cycles": cycles}, f)
