"""Reference full-depth (L3) order book built from ITCH 5.0 (ITCH 5.0 §5).

The book keys orders by Order Reference Number and price levels by Stock
Locate, side and price. It is the model the gateware book is checked against,
so every rule is explicit and deterministic:

* ``A``/``F`` add an order at the back of its level (ITCH 5.0 §3.11, §3.12).
* ``E``/``C``/``X`` take shares off an order; ``C`` changes the order's own
  (display) price level, never the execution price's (ITCH 5.0 §3.13–§3.15).
* ``D`` removes an order; ``U`` removes the original and adds a new order
  under the new reference, same locate and side, new price and shares, at the
  back of its level (ITCH 5.0 §3.16, §3.17).
* An order whose shares reach 0 is removed (ITCH 5.0 §5).
* ``R`` maps locate → symbol, ``H`` keeps the trading state per locate, ``S``
  keeps the last event code; none of them touches resting orders (ITCH 5.0 §5).

Anomalies are counted, never raised (DESIGN.md, principle 10):

* a reference the book does not hold (feed joined mid-day): the message is
  skipped and counted in ``unknown_refs`` by type;
* executed or cancelled shares beyond what remains: clamped to what remains
  (the order is removed) and counted in ``overfills`` by type;
* an add (``A``/``F``, or ``U``'s new reference) of a reference that is live:
  the live order is removed first, then the new one is added ("last add
  wins"), counted in ``duplicate_adds``;
* an add or replace with 0 shares adds nothing, counted in ``zero_share_adds``;
* an add with a side other than ``B``/``S`` is skipped, counted in ``bad_side``;
* a modify whose header locate differs from the order's is applied to the
  order (the reference is the key) and counted in ``locate_mismatches``;
* a message whose length differs from its type's is skipped and counted in
  ``malformed``; a type byte ITCH 5.0 does not define, in ``unknown_types``;
  an empty message (a MoldUDP64 block may be empty), in ``empty_messages``.

Two entry points give identical results: :meth:`OrderBook.apply` takes a
decoded message and reports the price levels it changed (for message-by-
message comparison with hardware); :meth:`OrderBook.apply_raw_many` takes raw
message bytes and is the fast path (close to a million messages a second on
one core, see docs/performance.md).
Best prices are not tracked while messages are applied: :meth:`levels` and
:meth:`top_of_book` compute them when asked.
"""

from __future__ import annotations

import gc
import heapq
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tick2trade.sim.model import itch_fast as fast

BUY = "B"
SELL = "S"
_BUY = ord(BUY)
_SELL = ord(SELL)

# order record: [its level record, levels of its locate and side, price, shares, locate,
# side byte]; a level record lives exactly as long as it holds orders, so holding it is safe
_LEVEL, _LEVELS, _PRICE, _SHARES, _LOCATE, _SIDE = range(6)
# level record: [shares, order count]
_QTY, _COUNT = range(2)


@dataclass(frozen=True)
class LevelChange:
    """The state of one price level after a message touched it (0, 0 = level gone)."""

    locate: int
    side: str
    price: int
    shares: int
    orders: int


@dataclass(frozen=True)
class RestingOrder:
    """One live order as the book holds it."""

    ref: int
    locate: int
    side: str
    price: int
    shares: int


@dataclass
class BookStats:
    """Counters kept by :class:`OrderBook` (see the module docstring for each rule)."""

    messages_by_type: dict[str, int] = field(default_factory=dict)
    unknown_refs: dict[str, int] = field(default_factory=dict)
    overfills: dict[str, int] = field(default_factory=dict)
    duplicate_adds: int = 0
    zero_share_adds: int = 0
    bad_side: int = 0
    locate_mismatches: int = 0
    malformed: int = 0
    unknown_types: int = 0
    empty_messages: int = 0

    @property
    def messages(self) -> int:
        return sum(self.messages_by_type.values())

    @property
    def unknown_refs_total(self) -> int:
        return sum(self.unknown_refs.values())


def _bump(counter: dict[str, int], key: str, n: int = 1) -> None:
    counter[key] = counter.get(key, 0) + n


