"""Reference order book: ITCH 5.0 §5 semantics, anomalies, and a brute-force oracle.

Every semantic test runs twice: through ``apply`` (decoded messages) and
through the raw fast path ``apply_raw`` (encoded bytes).
"""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from tick2trade.proto import itch
from tick2trade.sim.model.book import LevelChange, OrderBook, RestingOrder
from tick2trade.sim.model.generator import generate

_TS = [1_000]


def _hdr(locate: int) -> dict:
    _TS[0] += 1
    return {"stock_locate": locate, "tracking_number": 0, "timestamp": _TS[0]}


def add(ref, side, shares, price, locate=1, stock="AAPL"):
    return itch.AddOrder(**_hdr(locate), order_ref=ref, side=side, shares=shares, stock=stock,
                         price=price)


def add_mpid(ref, side, shares, price, locate=1):
    return itch.AddOrderMpid(**_hdr(locate), order_ref=ref, side=side, shares=shares,
                             stock="AAPL", price=price, attribution="GSCO")


def execute(ref, shares, locate=1):
    return itch.OrderExecuted(**_hdr(locate), order_ref=ref, executed_shares=shares,
                              match_number=7)


def execute_px(ref, shares, price, locate=1):
    return itch.OrderExecutedWithPrice(**_hdr(locate), order_ref=ref, executed_shares=shares,
                                       match_number=8, printable="Y", execution_price=price)


def cancel(ref, shares, locate=1):
    return itch.OrderCancel(**_hdr(locate), order_ref=ref, cancelled_shares=shares)


def delete(ref, locate=1):
    return itch.OrderDelete(**_hdr(locate), order_ref=ref)


def replace(ref, new_ref, shares, price, locate=1):
    return itch.OrderReplace(**_hdr(locate), original_order_ref=ref, new_order_ref=new_ref,
                             shares=shares, price=price)


def directory(locate, stock):
    return itch.StockDirectory(
        **_hdr(locate), stock=stock, market_category="Q", financial_status_indicator="N",
        round_lot_size=100, round_lots_only="N", issue_classification="C",
        issue_sub_type="Z", authenticity="P", short_sale_threshold_indicator="N",
        ipo_flag="N", luld_reference_price_tier="1", etp_flag="N", etp_leverage_factor=0,
        inverse_indicator="N")


def trading_action(locate, state):
    return itch.StockTradingAction(**_hdr(locate), stock="AAPL", trading_state=state,
                                   reserved=" ", reason="")


def system_event(code):
    return itch.SystemEvent(**_hdr(0), event_code=code)


@pytest.fixture(params=["decoded", "raw"])
def book(request):
    """An OrderBook whose ``feed(*msgs)`` goes through one of the two entry points."""
    b = OrderBook()
    if request.param == "decoded":
        b.feed = lambda *msgs: [b.apply(m) for m in msgs]
    else:
        b.feed = lambda *msgs: b.apply_raw_many([itch.encode(m) for m in msgs])
    return b


# ---------------------------------------------------------------- adds and levels

def test_adds_aggregate_into_levels_best_first(book):
    book.feed(add(1, "B", 100, 100_000), add(2, "B", 200, 100_000), add(3, "B", 50, 99_900),
              add(4, "S", 300, 100_100), add_mpid(5, "S", 10, 100_200))
    assert book.levels(1, "B") == [(100_000, 300, 2), (99_900, 50, 1)]
    assert book.levels(1, "S") == [(100_100, 300, 1), (100_200, 10, 1)]
    assert book.top_of_book(1) == (100_000, 300, 100_100, 300)
    assert len(book) == 5
    assert book.order(5) == RestingOrder(5, 1, "S", 100_200, 10)


def test_depth_limits_levels(book):
    book.feed(*(add(i, "S", 100, 10_000 + 100 * i) for i in range(1, 21)))
    assert [p for p, _, _ in book.levels(1, "S", 3)] == [10_100, 10_200, 10_300]
    assert len(book.levels(1, "S")) == 20


def test_empty_side_becomes_non_empty(book):
    book.feed(add(1, "B", 100, 5_000))
    assert book.top_of_book(1) == (5_000, 100, 0, 0)
    assert book.levels(1, "S") == []
    book.feed(add(2, "S", 70, 5_100))
    assert book.top_of_book(1) == (5_000, 100, 5_100, 70)


