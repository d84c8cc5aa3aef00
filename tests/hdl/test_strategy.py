"""Imbalance taker and quoter at their edges; the decision path vs its model on flows.

docs/strategy.md, "Imbalance taker", "Quoter", "Cycle cost". Every case runs
the bit-exact model and the gateware and requires the same decisions.
"""

import random

import pytest
from decision_tb import TAKER_ONLY, decide, merge, tob, verdicts
from feed_streams import TIMING_IDS, TIMINGS

from tick2trade.hdl.strategy.decision import (
    FIRST_ORDER_CYCLES,
    NEXT_ORDER_CYCLES,
    DecisionPath,
)
from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif
from tick2trade.sim.decision_rtl import run_decision_path
from tick2trade.sim.model.decision_config import parse_decision_config, tables
from tick2trade.sim.model.generator import generate
from tick2trade.sim.model.hwbook.flow import busiest_locates, records_of
from tick2trade.sim.model.hwbook.model import HwBookModel
from tick2trade.sim.model.strategy.events import Exec, Gap, SetPosition, run_model
from tick2trade.sim.model.strategy.replay import load_model


def test_taker_imbalance_is_strict():
    # num/den = 2/3: bid_qty * 3 > 2 * total; 200 vs 100 is exactly at the ratio
    config = merge(TAKER_ONLY, {"taker": {"num": 2, "den": 3}})
    assert decide(config, [tob(bid_qty=200, ask_qty=100)]) == []
    (buy,) = decide(config, [tob(bid_qty=201, ask_qty=100)])
    assert (buy.side, buy.price, buy.shares, buy.tif, buy.kind) == (
        Side.BUY, 10_200, 100, Tif.IOC, OrderKind.ENTER)
    (sell,) = decide(config, [tob(bid_qty=100, ask_qty=201)])
    assert (sell.side, sell.price) == (Side.SELL, 10_000)


def test_taker_needs_both_sides_known_and_spread():
    config = merge(TAKER_ONLY, {"taker": {"max_spread": 200}})
    events = [tob(ask_exact=0, seq=1), tob(bid_qty=0, bid_px=0, seq=2),
              tob(ask_px=10_201, seq=3), tob(ask_px=10_200, seq=4),
              tob(ask_px=9_000, seq=5)]  # crossed: negative spread
    assert [d.trigger_seq for d in decide(config, events)] == [4, 5]


def test_taker_cooldown_in_feed_time():
    config = merge(TAKER_ONLY, {"taker": {"cooldown_ns": 500}})
    events = [tob(ts=1_000, seq=1), tob(ts=1_499, seq=2), tob(ts=1_500, seq=3),
              tob(ts=1_999, seq=4)]
    assert [d.trigger_seq for d in decide(config, events)] == [1, 3]


QUOTER = {"taker": {"enabled": 0},
          "quoter": {"enabled": 1, "offset": 100, "requote": 50, "size": 200,
                     "max_spread": 500}}


def test_quoter_enters_replaces_at_requote_and_cancels():
    events = [
        tob(seq=1),                               # enter buy 9_900, sell 10_300
        tob(seq=2, bid_px=10_049, ask_px=10_249),  # moved 49: nothing
        tob(seq=3, bid_px=10_050, ask_px=10_250),  # moved 50: replace both
        tob(seq=4, bid_px=10_050, ask_px=10_551),  # spread 501: cancel both
        tob(seq=5, bid_px=10_050, ask_px=10_550),  # quotable again: enter both
    ]
    out = decide(QUOTER, events)
    got = [(d.trigger_seq, d.kind, d.side, d.price, d.shares, d.token, d.orig_token)
           for d in out]
    assert got == [
        (1, OrderKind.ENTER, Side.BUY, 9_900, 200, 1, 0),
        (1, OrderKind.ENTER, Side.SELL, 10_300, 200, 2, 0),
        (3, OrderKind.REPLACE, Side.BUY, 9_950, 200, 3, 1),
        (3, OrderKind.REPLACE, Side.SELL, 10_350, 200, 4, 2),
        (4, OrderKind.CANCEL, Side.BUY, 9_950, 0, 3, 0),
        (4, OrderKind.CANCEL, Side.SELL, 10_350, 0, 4, 0),
        (5, OrderKind.ENTER, Side.BUY, 9_950, 200, 5, 0),
        (5, OrderKind.ENTER, Side.SELL, 10_650, 200, 6, 0),
    ]
    assert {d.tif for d in out} == {Tif.DAY}


