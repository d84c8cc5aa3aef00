"""Every inline risk rule firing and not firing at its edge, model and gateware alike.

docs/strategy.md, "Inline risk". The taker buys ``size`` at ``ask_px`` on
each record (bid_qty > ask_qty); each test moves one limit across the edge.
"""

import pytest
from decision_tb import TAKER_ONLY, decide, merge, tob, verdicts

from tick2trade.hdl.strategy.layouts import Side
from tick2trade.sim.model.strategy.events import ClearTrip, Exec, Gap, SetPosition

# one record: BUY 100 at 10_200; mid (10_000 + 10_200) // 2 = 10_100; notional 1_020_000
ONE = [tob()]


def run(risk: dict, events=ONE, quoter=None, **kw):
    config = merge(TAKER_ONLY, {"risk": risk})
    if quoter:
        config = merge(config, {"quoter": quoter})
    return verdicts(decide(config, events, **kw))


@pytest.mark.parametrize("limit, verdict", [(100, "sent"), (99, "max_shares")])
def test_max_order_shares(limit, verdict):
    assert run({"max_order_shares": limit}) == [verdict]


@pytest.mark.parametrize("band, verdict", [(100, "sent"), (99, "fat_finger")])
def test_fat_finger_band_around_mid(band, verdict):
    assert run({"fat_finger_band": band}) == [verdict]


def test_fat_finger_sell_below_mid():
    # SELL 100 at bid 10_000, 100 below the mid
    events = [tob(bid_qty=100, ask_qty=300)]
    assert run({"fat_finger_band": 100}, events) == ["sent"]
    assert run({"fat_finger_band": 99}, events) == ["fat_finger"]


@pytest.mark.parametrize("limit, verdict", [(1_020_000, "sent"), (1_019_999, "max_notional")])
def test_max_order_notional(limit, verdict):
    assert run({"max_order_notional": limit}) == [verdict]


@pytest.mark.parametrize("position, verdict", [(0, "sent"), (1, "position"), (-500, "sent")])
def test_position_limit(position, verdict):
    assert run({"max_position": 100}, [SetPosition(0, position), tob()]) == [verdict]


def test_position_from_executions():
    # executions move the position inline: 60 bought, 10 sold → 50, + 100 against 150
    events = [Exec(1, Side.BUY, 60), Exec(1, Side.SELL, 10), tob()]
    assert run({"max_position": 150}, events) == ["sent"]
    assert run({"max_position": 149}, events) == ["position"]
    # an execution for a locate no slot holds is ignored
    assert run({"max_position": 100}, [Exec(7, Side.BUY, 50), tob()]) == ["sent"]


def test_position_counts_resting_quotes():
    # quoter rests a buy of 100 at the bid; the taker's buy then needs room for both
    quoter = {"enabled": 1, "offset": 0, "size": 100, "max_spread": 1_000}
    events = [tob(ts=1), tob(ts=2, seq=2)]
    assert run({"max_position": 200}, events, quoter) == ["sent", "sent", "sent", "self_trade"]
    assert run({"max_position": 199}, events, quoter) == ["sent", "sent", "sent", "position"]


@pytest.mark.parametrize("limit, verdict", [(1_020_000, "sent"), (1_019_999, "gross_notional")])
def test_gross_notional_single_order(limit, verdict):
    assert run({"max_gross_notional": limit}) == [verdict]


def test_gross_notional_counts_resting_quotes():
    # quoter buy 100 @ 9_900 and sell 100 @ 10_300 rest: 990_000 + 1_030_000 open
    quoter = {"enabled": 1, "offset": 100, "size": 100, "max_spread": 1_000}
    events = [tob(ts=1), tob(ts=2, seq=2)]
    edge = 1_020_000 + 990_000 + 1_030_000
    assert run({"max_gross_notional": edge}, events, quoter)[3] == "sent"
    assert run({"max_gross_notional": edge - 1}, events, quoter)[3] == "gross_notional"


def test_rate_limit_window():
    events = [tob(ts=1_000), tob(ts=1_500, seq=2), tob(ts=1_999, seq=3), tob(ts=2_000, seq=4)]
    risk = {"rate_orders": 2, "rate_window_ns": 1_000}
    assert run(risk, events) == ["sent", "sent", "rate", "sent"]
    assert run({**risk, "rate_orders": 3}, events) == ["sent", "sent", "sent", "sent"]


def test_self_trade_prevention():
    # quoter rests its sell at ask + offset; the next taker buy at ask crosses it when offset 0
    events = [tob(ts=1), tob(ts=2, seq=2)]
    quoter = {"enabled": 1, "size": 100, "max_spread": 1_000}
    assert run({}, events, {**quoter, "offset": 0})[3] == "self_trade"
    assert run({}, events, {**quoter, "offset": 1})[3] == "sent"


def test_kill_switch_host():
    assert run({"kill": 1}) == ["kill"]
    assert run({"kill": 0}) == ["sent"]


def test_kill_switch_trips_on_gap_and_clears():
    events = [tob(ts=1), Gap(), tob(ts=2, seq=5), ClearTrip(), tob(ts=3, seq=6)]
    assert run({"kill_on_gap": 1}, events) == ["sent", "kill", "sent"]
    assert run({"kill_on_gap": 0}, events) == ["sent", "sent", "sent"]


def test_disabled_symbol_and_first_failure_wins():
    from tick2trade.sim.model.decision_config import parse_decision_config
    from tick2trade.sim.model.strategy.events import run_model
    from tick2trade.sim.model.strategy.replay import load_model
    model = load_model(parse_decision_config(TAKER_ONLY), [1], 2)
    model.write_risk(0, enabled=0, max_order_shares=0, max_order_notional=0, fat_finger_band=0,
                     max_position=0)
    assert verdicts(run_model(model, ONE)) == ["disabled"]
    # every limit broken at once: the kill switch is reported
    assert run({"kill": 1, "max_order_shares": 0, "max_position": 0, "fat_finger_band": 0}) == [
        "kill"]
    assert run({"max_order_shares": 0, "max_position": 0, "fat_finger_band": 0}) == ["max_shares"]
