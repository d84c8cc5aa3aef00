"""Parameters, memory layouts, counters and the top-of-book record of the gateware book.

Defined once and shared by the gateware (``hdl/book``), its bit-exact model
(``sim/model/hwbook``), the testbenches and the host read-back. The book
consumes :class:`~tick2trade.hdl.feed.layouts.FeedRecord` (ITCH 5.0
§3.11–§3.17) and publishes :class:`TopOfBook` records.
"""

import functools
from dataclasses import dataclass

from amaranth.lib import data, stream

from ..feed.layouts import FeedRecord
from ..layouts import TIMESTAMP_WIDTH

__all__ = ["BookParams", "COUNTERS", "BUY", "SELL", "SIDES", "TopOfBook", "tob_stream",
           "order_entry", "side_state", "level_entry", "side_op", "side_quote", "quote_layout",
           "divide_magic"]

#: ITCH side codes (ITCH 5.0 §3.11); side index 0 is the bid, 1 the ask
BUY, SELL = ord("B"), ord("S")
SIDES = (BUY, SELL)

#: the book's event counters, in this order in the gateware and the model
COUNTERS = (
    "records",        # A F E C X D U records consumed
    "unsubscribed",   # adds for a locate no slot subscribes (not stored)
    "misses",         # E C X D U naming a reference the table does not hold
    "duplicates",     # add of a live reference: the live order is removed first
    "collisions",     # add whose table entry holds another live order: dropped, side marked lost
    "overfills",      # E C X for more shares than remain: clamped, order removed
    "zero_shares",    # add (or replace) of 0 shares: nothing added
    "bad_side",       # add with a side other than B/S: skipped
    "off_grid",       # add whose price is not a multiple of the tick: not in the level array
    "out_of_window",  # add outside the side's window that could not shift: not in the array
    "shifts",         # window moves
    "tob",            # top-of-book records published
)


def _splitmix64(x: int) -> int:
    """SplitMix64 output ``x``: fixed pseudo-random constants for the table hashes."""
    m = (1 << 64) - 1
    x = (x + 0x9E3779B97F4A7C15) & m
    x = ((x ^ x >> 30) * 0xBF58476D1CE4E5B9) & m
    x = ((x ^ x >> 27) * 0x94D049BB133111EB) & m
    return x ^ x >> 31


@functools.cache
def _set_masks(set_bits: int, tag_bits: int, bank: int) -> tuple[int, ...]:
    tag_mask = (1 << tag_bits) - 1
    return tuple(_splitmix64(bank * 64 + j) & tag_mask for j in range(set_bits))