class OrderBook:
    """Full-depth ITCH 5.0 order book for every locate of one feed (ITCH 5.0 §5)."""

    def __init__(self) -> None:
        #: order ref → [level, levels, price, shares, locate, side byte]
        self._orders: dict[int, list] = {}
        #: (locate << 8 | side byte) → levels of that side: price → [shares, order count]
        self._sides: dict[int, dict[int, list]] = {}
        #: locate → symbol, from Stock Directory (ITCH 5.0 §3.2)
        self.symbols: dict[int, str] = {}
        #: locate → trading state letter, from Stock Trading Action (ITCH 5.0 §3.3)
        self.trading_state: dict[int, str] = {}
        #: last System Event code (ITCH 5.0 §4.1), None before the first one
        self.last_event: str | None = None
        self._type_counts = [0] * 256
        self._stats = BookStats()

    # ------------------------------------------------------------------ queries

    @property
    def stats(self) -> BookStats:
        """A snapshot of the counters (messages by type included)."""
        s = self._stats
        by_type = {chr(t): n for t, n in enumerate(self._type_counts) if n}
        return BookStats(dict(sorted(by_type.items())), dict(s.unknown_refs),
                         dict(s.overfills), s.duplicate_adds, s.zero_share_adds,
                         s.bad_side, s.locate_mismatches, s.malformed, s.unknown_types,
                         s.empty_messages)

    def __len__(self) -> int:
        """Number of resting orders."""
        return len(self._orders)

    def order(self, ref: int) -> RestingOrder | None:
        o = self._orders.get(ref)
        if o is None:
            return None
        return RestingOrder(ref, o[_LOCATE], chr(o[_SIDE]), o[_PRICE], o[_SHARES])

    def orders(self) -> Iterator[RestingOrder]:
        """Every resting order, in the order they were added."""
        for ref in self._orders:
            yield self.order(ref)

    def symbol(self, locate: int) -> str:
        """The Stock Directory symbol of ``locate``, or ``"#<locate>"`` without one."""
        return self.symbols.get(locate, f"#{locate}")

    def locates(self) -> list[int]:
        """Locates with a Stock Directory entry or resting orders, sorted by symbol."""
        live = {key >> 8 for key, levels in self._sides.items() if levels}
        return sorted(live | set(self.symbols), key=lambda loc: (self.symbol(loc), loc))

    def levels(self, locate: int, side: str, depth: int | None = None) -> list[tuple]:
        """``(price, shares, orders)`` per level of one side, best first."""
        levels = self._sides.get(locate << 8 | ord(side))
        if not levels:
            return []
        pick = heapq.nlargest if side == BUY else heapq.nsmallest
        prices = pick(depth, levels) if depth is not None else (
            sorted(levels, reverse=side == BUY))
        return [(p, levels[p][_QTY], levels[p][_COUNT]) for p in prices]

    def level(self, locate: int, side: str, price: int) -> tuple[int, int]:
        """``(shares, orders)`` at one price, ``(0, 0)`` if the level is empty."""
        lvl = self._sides.get(locate << 8 | ord(side), {}).get(price)
        return (lvl[_QTY], lvl[_COUNT]) if lvl else (0, 0)

    def top_of_book(self, locate: int) -> tuple[int, int, int, int]:
        """``(bid_px, bid_qty, ask_px, ask_qty)``, 0 for an empty side."""
        bids = self._sides.get(locate << 8 | _BUY)
        asks = self._sides.get(locate << 8 | _SELL)
        bid_px = max(bids) if bids else 0
        ask_px = min(asks) if asks else 0
        return (bid_px, bids[bid_px][_QTY] if bids else 0,
                ask_px, asks[ask_px][_QTY] if asks else 0)

    # ------------------------------------------------------------ primitives
    # The slow path calls these for every message; the fast path inlines the
    # common case and calls them for the rare ones, so the rules live here.

    def _side_levels(self, locate: int, side: int) -> dict[int, list]:
        key = locate << 8 | side
        levels = self._sides.get(key)
        if levels is None:
            levels = self._sides[key] = {}
        return levels

    def _unknown(self, kind: str) -> None:
        _bump(self._stats.unknown_refs, kind)

    def _add(self, ref: int, locate: int, side: int, price: int, shares: int) -> None:
        if side != _BUY and side != _SELL:
            self._stats.bad_side += 1
            return
        if ref in self._orders:
            self._stats.duplicate_adds += 1
            self._remove(ref)
        if shares == 0:
            self._stats.zero_share_adds += 1
            return
        levels = self._side_levels(locate, side)
        lvl = levels.get(price)
        if lvl is None:
            lvl = levels[price] = [shares, 1]
        else:
            lvl[_QTY] += shares
            lvl[_COUNT] += 1
        self._orders[ref] = [lvl, levels, price, shares, locate, side]

    def _remove(self, ref: int) -> list:
        o = self._orders.pop(ref)
        lvl = o[_LEVEL]
        if lvl[_COUNT] == 1:
            del o[_LEVELS][o[_PRICE]]
        else:
            lvl[_QTY] -= o[_SHARES]
            lvl[_COUNT] -= 1
        return o

    def _check_locate(self, o: list, locate: int) -> None:
        if o[_LOCATE] != locate:
            self._stats.locate_mismatches += 1

    def _reduce(self, kind: str, ref: int, locate: int, shares: int) -> None:
        o = self._orders.get(ref)
        if o is None:
            return self._unknown(kind)
        self._check_locate(o, locate)
        left = o[_SHARES]
        if shares >= left:
            if shares > left:
                _bump(self._stats.overfills, kind)
            self._remove(ref)
        else:
            o[_SHARES] = left - shares
            o[_LEVEL][_QTY] -= shares

    def _delete(self, ref: int, locate: int) -> None:
        o = self._orders.get(ref)
        if o is None:
            return self._unknown("D")
        self._check_locate(o, locate)
        self._remove(ref)

    def _replace(self, ref: int, locate: int, new_ref: int, shares: int, price: int) -> None:
        o = self._orders.get(ref)
        if o is None:
            return self._unknown("U")
        self._check_locate(o, locate)
        self._remove(ref)
        self._add(new_ref, o[_LOCATE], o[_SIDE], price, shares)

    def _directory(self, locate: int, stock: str) -> None:
        self.symbols[locate] = stock

    # ------------------------------------------------------------- slow path

    def apply(self, msg) -> list[LevelChange]:
        """Apply one decoded ITCH message (``tick2trade.proto.itch``); return changed levels.

        Each changed level is reported once, with its state after the message.
        """
        t = msg.TYPE
        self._type_counts[ord(t)] += 1
        touched: list[tuple[int, int, int]] = []
        if t in "AF":
            touched.append((msg.stock_locate, ord(msg.side), msg.price))
            old = self._orders.get(msg.order_ref)
            if old is not None:
                touched.insert(0, (old[_LOCATE], old[_SIDE], old[_PRICE]))
            self._add(msg.order_ref, msg.stock_locate, ord(msg.side), msg.price, msg.shares)
        elif t in "ECXDU":
            o = self._orders.get(msg.original_order_ref if t == "U" else msg.order_ref)
            if o is not None:
                touched.append((o[_LOCATE], o[_SIDE], o[_PRICE]))
            if t == "E" or t == "C":
                self._reduce(t, msg.order_ref, msg.stock_locate, msg.executed_shares)
            elif t == "X":
                self._reduce(t, msg.order_ref, msg.stock_locate, msg.cancelled_shares)
            elif t == "D":
                self._delete(msg.order_ref, msg.stock_locate)
            elif o is not None:
                dup = self._orders.get(msg.new_order_ref)
                if dup is not None and msg.new_order_ref != msg.original_order_ref:
                    touched.append((dup[_LOCATE], dup[_SIDE], dup[_PRICE]))
                touched.append((o[_LOCATE], o[_SIDE], msg.price))
                self._replace(msg.original_order_ref, msg.stock_locate, msg.new_order_ref,
                              msg.shares, msg.price)
            else:
                self._unknown("U")
        elif t == "R":
            self._directory(msg.stock_locate, msg.stock)
        elif t == "H":
            self.trading_state[msg.stock_locate] = msg.trading_state
        elif t == "S":
            self.last_event = msg.event_code
        changes, seen = [], set()
        for key in touched:
            if key not in seen and (key[1] == _BUY or key[1] == _SELL):
                seen.add(key)
                locate, side, price = key
                side = chr(side)
                changes.append(LevelChange(locate, side, price, *self.level(locate, side, price)))
        return changes

    # ------------------------------------------------------------- fast path

    def apply_raw(self, message: bytes) -> None:
        """Apply one raw ITCH message (the bytes after its length prefix)."""
        self.apply_raw_many((message,))

    def apply_raw_many(self, messages: Iterable[bytes]) -> None:
        """Apply raw ITCH messages in order: the fast path, same rules as :meth:`apply`.

        The cyclic garbage collector is paused meanwhile: the book allocates
        many small lists that can never form cycles, and scanning them
        repeatedly would cost more than the work itself.
        """
        if not gc.isenabled():
            return self._apply_raw_many(messages)
        gc.disable()
        try:
            return self._apply_raw_many(messages)
        finally:
            gc.enable()

    def _apply_raw_many(self, messages: Iterable[bytes]) -> None:
        orders = self._orders
        sides = self._sides
        counts = self._type_counts
        add_a, add_f = fast.ADD.unpack, fast.ADD_MPID.unpack
        exec_e, exec_c = fast.EXECUTED.unpack, fast.EXECUTED_PRICE.unpack
        cancel, delete, replace = fast.CANCEL.unpack, fast.DELETE.unpack, fast.REPLACE.unpack
        A, F, E, C, X, D, U = (ord(c) for c in "AFECXDU")
        t = 0
        for m in messages:
            try:
                t = m[0]
                counts[t] += 1
                if t == A or t == F:
                    locate, ref, side, shares, price = add_a(m) if t == A else add_f(m)
                    levels = sides.get(locate << 8 | side)
                    if levels is None or not shares or ref in orders:
                        self._add(ref, locate, side, price, shares)
                        continue
                    lvl = levels.get(price)
                    if lvl is None:
                        lvl = levels[price] = [shares, 1]
                    else:
                        lvl[0] += shares
                        lvl[1] += 1
                    orders[ref] = [lvl, levels, price, shares, locate, side]
                elif t == D:
                    locate, ref = delete(m)
                    o = orders.pop(ref, None)
                    if o is None or o[4] != locate:
                        if o is not None:
                            orders[ref] = o
                        self._delete(ref, locate)
                        continue
                    lvl = o[0]
                    if lvl[1] == 1:
                        del o[1][o[2]]
                    else:
                        lvl[0] -= o[3]
                        lvl[1] -= 1
                elif t == U:
                    locate, ref, new_ref, shares, price = replace(m)
                    o = orders.get(ref)
                    if (o is None or o[4] != locate or not shares
                            or (new_ref in orders and new_ref != ref)):
                        self._replace(ref, locate, new_ref, shares, price)
                        continue
                    del orders[ref]
                    lvl, levels = o[0], o[1]
                    if lvl[1] == 1:
                        del levels[o[2]]
                    else:
                        lvl[0] -= o[3]
                        lvl[1] -= 1
                    lvl = levels.get(price)
                    if lvl is None:
                        lvl = levels[price] = [shares, 1]
                    else:
                        lvl[0] += shares
                        lvl[1] += 1
                    o[0] = lvl
                    o[2] = price
                    o[3] = shares
                    orders[new_ref] = o
                elif t == E or t == C or t == X:
                    locate, ref, shares = (exec_e(m) if t == E else exec_c(m) if t == C
                                           else cancel(m))
                    o = orders.get(ref)
                    if o is None or o[4] != locate or shares >= o[3]:
                        self._reduce(chr(t), ref, locate, shares)
                        continue
                    o[3] -= shares
                    o[0][0] -= shares
                else:
                    self._apply_state_raw(t, m)
            except struct.error:     # wrong length for its type (ITCH 5.0 §2)
                self._bad_length(t)
            except IndexError:       # an empty block carries nothing (MoldUDP64 §2.2)
                self._stats.empty_messages += 1

    def _bad_length(self, t: int) -> None:
        if fast.LENGTHS[t] == 0:
            self._stats.unknown_types += 1
        else:
            self._stats.malformed += 1

    def _apply_state_raw(self, t: int, m: bytes) -> None:
        if len(m) != fast.LENGTHS[t]:
            return self._bad_length(t)
        if t == 82:    # R
            locate, stock = fast.DIRECTORY.unpack_from(m, 1)
            self._directory(locate, stock.decode("latin-1").rstrip(" "))
        elif t == 72:  # H
            locate, state = fast.TRADING_ACTION.unpack_from(m, 1)
            self.trading_state[locate] = chr(state)
        elif t == 83:  # S
            self.last_event = chr(m[fast.EVENT_CODE_OFFSET])
