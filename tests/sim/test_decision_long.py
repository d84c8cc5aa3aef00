"""Decision path vs model on a generated flow of 1 M messages (slow, C++ Verilator harness).

docs/strategy.md: the same orders in the same order with the same fields,
the same rejects with the same reasons, the same counters.
"""

from __future__ import annotations

import pytest

from tick2trade.sim.model.decision_config import parse_decision_config, tables
from tick2trade.sim.model.generator import generate
from tick2trade.sim.model.hwbook.flow import busiest_locates, records_of
from tick2trade.sim.model.hwbook.model import HwBookModel
from tick2trade.sim.model.strategy.events import run_model
from tick2trade.sim.model.strategy.replay import load_model
from tick2trade.sim.verilator.decision import run_decision_harness

CONFIG = {
    "taker": {"num": 3, "den": 5, "cooldown_ns": 50_000, "max_spread": 600, "size": 100},
    "quoter": {"enabled": 1, "offset": 100, "requote": 100, "size": 100, "max_spread": 800},
    "risk": {"rate_orders": 50, "rate_window_ns": 1_000_000, "max_position": 300,
             "fat_finger_band": 300, "max_gross_notional": 20_000_000_000},
}


@pytest.mark.slow
@pytest.mark.rtl
@pytest.mark.timeout(3600)
def test_one_million_messages_model_equals_rtl():
    records = list(records_of(generate(1_000_000, symbols=40, seed=21)))
    locates = busiest_locates(records, 64)
    book = HwBookModel(None, locates)
    tops = [t for r in records for t in book.push(r)]
    config = parse_decision_config(CONFIG)
    model = load_model(config, locates, 64)
    want = run_model(model, tops)
    assert len({d.reason for d in want}) >= 4
    strategy, risk, glob = tables(config, locates)
    got = run_decision_harness(strategy, risk, glob, tops, symbols=64)
    assert len(got.decisions) == len(want)
    assert got.decisions == want
    assert got.counters == dict(model.counters)


@pytest.mark.slow
@pytest.mark.rtl
def test_harness_with_backpressure_executions_and_gaps():
    import random

    from tick2trade.hdl.strategy.layouts import Side
    from tick2trade.sim.model.strategy.events import ClearTrip, Exec, Gap, SetPosition
    records = list(records_of(generate(20_000, symbols=8, seed=5)))
    locates = busiest_locates(records, 64)
    book = HwBookModel(None, locates)
    rng = random.Random(3)
    events = []
    for r in records:
        for t in book.push(r):
            events.append(t)
            roll = rng.random()
            if roll < 0.02:
                events.append(Exec(rng.choice(locates), rng.choice([Side.BUY, Side.SELL]),
                                   rng.randrange(1, 200)))
            elif roll < 0.03:
                events.append(SetPosition(rng.randrange(len(locates)), rng.randrange(-300, 300)))
            elif roll < 0.035:
                events.append(Gap())
            elif roll < 0.04:
                events.append(ClearTrip())
    config = parse_decision_config({**CONFIG, "risk": {**CONFIG["risk"], "kill_on_gap": 1}})
    model = load_model(config, locates, 64)
    want = run_model(model, events)
    assert model.counters["kill_trips"] and model.counters["kill"]
    strategy, risk, glob = tables(config, locates)
    got = run_decision_harness(strategy, risk, glob, events, symbols=64, ready_percent=60)
    assert got.decisions == want
    assert got.counters == dict(model.counters)
