"""End-of-replay book snapshots in the ``--book-out`` / ``--tob-out`` format.

This JSON Lines format is the contract every replay engine (the Python model
now, RTL simulation later) must reproduce byte for byte; ``docs/formats.md``
is its specification. A book is anything with ``locates()``, ``symbol(locate)``,
``levels(locate, side, depth)`` and ``top_of_book(locate)`` as
:class:`~tick2trade.sim.model.book.OrderBook` has them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from os import PathLike

#: default number of levels per side in ``--book-out``
DEFAULT_DEPTH = 10


def book_records(book, depth: int = DEFAULT_DEPTH) -> Iterator[dict]:
    """One ``{"symbol", "locate", "bids", "asks"}`` per listed locate, sorted by symbol."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    for locate in book.locates():
        yield {"symbol": book.symbol(locate), "locate": locate,
               "bids": [list(level) for level in book.levels(locate, "B", depth)],
               "asks": [list(level) for level in book.levels(locate, "S", depth)]}


def tob_records(book) -> Iterator[dict]:
    """One ``{"symbol", "locate", "bid_px", "bid_qty", "ask_px", "ask_qty"}`` per locate."""
    for locate in book.locates():
        bid_px, bid_qty, ask_px, ask_qty = book.top_of_book(locate)
        yield {"symbol": book.symbol(locate), "locate": locate, "bid_px": bid_px,
               "bid_qty": bid_qty, "ask_px": ask_px, "ask_qty": ask_qty}


def dumps_line(record: dict) -> str:
    """One record as its line: compact JSON, keys in record order, ASCII only."""
    return json.dumps(record, separators=(", ", ": "), ensure_ascii=True) + "\n"


def write_jsonl(path: str | PathLike, records: Iterable[dict]) -> int:
    """Write records one per line (UTF-8, ``\\n`` endings); return how many."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(dumps_line(record))
            count += 1
    return count
