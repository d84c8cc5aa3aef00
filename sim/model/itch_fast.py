"""Precompiled partial unpackers for the book's hot path (ITCH 5.0 §3.11–§3.17).

Each unpacker reads only the fields the book needs, straight from the raw
message, and skips the rest: no message object is built. The book-message
unpackers span the whole message, so a message of the wrong length raises
``struct.error`` instead of needing a separate length check. Field offsets
and lengths come from the layouts in ``tick2trade.proto.itch``; nothing is
restated here.
"""

from __future__ import annotations

import functools
import struct

from tick2trade.proto import itch

_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


def _code(field: itch.Field) -> str:
    if field.kind == "alpha":
        return "B" if field.length == 1 else f"{field.length}s"
    if field.length == 6:  # the 48-bit timestamp (ITCH 5.0 §1) as high 16, low 32 bits
        return "HI"
    return _CODES[field.length]


def partial_struct(type_letter: str, fields: list[str], *, start: int = 1) -> struct.Struct:
    """A big-endian ``struct.Struct`` that unpacks ``fields`` of one type from ``start``.

    Fields must be listed in wire order; the bytes between them are skipped.
    One-byte Alpha fields unpack as ints, wider ones as ``bytes``.
    """
    layout = {f.name: f for f in itch.FIELDS[type_letter]}
    fmt, pos = ">", start
    for name in fields:
        f = layout[name]
        if f.offset < pos:
            raise ValueError(f"{type_letter}.{name} at {f.offset} is before {pos}: "
                             "list fields in wire order")
        fmt += (f"{f.offset - pos}x" if f.offset > pos else "") + _code(f)
        pos = f.offset + f.length
    return struct.Struct(fmt)


def exact_struct(type_letter: str, fields: list[str]) -> struct.Struct:
    """Like :func:`partial_struct` over the whole message: unpacking anything but
    exactly the type's length (ITCH 5.0 §2) raises ``struct.error``."""
    partial = partial_struct(type_letter, fields)
    tail = itch.LENGTHS[type_letter] - 1 - partial.size
    return struct.Struct(">x" + partial.format[1:] + (f"{tail}x" if tail else ""))


def packer(type_letter: str):
    """``pack(locate, tracking, ts_high16, ts_low32, *fields)`` for a whole message.

    Fields follow in wire order; one-byte Alpha fields as ints (``ord``),
    wider ones as space-padded ``bytes`` of their exact width.
    """
    fmt = ">B" + "".join(_code(f) for f in itch.FIELDS[type_letter])
    return functools.partial(struct.Struct(fmt).pack, ord(type_letter))


_ADD_FIELDS = ["stock_locate", "order_ref", "side", "shares", "price"]
#: A, F: locate, order ref, side byte, shares, price (ITCH 5.0 §3.11, §3.12)
ADD = exact_struct("A", _ADD_FIELDS)
ADD_MPID = exact_struct("F", _ADD_FIELDS)
#: E, C: locate, order ref, executed shares (ITCH 5.0 §3.13, §3.14)
EXECUTED = exact_struct("E", ["stock_locate", "order_ref", "executed_shares"])
EXECUTED_PRICE = exact_struct("C", ["stock_locate", "order_ref", "executed_shares"])
#: X: locate, order ref, cancelled shares (ITCH 5.0 §3.15)
CANCEL = exact_struct("X", ["stock_locate", "order_ref", "cancelled_shares"])
#: D: locate, order ref (ITCH 5.0 §3.16)
DELETE = exact_struct("D", ["stock_locate", "order_ref"])
#: U: locate, original ref, new ref, shares, price (ITCH 5.0 §3.17)
REPLACE = exact_struct("U", ["stock_locate", "original_order_ref", "new_order_ref",
                             "shares", "price"])
#: R: locate, stock (ITCH 5.0 §3.2)
DIRECTORY = partial_struct("R", ["stock_locate", "stock"])
#: H: locate, trading state byte (ITCH 5.0 §3.3)
TRADING_ACTION = partial_struct("H", ["stock_locate", "trading_state"])
#: S: offset of the event code byte (ITCH 5.0 §3.1)
EVENT_CODE_OFFSET = next(f.offset for f in itch.FIELDS["S"] if f.name == "event_code")

#: message length by type byte, 0 for a type ITCH 5.0 does not define (ITCH 5.0 §2)
LENGTHS = [0] * 256
for _letter, _length in itch.LENGTHS.items():
    LENGTHS[ord(_letter)] = _length