def test_quoter_pulls_on_kill_and_unknown_side():
    events = [tob(seq=1), Gap(), tob(seq=2), tob(seq=3)]
    config = merge(QUOTER, {"risk": {"kill_on_gap": 1}})
    out = decide(config, events)
    assert [(d.trigger_seq, d.kind, verdicts([d])[0]) for d in out] == [
        (1, OrderKind.ENTER, "sent"), (1, OrderKind.ENTER, "sent"),
        (2, OrderKind.CANCEL, "sent"), (2, OrderKind.CANCEL, "sent"),
    ]
    out = decide(QUOTER, [tob(seq=1), tob(seq=2, bid_exact=0, bid_px=0, bid_qty=0)])
    assert [d.kind for d in out[2:]] == [OrderKind.CANCEL, OrderKind.CANCEL]


def test_quoter_rejected_enter_retries_and_rejected_replace_keeps_order():
    # record 1: mid 10_100, buy 9_900 and sell 10_300 both 200 away (band 200: pass);
    # record 2: mid 20_401 // 2 = 10_200, buy 10_000 is 200 away, sell 10_401 is 201 away
    config = merge(QUOTER, {"risk": {"fat_finger_band": 200}})
    moved = tob(seq=2, bid_px=10_100, ask_px=10_301)
    out = decide(config, [tob(seq=1), moved, tob(seq=3, bid_px=10_100, ask_px=10_301)])
    assert [(d.trigger_seq, d.kind, d.side, verdicts([d])[0]) for d in out] == [
        (1, OrderKind.ENTER, Side.BUY, "sent"), (1, OrderKind.ENTER, Side.SELL, "sent"),
        (2, OrderKind.REPLACE, Side.BUY, "sent"), (2, OrderKind.REPLACE, Side.SELL, "fat_finger"),
        (3, OrderKind.REPLACE, Side.SELL, "fat_finger"),  # the sell still rests at 10_300
    ]
    # a rejected Enter leaves the side empty: the next record enters it again
    out = decide(merge(QUOTER, {"risk": {"fat_finger_band": 199}}), [tob(seq=1), tob(seq=2)])
    assert [(d.kind, verdicts([d])[0]) for d in out] == [(OrderKind.ENTER, "fat_finger")] * 4


def _flow_tops(messages, symbols, seed, slots):
    records = list(records_of(generate(messages, symbols=symbols, seed=seed)))
    locates = busiest_locates(records, slots)
    book = HwBookModel(None, locates)
    return [t for r in records for t in book.push(r)], locates


FLOW_CONFIG = {
    "taker": {"num": 3, "den": 5, "cooldown_ns": 20_000, "max_spread": 600, "size": 100},
    "quoter": {"enabled": 1, "offset": 100, "requote": 100, "size": 100, "max_spread": 800},
    "risk": {"rate_orders": 10, "rate_window_ns": 200_000, "max_position": 250,
             "max_gross_notional": 4_000_000_000, "fat_finger_band": 250,
             "max_order_notional": 1_000_000_000},
}


@pytest.mark.parametrize("idle, stall", TIMINGS, ids=TIMING_IDS)
def test_decision_path_matches_model_on_generated_flow(idle, stall):
    tops, locates = _flow_tops(4_000, 6, seed=3, slots=4)
    rng = random.Random(5)
    events = []
    for t in tops[:300]:
        events.append(t)
        roll = rng.random()
        if roll < 0.02:
            events.append(Exec(rng.choice(locates), rng.choice([Side.BUY, Side.SELL]),
                               rng.randrange(1, 200)))
        elif roll < 0.03:
            events.append(SetPosition(rng.randrange(4), rng.randrange(-300, 300)))
    config = parse_decision_config(FLOW_CONFIG)
    model = load_model(config, locates, 4)
    want = run_model(model, events)
    reasons = {d.reason for d in want}
    assert len(reasons) >= 4, reasons  # the flow exercises several rules
    strategy, risk, glob = tables(config, locates)
    got = run_decision_path(strategy, risk, glob, events, symbols=4, idle=idle, stall=stall,
                            seed=7)
    assert got.decisions == want
    assert got.counters == dict(model.counters)


def test_fixed_cycle_cost_of_passed_orders():
    config = parse_decision_config(merge(TAKER_ONLY, {"quoter": QUOTER["quoter"]}))
    strategy, risk, glob = tables(config, [1])
    events = [tob(seq=1), tob(seq=2, ts=2_000, bid_px=10_050, ask_px=10_250)]
    got = run_decision_path(strategy, risk, glob, events, symbols=2)
    assert verdicts(got.decisions) == ["sent"] * 6
    # per record: taker, then quoter buy and sell, each NEXT_ORDER_CYCLES after the one before
    first = FIRST_ORDER_CYCLES
    assert got.cycles == [first, first + NEXT_ORDER_CYCLES, first + 2 * NEXT_ORDER_CYCLES] * 2


def test_unknown_locate_is_ignored():
    assert decide(TAKER_ONLY, [tob(locate=9), tob(locate=1, seq=2)])[0].trigger_seq == 2


def test_symbols_out_of_range():
    with pytest.raises(ValueError, match="symbols"):
        DecisionPath.__init__(object.__new__(DecisionPath), 0)
