"""``t2t replay --engine rtl --tob-out/--book-out/--symbols``: the gateware book's snapshot.

Subscriptions (``--symbols``) are symbols or locate numbers, comma
separated; symbols are looked up in the Stock Directory records of the
input (ITCH 5.0 §3.2). By default the book subscribes the first
``BookParams.symbols`` locates by book message count (ties: lower locate).

:func:`run_rtl_book` drives the feed records into the gateware book under
the C++ Verilator harness and reads the book back through its peek ports;
:class:`RtlBookView` presents the read-back as a book for
``sim/model/snapshot.py``. :class:`SubscribedView` restricts any book (the
model's) to the same locates, so both engines write the same lines.
Listed locates: subscribed ones with a directory entry or resting orders
(docs/formats.md). A side the hardware marks inexact reads as empty (its
price and size are not published); the summary counters say why.
"""

from __future__ import annotations

from collections.abc import Iterable

from tick2trade.hdl.book.layouts import BookParams

from .flow import BOOK_TYPE_CODES, busiest_locates

__all__ = ["RTL_PARAMS", "SubscriptionError", "parse_symbols", "directory_of", "choose_locates",
           "resolve_symbols",
           "run_rtl_book", "RtlBookView", "SubscribedView"]


class SubscriptionError(ValueError):
    """A ``--symbols`` entry names no locate of the input, or too many are asked for."""


def parse_symbols(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def directory_of(records: Iterable) -> dict[int, str]:
    """locate → symbol from the Stock Directory records (ITCH 5.0 §3.2)."""
    out = {}
    for r in records:
        if r.type == ord("R"):
            out[r.locate] = r.symbol.to_bytes(8, "little").decode("latin-1").rstrip(" ")
    return out


def choose_locates(records: list, symbols: list[str], limit: int) -> list[int]:
    """The subscribed locates, in slot order (default: the busiest ``limit``)."""
    if not symbols:
        return busiest_locates(records, limit)
    return resolve_symbols(symbols, directory_of(records), limit)


def resolve_symbols(symbols: list[str], directory: dict[int, str], limit: int) -> list[int]:
    """Locates of ``--symbols`` entries (names through ``directory``, or numbers)."""
    by_symbol = {}
    for locate, name in sorted(directory.items()):
        by_symbol.setdefault(name, locate)
    locates = []
    for entry in symbols:
        if entry.isdigit():
            locate = int(entry)
            if not 0 <= locate < 1 << 16:
                raise SubscriptionError(f"locate {entry} is out of range 0..65535")
        elif entry in by_symbol:
            locate = by_symbol[entry]
        else:
            raise SubscriptionError(f"symbol {entry!r} has no Stock Directory entry in the input")
        if locate not in locates:
            locates.append(locate)
    if len(locates) > limit:
        raise SubscriptionError(f"{len(locates)} symbols asked for, the book has {limit} slots")
    return locates


class SubscribedView:
    """A book restricted to some locates (for the model engine's output)."""

    def __init__(self, book, locates: Iterable[int]):
        self._book, self._locates = book, set(locates)

    def locates(self) -> list[int]:
        return [loc for loc in self._book.locates() if loc in self._locates]

    def symbol(self, locate: int) -> str:
        return self._book.symbol(locate)

    def levels(self, locate: int, side: str, depth: int | None = None):
        return self._book.levels(locate, side, depth)

    def top_of_book(self, locate: int):
        return self._book.top_of_book(locate)


class RtlBookView:
    """The gateware book as read back: published tops and window levels per slot."""

    def __init__(self, run, locates: list[int], directory: dict[int, str]):
        self.run, self._slots, self._directory = run, {loc: s for s, loc in enumerate(locates)}, \
            directory

    def locates(self) -> list[int]:
        live = [loc for loc, slot in self._slots.items()
                if loc in self._directory or self.run.levels[(slot, 0)]
                or self.run.levels[(slot, 1)] or self.run.outside.get(slot)]
        return sorted(live, key=lambda loc: (self.symbol(loc), loc))

    def symbol(self, locate: int) -> str:
        return self._directory.get(locate, f"#{locate}")

    def levels(self, locate: int, side: str, depth: int | None = None):
        return self.run.levels[(self._slots[locate], int(side == "S"))][:depth]

    def top_of_book(self, locate: int):
        q = self.run.published[self._slots[locate]]
        return q[0], q[1], q[2], q[3]


#: the book ``--engine rtl`` simulates: 64 K orders, 64 symbols, 128-tick windows of $0.01
#: (a 256 K table works the same but takes yosys and Verilator most of an hour to build)
RTL_PARAMS = BookParams(order_bits=16, way_bits=2, symbols=64, window_bits=7, tick=100)


def run_rtl_book(records: list, symbols: list[str], params: BookParams = RTL_PARAMS):
    """Subscribe, run the Verilator harness, return ``(view, run, locates)``."""
    from tick2trade.sim.verilator.book import run_book_harness

    locates = choose_locates(records, symbols, params.symbols)
    book_records = [r for r in records if r.type in BOOK_TYPE_CODES]
    run = run_book_harness(params, locates, book_records)
    return RtlBookView(run, locates, directory_of(records)), run, locates
