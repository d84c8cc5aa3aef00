"""GapGate (hdl/gap_gate.py): a feed gap reaches the decision path only once it is drained."""

from __future__ import annotations

import gc
import random
import warnings

import pytest
from amaranth.sim import Simulator

from tick2trade.hdl.gap_gate import QUIET, GapGate


def _run(drained_pattern, gaps: int, cycles: int = 400):
    """Present ``gaps`` events; ``drained_pattern(cycle)`` drives ``drained``.

    Returns the cycles of each strobe and of each event's acceptance.
    """
    dut = GapGate()
    strobes, taken = [], []

    async def bench(ctx):
        pending = gaps
        for cycle in range(cycles):
            ctx.set(dut.drained, drained_pattern(cycle))
            ctx.set(dut.gap.valid, pending > 0)
            ctx.set(dut.gap.payload, {"first": 10 * pending, "count": 1})
            _, _, strobe, ready = await ctx.tick().sample(dut.strobe, dut.gap.ready)
            if strobe:
                strobes.append(cycle)
            if ready and pending:
                taken.append(cycle)
                pending -= 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return strobes, taken


def test_waits_for_quiet_drained_cycles_then_strobes_once_per_event():
    strobes, taken = _run(lambda cycle: 1, gaps=2)
    assert strobes == taken and len(strobes) == 2
    assert strobes[0] == QUIET            # QUIET drained cycles counted first
    assert strobes[1] - strobes[0] == QUIET + 1


def test_never_taken_while_records_are_in_flight():
    strobes, taken = _run(lambda cycle: cycle >= 100, gaps=1)
    assert strobes == taken == [100 + QUIET]


@pytest.mark.parametrize("seed", range(3))
def test_a_busy_cycle_restarts_the_count(seed):
    rng = random.Random(seed)
    pattern = [rng.random() < 0.7 for _ in range(400)]
    strobes, taken = _run(lambda cycle: pattern[cycle], gaps=3)
    assert strobes == taken
    for at in strobes:
        assert all(pattern[at - QUIET:at + 1]), "taken without QUIET drained cycles before it"


def test_no_event_no_strobe():
    strobes, taken = _run(lambda cycle: 1, gaps=0, cycles=50)
    assert strobes == taken == []


def test_quiet_must_be_positive():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the refused instance is never elaborated
        with pytest.raises(ValueError, match="quiet"):
            GapGate(quiet=0)
        gc.collect()
