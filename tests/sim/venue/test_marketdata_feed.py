"""Engine events → ITCH 5.0: the published feed rebuilds exactly the engine's book.

A subscriber decodes every message with ``tick2trade.proto.itch`` and
applies it to the reference book ``tick2trade.sim.model.book`` plus a FIFO
per price level (time priority, ITCH 5.0 §5); after every engine request
both must equal the engine's displayed book.
"""

from __future__ import annotations

import itertools
import random

import pytest
from itch_subscriber import Subscriber, assert_same_book

from tick2trade.sim.venue.engine import (
    Executed,
    MatchingEngine,
    OrderRequest,
    SelfMatch,
    Side,
    TimeInForce,
)
from tick2trade.sim.venue.marketdata.feed import ItchFeed

SYMBOLS = ("AAPL", "MSFT", "ZVZZT")


def make(symbols=SYMBOLS):
    ticks = itertools.count(34_200_000_000_000, 1_000)
    engine = MatchingEngine(symbols, clock=lambda: next(ticks))
    sub = Subscriber()
    feed = ItchFeed(engine, sub, clock=lambda: 34_100_000_000_000)
    return engine, feed, sub


def test_start_and_end_of_day_frame():
    engine, feed, sub = make()
    feed.start_of_day()
    feed.end_of_day()
    kinds = [(m.TYPE, getattr(m, "event_code", getattr(m, "stock", None))) for m in sub.decoded]
    assert kinds == [("S", "O"), ("R", "AAPL"), ("R", "MSFT"), ("R", "ZVZZT"), ("S", "S"),
                     ("S", "Q"), ("S", "M"), ("S", "E"), ("S", "C")]
    directory = [m for m in sub.decoded if m.TYPE == "R"]
    assert [m.stock_locate for m in directory] == [1, 2, 3]
    assert sub.book.symbols == {1: "AAPL", 2: "MSFT", 3: "ZVZZT"}
    assert all(m.stock_locate == 0 for m in sub.decoded if m.TYPE == "S")


def test_each_book_change_maps_to_its_itch_message():
    engine, feed, sub = make()
    feed.start_of_day()
    sub.decoded.clear()
    engine.submit(OrderRequest("p1", 1, "AAPL", Side.SELL, 100, 1_500_000))
    engine.submit(OrderRequest("p1", 2, "AAPL", Side.SELL, 50, 1_500_100, attribution="ABCD"))
    engine.submit(OrderRequest("p2", 1, "AAPL", Side.BUY, 30, 1_500_000))        # E
    engine.cancel("p1", 1, remaining=20)                                         # X 50
    engine.replace("p1", 2, 3, qty=80, price=1_500_200)                          # U
    engine.cancel("p1", 3)                                                       # D
    engine.halt("AAPL", True)
    engine.halt("AAPL", False)
    types = [m.TYPE for m in sub.decoded]
    assert types == ["A", "F", "E", "X", "U", "D", "H", "H"]
    add, mpid, execute, cancel, replace, delete, halt, resume = sub.decoded
    assert (add.side, add.shares, add.stock, add.price, add.stock_locate) == \
        ("S", 100, "AAPL", 1_500_000, 1)
    assert mpid.attribution == "ABCD"
    assert (execute.order_ref, execute.executed_shares, execute.match_number) == \
        (add.order_ref, 30, 1)
    assert (cancel.order_ref, cancel.cancelled_shares) == (add.order_ref, 50)
    assert replace.original_order_ref == mpid.order_ref and replace.shares == 80
    assert replace.new_order_ref not in (add.order_ref, mpid.order_ref)
    assert delete.order_ref == replace.new_order_ref
    assert (halt.trading_state, resume.trading_state) == ("H", "T")
    timestamps = [m.timestamp for m in sub.decoded]
    assert timestamps == sorted(timestamps) and timestamps[0] >= 34_200_000_000_000
    assert_same_book(engine, feed, sub)


def test_trade_against_a_hidden_order_is_printed_as_p():
    engine, feed, sub = make()
    feed.start_of_day()
    sub.decoded.clear()
    engine.submit(OrderRequest("p1", 1, "MSFT", Side.BUY, 100, 3_000_000, displayed=False))
    events = engine.submit(OrderRequest("p2", 1, "MSFT", Side.SELL, 40, 2_990_000))
    (trade,) = sub.decoded
    executed = next(e for e in events if isinstance(e, Executed))
    assert trade.TYPE == "P"
    assert (trade.order_ref, trade.side, trade.shares, trade.stock, trade.price,
            trade.match_number) == (0, "B", 40, "MSFT", 3_000_000, executed.match_number)


def test_symbol_without_directory_gets_one_before_its_first_message():
    engine, feed, sub = make()
    engine.submit(OrderRequest("p1", 1, "ZVZZT", Side.BUY, 100, 100_000))
    assert [m.TYPE for m in sub.decoded] == ["R", "A"]
    assert sub.decoded[1].stock_locate == sub.decoded[0].stock_locate == 1


def _random_request(engine: MatchingEngine, rng: random.Random, ids) -> None:
    owners = ("p1", "p2", "p3")
    live = engine.orders()
    roll = rng.random()
    if live and roll < 0.25:
        o = rng.choice(live)
        engine.cancel(o.owner, o.client_id, remaining=rng.choice([0, 0, max(0, o.leaves - 10)]))
    elif live and roll < 0.45:
        o = rng.choice(live)
        engine.replace(o.owner, o.client_id, next(ids), qty=rng.randint(1, 300),
                       price=o.price + rng.choice([0, 0, -100, 100]))
    elif roll < 0.47:
        symbol = rng.choice(SYMBOLS)
        engine.halt(symbol, not engine.is_halted(symbol))
    else:
        side = rng.choice(list(Side))
        mid = 1_000_000
        price = mid + rng.randint(-5, 5) * 100
        engine.submit(OrderRequest(
            rng.choice(owners), next(ids), rng.choice(SYMBOLS), side, rng.randint(1, 400),
            None if rng.random() < 0.05 else price,
            TimeInForce.IOC if rng.random() < 0.1 else TimeInForce.DAY,
            displayed=rng.random() > 0.1,
            self_match=rng.choice(list(SelfMatch)),
            attribution=rng.choice([None, None, "MPID"])))


@pytest.mark.parametrize("seed", range(6))
def test_random_requests_published_feed_rebuilds_the_engine_book(seed):
    rng = random.Random(seed)
    engine, feed, sub = make()
    feed.start_of_day()
    ids = itertools.count(1000)
    for _ in range(400):
        _random_request(engine, rng, ids)
        assert_same_book(engine, feed, sub)
    executions = [m for m in sub.decoded if m.TYPE in "EP"]
    assert executions, "the random flow should trade"
    matches = [m.match_number for m in executions]
    assert len(set(matches)) == len(matches)


def test_value_the_wire_cannot_carry_is_counted_and_the_engine_goes_on():
    engine, feed, sub = make()
    feed.start_of_day()
    count = len(sub.raw)
    events = engine.submit(OrderRequest("p1", 1, "AAPL", Side.BUY, 2**33, 1_000_000))
    assert events and engine.order("p1", 1) is not None
    assert feed.stats["unencodable"] == 1 and len(sub.raw) == count
    engine.submit(OrderRequest("p1", 2, "AAPL", Side.BUY, 5, 1_000_000, attribution="TOOLONG"))
    assert feed.stats["unencodable"] == 2
    engine.submit(OrderRequest("p1", 3, "MSFT", Side.BUY, 5, 1_000_000))
    assert sub.decoded[-1].TYPE == "A" and sub.decoded[-1].shares == 5
