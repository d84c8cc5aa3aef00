"""Shared machinery for the OUCH 4.2 and OUCH 5.0 message definitions.

A message layout is written once, as a ``FIELDS`` table of
``Field(name, offset, length, kind)`` rows copied from the spec tables
(OUCH 4.2 §3–§4, OUCH 5.0 §4). :func:`message` checks that the rows are
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
    """Base of every OUCH message class built by :func:`message`."""

    __slots__ = ()
    TYPE: ClassVar[bytes]
    NAME: ClassVar[str]
    VERSION: ClassVar[str]
    DIRECTION: ClassVar[Direction]
    #: rows of the fixed layout, type byte first (offsets from the spec)
    FIELDS: ClassVar[tuple[Field, ...]]
    #: fixed length as the spec states it (includes Appendage Length when ALWAYS)
    LENGTH: ClassVar[int]
    APPENDAGE: ClassVar[str]
    # codec plan, derived from FIELDS by message()
    _STRUCT: ClassVar[struct.Struct]
    _DATA: ClassVar[tuple[Field, ...]]
    _PLAN: ClassVar[tuple]
    _ALPHA_IDX: ClassVar[tuple[int, ...]]
    _CHAR_IDX: ClassVar[tuple[int, ...]]
    _SETTERS: ClassVar[tuple]

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
    if has_length_field and fields[-1].kind != APPENDAGE_LENGTH:
        raise AssertionError(f"{name}: Appendage Length must be the last row")
    cls = make_dataclass(name, spec, bases=(Message,), namespace=namespace, frozen=True,
                         slots=True)
    cls.__module__ = sys._getframe(1).f_globals.get("__name__", __name__)
    cls._PLAN = tuple((f.name, f.kind in (ALPHA, CHAR), f.length, f.kind == CHAR) for f in data)
    cls._ALPHA_IDX = tuple(i for i, f in enumerate(data) if f.kind == ALPHA)
    cls._CHAR_IDX = tuple(i for i, f in enumerate(data) if f.kind == CHAR)
    cls._SETTERS = tuple(cls.__dict__[f.name].__set__ for f in data)
    cls._SET_APPENDAGE = cls.__dict__["appendage"].__set__ if appendage != NO_APPENDAGE \
        else None
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


class _SlowPath(Exception):
    """A value the fast encoder does not handle; the checked encoder explains or accepts it."""


def _fast_values(cls: type[Message], msg: Message) -> list:
    values: list = [cls.TYPE]
    for name, text, length, char in cls._PLAN:
        value = getattr(msg, name)
        if text:
            if type(value) is not str:
                raise _SlowPath
            raw = value.encode("latin-1")
            if len(raw) > length or (char and len(raw) != 1):
                raise _SlowPath
            values.append(raw.ljust(length, b" ") if len(raw) < length else raw)
        elif type(value) is int:
            values.append(value)
        else:
            raise _SlowPath
    return values


def _checked_values(cls: type[Message], msg: Message) -> list:
    return [cls.TYPE] + [_encode_value(cls, f, getattr(msg, f.name)) for f in cls._DATA]


def _encode(msg: Message) -> bytes:
    cls = type(msg)
    appendage = b""
    elements = msg.appendage if cls.APPENDAGE != NO_APPENDAGE else None
    if elements:
        appendage = encode_appendage(elements)
        if len(appendage) > 0xFFFF:
            raise FieldError(f"OUCH {cls.VERSION} {cls.NAME}: appendage of {len(appendage)} "
                             f"bytes exceeds the u16 Appendage Length")
    tail = [len(appendage)] if cls.APPENDAGE == ALWAYS else []
    try:
        out = cls._STRUCT.pack(*_fast_values(cls, msg), *tail)
    except (_SlowPath, UnicodeEncodeError, struct.error):
        out = cls._STRUCT.pack(*_checked_values(cls, msg), *tail)
    if cls.APPENDAGE == OPTIONAL and elements is not None:
        out += struct.pack("!H", len(appendage))
    return out + appendage


_new = object.__new__


def _decode(cls: type[Message], buf: bytes) -> Message:
    n, fixed = len(buf), cls.LENGTH
    if n < fixed:
        raise TruncatedError(f"OUCH {cls.VERSION} {cls.NAME}: {n} bytes, the fixed part "
                             f"needs {fixed}")
    if buf[0] != cls.TYPE[0]:
        raise UnknownTypeError(f"OUCH {cls.VERSION} {cls.NAME}: type byte is {buf[0:1]!r}, "
                               f"expected {cls.TYPE!r}")
    values = cls._STRUCT.unpack_from(buf)
    args = list(values[1:1 + len(cls._SETTERS)])
    for i in cls._ALPHA_IDX:
        args[i] = args[i].decode("latin-1").rstrip(" ")
    for i in cls._CHAR_IDX:
        args[i] = args[i].decode("latin-1")
    msg = _new(cls)
    for setter, value in zip(cls._SETTERS, args):  # noqa: B905 (same length by construction)
        setter(msg, value)
    mode = cls.APPENDAGE
    if mode == NO_APPENDAGE:
        if n != fixed:
            raise LengthMismatchError(f"OUCH {cls.VERSION} {cls.NAME}: expected {fixed} bytes, "
                                      f"got {n}")
        return msg
    if mode == ALWAYS:
        start, length = fixed, values[-1]
    elif n == fixed:
        cls._SET_APPENDAGE(msg, None)
        return msg
    elif n < fixed + 2:
        raise TruncatedError(f"OUCH {cls.VERSION} {cls.NAME}: {n - fixed} byte after the "
                             f"{fixed}-byte fixed part; an Appendage Length needs 2")
    else:
        start, length = fixed + 2, (buf[fixed] << 8) | buf[fixed + 1]
    if n != start + length:
        where = f"OUCH {cls.VERSION} {cls.NAME}"
        if n < start + length:
            raise TruncatedError(f"{where}: Appendage Length {length} needs {start + length} "
                                 f"bytes, got {n}")
        raise LengthMismatchError(f"{where}: {n - start - length} bytes after the "
                                  f"{length}-byte appendage")
    cls._SET_APPENDAGE(msg, decode_appendage(buf[start:], f"OUCH {cls.VERSION} {cls.NAME} "
                                             f"appendage") if length else ())
    return msg


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
