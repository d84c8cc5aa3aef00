"""A feed subscriber for the market-data tests: rebuilds the book from ITCH 5.0.

Decodes every message with ``tick2trade.proto.itch`` and applies it to the
reference book ``tick2trade.sim.model.book`` plus a FIFO per price level
(time priority, ITCH 5.0 §5), so tests can compare it with the engine's book.
"""

from __future__ import annotations

from collections import defaultdict

from tick2trade.proto import itch
from tick2trade.sim.model.book import OrderBook
from tick2trade.sim.venue.engine import MatchingEngine, Side
from tick2trade.sim.venue.marketdata.feed import ItchFeed


class Subscriber:
    """Rebuilds the book from ITCH: the reference book plus per-level FIFO order."""

    def __init__(self, strict: bool = True):
        self.strict = strict  # False: references the feed never added are skipped (mid-day cut)
        self.book = OrderBook()
        self.raw: list[bytes] = []
        self.decoded: list[itch.Message] = []
        self.orders: dict[int, list] = {}          # ref → [locate, side, price, shares]
        self.queues: dict[tuple, list[int]] = defaultdict(list)

    def __call__(self, raw: bytes) -> None:
        msg = itch.decode(raw)
        assert itch.encode(msg) == raw
        self.raw.append(raw)
        self.decoded.append(msg)
        self.book.apply(msg)
        t = msg.TYPE
        if t in "AF":
            self._add(msg.order_ref, msg.stock_locate, msg.side, msg.price, msg.shares)
        elif not self.strict and t in "ECXDU" and (
                msg.original_order_ref if t == "U" else msg.order_ref) not in self.orders:
            return
        elif t in "ECX":
            o = self.orders[msg.order_ref]
            o[3] -= msg.cancelled_shares if t == "X" else msg.executed_shares
            assert o[3] >= 0
            if not o[3]:
                self._remove(msg.order_ref)
        elif t == "D":
            self._remove(msg.order_ref)
        elif t == "U":
            locate, side, _, _ = self._remove(msg.original_order_ref)
            self._add(msg.new_order_ref, locate, side, msg.price, msg.shares)

    def _add(self, ref, locate, side, price, shares):
        assert ref not in self.orders
        self.orders[ref] = [locate, side, price, shares]
        self.queues[(locate, side, price)].append(ref)

    def _remove(self, ref):
        o = self.orders.pop(ref)
        self.queues[tuple(o[:3])].remove(ref)
        return o

    def depth(self, locate: int, side: str) -> list[tuple[int, list[tuple[int, int]]]]:
        prices = sorted({p for (loc, s, p), q in self.queues.items()
                         if loc == locate and s == side and q}, reverse=side == "B")
        return [(p, [(r, self.orders[r][3]) for r in self.queues[(locate, side, p)]])
                for p in prices]


def engine_depth(engine: MatchingEngine, symbol: str, side: Side):
    out = []
    for level in engine.depth(symbol, side):
        orders = [(o.order_ref, o.leaves) for o in level.orders if o.displayed]
        if orders:
            out.append((level.price, orders))
    return out


def assert_same_book(engine: MatchingEngine, feed: ItchFeed, sub: Subscriber) -> None:
    for symbol in engine.symbols:
        locate = feed.locates.locate(symbol)
        if locate is None:  # not announced yet: then it must have no displayed order
            assert not any(engine_depth(engine, symbol, side) for side in Side), symbol
            continue
        for side in Side:
            expected = engine_depth(engine, symbol, side)
            assert sub.depth(locate, side.value) == expected, (symbol, side)
            levels = [(p, sum(q for _, q in orders), len(orders)) for p, orders in expected]
            assert sub.book.levels(locate, side.value) == levels
    stats = sub.book.stats
    assert not stats.overfills and stats.duplicate_adds == 0
    if sub.strict:
        assert stats.unknown_refs_total == 0
