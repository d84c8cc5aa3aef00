"""Matching engine: lifecycles, book events, self-match, halts, external liquidity."""

from __future__ import annotations

import pytest

from tick2trade.sim.venue.engine import MatchingEngine
from tick2trade.sim.venue.events import (
    MARKET,
    Accepted,
    BookAdd,
    BookCancel,
    BookDelete,
    BookExecute,
    BookReplace,
    Canceled,
    CancelReason,
    CancelRejected,
    Executed,
    HaltChanged,
    OrderRequest,
    Rejected,
    RejectReason,
    Replaced,
    ReplaceRejected,
    SelfMatch,
    Side,
    TimeInForce,
)

B, S = Side.BUY, Side.SELL


@pytest.fixture
def engine():
    ticks = iter(range(1000, 10**9, 10))
    return MatchingEngine(["AAPL", "MSFT"], clock=lambda: next(ticks))


def kinds(events):
    return [type(e).__name__ for e in events]


def order(owner, cid, side, qty, price, **kw):
    return OrderRequest(owner, cid, kw.pop("symbol", "AAPL"), side, qty, price, **kw)


def test_limit_order_rests_and_publishes_add(engine):
    events = engine.submit(order("a", 1, B, 100, 1_500_000))
    assert kinds(events) == ["Accepted", "BookAdd"]
    acc, add = events
    assert acc.order_ref == add.order_ref == 1 and acc.ts == add.ts == 1000
    assert (add.side, add.qty, add.price) == (B, 100, 1_500_000)
    assert engine.best("AAPL", B) == 1_500_000


def test_price_time_priority_and_partial_fills(engine):
    engine.submit(order("a", 1, S, 100, 101))
    engine.submit(order("a", 2, S, 100, 100))
    engine.submit(order("b", 3, S, 50, 100))     # same price, later
    events = engine.submit(order("c", 9, B, 220, 101))
    trades = [e for e in events if isinstance(e, Executed)]
    assert [(t.passive.client_id, t.price, t.qty) for t in trades] == [
        (2, 100, 100), (3, 100, 50), (1, 101, 70)]
    assert [t.match_number for t in trades] == [1, 2, 3]
    assert trades[-1].passive.remaining == 30 and trades[-1].aggressor.remaining == 0
    assert trades[0].passive.liquidity == "A" and trades[0].aggressor.liquidity == "R"
    execs = [e for e in events if isinstance(e, BookExecute)]
    assert [(e.order_ref, e.qty, e.remaining) for e in execs] == [(2, 100, 0), (3, 50, 0),
                                                                 (1, 70, 30)]
    assert engine.order("a", 1).leaves == 30
    assert engine.order("a", 2) is None


def test_aggressor_rest_rests_after_trades(engine):
    engine.submit(order("a", 1, S, 10, 100))
    events = engine.submit(order("b", 2, B, 25, 100))
    assert kinds(events) == ["Accepted", "Executed", "BookExecute", "BookAdd"]
    assert events[-1].qty == 15


def test_ioc_and_market_cancel_their_rest(engine):
    engine.submit(order("a", 1, S, 10, 100))
    ioc = engine.submit(order("b", 2, B, 25, 100, tif=TimeInForce.IOC))
    assert kinds(ioc) == ["Accepted", "Executed", "BookExecute", "Canceled"]
    assert (ioc[-1].qty, ioc[-1].reason) == (15, CancelReason.IOC)
    engine.submit(order("a", 3, S, 10, 105))
    engine.submit(order("a", 4, S, 10, 110))
    mkt = engine.submit(order("b", 5, B, 30, None))
    assert [(e.price, e.qty) for e in mkt if isinstance(e, Executed)] == [(105, 10), (110, 10)]
    assert isinstance(mkt[-1], Canceled) and mkt[-1].qty == 10
    assert engine.orders() == []
    empty = engine.submit(order("b", 6, S, 5, None))
    assert kinds(empty) == ["Accepted", "Canceled"]


