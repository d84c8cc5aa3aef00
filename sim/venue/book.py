"""Order book data structures: price levels per side, FIFO within a level.

Each side keeps its prices in a sorted list (bisect) and each level is an
insertion-ordered dict of orders keyed by order reference, so the best
price is O(1), adding a level is O(log n + levels) and removing an order
from anywhere in a queue is O(1).
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from tick2trade.sim.venue.events import SelfMatch, Side, TimeInForce


@dataclass(slots=True)
class Order:
    """A live order inside the engine (mutable; never handed out)."""

    order_ref: int
    owner: str
    client_id: Hashable
    symbol: str
    side: Side
    price: int | None
    qty: int          # total order size (chain total after replaces)
    leaves: int       # open shares
    executed: int     # shares traded so far (over the whole replace chain)
    tif: TimeInForce
    displayed: bool
    self_match: SelfMatch
    stp_key: Hashable
    attribution: str | None


@dataclass(frozen=True, slots=True)
class OrderView:
    """Read-only snapshot of a live order (``qty`` = total size of the chain)."""

    order_ref: int
    owner: str
    client_id: Hashable
    symbol: str
    side: Side
    price: int
    qty: int
    leaves: int
    tif: TimeInForce
    displayed: bool
    #: shares traded over the order's whole replace chain
    executed: int = 0


@dataclass(frozen=True, slots=True)
class LevelView:
    price: int
    qty: int
    orders: tuple[OrderView, ...]


class BookSide:
    """Price levels of one side: sorted prices, each a FIFO of orders by ref."""

    __slots__ = ("side", "prices", "levels")

    def __init__(self, side: Side):
        self.side = side
        self.prices: list[int] = []        # ascending
        self.levels: dict[int, dict[int, Order]] = {}

    def best(self) -> int | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.side is Side.BUY else self.prices[0]

    def add(self, order: Order) -> None:
        level = self.levels.get(order.price)
        if level is None:
            level = self.levels[order.price] = OrderedDict()
            bisect.insort(self.prices, order.price)
        level[order.order_ref] = order

    def remove(self, order: Order) -> None:
        level = self.levels[order.price]
        del level[order.order_ref]
        if not level:
            del self.levels[order.price]
            del self.prices[bisect.bisect_left(self.prices, order.price)]

    def crosses(self, price: int | None, limit: int | None) -> bool:
        """Whether a resting ``price`` of this side trades with an aggressor at ``limit``."""
        if limit is None:
            return True
        return price >= limit if self.side is Side.BUY else price <= limit

    def by_priority(self) -> Iterable[int]:
        return reversed(self.prices) if self.side is Side.BUY else iter(self.prices)


class Book:
    """Both sides of one symbol's book and its halt state."""

    __slots__ = ("bids", "asks", "halted")

    def __init__(self):
        self.bids = BookSide(Side.BUY)
        self.asks = BookSide(Side.SELL)
        self.halted = False

    def side(self, side: Side) -> BookSide:
        return self.bids if side is Side.BUY else self.asks
