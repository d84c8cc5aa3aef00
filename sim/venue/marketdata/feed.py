"""The venue's ITCH 5.0 feed: engine events and replayed messages → ITCH messages.

:class:`ItchFeed` subscribes to the matching engine and turns each book
change into the ITCH 5.0 message that describes it (ITCH 5.0 §5, building a
book): ``BookAdd`` → ``A`` Add Order (``F`` with an MPID, §3.11/§3.12),
``BookExecute`` → ``E`` Order Executed (§3.13; the engine prints at the
resting order's price, so never ``C``), ``BookCancel`` → ``X`` Order Cancel
(§3.15), ``BookDelete`` → ``D`` Order Delete (§3.16), ``BookReplace`` →
``U`` Order Replace (§3.17), a trade against a hidden order → ``P`` Trade
(§3.18: order reference 0, side ``B``), ``HaltChanged`` → ``H`` Stock
Trading Action (§3.3). Order references and match numbers are the engine's
(day-unique); timestamps are the engine's event times, ns since midnight
(ITCH 5.0 §1). Each finished message goes to ``sink`` (the MoldUDP64
publisher), in engine order. The hot messages are packed straight to bytes
with structs derived from ``itch.FIELDS``; a value the wire cannot carry
(a quantity above u32, an MPID longer than 4) is counted ``unencodable``
and logged, and the engine carries on.

The day frame (live mode): :meth:`ItchFeed.start_of_day` sends System Event
``O`` (start of messages), a Stock Directory ``R`` per symbol with Stock
Locate codes 1…N (§3.2), then ``S`` (start of system hours) and ``Q``
(start of market hours); :meth:`ItchFeed.end_of_day` sends ``M``, ``E``
and ``C`` (§4.1).

Capture replay (:meth:`ItchFeed.replay`): each message of a real feed is
re-published in our own session and, if it changes the book, applied to the
engine as external liquidity (``add_external`` and friends), so our orders
trade against the replayed book. Re-publishing follows one rule: *the
published feed always rebuilds the engine's book*.

* A message the engine takes as it is (nobody of ours interfered) goes out
  byte for byte as captured, so replaying a capture reproduces it.
* If our orders consumed part of a replayed order, later replayed changes
  to it are clamped by the engine; the message goes out with the captured
  header and the clamped share count (``E``/``C``/``X``), or not at all once
  the order is gone (counted ``suppressed``). An add that trades with our
  resting orders goes out as our executions (``E``) followed by the add of
  what is left.
* Messages the engine cannot book (a reference it never saw because the
  capture starts mid-day, a symbol it does not trade) go out unchanged and
  are counted (``unknown_refs``, ``foreign_symbol``): the original feed said
  exactly that.
* A symbol of ours the capture has not announced gets a Stock Directory
  with the highest free Stock Locate (from 65535 down), away from the
  capture's own codes (Nasdaq numbers from 1).
* Everything else (``S``, ``R``, ``H``, ``I``, ``P``, ``Q``, …) goes out
  unchanged; ``R`` and ``A``/``F`` teach the feed the capture's Stock Locate
  codes, and ``H`` halts or resumes the symbol in the engine.
"""

from __future__ import annotations

import dataclasses
import logging
import struct
from collections import Counter
from collections.abc import Callable, Iterable

from tick2trade.proto import itch
from tick2trade.proto.errors import ProtocolError
from tick2trade.sim.model.itch_fast import packer
from tick2trade.sim.venue.engine import (
    MARKET,
    BookAdd,
    BookCancel,
    BookDelete,
    BookExecute,
    BookReplace,
    Canceled,
    Executed,
    HaltChanged,
    MatchingEngine,
    ns_since_midnight,
)

log = logging.getLogger(__name__)

