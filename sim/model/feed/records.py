"""Normalized feed records as Python values, and their JSON Lines form.

One :class:`Record` per book-relevant ITCH message, with exactly the fields
of the gateware :class:`~tick2trade.hdl.feed.layouts.FeedRecord` (the
namedtuple is built from that layout, so the two cannot drift). Which ITCH
field fills which record field comes from
:func:`~tick2trade.hdl.feed.layouts.record_fields` (ITCH 5.0 §3).
"""

from __future__ import annotations

import json
from collections import namedtuple

from tick2trade.hdl.feed.layouts import (
    ASCII_FIELDS,
    RECORD_TYPES,
    FeedRecord,
    record_fields,
    record_keys,
)

__all__ = ["Record", "RECORD_FIELD_NAMES", "record_from_message", "record_from_bits",
           "record_json", "write_records"]

_LAYOUT = FeedRecord.as_shape()
#: the record's field names, in layout order
RECORD_FIELD_NAMES = tuple(name for name, _ in _LAYOUT)
Record = namedtuple("Record", RECORD_FIELD_NAMES)
_ZERO = Record(**{name: 0 for name in RECORD_FIELD_NAMES})

_FIELDS_BY_TYPE = {t: record_fields(t) for t in RECORD_TYPES}


def _value(msg: bytes, field, name: str) -> int:
    raw = msg[field.offset:field.offset + field.length]
    # ASCII fields keep wire order (first character in the low byte), numbers are big-endian
    return int.from_bytes(raw, "little" if name in ASCII_FIELDS else "big")


def record_from_message(msg: bytes, *, seq: int, line: int = 0, hw_ts: int = 0) -> Record:
    """The record the decoder emits for one raw ITCH message of a record type."""
    type_code = chr(msg[0])
    values = {name: _value(msg, field, name) for name, field in _FIELDS_BY_TYPE[type_code].items()}
    return _ZERO._replace(type=msg[0], seq=seq, line=line, hw_ts=hw_ts, **values)


def record_from_bits(bits: int) -> Record:
    """Unpack a record from the integer value of a ``FeedRecord`` payload."""
    values = {}
    for name, field in _LAYOUT:
        values[name] = (bits >> field.offset) & ((1 << field.width) - 1)
    return Record(**values)


def _ascii(value: int, width: int) -> str:
    return value.to_bytes(width, "little").decode("latin-1")  # byte for byte, as proto.itch


def record_json(rec: Record) -> dict:
    """The record as issue 4 specifies it: keys in order, fields a type lacks omitted."""
    type_code = chr(rec.type)
    present = _FIELDS_BY_TYPE[type_code]
    out = {}
    for key in record_keys(type_code):
        if key == "seq":
            out[key] = rec.seq
        elif key == "type":
            out[key] = type_code
        elif key in present:
            value = getattr(rec, key)
            if key == "symbol":
                out[key] = _ascii(value, 8).rstrip(" ")
            elif key in ASCII_FIELDS:
                out[key] = _ascii(value, 1)
            else:
                out[key] = value
    return out


def write_records(path, records) -> int:
    """Write records as JSON Lines (one object per line); returns how many."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(record_json(rec)) + "\n")
            n += 1
    return n
