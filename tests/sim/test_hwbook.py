"""The gateware book's model against the unlimited reference book, and its limits."""

from __future__ import annotations

import pytest

from tick2trade.hdl.book.layouts import BookParams, divide_magic
from tick2trade.proto import itch
from tick2trade.sim.model.book import OrderBook
from tick2trade.sim.model.feed.records import RECORD_FIELD_NAMES, Record
from tick2trade.sim.model.generator import generate
from tick2trade.sim.model.hwbook import HwBookModel
from tick2trade.sim.model.hwbook.flow import (
    BOOK_TYPE_CODES,
    busiest_locates,
    oracle_tops,
    records_of,
)

_ZERO = Record(**dict.fromkeys(RECORD_FIELD_NAMES, 0))


def rec(type_code: str, **fields) -> Record:
    for key in ("side",):
        if isinstance(fields.get(key), str):
            fields[key] = ord(fields[key])
    return _ZERO._replace(type=ord(type_code), **fields)


def flow(n: int, symbols: int = 20, seed: int = 1) -> list[bytes]:
    return list(generate(n, symbols=symbols, seed=seed, orders_per_symbol=40))


@pytest.mark.parametrize("divisor", [1, 3, 7, 100, 125, 10_000, 65_535])
def test_divide_magic_exact(divisor):
    m, s = divide_magic(divisor)
    for n in (0, 1, divisor - 1, divisor, divisor + 1, 2**31, 2**32 - 1, 2**32 - divisor,
              123_456_789, 4_000_000_000):
        assert (n * m) >> s == n // divisor


def test_generated_flow_equals_full_depth_book():
    """With a window wide enough, the published tops are exactly the oracle's changes."""
    messages = flow(30_000)
    records = list(records_of(messages))
    subs = busiest_locates(records, 8)
    model = HwBookModel(BookParams(order_bits=11, symbols=8, window_bits=10), subs)
    got = []
    for r in records:
        got += [(t.seq, t.locate, (t.bid_px, t.bid_qty, t.ask_px, t.ask_qty), t.bid_exact,
                 t.ask_exact) for t in model.push(r)]
    c = model.counters
    assert c["out_of_window"] == c["off_grid"] == c["collisions"] == 0
    assert all(t[3] and t[4] for t in got)
    want = list(oracle_tops(messages, subs))
    assert [t[:3] for t in got] == want
    assert c["tob"] == len(want) > 1000


def test_narrow_window_never_publishes_a_wrong_top():
    """A window of 8 ticks: much is out of window, but every exact side is the truth."""
    messages = flow(20_000, seed=7)
    subs = busiest_locates(records_of(messages), 6)
    model = HwBookModel(BookParams(order_bits=10, symbols=6, window_bits=3), subs)
    book = OrderBook()
    exact_checks = inexact = 0
    for seq, msg in enumerate(messages, 1):
        book.apply_raw(msg)
        if msg[0] not in BOOK_TYPE_CODES:
            continue
        (r,) = records_of([msg], seq)
        model.push(r)
        slot = model.slot_of(r.locate)
        if slot is None:
            continue
        bid_px, bid_qty, ask_px, ask_qty, bid_exact, ask_exact = model.published[slot]
        truth = book.top_of_book(r.locate)
        if bid_exact:
            assert (bid_px, bid_qty) == truth[:2], seq
            exact_checks += 1
        else:
            assert (bid_px, bid_qty) == (0, 0)
            inexact += 1
        if ask_exact:
            assert (ask_px, ask_qty) == truth[2:], seq
            exact_checks += 1
        else:
            inexact += 1
    c = model.counters
    assert c["out_of_window"] > 0 and c["shifts"] > 0
    assert exact_checks > 1000 and inexact > 0


def test_window_follows_the_touch_when_it_loses_nothing():
    p = BookParams(order_bits=4, symbols=1, window_bits=2, tick=100)   # 4 ticks
    m = HwBookModel(p, [5])
    m.push(rec("A", locate=5, ref=1, side="B", price=10_000, shares=100))  # tick 100
    s = m.sides[0][0]
    assert (s.base, s.bitmap) == (98, 0b0100)
    m.push(rec("D", locate=5, ref=1))
    # empty side: the next add re-centres the window anywhere
    m.push(rec("A", locate=5, ref=2, side="B", price=50_000, shares=10))   # tick 500
    assert (s.base, s.bitmap) == (498, 0b0100)
    # a better bid two ticks up: the low tick leaving is empty, the window slides
    m.push(rec("A", locate=5, ref=3, side="B", price=50_300, shares=20))   # tick 503
    assert (s.base, s.bitmap) == (500, 0b1001)
    assert m.published[0][:2] == (50_300, 20)
    # a much better bid would push tick 500 out: counted above the window, side inexact
    m.push(rec("A", locate=5, ref=4, side="B", price=51_000, shares=30))
    assert (s.base, s.high, m.counters["out_of_window"]) == (500, 1, 1)
    assert m.published[0][4] == 0
    # once it goes, the window is exact again (it did not move meanwhile)
    m.push(rec("D", locate=5, ref=4))
    assert m.published[0][:2] == (50_300, 20) and m.published[0][4] == 1
    # a deeper bid below the window leaves the top exact
    m.push(rec("A", locate=5, ref=5, side="B", price=40_000, shares=1))
    assert s.low == 1 and m.published[0][4] == 1
    # when the window empties with an order below it, the bid is unknown
    m.push(rec("D", locate=5, ref=2))
    m.push(rec("D", locate=5, ref=3))
    assert m.published[0][:2] == (0, 0) and m.published[0][4] == 0
    m.push(rec("D", locate=5, ref=5))
    assert m.published[0] == (0, 0, 0, 0, 1, 1)


