"""Bit-exact model of the gateware book :class:`~tick2trade.hdl.book.Book`.

Same capacities and limits as the hardware (:class:`BookParams`), same
counters (:data:`COUNTERS`), same sequence of top-of-book records. The rules
(ITCH 5.0 §3.11–§3.17, §5), record by record:

* ``A``/``F``: a side other than B/S is skipped (``bad_side``); a live order
  under the same reference is removed (``duplicates``); 0 shares add nothing
  (``zero_shares``); a locate no slot subscribes is not stored
  (``unsubscribed``); a table set whose ways all hold live orders is a
  collision: the add is dropped, counted, and its side marked ``lost``
  (inexact for good); otherwise the order is stored and its level grows.
* ``E``/``C``/``X`` take shares off (clamped: ``overfills``), ``D`` removes,
  ``U`` removes and adds ``new_ref`` with the old order's symbol and side;
  a reference not in the table is a ``miss``.
* Level operations place a price by tick (price // tick). An add outside
  its side's window moves the window when that loses nothing (the ticks
  leaving it are empty and no live order outside lies in the ticks
  entering it); otherwise it is counted below/above the window. Off-grid
  prices are counted apart. See :mod:`tick2trade.hdl.book.levels`.
* After each record, every slot it touched is re-evaluated; a top-of-book
  record is published when the slot's (bid, ask, exactness) changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tick2trade.hdl.book.layouts import BUY, COUNTERS, SELL, BookParams

__all__ = ["HwBookModel", "TobRecord", "SideState"]

_A, _F, _E, _C, _X, _D, _U = (ord(c) for c in "AFECXDU")


@dataclass(frozen=True)
class TobRecord:
    """A published top of book (fields of :class:`~tick2trade.hdl.book.layouts.TopOfBook`)."""

    locate: int
    bid_px: int
    bid_qty: int
    ask_px: int
    ask_qty: int
    bid_exact: int
    ask_exact: int
    ts: int
    seq: int
    hw_ts: int

    @property
    def quote(self) -> tuple[int, int, int, int, int, int]:
        return (self.bid_px, self.bid_qty, self.ask_px, self.ask_qty, self.bid_exact,
                self.ask_exact)


@dataclass
class SideState:
    """One (slot, side): window base tick, set ticks, orders outside, lost flag."""

    base: int = 0
    bitmap: int = 0
    low: int = 0
    high: int = 0
    off_grid: int = 0
    lost: int = 0
    #: window index → [shares, orders]; absent when empty
    levels: dict = field(default_factory=dict)


_EMPTY_QUOTE = (0, 0, 0, 0, 1, 1)


class HwBookModel:
    """The gateware book, in Python, one record at a time."""

    def __init__(self, params: BookParams | None = None, subscriptions=()):
        self.p = params = params or BookParams()
        self.subs: list[int | None] = [None] * params.symbols
        self._slots: dict[int, int] = {}
        #: (bank, set) → its ways, each None or [tag, slot, ask, price, shares]
        self.table: dict[int, list] = {}
        self.sides = [[SideState(), SideState()] for _ in range(params.symbols)]
        self.published = [_EMPTY_QUOTE] * params.symbols
        self.counters = dict.fromkeys(COUNTERS, 0)
        for slot, locate in enumerate(subscriptions):
            self.subscribe(slot, locate)

    # --------------------------------------------------------------- control

    def subscribe(self, slot: int, locate: int | None) -> None:
        """Point a slot at a locate (None frees it); only between flows (book empty)."""
        if not 0 <= slot < self.p.symbols:
            raise ValueError(f"slot {slot} out of range 0..{self.p.symbols - 1}")
        self.subs[slot] = locate
        self._slots = {}
        for i in reversed(range(len(self.subs))):
            if self.subs[i] is not None:
                self._slots[self.subs[i]] = i

    def slot_of(self, locate: int) -> int | None:
        """The lowest slot subscribing ``locate`` (the gateware's priority encoder)."""
        return self._slots.get(locate)

    # ------------------------------------------------------------- records

    def push(self, rec) -> list[TobRecord]:
        """Apply one :class:`~tick2trade.sim.model.feed.records.Record`; return published tops."""
        t = rec.type
        if t not in (_A, _F, _E, _C, _X, _D, _U):
            return []
        c = self.counters
        c["records"] += 1
        self._touched: list[int] = []
        if t == _A or t == _F:
            if rec.side != BUY and rec.side != SELL:
                c["bad_side"] += 1
            else:
                self._add(rec.ref, self.slot_of(rec.locate), int(rec.side == SELL), rec.price,
                          rec.shares)
        else:
            ways, way = self._find(rec.ref)
            if way is None:
                c["misses"] += 1
            else:
                entry = ways[way]
                _, slot, ask, price, left = entry
                if t == _D or t == _U:
                    amount = left
                else:
                    amount = min(rec.shares, left)
                    if rec.shares > left:
                        c["overfills"] += 1
                if amount == left:
                    ways[way] = None
                    self._level(slot, ask, price, -amount, -1)
                else:
                    entry[4] = left - amount
                    self._level(slot, ask, price, -amount, 0)
                if t == _U:
                    self._add(rec.new_ref, slot, ask, rec.price, rec.shares)
        return self._publish(rec)

    def _sets(self, ref: int) -> list[list]:
        p = self.p
        return [self.table.setdefault((bank, p.set_of(ref, bank)), [None] * p.ways)
                for bank in (0, 1)]

    def _find(self, ref: int) -> tuple[list, int | None]:
        """The ways holding ``ref`` and its way (None: not in the table; bank 0 first)."""
        tag = self.p.tag_of(ref)
        sets = self._sets(ref)
        for ways in sets:
            for way, entry in enumerate(ways):
                if entry is not None and entry[0] == tag:
                    return ways, way
        return sets[0], None

    def _free_way(self, ref: int) -> tuple[list, int | None]:
        """Where an add goes: the bank whose set has more free ways (tie: bank 0), lowest way."""
        best, free = None, -1
        for ways in self._sets(ref):
            n = ways.count(None)
            if n > free:
                best, free = ways, n
        return best, (best.index(None) if free else None)

    def _add(self, ref, slot, ask, price, shares) -> None:
        c = self.counters
        ways, way = self._find(ref)
        if way is not None:
            c["duplicates"] += 1
            entry, ways[way] = ways[way], None
            self._level(entry[1], entry[2], entry[3], -entry[4], -1)
        ways, free = self._free_way(ref)
        if shares == 0:
            c["zero_shares"] += 1
        elif slot is None:
            c["unsubscribed"] += 1
        elif free is None:
            c["collisions"] += 1
            self.sides[slot][ask].lost = 1
            self._touch(slot)
        else:
            ways[free] = [self.p.tag_of(ref), slot, ask, price, shares]
            self._level(slot, ask, price, shares, 1)

    def _touch(self, slot: int) -> None:
        if slot not in self._touched:
            self._touched.append(slot)

    # -------------------------------------------------------------- levels

    def _level(self, slot: int, ask: int, price: int, shares: int, count: int) -> None:
        """Change one level by ``shares``/``count`` (count +1 add, -1 remove, 0 partial)."""
        self._touch(slot)
        p, s = self.p, self.sides[slot][ask]
        w = p.window
        tick, rem = divmod(price, p.tick)
        if rem:
            if count == 1:
                self.counters["off_grid"] += 1
            s.off_grid += count
            return
        if count == 1 and not s.base <= tick < s.base + w:
            self._try_shift(s, tick)
        if tick < s.base:
            if count == 1:
                self.counters["out_of_window"] += 1
            s.low += count
        elif tick >= s.base + w:
            if count == 1:
                self.counters["out_of_window"] += 1
            s.high += count
        else:
            i = tick - s.base
            lvl = s.levels.setdefault(i, [0, 0])
            lvl[0] += shares
            lvl[1] += count
            if lvl[1] == 0:
                del s.levels[i]
                s.bitmap &= ~(1 << i)
            else:
                s.bitmap |= 1 << i

    def _try_shift(self, s: SideState, tick: int) -> None:
        """Move the window to hold ``tick`` if no level or outside order is lost."""
        w = self.p.window
        if s.bitmap == 0:
            new_base = max(0, tick - w // 2)
        elif tick < s.base:
            new_base = tick
        else:
            new_base = tick - w + 1
        d = new_base - s.base
        full = (1 << w) - 1
        if d < 0:
            k = -d
            leaving = full if k >= w else full ^ (full >> k)   # top k bits
            if s.low or s.bitmap & leaving:
                return
            moved = (s.bitmap << k) & full
        else:
            k = d
            leaving = full if k >= w else (1 << k) - 1        # bottom k bits
            if s.high or s.bitmap & leaving:
                return
            moved = s.bitmap >> k
        s.levels = {i + -d: lvl for i, lvl in s.levels.items()}
        s.base, s.bitmap = new_base, moved
        self.counters["shifts"] += 1

    # ------------------------------------------------------------ top of book

    def side_quote(self, slot: int, ask: int) -> tuple[int, int, int]:
        """``(px, qty, exact)`` of one side as the gateware computes it."""
        s = self.sides[slot][ask]
        better, worse = (s.low, s.high) if ask else (s.high, s.low)
        exact = not s.lost and not s.off_grid and not better and (s.bitmap or not worse)
        if not exact:
            return 0, 0, 0
        if not s.bitmap:
            return 0, 0, 1
        i = (s.bitmap & -s.bitmap).bit_length() - 1 if ask else s.bitmap.bit_length() - 1
        return (s.base + i) * self.p.tick, s.levels[i][0], 1

    def quote(self, slot: int) -> tuple[int, int, int, int, int, int]:
        bid_px, bid_qty, bid_exact = self.side_quote(slot, 0)
        ask_px, ask_qty, ask_exact = self.side_quote(slot, 1)
        return bid_px, bid_qty, ask_px, ask_qty, bid_exact, ask_exact

    def _publish(self, rec) -> list[TobRecord]:
        out = []
        for slot in self._touched:
            q = self.quote(slot)
            if q != self.published[slot]:
                self.published[slot] = q
                self.counters["tob"] += 1
                out.append(TobRecord(self.subs[slot], q[0], q[1], q[2], q[3], q[4], q[5],
                                     rec.ts, rec.seq, rec.hw_ts))
        return out

    # ------------------------------------------------------------ read-back

    def levels(self, slot: int, ask: int, depth: int | None = None) -> list[tuple[int, int, int]]:
        """``(price, shares, orders)`` of the window's levels, best first."""
        s = self.sides[slot][ask]
        idx = sorted(s.levels, reverse=not ask)[:depth]
        return [((s.base + i) * self.p.tick, *s.levels[i]) for i in idx]