def test_cancel_full_and_reduce_to_keeps_priority(engine):
    engine.submit(order("a", 1, S, 100, 100))
    engine.submit(order("b", 2, S, 100, 100))
    reduce = engine.cancel("a", 1, remaining=40)
    assert kinds(reduce) == ["Canceled", "BookCancel"]
    assert (reduce[0].qty, reduce[0].remaining, reduce[1].qty) == (60, 40, 60)
    assert engine.cancel("a", 1, remaining=40) == []          # changes nothing
    trade = engine.submit(order("c", 3, B, 10, 100))
    assert trade[1].passive.client_id == 1                     # still first
    full = engine.cancel("a", 1)
    assert kinds(full) == ["Canceled", "BookDelete"] and full[0].qty == 30
    unknown = engine.cancel("a", 1)
    assert isinstance(unknown[0], CancelRejected)
    assert unknown[0].reason is RejectReason.UNKNOWN_ORDER


def test_replace_shrink_keeps_priority_and_reference(engine):
    engine.submit(order("a", 1, S, 100, 100))
    engine.submit(order("b", 2, S, 100, 100))
    events = engine.replace("a", 1, 11, qty=60, price=100)
    assert kinds(events) == ["Replaced", "BookCancel"]
    rep = events[0]
    assert rep.priority_kept and rep.order_ref == rep.old_order_ref == 1 and rep.qty == 60
    assert engine.order("a", 1) is None and engine.order("a", 11).leaves == 60
    assert engine.submit(order("c", 3, B, 10, 100))[1].passive.client_id == 11


@pytest.mark.parametrize("qty, price", [(150, 100), (100, 99)])
def test_replace_growth_or_new_price_loses_priority(engine, qty, price):
    engine.submit(order("a", 1, S, 100, 100))
    engine.submit(order("b", 2, S, 100, price))
    events = engine.replace("a", 1, 11, qty=qty, price=price)
    assert kinds(events) == ["Replaced", "BookReplace"]
    rep, book = events
    assert not rep.priority_kept and rep.order_ref != 1
    assert (book.old_order_ref, book.order_ref, book.qty, book.price) == (1, rep.order_ref,
                                                                           qty, price)
    assert engine.submit(order("c", 3, B, 10, 100))[1].passive.client_id == 2


def test_replace_counts_executed_shares_in_the_total(engine):
    engine.submit(order("a", 1, S, 100, 100))
    engine.submit(order("c", 2, B, 30, 100))
    rep = engine.replace("a", 1, 11, qty=50, price=100)   # 30 done → 20 open
    assert rep[0].qty == 20 and rep[0].priority_kept
    gone = engine.replace("a", 11, 12, qty=30, price=100)  # nothing left to trade
    assert kinds(gone) == ["Canceled", "BookDelete"] and gone[0].qty == 20


def test_marketable_replace_trades_as_aggressor(engine):
    engine.submit(order("a", 1, S, 100, 101))
    engine.submit(order("b", 2, B, 40, 100))
    events = engine.replace("a", 1, 11, qty=100, price=100)
    assert kinds(events) == ["Replaced", "BookDelete", "Executed", "BookExecute", "BookAdd"]
    assert events[2].aggressor.client_id == 11 and events[2].price == 100
    assert events[-1].qty == 60 and events[-1].order_ref == events[0].order_ref


def test_replace_rejects(engine):
    engine.submit(order("a", 1, S, 100, 101))
    engine.submit(order("a", 2, S, 100, 101))
    cases = {("x", 1, 3, 10, 100): RejectReason.UNKNOWN_ORDER,
             ("a", 1, 2, 10, 100): RejectReason.DUPLICATE_ID,
             ("a", 1, 3, 0, 100): RejectReason.INVALID_QUANTITY,
             ("a", 1, 3, 10, 0): RejectReason.INVALID_PRICE}
    for args, reason in cases.items():
        (ev,) = engine.replace(*args)
        assert isinstance(ev, ReplaceRejected) and ev.reason is reason


@pytest.mark.parametrize("req, reason", [
    (order("a", 1, B, 10, 100, symbol="NOPE"), RejectReason.INVALID_SYMBOL),
    (order("a", 1, B, 0, 100), RejectReason.INVALID_QUANTITY),
    (order("a", 1, B, -5, 100), RejectReason.INVALID_QUANTITY),
    (order("a", 1, B, 10, 0), RejectReason.INVALID_PRICE),
])
def test_submit_rejects(engine, req, reason):
    (ev,) = engine.submit(req)
    assert isinstance(ev, Rejected) and ev.reason is reason