def test_best_level_emptying_reveals_the_next_of_many(book):
    prices = list(range(100_000, 90_000, -200))  # 50 bid levels
    shuffled = prices[:]
    random.Random(3).shuffle(shuffled)
    book.feed(*(add(p, "B", 100 + i, p) for i, p in enumerate(shuffled)))
    for i, price in enumerate(prices):
        assert book.top_of_book(1)[0] == price
        book.feed(delete(price))
        expected = prices[i + 1] if i + 1 < len(prices) else 0
        assert book.top_of_book(1)[0] == expected
    assert book.levels(1, "B") == []
    assert len(book) == 0


# ---------------------------------------------------------------- reductions

def test_partial_then_full_execution(book):
    book.feed(add(1, "B", 300, 100_000), add(2, "B", 100, 100_000))
    book.feed(execute(1, 100))
    assert book.order(1).shares == 200
    assert book.levels(1, "B") == [(100_000, 300, 2)]
    book.feed(execute(1, 200))
    assert book.order(1) is None
    assert book.levels(1, "B") == [(100_000, 100, 1)]
    assert book.stats.overfills == {}


def test_execution_with_price_changes_the_display_level_only(book):
    book.feed(add(1, "S", 500, 200_000), add(2, "S", 100, 199_000))
    book.feed(execute_px(1, 200, 199_000))  # price-improved print at another level
    assert book.levels(1, "S") == [(199_000, 100, 1), (200_000, 300, 1)]


def test_partial_cancel_and_cancel_to_zero(book):
    book.feed(add(1, "B", 300, 100_000))
    book.feed(cancel(1, 120))
    assert book.order(1).shares == 180
    assert book.levels(1, "B") == [(100_000, 180, 1)]
    book.feed(cancel(1, 180))
    assert book.order(1) is None and book.levels(1, "B") == []


@pytest.mark.parametrize("make", [execute, cancel], ids=["E", "X"])
def test_reduction_beyond_remaining_is_clamped_and_counted(book, make):
    book.feed(add(1, "B", 100, 100_000), add(2, "B", 50, 100_000))
    book.feed(make(1, 250))
    assert book.order(1) is None
    assert book.levels(1, "B") == [(100_000, 50, 1)]
    kind = itch.encode(make(1, 1))[:1].decode()
    assert book.stats.overfills == {kind: 1}


def test_delete_removes_the_order(book):
    book.feed(add(1, "S", 100, 100_000), add(2, "S", 100, 100_100))
    book.feed(delete(1))
    assert book.levels(1, "S") == [(100_100, 100, 1)]
    assert book.top_of_book(1) == (0, 0, 100_100, 100)


def test_unknown_references_are_counted_by_type_and_skipped(book):
    book.feed(add(1, "B", 100, 100_000))
    book.feed(execute(9, 10), execute_px(9, 10, 1), cancel(9, 10), delete(9), delete(8),
              replace(9, 10, 100, 5))
    assert book.stats.unknown_refs == {"E": 1, "C": 1, "X": 1, "D": 2, "U": 1}
    assert book.stats.unknown_refs_total == 6
    assert book.order(10) is None
    assert book.levels(1, "B") == [(100_000, 100, 1)]


# ---------------------------------------------------------------- replace

def test_replace_moves_the_order_and_loses_priority(book):
    book.feed(add(1, "S", 100, 100_000), add(2, "S", 200, 100_100), add(3, "S", 50, 100_100))
    book.feed(replace(1, 11, 300, 100_100))
    assert book.order(1) is None
    assert book.order(11) == RestingOrder(11, 1, "S", 100_100, 300)
    assert book.levels(1, "S") == [(100_100, 550, 3)]
    assert [o.ref for o in book.orders()] == [2, 3, 11]  # the new order is at the back


def test_replace_keeps_side_and_locate_of_the_original(book):
    book.feed(directory(7, "MSFT"), add(1, "B", 100, 50_000, locate=7))
    book.feed(replace(1, 2, 40, 49_000, locate=7))
    assert book.order(2) == RestingOrder(2, 7, "B", 49_000, 40)
    assert book.levels(7, "B") == [(49_000, 40, 1)]


def test_replace_to_the_same_reference(book):
    book.feed(add(1, "B", 100, 50_000))
    book.feed(replace(1, 1, 80, 50_100))
    assert book.order(1) == RestingOrder(1, 1, "B", 50_100, 80)
    assert book.stats.duplicate_adds == 0