#: one day in ns: ITCH timestamps are ns since midnight (ITCH 5.0 §1)
DAY_NS = 86_400_000_000_000
#: trading states that stop matching (ITCH 5.0 §3.3): halted, paused, quotation only
HALTED_STATES = frozenset("HPQ")
#: book-changing ITCH types that name an existing order (ITCH 5.0 §5)
_MODIFY_TYPES = frozenset("ECXDU")
#: whole-message packers for the hot path, built from ``itch.FIELDS`` (ITCH 5.0 §3.11–§3.18)
_PACKERS = {letter: packer(letter) for letter in "AFEXDUP"}
_FIELD_WIDTHS = {f.name: f.length for f in itch.FIELDS["F"]}
_STOCK_WIDTH = _FIELD_WIDTHS["stock"]
_MPID_WIDTH = _FIELD_WIDTHS["attribution"]
_BUY = ord("B")
#: types replay decodes: they change the book, the locate map or the halt state
_DECODED_ON_REPLAY = frozenset(t.encode() for t in "RAFECXDUH")
_LENGTHS = {t.encode(): n for t, n in itch.LENGTHS.items()}


def _alpha(text: str, width: int) -> bytes:
    """An Alpha field: ASCII, left-justified, space-padded (ITCH 5.0 §1)."""
    raw = text.encode("ascii")
    if len(raw) > width:
        raise ValueError(f"{text!r} is longer than the {width}-character ITCH field")
    return raw.ljust(width, b" ")


@dataclasses.dataclass(frozen=True)
class SecurityDefaults:
    """Stock Directory field values for the venue's own symbols (ITCH 5.0 §3.2, §4)."""

    market_category: str = "Q"
    financial_status_indicator: str = "N"
    round_lot_size: int = 100
    round_lots_only: str = "N"
    issue_classification: str = "C"
    issue_sub_type: str = "Z"
    authenticity: str = "P"
    short_sale_threshold_indicator: str = "N"
    ipo_flag: str = "N"
    luld_reference_price_tier: str = "1"
    etp_flag: str = "N"
    etp_leverage_factor: int = 0
    inverse_indicator: str = "N"


class LocateMap:
    """The day's Stock Locate codes, symbol ↔ locate (ITCH 5.0 §1, §3.2)."""

    def __init__(self) -> None:
        self._by_symbol: dict[str, int] = {}
        self._by_locate: dict[int, str] = {}

    def __contains__(self, symbol: str) -> bool:
        return symbol in self._by_symbol

    def __len__(self) -> int:
        return len(self._by_symbol)

    def learn(self, symbol: str, locate: int) -> None:
        """Record a code seen on the feed (``R``, ``A``/``F``); the first one wins."""
        if locate and symbol not in self._by_symbol and locate not in self._by_locate:
            self._by_symbol[symbol] = locate
            self._by_locate[locate] = symbol

    def locate(self, symbol: str) -> int | None:
        return self._by_symbol.get(symbol)

    def symbol(self, locate: int) -> str | None:
        return self._by_locate.get(locate)

    def assign(self, symbol: str, *, from_top: bool = False) -> int:
        """The symbol's code, giving it the lowest free one (from 1) if it has none.

        ``from_top`` takes the highest free one (from 65535) instead: codes a
        replayed feed has not announced yet are then unlikely to collide.
        """
        locate = self._by_symbol.get(symbol)
        if locate is None:
            candidates = range(0xFFFF, 0, -1) if from_top else range(1, 0x10000)
            locate = next((c for c in candidates if c not in self._by_locate), None)
            if locate is None:
                raise ValueError("no free Stock Locate code left (u16)")
            self._by_symbol[symbol] = locate
            self._by_locate[locate] = symbol
        return locate