def test_duplicate_live_client_id_rejected(engine):
    engine.submit(order("a", 1, B, 10, 100))
    (ev,) = engine.submit(order("a", 1, B, 10, 100))
    assert ev.reason is RejectReason.DUPLICATE_ID
    assert isinstance(engine.submit(order("b", 1, B, 10, 100))[0], Accepted)  # other owner


@pytest.mark.parametrize("policy, resting_left, aggressor_trades", [
    (SelfMatch.CANCEL_NEWEST, True, 0),
    (SelfMatch.CANCEL_RESTING, False, 1),
    (SelfMatch.CANCEL_BOTH, False, 0),
    (SelfMatch.ALLOW, False, 2),
])
def test_self_match_prevention(engine, policy, resting_left, aggressor_trades):
    engine.submit(order("a", 1, S, 10, 100))      # own order first in the queue
    engine.submit(order("b", 2, S, 10, 100))
    events = engine.submit(order("a", 3, B, 20, 100, self_match=policy))
    trades = [e for e in events if isinstance(e, Executed)]
    assert len(trades) == aggressor_trades
    assert (engine.order("a", 1) is not None) == resting_left
    smp = [e for e in events if isinstance(e, Canceled)]
    assert all(e.reason is CancelReason.SELF_MATCH for e in smp)
    if policy is SelfMatch.CANCEL_RESTING:
        assert engine.order("a", 3).leaves == 10   # rest of the aggressor rests


def test_stp_key_groups_owners(engine):
    engine.submit(order("a", 1, S, 10, 100, stp_key="firm1"))
    events = engine.submit(order("b", 2, B, 10, 100, stp_key="firm1"))
    assert kinds(events) == ["Accepted", "Canceled"]


def test_halt_rejects_new_orders_and_stops_matching(engine):
    engine.submit(order("a", 1, S, 10, 100))
    assert isinstance(engine.halt("AAPL", True)[0], HaltChanged)
    assert engine.halt("AAPL", True) == []
    assert engine.submit(order("b", 2, B, 10, 100))[0].reason is RejectReason.HALTED
    assert engine.replace("a", 1, 5, 10, 99)[0].reason is RejectReason.HALTED
    assert isinstance(engine.submit(order("b", 3, B, 10, 100, symbol="MSFT"))[0], Accepted)
    assert kinds(engine.cancel("a", 1, 5)) == ["Canceled", "BookCancel"]   # cancels allowed
    engine.halt("AAPL", False)
    assert kinds(engine.submit(order("b", 4, B, 5, 100)))[1] == "Executed"
    with pytest.raises(KeyError):
        engine.halt("NOPE", True)


def test_hidden_orders_trade_without_book_events(engine):
    hidden = engine.submit(order("a", 1, S, 10, 100, displayed=False))
    assert kinds(hidden) == ["Accepted"]
    events = engine.submit(order("b", 2, B, 10, 100))
    assert kinds(events) == ["Accepted", "Executed"]
    assert events[1].passive.liquidity == "J" and not events[1].passive.displayed


def test_attribution_carried_to_book_add(engine):
    (_, add) = engine.submit(order("a", 1, B, 10, 100, attribution="LIME"))
    assert isinstance(add, BookAdd) and add.attribution == "LIME"


def test_subscribers_see_every_request_in_order(engine):
    seen = []
    unsubscribe = engine.subscribe(seen.append)
    a = engine.submit(order("a", 1, S, 10, 100))
    b = engine.submit(order("b", 2, B, 10, 100))
    assert seen == [a, b]
    unsubscribe()
    engine.cancel("a", 9)
    assert len(seen) == 2