# ---------------------------------------------------------------- anomalies

def test_duplicate_add_replaces_the_live_order(book):
    book.feed(add(1, "B", 100, 50_000), add(1, "S", 70, 51_000))
    assert book.order(1) == RestingOrder(1, 1, "S", 51_000, 70)
    assert book.levels(1, "B") == []
    assert book.stats.duplicate_adds == 1


def test_replace_onto_a_live_reference_counts_a_duplicate(book):
    book.feed(add(1, "B", 100, 50_000), add(2, "B", 30, 49_000))
    book.feed(replace(1, 2, 60, 48_000))
    assert book.stats.duplicate_adds == 1
    assert book.order(2) == RestingOrder(2, 1, "B", 48_000, 60)
    assert book.levels(1, "B") == [(48_000, 60, 1)]


def test_zero_share_add_and_replace_add_nothing(book):
    book.feed(add(1, "B", 0, 50_000), add(2, "B", 10, 50_000))
    book.feed(replace(2, 3, 0, 50_000))
    assert len(book) == 0 and book.levels(1, "B") == []
    assert book.stats.zero_share_adds == 2


def test_bad_side_is_skipped(book):
    book.feed(add(1, "Z", 100, 50_000))
    assert len(book) == 0 and book.stats.bad_side == 1


def test_locate_mismatch_is_applied_and_counted(book):
    book.feed(add(1, "B", 100, 50_000, locate=3))
    book.feed(execute(1, 10, locate=4), delete(1, locate=4))
    assert book.stats.locate_mismatches == 2
    assert len(book) == 0 and book.levels(3, "B") == []


def test_raw_path_counts_malformed_unknown_and_empty_messages():
    b = OrderBook()
    good = itch.encode(add(1, "B", 100, 50_000))
    b.apply_raw_many([good[:-1], good + b"\0", b"Z" + bytes(10), b"", good])
    s = b.stats
    assert (s.malformed, s.unknown_types, s.empty_messages) == (2, 1, 1)
    assert len(b) == 1
    assert s.messages_by_type == {"A": 3, "Z": 1}


# ---------------------------------------------------------------- state messages

def test_directory_trading_action_and_system_event(book):
    book.feed(system_event("O"), directory(2, "ZVZZT"), directory(1, "AAPL"),
              trading_action(2, "H"), add(1, "B", 100, 1, locate=5))
    assert book.symbols == {2: "ZVZZT", 1: "AAPL"}
    assert book.symbol(5) == "#5"
    assert book.trading_state == {2: "H"}
    assert book.last_event == "O"
    assert book.locates() == [5, 1, 2]  # "#5" < "AAPL" < "ZVZZT"
    book.feed(system_event("C"), delete(1))
    assert book.last_event == "C"
    assert book.locates() == [1, 2]  # locate 5: no directory entry, no orders left


def test_apply_reports_changed_levels():
    b = OrderBook()
    assert b.apply(add(1, "B", 100, 500)) == [LevelChange(1, "B", 500, 100, 1)]
    b.apply(add(2, "B", 50, 500))
    assert b.apply(execute(1, 30)) == [LevelChange(1, "B", 500, 120, 2)]
    assert b.apply(replace(2, 3, 10, 600)) == [LevelChange(1, "B", 500, 70, 1),
                                               LevelChange(1, "B", 600, 10, 1)]
    assert b.apply(delete(1)) == [LevelChange(1, "B", 500, 0, 0)]
    assert b.apply(delete(99)) == []
    assert b.apply(directory(1, "AAPL")) == []


# ---------------------------------------------------------------- oracle

def _oracle_levels(book: OrderBook) -> dict:
    levels: dict = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for o in book.orders():
        lvl = levels[(o.locate, o.side)][o.price]
        lvl[0] += o.shares
        lvl[1] += 1
    return levels


def _assert_matches_oracle(book: OrderBook) -> None:
    expected = _oracle_levels(book)
    keys = set(expected) | {(loc, side) for loc in book.locates() for side in "BS"}
    for locate, side in keys:
        want = sorted(((p, q, n) for p, (q, n) in expected[(locate, side)].items()),
                      reverse=side == "B")
        assert book.levels(locate, side) == want, (locate, side)
        assert all(q > 0 and n > 0 for _, q, n in want)
        assert book.top_of_book(locate)[0 if side == "B" else 2] == (want[0][0] if want else 0)


