"""Feed records for the gateware book, its subscriptions, and the full-depth oracle.

* :func:`records_of` turns raw ITCH messages into the decoder's normalized
  records (ITCH 5.0 §3.2, §3.3, §3.11–§3.17), numbered like MoldUDP64 from 1.
* :func:`busiest_locates` picks the default subscriptions: the first N
  locates by message count (ties by locate).
* :func:`oracle_tops` replays the same messages through the unlimited
  reference :class:`~tick2trade.sim.model.book.OrderBook` and yields the top
  of book of a subscribed locate whenever a message changed it: the record
  sequence an exact hardware book must publish.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from tick2trade.hdl.feed.layouts import RECORD_TYPES
from tick2trade.proto import itch
from tick2trade.sim.model.book import OrderBook
from tick2trade.sim.model.feed.records import Record, record_from_message

__all__ = ["records_of", "busiest_locates", "oracle_tops", "BOOK_TYPE_CODES"]

_RECORD_CODES = frozenset(ord(c) for c in RECORD_TYPES)
#: type codes of the records the book acts on (ITCH 5.0 §3.11–§3.17)
BOOK_TYPE_CODES = frozenset(ord(c) for c in "AFECXDU")


def records_of(messages: Iterable[bytes], first_seq: int = 1) -> Iterator[Record]:
    """The decoder's record for each message of a record type; ``seq`` counts every message."""
    for seq, msg in enumerate(messages, first_seq):
        if msg and msg[0] in _RECORD_CODES:
            yield record_from_message(bytes(msg), seq=seq)


def busiest_locates(records: Iterable[Record], n: int) -> list[int]:
    """The ``n`` locates with the most book records (ties: lower locate first)."""
    counts = Counter(r.locate for r in records if r.type in BOOK_TYPE_CODES)
    return [loc for loc, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def oracle_tops(messages: Iterable[bytes], locates: Iterable[int],
                first_seq: int = 1) -> Iterator[tuple[int, int, tuple[int, int, int, int]]]:
    """``(seq, locate, (bid_px, bid_qty, ask_px, ask_qty))`` at every change of a top."""
    book = OrderBook()
    watched = set(locates)
    last = dict.fromkeys(watched, (0, 0, 0, 0))
    for seq, msg in enumerate(messages, first_seq):
        if not msg or msg[0] not in BOOK_TYPE_CODES:
            book.apply_raw(bytes(msg))
            continue
        # the changed levels name every locate the message touched (a duplicate add
        # may touch a second one)
        touched = sorted({change.locate for change in book.apply(itch.decode(msg))})
        for loc in touched:
            if loc in watched:
                top = book.top_of_book(loc)
                if top != last[loc]:
                    last[loc] = top
                    yield seq, loc, top