def test_external_liquidity_from_replay(engine):
    add = engine.add_external(5_000, "AAPL", S, 100, 100, attribution="NSDQ")
    assert kinds(add) == ["BookAdd"] and add[0].order_ref == 5_000
    # our buy takes part of the replayed order
    ours = engine.submit(order("a", 1, B, 30, 100))
    assert ours[1].passive.owner == MARKET and ours[1].passive.client_id == 5_000
    # the capture then executes 80 of its original 100: only 70 are left → clamped
    ex = engine.execute_external(5_000, 80, match_number=77)
    assert [type(e) for e in ex] == [Canceled, BookExecute]
    assert ex[0].reason is CancelReason.EXTERNAL and ex[1].match_number == 77
    assert engine.stats["external_clamped"] == 1
    assert engine.order(MARKET, 5_000) is None
    assert engine.delete_external(5_000) == [] and engine.stats["external_clamped"] == 2


def test_external_change_and_replace(engine):
    engine.add_external(7, "AAPL", B, 100, 99)
    assert kinds(engine.cancel_external(7, 40)) == ["Canceled", "BookCancel"]
    rep = engine.replace_external(7, 8, 50, 98)
    assert kinds(rep) == ["Canceled", "BookDelete", "BookAdd"]
    assert engine.order_by_ref(8).price == 98
    with pytest.raises(ValueError):
        engine.add_external(8, "AAPL", B, 10, 98)


def test_external_add_crosses_our_orders_not_the_market(engine):
    engine.add_external(7, "AAPL", B, 100, 100)
    engine.submit(order("a", 1, B, 50, 101))   # our bid above the market's
    events = engine.add_external(9, "AAPL", S, 120, 100)
    trades = [e for e in events if isinstance(e, Executed)]
    assert [(t.passive.client_id, t.qty) for t in trades] == [(1, 50)]
    assert isinstance(events[-1], BookAdd) and events[-1].qty == 70
    assert engine.order(MARKET, 7).leaves == 100   # replayed orders never match each other


def test_engine_assigned_refs_skip_external_ones(engine):
    engine.add_external(1, "AAPL", B, 10, 90)
    acc = engine.submit(order("a", 1, B, 10, 90))[0]
    assert acc.order_ref != 1


def test_replace_ioc_that_does_not_cross_is_cancelled(engine):
    engine.submit(order("a", 1, B, 10, 90))
    events = engine.replace("a", 1, 2, 10, 91, tif=TimeInForce.IOC)
    assert kinds(events) == ["Replaced", "BookDelete", "Canceled"]
    assert engine.orders() == []


def test_book_event_kinds_cover_itch(engine):
    """Every book event kind appears in a plain lifecycle (the publisher relies on it)."""
    seen = set()
    engine.subscribe(lambda evs: seen.update(type(e) for e in evs))
    engine.submit(order("a", 1, S, 100, 100))
    engine.submit(order("b", 2, B, 10, 100))
    engine.cancel("a", 1, 50)
    engine.replace("a", 1, 3, 80, 101)
    engine.cancel("a", 3)
    assert {BookAdd, BookExecute, BookCancel, BookReplace, BookDelete, Replaced} <= seen


def test_plain_strings_are_accepted_and_bad_enums_rejected(engine):
    acc = engine.submit(OrderRequest("a", 1, "AAPL", "B", 10, 100, "IOC"))
    assert acc[0].side is Side.BUY and acc[-1].reason is CancelReason.IOC
    (bad_side,) = engine.submit(OrderRequest("a", 2, "AAPL", "X", 10, 100))
    assert bad_side.reason is RejectReason.INVALID_SIDE
    (bad_tif,) = engine.submit(OrderRequest("a", 3, "AAPL", Side.BUY, 10, 100, "GTC"))
    assert bad_tif.reason is RejectReason.INVALID_TIME_IN_FORCE
    engine.submit(order("a", 4, B, 10, 100))
    (rej,) = engine.replace("a", 4, 5, 10, 100, tif="FOK")
    assert rej.reason is RejectReason.INVALID_TIME_IN_FORCE


def test_a_failing_subscriber_does_not_starve_the_others(engine):
    seen = []

    def broken(events):
        raise RuntimeError("subscriber bug")
    engine.subscribe(broken)
    engine.subscribe(seen.append)
    events = engine.submit(order("a", 1, B, 10, 100))
    assert seen == [events] and engine.stats["subscriber_errors"] == 1