def _all_levels(book: OrderBook) -> dict:
    return {(loc, side, p): (q, n) for loc in range(1, 4) for side in "BS"
            for p, q, n in book.levels(loc, side)}


def _chaotic_flow(seed: int, count: int) -> list:
    """Random messages over a small reference space: duplicates, unknowns, overfills."""
    rng = random.Random(seed)
    msgs = []
    for _ in range(count):
        ref, locate = rng.randint(1, 40), rng.randint(1, 3)
        shares, price = rng.choice([0, 1, 50, 100, 300]), 100 * rng.randint(90, 110)
        kind = rng.choice("AAAFEECXXDDUUR")
        if kind == "A":
            msgs.append(add(ref, rng.choice("BBSSX"), shares, price, locate))
        elif kind == "F":
            msgs.append(add_mpid(ref, rng.choice("BS"), shares, price, locate))
        elif kind == "E":
            msgs.append(execute(ref, shares, locate))
        elif kind == "C":
            msgs.append(execute_px(ref, shares, price, locate))
        elif kind == "X":
            msgs.append(cancel(ref, shares, locate))
        elif kind == "D":
            msgs.append(delete(ref, locate))
        elif kind == "U":
            msgs.append(replace(ref, rng.randint(1, 40), shares, price, locate))
        else:
            msgs.append(directory(locate, rng.choice(["AAA", "BBB", "CCC"])))
    return msgs


@pytest.mark.parametrize("seed", range(4))
def test_both_paths_match_the_oracle_after_every_message_on_chaotic_flows(seed):
    slow, fast = OrderBook(), OrderBook()
    before = _all_levels(slow)
    for msg in _chaotic_flow(seed, 1500):
        changes = slow.apply(msg)
        fast.apply_raw(itch.encode(msg))
        after = _all_levels(slow)
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        assert changed <= {(c.locate, c.side, c.price) for c in changes}
        for c in changes:
            assert after.get((c.locate, c.side, c.price), (0, 0)) == (c.shares, c.orders)
        before = after
        assert list(slow.orders()) == list(fast.orders())
        _assert_matches_oracle(slow)
    _assert_matches_oracle(fast)
    assert slow.stats == fast.stats
    s = slow.stats
    assert s.unknown_refs and s.overfills and s.duplicate_adds and s.zero_share_adds
    assert s.bad_side and s.locate_mismatches


@pytest.mark.parametrize("seed", range(3))
def test_generated_flows_match_the_oracle(seed):
    slow, fast = OrderBook(), OrderBook()
    for raw in generate(3000, symbols=4, seed=seed, orders_per_symbol=30):
        slow.apply(itch.decode(raw))
        fast.apply_raw(raw)
        _assert_matches_oracle(fast)
    assert list(slow.orders()) == list(fast.orders())
    assert slow.stats == fast.stats
    assert slow.stats.unknown_refs == {} and slow.stats.overfills == {}


@pytest.mark.parametrize("msg", [
    add(1, "B", 100, 50_000), add_mpid(1, "B", 100, 50_000), execute(7, 10),
    execute_px(7, 10, 50_000), cancel(7, 10), delete(7), replace(7, 8, 10, 50_000),
    directory(1, "AAPL"), trading_action(1, "H"), system_event("C"),
], ids=lambda m: m.TYPE)
def test_wrong_length_of_every_handled_type_is_dropped_and_counted(msg):
    b = OrderBook()
    b.apply_raw(itch.encode(add(7, "S", 100, 60_000)))
    raw = itch.encode(msg)
    b.apply_raw_many([raw[:-1], raw + b" "])
    assert b.stats.malformed == 2
    assert list(b.orders()) == [RestingOrder(7, 1, "S", 60_000, 100)]
    assert (b.symbols, b.trading_state, b.last_event) == ({}, {}, None)


def test_fast_path_restores_the_garbage_collector_state():
    import gc

    raw = [itch.encode(add(1, "B", 100, 50_000)), b"", itch.encode(delete(1))]
    assert gc.isenabled()
    OrderBook().apply_raw_many(raw)
    assert gc.isenabled()
    gc.disable()
    try:
        OrderBook().apply_raw_many(raw)
        assert not gc.isenabled()
    finally:
        gc.enable()