def divide_magic(divisor: int, width: int = 32) -> tuple[int, int]:
    """``(m, s)`` with ``n // divisor == (n * m) >> s`` for every ``width``-bit ``n``.

    The level array is indexed by tick (price // tick size); the gateware
    divides by multiplying with this constant (Granlund–Montgomery).
    """
    if divisor < 1:
        raise ValueError(f"divisor must be at least 1, got {divisor}")
    for s in range(width, 2 * width + 2):
        m = -(-(1 << s) // divisor)  # ceil(2**s / divisor)
        if m * divisor - (1 << s) <= (1 << (s - width)):
            return m, s
    raise AssertionError("unreachable: s = 2*width+1 always works")


@dataclass(frozen=True)
class BookParams:
    """Capacities and limits of one gateware book (and of its model).

    ``order_bits``: the order table holds ``2**order_bits`` entries in two
    banks of ``2**way_bits``-way sets; each bank picks its set by its own
    XOR hash of the reference (two-choice hashing, see
    :mod:`~tick2trade.hdl.book.order_table`). ``symbols``: subscription
    slots. ``window_bits``: each (symbol, side) has a window of
    ``2**window_bits`` consecutive ticks; ``tick``: price units (Price(4),
    ITCH 5.0 §2) per tick. ``counter_bits``: width of every event counter.
    """

    order_bits: int = 14
    way_bits: int = 2
    symbols: int = 64
    window_bits: int = 7
    tick: int = 100
    counter_bits: int = 32

    def __post_init__(self):
        if not 1 <= self.order_bits <= 24:
            raise ValueError(f"order_bits must be 1..24, got {self.order_bits}")
        if not 0 <= self.way_bits <= min(3, self.order_bits - 2):
            raise ValueError(f"way_bits must be 0..{min(3, self.order_bits - 2)}, "
                             f"got {self.way_bits}")
        if not 1 <= self.symbols <= 1024:
            raise ValueError(f"symbols must be 1..1024, got {self.symbols}")
        if not 2 <= self.window_bits <= 10:
            raise ValueError(f"window_bits must be 2..10, got {self.window_bits}")
        if not 1 <= self.tick < 1 << 16:
            raise ValueError(f"tick must be 1..65535, got {self.tick}")

    @property
    def orders(self) -> int:
        return 1 << self.order_bits

    @property
    def ways(self) -> int:
        return 1 << self.way_bits

    @property
    def set_bits(self) -> int:
        """Sets per bank, log2 (two banks)."""
        return self.order_bits - 1 - self.way_bits

    def set_masks(self, bank: int) -> tuple[int, ...]:
        """Per set-index bit, the tag bits whose parity flips it (see :meth:`set_of`)."""
        return _set_masks(self.set_bits, self.tag_bits, bank)

    def set_of(self, ref: int, bank: int) -> int:
        """The set of a reference in one bank: ``low ^ H_bank(tag)``.

        ``low`` is the reference's low ``set_bits`` bits and ``tag`` the rest;
        bit ``j`` of ``H_bank`` is the parity of ``tag & set_masks(bank)[j]``
        (a random binary matrix: H3 universal hashing, an XOR tree per bit in
        gateware). Consecutive references fill distinct sets, and given the
        tag the set gives the reference back, so a tag hit is never false.
        """
        n = self.set_bits
        tag, index = ref >> n, ref & ((1 << n) - 1)
        for j, mask in enumerate(self.set_masks(bank)):
            index ^= (bin(tag & mask).count("1") & 1) << j
        return index

    def tag_of(self, ref: int) -> int:
        """What a way stores to tell references of one set apart (with the set, the ref)."""
        return ref >> self.set_bits

    @property
    def window(self) -> int:
        return 1 << self.window_bits

    @property
    def slot_bits(self) -> int:
        return max(1, (self.symbols - 1).bit_length())

    @property
    def tag_bits(self) -> int:
        """Reference bits above the set index: with the set they give the whole
        reference back, so a hit is never false."""
        return 64 - self.set_bits

    @property
    def tick_bits(self) -> int:
        """Width of a tick number (a 32-bit price divided by the tick size)."""
        return max(1, ((1 << 32) - 1) // self.tick).bit_length()

    @property
    def qty_bits(self) -> int:
        """Level shares: 2**order_bits orders of < 2**32 shares each can never overflow."""
        return 32 + self.order_bits

    @property
    def count_bits(self) -> int:
        """Orders per level (at most the table size) or per side outside the window."""
        return self.order_bits + 1


def order_entry(p: BookParams) -> data.StructLayout:
    """One order table entry (the reference's low bits are its address)."""
    return data.StructLayout({
        "valid": 1, "tag": p.tag_bits, "slot": p.slot_bits, "ask": 1,
        "price": 32, "shares": 32,
    })


def side_state(p: BookParams) -> data.StructLayout:
    """One (symbol, side): its window and what lies outside it.

    Bit ``i`` of ``bitmap`` is set when tick ``base + i`` has orders; ``low``,
    ``high`` count live orders below / above the window, ``off_grid`` those
    whose price is not a multiple of the tick; ``lost`` is set for good when
    an add had to be dropped (table collision).
    """
    return data.StructLayout({
        "base": p.tick_bits, "bitmap": p.window, "low": p.count_bits, "high": p.count_bits,
        "off_grid": p.count_bits, "lost": 1,
    })


def level_entry(p: BookParams) -> data.StructLayout:
    """One price level: total displayed shares and number of orders."""
    return data.StructLayout({"shares": p.qty_bits, "count": p.count_bits})


def _record_info() -> dict:
    """What a top-of-book record copies from the record that caused it."""
    return {"ts": 48, "seq": 64, "hw_ts": TIMESTAMP_WIDTH}


def side_op(p: BookParams) -> data.StructLayout:
    """One operation on one (slot, side), from the table stage to the level pipeline.

    ``lost`` marks the side lost (a dropped add); otherwise ``shares`` go on
    (``add``: and one order) or off (``remove``: and one order) the level of
    ``price``. ``quote``: recompute the side's top after it; ``publish``: the
    record touches nothing more of this slot, so its top may be published.
    """
    return data.StructLayout({
        "lost": 1, "slot": p.slot_bits, "ask": 1, "price": 32, "shares": 32, "add": 1,
        "remove": 1, "quote": 1, "publish": 1, **_record_info(),
    })


def side_quote(p: BookParams) -> data.StructLayout:
    """One side's top after a ``quote`` operation (price and size 0 unless exact)."""
    return data.StructLayout({
        "slot": p.slot_bits, "ask": 1, "px": 32, "qty": p.qty_bits, "exact": 1, "publish": 1,
        **_record_info(),
    })


def quote_layout(p: BookParams) -> data.StructLayout:
    """A slot's published top (both sides), as the host reads it back."""
    return data.StructLayout({"bid_px": 32, "bid_qty": p.qty_bits, "ask_px": 32,
                              "ask_qty": p.qty_bits, "bid_exact": 1, "ask_exact": 1})


class TopOfBook(data.Struct):
    """Best bid and offer of one symbol after a record changed them.

    ``*_px`` is the raw Price(4), ``*_qty`` the shares at it, both 0 for an
    empty side. ``*_exact`` low means the side cannot be known exactly
    (orders outside the window or off the tick grid could be better, or an
    add was dropped); its price and size are then 0, never a wrong figure.
    ``ts``/``seq``/``hw_ts`` are the triggering record's.
    """

    locate: 16
    bid_px: 32
    bid_qty: 56
    ask_px: 32
    ask_qty: 56
    bid_exact: 1
    ask_exact: 1
    ts: 48
    seq: 64
    hw_ts: TIMESTAMP_WIDTH


#: ``TopOfBook`` quantities hold any ``qty_bits`` (order_bits ≤ 24); prices are 32-bit
assert TopOfBook.as_shape()["bid_qty"].width >= 32 + 24
assert FeedRecord.as_shape()["price"].width == 32


def tob_stream():
    return stream.Signature(TopOfBook)
