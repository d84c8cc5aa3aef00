"""Price-time priority matching engine of the venue simulator.

One :class:`MatchingEngine` holds a limit order book per symbol. Requests go
in through four calls, each returning the list of events it produced (in
order) and also handing that list to every subscriber::

    engine = MatchingEngine(["AAPL", "MSFT"], clock=lambda: 0)
    engine.subscribe(publisher.on_events)          # list[Event] per request
    events = engine.submit(OrderRequest("port1", 7, "AAPL", Side.BUY, 100, 1_500_000))
    engine.cancel("port1", 7, remaining=40)         # reduce-to 40 shares (keeps priority)
    engine.replace("port1", 7, 8, qty=100, price=1_500_100)   # new id 8, loses priority
    engine.halt("AAPL", True)

Units and identity
    Prices are integers with 4 implied decimals (``OUCH 5.0 §1``,
    ``ITCH 5.0 §1``); ``price=None`` is a market order. Quantities are
    shares. Timestamps are nanoseconds from the injected ``clock`` (default:
    ns since midnight UTC), one timestamp per request. An order is named by
    ``(owner, client_id)`` (owner = the port or session, client_id = its
    token / UserRefNum / ClOrdID; any hashable) and by the engine's
    day-unique ``order_ref`` (the OUCH Order Reference Number and the ITCH
    Order Reference Number of the book events).

Rules
    * Price-time priority per symbol; trades print at the resting order's
      price. Limit, IOC and market orders (a market order never rests: its
      unfilled rest is cancelled with reason IOC, whatever its TIF).
    * ``cancel(owner, client_id, remaining)``: ``remaining=0`` cancels all;
      otherwise the order is reduced to ``remaining`` open shares and keeps
      its place. A cancel that changes nothing produces no event.
    * ``replace(owner, client_id, new_client_id, qty, price)``: ``qty`` is
      the new *total* order size including shares already executed (as in
      OUCH 5.0 §4.1 Replace and FIX OrderQty). Same price and smaller or
      equal open size keeps priority and the order reference; a larger
      size or a new price loses priority and gets a new order reference. A
      replacement whose price crosses the book trades as an aggressor. If
      ``qty`` is not above what has executed, the order is cancelled
      (reason USER) instead.
    * Self-match prevention applies when both sides have the same STP key
      (``OrderRequest.stp_key``, default the owner). The aggressor's policy
      decides (:class:`SelfMatch`): ``CANCEL_NEWEST`` (default) cancels the
      aggressor's rest, ``CANCEL_RESTING`` cancels the resting order and
      keeps matching, ``CANCEL_BOTH`` does both, ``ALLOW`` lets them trade.
      Cancellations carry reason ``SELF_MATCH`` (OUCH cancel reason ``Q``).
    * While a symbol is halted new orders and replaces are rejected
      (``HALTED``) and nothing matches; cancels still work.
    * Bad requests are answered with :class:`Rejected` /
      :class:`CancelRejected` / :class:`ReplaceRejected` events, never an
      exception.

Events (read-only slotted dataclasses in ``events.py``, re-exported here; the book
structures are in ``book.py``): order-level events
:class:`Accepted`, :class:`Rejected`, :class:`Executed` (one per trade,
both sides in it), :class:`Canceled`, :class:`Replaced`,
:class:`CancelRejected`, :class:`ReplaceRejected`; book events that map one
to one onto ITCH 5.0 messages for displayed orders: :class:`BookAdd` (ITCH
``A``/``F``, §1.3.1), :class:`BookExecute` (``E``), :class:`BookCancel`
(``X``), :class:`BookDelete` (``D``), :class:`BookReplace` (``U``), and
:class:`HaltChanged` (``H``). Hidden orders (``displayed=False``) produce
no book events; a trade against one is visible only as :class:`Executed`
(the publisher may print ITCH ``P``).

External liquidity (capture replay)
    A replayed market adds resting orders under its own order reference
    numbers with :meth:`MatchingEngine.add_external`, and changes them with
    :meth:`execute_external`, :meth:`cancel_external`,
    :meth:`delete_external`, :meth:`replace_external` (ITCH ``A``/``F``,
    ``E``/``C``, ``X``, ``D``, ``U``). They are ordinary orders of owner
    :data:`MARKET` whose ``client_id`` and ``order_ref`` are the ITCH
    reference; our orders trade against them. An external add that crosses
    our resting orders trades with them (never with other external
    orders, which it simply rests beside). Changes to an order that our
    orders already consumed are clamped to what is left and counted in
    ``engine.stats["external_clamped"]``. Set ``order_ref_start`` above the
    capture's references so engine-assigned references never collide.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Iterable

from tick2trade.sim.venue.book import Book, LevelView, Order, OrderView
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
    Event,
    Executed,
    Fill,
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

log = logging.getLogger(__name__)

__all__ = [
    "MARKET", "Side", "TimeInForce", "SelfMatch", "RejectReason", "CancelReason",
    "OrderRequest", "OrderView", "Fill", "LevelView",
    "Accepted", "Rejected", "Executed", "Canceled", "Replaced", "CancelRejected",
    "ReplaceRejected", "BookAdd", "BookExecute", "BookCancel", "BookDelete", "BookReplace",
    "HaltChanged", "Event", "MatchingEngine", "ns_since_midnight",
]


def _enum(cls, value):
    """``value`` as a member of ``cls`` (members or their values), None if it is neither."""
    try:
        return cls(value)
    except (ValueError, TypeError):
        return None


def ns_since_midnight() -> int:
    """Wall-clock nanoseconds since midnight UTC (the OUCH/ITCH timestamp)."""
    return time.time_ns() % 86_400_000_000_000


# ----------------------------------------------------------------- engine


class MatchingEngine:
    """Price-time matching over a fixed set of symbols (see module docstring)."""

    def __init__(self, symbols: Iterable[str], *, clock: Callable[[], int] = ns_since_midnight,
                 order_ref_start: int = 1, match_number_start: int = 1):
        self._books: dict[str, Book] = {s: Book() for s in symbols}
        self._clock = clock
        self._next_ref = order_ref_start
        self._next_match = match_number_start
        self._live: dict[tuple[str, Hashable], Order] = {}
        self._by_ref: dict[int, Order] = {}
        self._subscribers: list[Callable[[list], None]] = []
        self.stats: dict[str, int] = {"requests": 0, "trades": 0, "external_clamped": 0}

    # ------------------------------------------------------------ plumbing

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._books)

    def subscribe(self, callback: Callable[[list], None]) -> Callable[[], None]:
        """Call ``callback(events)`` after every request; returns an unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def _publish(self, events: list) -> list:
        """Hand ``events`` to every subscriber; one that raises is logged, not fatal."""
        if events:
            for callback in tuple(self._subscribers):
                try:
                    callback(events)
                except Exception:
                    self.stats["subscriber_errors"] = self.stats.get("subscriber_errors", 0) + 1
                    log.exception("matching engine: subscriber %r failed", callback)
        return events

    def _new_ref(self) -> int:
        ref = self._next_ref
        by_ref = self._by_ref
        while ref in by_ref:
            ref += 1
        self._next_ref = ref + 1
        return ref

    # ------------------------------------------------------------- queries

    def order(self, owner: str, client_id: Hashable) -> OrderView | None:
        """The live order ``(owner, client_id)``, or None."""
        order = self._live.get((owner, client_id))
        return None if order is None else self._view(order)

    def order_by_ref(self, order_ref: int) -> OrderView | None:
        order = self._by_ref.get(order_ref)
        return None if order is None else self._view(order)

    def orders(self, owner: str | None = None) -> list[OrderView]:
        """Every live order (of ``owner``), in order-reference order."""
        return [self._view(o) for _, o in sorted(self._by_ref.items())
                if owner is None or o.owner == owner]

    def depth(self, symbol: str, side: Side) -> list[LevelView]:
        """Price levels of one side, best first, orders in time priority."""
        book_side = self._books[symbol].side(side)
        return [LevelView(p, sum(o.leaves for o in book_side.levels[p].values()),
                          tuple(self._view(o) for o in book_side.levels[p].values()))
                for p in book_side.by_priority()]

    def best(self, symbol: str, side: Side) -> int | None:
        return self._books[symbol].side(side).best()

    def is_halted(self, symbol: str) -> bool:
        return self._books[symbol].halted

    @staticmethod
    def _view(o: Order) -> OrderView:
        return OrderView(o.order_ref, o.owner, o.client_id, o.symbol, o.side, o.price, o.qty,
                         o.leaves, o.tif, o.displayed, o.executed)

    # ------------------------------------------------------------ requests

    def submit(self, req: OrderRequest) -> list:
        """Enter a new order: Accepted, then trades, then a cancel of any IOC/market rest."""
        self.stats["requests"] += 1
        ts = self._clock()
        book = self._books.get(req.symbol)
        qty, price = req.qty, req.price
        key = (req.owner, req.client_id)
        side, tif = req.side, req.tif
        if (book is None or qty.__class__ is not int or qty <= 0 or key in self._live
                or book.halted or side.__class__ is not Side
                or tif.__class__ is not TimeInForce
                or (price is not None and (price.__class__ is not int or price <= 0))):
            side, tif = _enum(Side, side), _enum(TimeInForce, tif)
            reason = self._reject_reason(req, book, side, tif)
            if reason is not None:
                return self._publish([Rejected(ts, req.owner, req.client_id, req.symbol,
                                               reason)])
        order = Order(self._new_ref(), req.owner, req.client_id, req.symbol, side, price, qty,
                      qty, 0, tif, req.displayed, req.self_match,
                      req.owner if req.stp_key is None else req.stp_key, req.attribution)
        events: list = [Accepted(ts, order.owner, order.client_id, order.order_ref,
                                 order.symbol, side, qty, price, tif, order.displayed)]
        opposite = book.asks if side is Side.BUY else book.bids
        if opposite.prices:
            self._aggress(book, order, ts, events)
        if order.leaves:
            if price is None or tif is TimeInForce.IOC:
                self._rest_or_expire(book, order, ts, events)
            else:                                   # the common case, inlined
                (book.bids if side is Side.BUY else book.asks).add(order)
                self._live[key] = order
                self._by_ref[order.order_ref] = order
                if order.displayed:
                    events.append(BookAdd(ts, order.symbol, order.order_ref, side, order.leaves,
                                          price, order.attribution))
        if self._subscribers:
            self._publish(events)
        return events

    def _reject_reason(self, req: OrderRequest, book: Book | None, side: Side | None,
                       tif: TimeInForce | None) -> RejectReason | None:
        """Why ``req`` is refused (None: only its enums needed converting)."""
        if book is None:
            return RejectReason.INVALID_SYMBOL
        if side is None:
            return RejectReason.INVALID_SIDE
        if tif is None:
            return RejectReason.INVALID_TIME_IN_FORCE
        if not isinstance(req.qty, int) or isinstance(req.qty, bool) or req.qty <= 0:
            return RejectReason.INVALID_QUANTITY
        if req.price is not None and (not isinstance(req.price, int)
                                      or isinstance(req.price, bool) or req.price <= 0):
            return RejectReason.INVALID_PRICE
        if (req.owner, req.client_id) in self._live:
            return RejectReason.DUPLICATE_ID
        if book.halted:
            return RejectReason.HALTED
        return None

    def cancel(self, owner: str, client_id: Hashable, remaining: int = 0) -> list:
        """Cancel all (``remaining=0``) or reduce to ``remaining`` open shares."""
        self.stats["requests"] += 1
        ts = self._clock()
        order = self._live.get((owner, client_id))
        if order is None:
            return self._publish([CancelRejected(ts, owner, client_id,
                                                 RejectReason.UNKNOWN_ORDER)])
        if not isinstance(remaining, int) or remaining < 0:
            return self._publish([CancelRejected(ts, owner, client_id,
                                                 RejectReason.INVALID_QUANTITY)])
        if remaining >= order.leaves:
            return []
        events: list = []
        self._reduce(self._books[order.symbol], order, order.leaves - remaining,
                     CancelReason.USER, ts, events)
        return self._publish(events)

    def replace(self, owner: str, client_id: Hashable, new_client_id: Hashable, qty: int,
                price: int, tif: TimeInForce | None = None) -> list:
        """Replace an order's total size and price under a new client id."""
        self.stats["requests"] += 1
        ts = self._clock()
        order = self._live.get((owner, client_id))
        reason = None
        if order is None:
            reason = RejectReason.UNKNOWN_ORDER
        elif new_client_id != client_id and (owner, new_client_id) in self._live:
            reason = RejectReason.DUPLICATE_ID
        elif not isinstance(qty, int) or qty <= 0:
            reason = RejectReason.INVALID_QUANTITY
        elif not isinstance(price, int) or price <= 0:
            reason = RejectReason.INVALID_PRICE
        elif tif is not None and _enum(TimeInForce, tif) is None:
            reason = RejectReason.INVALID_TIME_IN_FORCE
        elif self._books[order.symbol].halted:
            reason = RejectReason.HALTED
        if reason is not None:
            return self._publish([ReplaceRejected(ts, owner, client_id, new_client_id, reason)])
        book = self._books[order.symbol]
        events: list = []
        new_leaves = qty - order.executed
        if new_leaves <= 0:
            self._reduce(book, order, order.leaves, CancelReason.USER, ts, events)
            return self._publish(events)
        tif = order.tif if tif is None else TimeInForce(tif)
        old_ref, old_client_id = order.order_ref, order.client_id
        if price == order.price and new_leaves <= order.leaves:
            delta = order.leaves - new_leaves
            del self._live[(owner, old_client_id)]
            order.client_id = new_client_id
            self._live[(owner, new_client_id)] = order
            order.qty, order.leaves, order.tif = qty, new_leaves, tif
            events.append(self._replaced(ts, order, old_client_id, old_ref, True))
            if delta and order.displayed:
                events.append(BookCancel(ts, order.symbol, old_ref, delta, new_leaves))
            return self._publish(events)
        book.side(order.side).remove(order)
        self._forget(order)
        order.client_id = new_client_id
        order.order_ref = self._new_ref()
        order.qty, order.leaves, order.price, order.tif = qty, new_leaves, price, tif
        events.append(self._replaced(ts, order, old_client_id, old_ref, False))
        opposite = book.side(order.side.opposite)
        best = opposite.best()
        if tif is TimeInForce.IOC or (best is not None and opposite.crosses(best, price)):
            if order.displayed:
                events.append(BookDelete(ts, order.symbol, old_ref))
            self._aggress(book, order, ts, events)
            self._rest_or_expire(book, order, ts, events)
        else:
            self._rest(book, order, ts, events, replaces=old_ref)
        return self._publish(events)

    def halt(self, symbol: str, halted: bool) -> list:
        """Halt or resume trading in ``symbol`` (ITCH 5.0 §1.2.4)."""
        ts = self._clock()
        book = self._books.get(symbol)
        if book is None:
            raise KeyError(f"unknown symbol {symbol!r}")
        if book.halted == bool(halted):
            return []
        book.halted = bool(halted)
        return self._publish([HaltChanged(ts, symbol, book.halted)])

    # --------------------------------------------------- external liquidity

    def add_external(self, order_ref: int, symbol: str, side: Side, qty: int, price: int,
                     attribution: str | None = None, owner: str = MARKET) -> list:
        """Rest a replayed order under its own ITCH reference (ITCH ``A``/``F``)."""
        self.stats["requests"] += 1
        ts = self._clock()
        book = self._books.get(symbol)
        if book is None:
            raise KeyError(f"unknown symbol {symbol!r}")
        if order_ref in self._by_ref or (owner, order_ref) in self._live:
            raise ValueError(f"order reference {order_ref} is already live")
        if qty <= 0 or price <= 0:
            raise ValueError(f"bad external order: qty={qty} price={price}")
        order = Order(order_ref, owner, order_ref, symbol, Side(side), price, qty, qty, 0,
                       TimeInForce.DAY, True, SelfMatch.CANCEL_NEWEST, owner, attribution)
        events: list = []
        if not book.halted:
            self._aggress(book, order, ts, events, skip_owner=owner)
        if order.leaves:
            self._rest(book, order, ts, events)
        return self._publish(events)

    def execute_external(self, order_ref: int, qty: int, match_number: int = 0,
                         owner: str = MARKET) -> list:
        """A replayed execution of a replayed order (ITCH ``E``/``C``).

        Produces :class:`Canceled` (reason ``EXTERNAL``) for the owner and
        :class:`BookExecute` carrying the capture's ``match_number``.
        """
        return self._shrink_external(order_ref, qty, owner, match_number)

    def cancel_external(self, order_ref: int, qty: int, owner: str = MARKET) -> list:
        """A replayed partial cancel (ITCH ``X``)."""
        return self._shrink_external(order_ref, qty, owner, None)

    def delete_external(self, order_ref: int, owner: str = MARKET) -> list:
        """A replayed delete (ITCH ``D``)."""
        order = self._live.get((owner, order_ref))
        return self._shrink_external(order_ref, order.leaves if order else 1, owner, None)

    def replace_external(self, old_ref: int, new_ref: int, qty: int, price: int,
                         owner: str = MARKET) -> list:
        """A replayed replace (ITCH ``U``): delete ``old_ref``, add ``new_ref``."""
        order = self._live.get((owner, old_ref))
        if order is None:
            self.stats["external_clamped"] += 1
            return []
        return (self.delete_external(old_ref, owner)
                + self.add_external(new_ref, order.symbol, order.side, qty, price,
                                    order.attribution, owner))

    def _shrink_external(self, order_ref: int, qty: int, owner: str,
                         match_number: int | None) -> list:
        self.stats["requests"] += 1
        ts = self._clock()
        order = self._live.get((owner, order_ref))
        if order is None or qty > order.leaves:
            self.stats["external_clamped"] += 1
        if order is None or qty <= 0:
            return []
        qty = min(qty, order.leaves)
        book = self._books[order.symbol]
        events: list = []
        if match_number is None:
            self._reduce(book, order, qty, CancelReason.EXTERNAL, ts, events)
            return self._publish(events)
        order.leaves -= qty
        order.executed += qty
        events.append(Canceled(ts, order.owner, order.client_id, order.order_ref, order.symbol,
                               qty, order.leaves, CancelReason.EXTERNAL))
        events.append(BookExecute(ts, order.symbol, order.order_ref, qty, match_number,
                                  order.price, order.leaves))
        if not order.leaves:
            book.side(order.side).remove(order)
            self._forget(order)
        return self._publish(events)

    # ------------------------------------------------------------ internals

    @staticmethod
    def _replaced(ts: int, order: Order, old_client_id: Hashable, old_ref: int,
                  kept: bool) -> Replaced:
        return Replaced(ts, order.owner, old_client_id, order.client_id, old_ref,
                        order.order_ref, order.symbol, order.side, order.leaves, order.price,
                        order.tif, kept)

    def _aggress(self, book: Book, order: Order, ts: int, events: list,
                 skip_owner: str | None = None) -> None:
        """Trade ``order`` against the opposite side while it crosses."""
        if book.halted:
            return
        opposite = book.asks if order.side is Side.BUY else book.bids
        limit = order.price
        prices = opposite.prices
        while order.leaves and prices:
            best = prices[-1] if opposite.side is Side.BUY else prices[0]
            if limit is not None and (best < limit if opposite.side is Side.BUY
                                      else best > limit):
                return
            level = opposite.levels[best]
            if skip_owner is not None:
                if self._aggress_level_skipping(book, level, order, ts, events, skip_owner):
                    return
                continue
            while order.leaves and level:
                resting = next(iter(level.values()))    # front of the queue
                if (resting.stp_key == order.stp_key
                        and order.self_match is not SelfMatch.ALLOW):
                    if self._self_match(book, resting, order, ts, events):
                        return
                    continue
                self._trade(book, resting, order, ts, events)

    def _self_match(self, book: Book, resting: Order, order: Order, ts: int,
                    events: list) -> bool:
        """Apply the aggressor's policy; True when the aggressor is done."""
        policy = order.self_match
        if policy is not SelfMatch.CANCEL_NEWEST:
            self._reduce(book, resting, resting.leaves, CancelReason.SELF_MATCH, ts, events)
        if policy is not SelfMatch.CANCEL_RESTING:
            self._cancel_aggressor(order, ts, events)
            return True
        return False

    def _aggress_level_skipping(self, book: Book, level: dict, order: Order, ts: int,
                                events: list, skip_owner: str) -> bool:
        """One price level for an external add: other external orders are stepped over.

        True when matching must stop: the aggressor is done, or only
        external orders are left at this price (it then rests beside them).
        """
        skipped = False
        for resting in list(level.values()):
            if resting.owner == skip_owner:
                skipped = True
                continue
            if resting.stp_key == order.stp_key and order.self_match is not SelfMatch.ALLOW:
                if self._self_match(book, resting, order, ts, events):
                    return True
                continue
            self._trade(book, resting, order, ts, events)
            if not order.leaves:
                return True
        return skipped

    @staticmethod
    def _cancel_aggressor(order: Order, ts: int, events: list) -> None:
        qty, order.leaves = order.leaves, 0
        events.append(Canceled(ts, order.owner, order.client_id, order.order_ref, order.symbol,
                               qty, 0, CancelReason.SELF_MATCH))

    def _trade(self, book: Book, resting: Order, order: Order, ts: int,
               events: list) -> None:
        qty = min(resting.leaves, order.leaves)
        resting.leaves -= qty
        resting.executed += qty
        order.leaves -= qty
        order.executed += qty
        match = self._next_match
        self._next_match += 1
        self.stats["trades"] += 1
        price = resting.price
        events.append(Executed(
            ts, order.symbol, match, price, qty,
            Fill(resting.owner, resting.client_id, resting.order_ref, resting.side,
                 resting.leaves, "A" if resting.displayed else "J", resting.displayed),
            Fill(order.owner, order.client_id, order.order_ref, order.side, order.leaves,
                 "R", order.displayed)))
        if resting.displayed:
            events.append(BookExecute(ts, order.symbol, resting.order_ref, qty, match, price,
                                      resting.leaves))
        if not resting.leaves:
            (book.bids if resting.side is Side.BUY else book.asks).remove(resting)
            del self._live[(resting.owner, resting.client_id)]
            del self._by_ref[resting.order_ref]

    def _rest_or_expire(self, book: Book, order: Order, ts: int, events: list) -> None:
        if not order.leaves:
            return
        if order.price is None or order.tif is TimeInForce.IOC:
            qty, order.leaves = order.leaves, 0
            events.append(Canceled(ts, order.owner, order.client_id, order.order_ref,
                                   order.symbol, qty, 0, CancelReason.IOC))
            return
        self._rest(book, order, ts, events)

    def _rest(self, book: Book, order: Order, ts: int, events: list,
              replaces: int | None = None) -> None:
        (book.bids if order.side is Side.BUY else book.asks).add(order)
        self._live[(order.owner, order.client_id)] = order
        self._by_ref[order.order_ref] = order
        if not order.displayed:
            return
        if replaces is not None:
            events.append(BookReplace(ts, order.symbol, replaces, order.order_ref, order.leaves,
                                      order.price))
        else:
            events.append(BookAdd(ts, order.symbol, order.order_ref, order.side, order.leaves,
                                  order.price, order.attribution))

    def _reduce(self, book: Book, order: Order, qty: int, reason: CancelReason, ts: int,
                events: list) -> None:
        """Take ``qty`` open shares off a resting order (all of them removes it)."""
        order.leaves -= qty
        events.append(Canceled(ts, order.owner, order.client_id, order.order_ref, order.symbol,
                               qty, order.leaves, reason))
        if order.leaves:
            if order.displayed:
                events.append(BookCancel(ts, order.symbol, order.order_ref, qty, order.leaves))
            return
        book.side(order.side).remove(order)
        self._forget(order)
        if order.displayed:
            events.append(BookDelete(ts, order.symbol, order.order_ref))

    def _forget(self, order: Order) -> None:
        del self._live[(order.owner, order.client_id)]
        del self._by_ref[order.order_ref]
