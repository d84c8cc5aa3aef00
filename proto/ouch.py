"""Shared machinery for the OUCH 4.2 and OUCH 5.0 message definitions.

A message layout is written once, as a ``FIELDS`` table of
``Field(name, offset, length, kind)`` rows copied from the spec tables
(OUCH 4.2 §3–§4, OUCH 5.0 §4). :func:`define` checks that the rows are
contiguous and end at the spec length, then builds a frozen dataclass with
one attribute per data field and a precompiled ``struct`` codec. The
gateware OUCH encoder fills templates from the same offsets.

Value conventions (OUCH 4.2 §1, OUCH 5.0 §1): integers big-endian and
unsigned; prices stay raw ints with 4 implied decimals; Alpha fields are
``str``, right-padded with spaces on the wire (the padding is removed on
decode for multi-byte fields; one-byte fields are kept as they are, since a
space can be a value). Bytes map 1:1 to code points (Latin-1), so any
decodable message re-encodes to the same bytes.

OUCH 5.0 messages end with an Appendage Length and TagValue elements
(OUCH 5.0 §2); they are kept as :class:`TagValue` tuples, unknown tags
included, so round trips are exact.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import field as dc_field
from dataclasses import make_dataclass
from typing import Any, ClassVar, NamedTuple

from tick2trade.proto.errors import (
    FieldError,
    LengthMismatchError,
    TruncatedError,
    UnknownTypeError,
)
from tick2trade.proto.soupbintcp import Direction

#: field kinds
TYPE = "type"                  # the 1-byte message type letter
UINT = "uint"                  # unsigned big-endian integer
PRICE = "price"                # unsigned integer, 4 implied decimals
ALPHA = "alpha"                # multi-byte Alpha, right-padded with spaces
CHAR = "char"                  # one-byte Alpha (a space is a value)
APPENDAGE_LENGTH = "appendage_length"  # OUCH 5.0 §2 u16 length of the TagValue list
KINDS = (TYPE, UINT, PRICE, ALPHA, CHAR, APPENDAGE_LENGTH)

#: appendage presence (OUCH 5.0 §2)
NO_APPENDAGE = "none"
ALWAYS = "always"              # Appendage Length is part of the fixed layout
OPTIONAL = "optional"          # Appendage Length + list may follow the fixed layout [2024]

_STRUCT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


class Field(NamedTuple):
    """One wire field of an OUCH message: where it sits and how to read it."""

    name: str
    offset: int
    length: int
    kind: str


class TagValue(NamedTuple):
    """One OUCH 5.0 appendage element (OUCH 5.0 §2): option tag and raw value bytes."""

    tag: int
    value: bytes

    def encode(self) -> bytes:
        if not 0 <= self.tag <= 0xFF:
            raise FieldError(f"OUCH 5.0 §2: option tag {self.tag} out of u8 range")
        if len(self.value) > 0xFE:
            raise FieldError(f"OUCH 5.0 §2: option {self.tag} value of {len(self.value)} bytes "
                             f"exceeds 254")
        return bytes((len(self.value) + 1, self.tag)) + bytes(self.value)


def encode_appendage(elements) -> bytes:
    """TagValue elements back to back (without the Appendage Length)."""
    return b"".join(TagValue(*e).encode() for e in elements)


def decode_appendage(buf: bytes, where: str = "appendage") -> tuple[TagValue, ...]:
    """Split an appendage into TagValue elements; an element running past the end is an error."""
    out = []
    pos, end = 0, len(buf)
    while pos < end:
        length = buf[pos]
        if length == 0:
            raise FieldError(f"OUCH 5.0 §2: {where}: TagValue at offset {pos} has Length 0 "
                             f"(must count its tag byte)")
        if pos + 1 + length > end:
            raise TruncatedError(f"OUCH 5.0 §2: {where}: TagValue at offset {pos} claims "
                                 f"{length} bytes, only {end - pos - 1} left in the appendage")
        out.append(TagValue(buf[pos + 1], bytes(buf[pos + 2:pos + 1 + length])))
        pos += 1 + length
    return tuple(out)


class Message:
    """Base of every OUCH message class built by :func:`define`."""

    TYPE: ClassVar[bytes]
    NAME: ClassVar[str]
    VERSION: ClassVar[str]
    DIRECTION: ClassVar[Direction]
    #: rows of the fixed layout, type byte first (offsets from the spec)
    FIELDS: ClassVar[tuple[Field, ...]]
    #: fixed length as the spec states it (includes Appendage Length when ALWAYS)
    LENGTH: ClassVar[int]
    APPENDAGE: ClassVar[str]
    _STRUCT: ClassVar[struct.Struct]
    _DATA: ClassVar[tuple[Field, ...]]

    @classmethod
    def field(cls, name: str) -> Field:
        """The layout row of field ``name``."""
        for f in cls.FIELDS:
            if f.name == name:
                return f
        raise KeyError(f"{cls.NAME} has no field {name!r}")

    def encode(self) -> bytes:
        return _encode(self)

    @classmethod
    def decode(cls, buf: bytes) -> Message:
        return _decode(cls, bytes(buf))

    @property
    def appendage_bytes(self) -> bytes:
        elements = getattr(self, "appendage", None)
        return encode_appendage(elements) if elements else b""


def _python_type(kind: str) -> type:
    return str if kind in (ALPHA, CHAR) else int


def message(letter: str, name: str, version: str, direction: Direction, rows, *, length: int,
            appendage: str = NO_APPENDAGE, doc: str = "") -> type[Message]:
    """Build a message class from its spec table rows ``(name, offset, length, kind)``.

    ``rows`` start after the type byte (offset 1); the type row is added to
    ``FIELDS``. The rows must be contiguous and end at the spec ``length``.
    """
    fields = (Field("type", 0, 1, TYPE),) + tuple(Field(*row) for row in rows)
    pos = 0
    for f in fields:
        if f.offset != pos or f.kind not in KINDS:
            raise AssertionError(f"{name}.{f.name}: offset {f.offset} (expected {pos}) "
                                 f"or kind {f.kind!r} wrong")
        if f.kind in (UINT, PRICE, APPENDAGE_LENGTH) and f.length not in _STRUCT_CODES:
            raise AssertionError(f"{name}.{f.name}: no integer of {f.length} bytes")
        if f.kind == CHAR and f.length != 1:
            raise AssertionError(f"{name}.{f.name}: a char field is 1 byte")
        pos += f.length
    if pos != length:
        raise AssertionError(f"{name}: fields end at {pos}, spec length is {length}")
    has_length_field = any(f.kind == APPENDAGE_LENGTH for f in fields)
    if has_length_field != (appendage == ALWAYS):
        raise AssertionError(f"{name}: Appendage Length row must be present iff ALWAYS")
    data = tuple(f for f in fields if f.kind not in (TYPE, APPENDAGE_LENGTH))
    spec: list = [(f.name, _python_type(f.kind)) for f in data]
    if appendage == ALWAYS:
        spec.append(("appendage", tuple, dc_field(default=())))
    elif appendage == OPTIONAL:
        spec.append(("appendage", tuple | None, dc_field(default=None)))
    fmt = "!" + "".join(f"{f.length}s" if f.kind in (TYPE, ALPHA, CHAR)
                        else _STRUCT_CODES[f.length] for f in fields)
    namespace = {
        "TYPE": letter.encode(), "NAME": name, "VERSION": version, "DIRECTION": direction,
        "FIELDS": fields, "LENGTH": length, "APPENDAGE": appendage,
        "_STRUCT": struct.Struct(fmt), "_DATA": data,
        "__doc__": doc or f"{name} (OUCH {version})",
    }
    cls = make_dataclass(name, spec, bases=(Message,), namespace=namespace, frozen=True,
                         slots=True)
    cls.__module__ = sys._getframe(1).f_globals.get("__name__", __name__)
    return cls


def _encode_value(cls: type[Message], f: Field, value: Any) -> Any:
    if f.kind in (ALPHA, CHAR):
        if not isinstance(value, str):
            raise FieldError(f"OUCH {cls.VERSION} {cls.NAME}.{f.name}: expected str, "
                             f"got {value!r}")
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            raise FieldError(f"OUCH {cls.VERSION} {cls.NAME}.{f.name}: {value!r} is not "
                             f"single-byte text") from None
        if f.kind == CHAR and len(raw) != 1:
            raise FieldError(f"OUCH {cls.VERSION} {cls.NAME}.{f.name}: expected 1 character, "
                             f"got {value!r}")
        if len(raw) > f.length:
            raise FieldError(f"OUCH {cls.VERSION} {cls.NAME}.{f.name}: {value!r} is longer "
                             f"than {f.length} characters")
        return raw.ljust(f.length, b" ")
    if not isinstance(value, int) or isinstance(value, bool):
        raise FieldError(f"OUCH {cls.VERSION} {cls.NAME}.{f.name}: expected int, got {value!r}")
    if not 0 <= value < 1 << (8 * f.length):
        raise FieldError(f"OUCH {cls.VERSION} {cls.NAME}.{f.name}: {value} does not fit "
                         f"{f.length} unsigned bytes")
    return int(value)


def _encode(msg: Message) -> bytes:
    cls = type(msg)
    appendage = b""
    if cls.APPENDAGE != NO_APPENDAGE and msg.appendage is not None:
        appendage = encode_appendage(msg.appendage)
        if len(appendage) > 0xFFFF:
            raise FieldError(f"OUCH {cls.VERSION} {cls.NAME}: appendage of {len(appendage)} "
                             f"bytes exceeds the u16 Appendage Length")
    values = []
    for f in cls.FIELDS:
        if f.kind == TYPE:
            values.append(cls.TYPE)
        elif f.kind == APPENDAGE_LENGTH:
            values.append(len(appendage))
        else:
            values.append(_encode_value(cls, f, getattr(msg, f.name)))
    out = cls._STRUCT.pack(*values)
    if cls.APPENDAGE == OPTIONAL and msg.appendage is not None:
        out += struct.pack("!H", len(appendage))
    return out + appendage


def _decode(cls: type[Message], buf: bytes) -> Message:
    where = f"OUCH {cls.VERSION} {cls.NAME}"
    n, fixed = len(buf), cls.LENGTH
    if n < fixed:
        raise TruncatedError(f"{where}: {n} bytes, the fixed part needs {fixed}")
    if buf[0:1] != cls.TYPE:
        raise UnknownTypeError(f"{where}: type byte is {buf[0:1]!r}, expected {cls.TYPE!r}")
    values = cls._STRUCT.unpack_from(buf)
    kwargs = {}
    appendage_len = None
    for f, value in zip(cls.FIELDS, values, strict=True):
        if f.kind == ALPHA:
            kwargs[f.name] = value.decode("latin-1").rstrip(" ")
        elif f.kind == CHAR:
            kwargs[f.name] = value.decode("latin-1")
        elif f.kind == APPENDAGE_LENGTH:
            appendage_len = value
        elif f.kind != TYPE:
            kwargs[f.name] = value
    start = fixed
    if cls.APPENDAGE == OPTIONAL:
        if n == fixed:
            return cls(**kwargs)
        if n < fixed + 2:
            raise TruncatedError(f"{where}: {n - fixed} byte after the {fixed}-byte fixed part; "
                                 f"an Appendage Length needs 2")
        appendage_len = struct.unpack_from("!H", buf, fixed)[0]
        start = fixed + 2
    if cls.APPENDAGE == NO_APPENDAGE:
        if n != fixed:
            raise LengthMismatchError(f"{where}: expected {fixed} bytes, got {n}")
        return cls(**kwargs)
    if n < start + appendage_len:
        raise TruncatedError(f"{where}: Appendage Length {appendage_len} needs "
                             f"{start + appendage_len} bytes, got {n}")
    if n > start + appendage_len:
        raise LengthMismatchError(f"{where}: {n - start - appendage_len} bytes after the "
                                  f"{appendage_len}-byte appendage")
    kwargs["appendage"] = decode_appendage(buf[start:], f"{where} appendage")
    return cls(**kwargs)


def decode_by_type(table: dict[int, type[Message]], buf: bytes, version: str,
                   direction: Direction) -> Message:
    """Decode one message with the class its type byte selects in ``table``."""
    if not len(buf):
        raise TruncatedError(f"OUCH {version} {direction.value}: empty message")
    cls = table.get(buf[0])
    if cls is None:
        raise UnknownTypeError(f"OUCH {version}: no {direction.value} message of type "
                               f"{bytes(buf[:1])!r} (0x{buf[0]:02x})")
    return _decode(cls, bytes(buf))


def type_table(classes) -> dict[int, type[Message]]:
    """Type byte → class, checking that no letter is used twice in one direction."""
    table: dict[int, type[Message]] = {}
    for cls in classes:
        if cls.TYPE[0] in table:
            raise AssertionError(f"type {cls.TYPE!r} defined twice")
        table[cls.TYPE[0]] = cls
    return table


__all__ = [
    "ALPHA",
    "ALWAYS",
    "APPENDAGE_LENGTH",
    "CHAR",
    "NO_APPENDAGE",
    "OPTIONAL",
    "PRICE",
    "TYPE",
    "UINT",
    "Direction",
    "Field",
    "Message",
    "TagValue",
    "decode_appendage",
    "decode_by_type",
    "encode_appendage",
    "message",
    "type_table",
]