class ItchFeed:
    """Engine events (and replayed messages) → ITCH 5.0 messages into ``sink``."""

    def __init__(self, engine: MatchingEngine, sink: Callable[[bytes], object], *,
                 clock: Callable[[], int] = ns_since_midnight,
                 security: SecurityDefaults = SecurityDefaults()):
        self.engine = engine
        self.sink = sink
        self.clock = clock
        self.security = security
        self.locates = LocateMap()
        self.stats: Counter[str] = Counter()
        self._replaying = False
        self._replayed = False           # replay() has been called: the capture owns the codes
        self._booked: set[int] = set()   # external refs the engine accepted from the replay
        self._stocks: dict[str, bytes] = {}  # symbol → padded Stock field
        self._symbols = frozenset(engine.symbols)
        self._unsubscribe = engine.subscribe(self.on_events)

    def close(self) -> None:
        """Stop listening to the engine."""
        self._unsubscribe()

    # ----------------------------------------------------------- day frame

    def start_of_day(self, symbols: Iterable[str] | None = None) -> None:
        """System Event ``O``, a Stock Directory per symbol, then ``S`` and ``Q`` (§4.1)."""
        self.system_event("O")
        for symbol in self.engine.symbols if symbols is None else symbols:
            self._directory(symbol, self._now())
        self.system_event("S")
        self.system_event("Q")

    def end_of_day(self) -> None:
        """System Events ``M``, ``E``, ``C``: end of market, system hours, messages (§4.1)."""
        for code in "MEC":
            self.system_event(code)

    def system_event(self, code: str) -> None:
        """One System Event (ITCH 5.0 §3.1); Stock Locate is 0."""
        self._emit(itch.SystemEvent(0, 0, self._now(), code))

    # ---------------------------------------------------------- live events

    def on_events(self, events: list) -> None:
        """Engine subscriber: publish the ITCH form of every book change."""
        if self._replaying:
            return  # replay() publishes what its own requests produced
        for event in events:
            self._publish_event(event)

    def _publish_event(self, event) -> None:
        try:
            self._encode_event(event)
        except (struct.error, ValueError) as error:
            # a value the wire cannot carry (e.g. a FIX quantity above u32): counted, and
            # the engine (the caller) goes on
            self.stats["unencodable"] += 1
            log.warning("ITCH feed: cannot encode %r: %s", event, error)

    def _encode_event(self, event) -> None:
        """The hot path: pack straight to bytes with ``itch.FIELDS``-derived structs."""
        kind = type(event)
        if kind is BookAdd:
            self._book_add(event)
            return
        if kind is BookExecute:
            # the engine prints at the resting order's price: E, not C (ITCH 5.0 §3.13)
            self._pack("E", event, event.order_ref, event.qty, event.match_number)
        elif kind is BookCancel:
            self._pack("X", event, event.order_ref, event.qty)
        elif kind is BookDelete:
            self._pack("D", event, event.order_ref)
        elif kind is BookReplace:
            self._pack("U", event, event.old_order_ref, event.order_ref, event.qty,
                       event.price)
        elif kind is Executed and not event.passive.displayed:
            # ITCH 5.0 §3.18: a non-displayed order traded; reference 0, side always B
            self._pack("P", event, 0, _BUY, event.qty, self._stock(event.symbol), event.price,
                       event.match_number)
        elif kind is HaltChanged:
            self._emit(itch.StockTradingAction(self._locate(event.symbol), 0, self._ts(event),
                                               event.symbol, "H" if event.halted else "T",
                                               " ", ""))

    def _pack(self, type_letter: str, event, *fields) -> None:
        locate = self._locate(event.symbol)
        ts = event.ts % DAY_NS
        raw = _PACKERS[type_letter](locate, 0, ts >> 32, ts & 0xFFFF_FFFF, *fields)
        self.stats["messages"] += 1
        self.sink(raw)

    def _stock(self, symbol: str) -> bytes:
        stock = self._stocks.get(symbol)
        if stock is None:
            stock = self._stocks[symbol] = _alpha(symbol, _STOCK_WIDTH)
        return stock

    def _book_add(self, event: BookAdd, header: itch.Message | None = None) -> None:
        """``A``/``F`` for an order now resting; ``header`` = a replayed message's header."""
        side = ord(event.side.value)
        stock = self._stock(event.symbol)
        if header is None:
            locate = self._locate(event.symbol)
            tracking, ts = 0, event.ts % DAY_NS
        else:
            locate, tracking, ts = header.stock_locate, header.tracking_number, header.timestamp
        parts = (locate, tracking, ts >> 32, ts & 0xFFFF_FFFF, event.order_ref, side,
                 event.qty, stock, event.price)
        if event.attribution is None:
            raw = _PACKERS["A"](*parts)
        else:
            raw = _PACKERS["F"](*parts, _alpha(event.attribution, _MPID_WIDTH))
        self.stats["messages"] += 1
        self.sink(raw)

    # -------------------------------------------------------------- replay

    def replay(self, raw: bytes) -> None:
        """Re-publish one replayed ITCH message, booking it in the engine (module doc)."""
        self._replayed = True
        if raw[:1] not in _DECODED_ON_REPLAY:
            # state-only types pass through as they are; only their length is checked
            if len(raw) != _LENGTHS.get(raw[:1]):
                self.stats["malformed"] += 1
                return
            self.stats["replayed"] += 1
            self._emit_raw(raw)
            return
        try:
            msg = itch.decode(raw)
        except ProtocolError:
            self.stats["malformed"] += 1
            return
        self.stats["replayed"] += 1
        kind = msg.TYPE
        if kind == "R":
            self.locates.learn(msg.stock, msg.stock_locate)
        elif kind in "AF":
            self.locates.learn(msg.stock, msg.stock_locate)
            if msg.stock not in self._symbols:
                self.stats["foreign_symbol"] += 1
            else:
                self._replay_add(raw, msg)
                return
        elif kind in _MODIFY_TYPES:
            self._replay_modify(raw, msg)
            return
        elif kind == "H":
            self._replay_halt(msg)
        self._emit_raw(raw)

    def _call_engine(self, call: Callable[[], list]) -> list:
        self._replaying = True
        try:
            return call()
        finally:
            self._replaying = False

    def _replay_add(self, raw: bytes, msg) -> None:
        attribution = getattr(msg, "attribution", None)
        try:
            events = self._call_engine(lambda: self.engine.add_external(
                msg.order_ref, msg.stock, msg.side, msg.shares, msg.price, attribution))
        except ValueError:  # reference already live, or no shares/price: book refuses it
            self.stats["not_booked"] += 1
            self._emit_raw(raw)
            return
        self._booked.add(msg.order_ref)
        for event in events:
            if isinstance(event, BookAdd) and event.order_ref == msg.order_ref:
                self._emit_adjusted(raw, msg, shares=event.qty)
            else:
                self._publish_event(event)
        if not any(isinstance(e, BookAdd) and e.order_ref == msg.order_ref for e in events):
            self.stats["consumed_on_add"] += 1

    def _replay_modify(self, raw: bytes, msg) -> None:
        ref = msg.original_order_ref if msg.TYPE == "U" else msg.order_ref
        order = self.engine.order_by_ref(ref)
        if ref not in self._booked:
            # never booked here (the capture starts mid-day, or a foreign symbol)
            self.stats["unknown_refs"] += 1
            self._emit_raw(raw)
            return
        if order is None or order.owner != MARKET:
            # our orders already took it all: the subscribers' books no longer hold it
            if msg.TYPE == "U":
                self._booked.add(msg.new_order_ref)  # its later changes are moot too
            self.stats["suppressed"] += 1
            return
        engine = self.engine
        if msg.TYPE in "EC":
            call = lambda: engine.execute_external(ref, msg.executed_shares,  # noqa: E731
                                                   msg.match_number)
        elif msg.TYPE == "X":
            call = lambda: engine.cancel_external(ref, msg.cancelled_shares)  # noqa: E731
        elif msg.TYPE == "D":
            call = lambda: engine.delete_external(ref)  # noqa: E731
        else:
            call = lambda: engine.replace_external(ref, msg.new_order_ref,  # noqa: E731
                                                   msg.shares, msg.price)
        try:
            events = self._call_engine(call)
        except ValueError:  # the new reference of a U is already live
            self.stats["not_booked"] += 1
            self._emit_raw(raw)
            return
        if msg.TYPE == "U":
            self._booked.discard(ref)
            self._booked.add(msg.new_order_ref)
            self._publish_replace(raw, msg, events)
            return
        canceled, exact = 0, True
        for event in events:
            kind = type(event)
            if kind is Canceled and event.order_ref == ref:
                canceled = event.qty
            elif kind is BookExecute and event.order_ref == ref:
                exact = self._emit_adjusted(raw, msg, executed_shares=event.qty)
            elif kind is BookCancel and event.order_ref == ref:
                exact = self._emit_adjusted(raw, msg, cancelled_shares=event.qty)
            elif kind is BookDelete and event.order_ref == ref:
                if msg.TYPE == "X":
                    exact = self._emit_adjusted(raw, msg, cancelled_shares=canceled)
                else:
                    self._emit_raw(raw)
            else:
                self._publish_event(event)
        if not events:
            self.stats["suppressed"] += 1
        elif exact and engine.order_by_ref(ref) is None:
            # the capture itself removed it: anything more about it is the capture's own
            self._booked.discard(ref)

    def _publish_replace(self, raw: bytes, msg, events: list) -> None:
        """A replayed ``U``: as captured, or D + our trades + A if the new order traded."""
        old, new = msg.original_order_ref, msg.new_order_ref

        def own(event) -> bool:
            return ((isinstance(event, Canceled | BookDelete) and event.order_ref == old)
                    or (isinstance(event, BookAdd) and event.order_ref == new))

        deleted = any(isinstance(e, BookDelete) and e.order_ref == old for e in events)
        added = [e for e in events if isinstance(e, BookAdd) and e.order_ref == new]
        trades = [e for e in events if not own(e)]
        if deleted and added and not trades:
            self._emit_adjusted(raw, msg, shares=added[0].qty)
            return
        if deleted:
            self._emit(itch.OrderDelete(msg.stock_locate, msg.tracking_number, msg.timestamp,
                                        msg.original_order_ref))
        for event in trades:
            self._publish_event(event)
        if added:
            self._book_add(added[0], header=msg)
        else:
            self.stats["consumed_on_add"] += 1

    def _replay_halt(self, msg) -> None:
        if msg.stock in self._symbols:
            halted = msg.trading_state in HALTED_STATES
            self._call_engine(lambda: self.engine.halt(msg.stock, halted))

    # ---------------------------------------------------------------- output

    def _emit_adjusted(self, raw: bytes, msg, **changes) -> bool:
        """Publish ``msg`` with ``changes``; True if that left it as captured."""
        if all(getattr(msg, name) == value for name, value in changes.items()):
            self._emit_raw(raw)
            return True
        self.stats["adjusted"] += 1
        self._emit(dataclasses.replace(msg, **changes))
        return False

    def _emit_raw(self, raw: bytes) -> None:
        self.stats["messages"] += 1
        self.sink(raw)

    def _emit(self, msg: itch.Message) -> None:
        self.stats["messages"] += 1
        self.sink(itch.encode(msg))

    def _now(self) -> int:
        return self.clock() % DAY_NS

    @staticmethod
    def _ts(event) -> int:
        return event.ts % DAY_NS

    def _locate(self, symbol: str) -> int:
        """The symbol's Stock Locate, announcing a new one with a Stock Directory first."""
        locate = self.locates.locate(symbol)
        if locate is None:
            locate = self._directory(symbol, self._now())
        return locate

    def _directory(self, symbol: str, ts: int) -> int:
        # while replaying, the capture owns the low codes (Nasdaq numbers from 1, §3.2)
        locate = self.locates.assign(symbol, from_top=self._replayed)
        s = self.security
        self._emit(itch.StockDirectory(
            locate, 0, ts, symbol, s.market_category, s.financial_status_indicator,
            s.round_lot_size, s.round_lots_only, s.issue_classification, s.issue_sub_type,
            s.authenticity, s.short_sale_threshold_indicator, s.ipo_flag,
            s.luld_reference_price_tier, s.etp_flag, s.etp_leverage_factor,
            s.inverse_indicator))
        return locate