def colliding_refs(p: BookParams) -> tuple[int, int, int]:
    """r1 → bank 0, r2 shares its bank-0 set → bank 1, r3 shares both sets."""
    r1 = 1
    r2 = next(r for r in range(2, 10_000) if p.set_of(r, 0) == p.set_of(r1, 0))
    r3 = next(r for r in range(2, 10_000) if r != r2 and p.set_of(r, 0) == p.set_of(r1, 0)
              and p.set_of(r, 1) == p.set_of(r2, 1))
    return r1, r2, r3


def test_table_limits_are_counted():
    p = BookParams(order_bits=2, way_bits=0, symbols=2, window_bits=4)   # 2 banks × 2 sets
    r1, r2, r3 = colliding_refs(p)
    m = HwBookModel(p, [7])
    assert m.push(rec("A", locate=7, ref=r1, side="S", price=100, shares=5))
    assert m.push(rec("A", locate=7, ref=r2, side="S", price=100, shares=5))
    assert m.published[0][2:4] == (100, 10)
    assert m.push(rec("A", locate=7, ref=r3, side="S", price=200, shares=5))  # both sets full
    assert m.counters["collisions"] == 1 and m.published[0][5] == 0
    m.push(rec("D", locate=7, ref=r2))
    m.push(rec("D", locate=7, ref=r3))                                       # never stored
    ref = r1
    m.push(rec("A", locate=8, ref=2, side="S", price=100, shares=5))         # not subscribed
    m.push(rec("A", locate=7, ref=3, side="X", price=100, shares=5))         # bad side
    m.push(rec("A", locate=7, ref=3, side="B", price=100, shares=0))         # zero shares
    m.push(rec("X", locate=7, ref=ref, shares=9))                            # overfill
    c = m.counters
    assert (c["unsubscribed"], c["bad_side"], c["zero_shares"], c["misses"], c["overfills"]) \
        == (1, 1, 1, 1, 1)
    assert m.published[0][5] == 0   # the dropped add leaves the side inexact for good
    assert not any(e for ways in m.table.values() for e in ways)


def test_replace_duplicate_and_off_grid():
    p = BookParams(order_bits=4, symbols=2, window_bits=4)
    m = HwBookModel(p, [1, 2])
    m.push(rec("A", locate=1, ref=1, side="B", price=1000, shares=5))
    out = m.push(rec("A", locate=2, ref=1, side="S", price=2000, shares=6))  # duplicate ref
    assert [t.locate for t in out] == [1, 2] and m.counters["duplicates"] == 1
    m.push(rec("U", locate=2, ref=1, new_ref=3, price=2100, shares=4))
    assert m.published[1][2:4] == (2100, 4)
    m.push(rec("A", locate=2, ref=4, side="S", price=2050, shares=1))        # off the grid
    assert m.counters["off_grid"] == 1 and m.published[1][5] == 0
    m.push(rec("C", locate=2, ref=4, shares=1, price=1))
    assert m.published[1] == (0, 0, 2100, 4, 1, 1)


def test_bad_side_does_not_remove_a_live_order():
    m = HwBookModel(BookParams(order_bits=4, symbols=1), [1])
    m.push(rec("A", locate=1, ref=1, side="B", price=1000, shares=5))
    m.push(rec("A", locate=1, ref=1, side="Z", price=1000, shares=5))
    assert m.published[0][:2] == (1000, 5)
    # the reference book agrees
    book = OrderBook()
    for msg in (itch.AddOrder(stock_locate=1, tracking_number=0, timestamp=0,
                                    order_ref=1, side=s, shares=5, stock="X", price=1000)
                for s in "BZ"):
        book.apply(msg)
    assert book.top_of_book(1) == (1000, 5, 0, 0)
