"""Nasdaq TotalView-ITCH 5.0 messages: layouts, decoder, encoder, framing.

Every layout is written once, as the annotated fields of one frozen dataclass
per message type; offsets are computed from the field widths and checked
against the spec length (ITCH 5.0 §2). ``FIELDS`` exports the result as data
for the gateware decoder, the numpy bulk decoder and the tests.

Section numbers (``ITCH 5.0 §3.11``) are those of the team's ITCH 5.0 sheet
(``specs/itch50.md``), which restates the Nasdaq PDF table by table.

Value conventions (ITCH 5.0 §1):

- integers are big-endian and unsigned; ``price`` fields stay raw ints
  (Price(4): 1/10000, Price(8): 1/10^8); ``timestamp`` is the 6-byte
  nanoseconds-since-midnight field as an int;
- Alpha fields are ``str``. Multi-byte Alpha fields (``stock``, ``mpid``,
  ``attribution``, ``reason``, ``issue_sub_type``) lose their right padding of
  spaces on decode and get it back on encode; one-byte Alpha fields are kept
  as they are (a space is a value: "not available"). Bytes are mapped 1:1 to
  code points (Latin-1), so padding that is not spaces, or any other
  off-spec byte, survives: ``encode(decode(x)) == x`` for every ``x`` that
  decodes.
"""

import operator
import struct
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, ClassVar, NamedTuple

from tick2trade.proto.errors import (
    FieldError,
    LengthMismatchError,
    ProtocolError,
    TruncatedError,
    UnknownTypeError,
)

__all__ = [
    "FIELDS", "HEADER_LENGTH", "KINDS", "LENGTHS", "MESSAGE_TYPES", "PREFIX_LENGTH", "TYPE_OFFSET",
    "AddOrder", "AddOrderMpid", "BrokenTrade", "CrossTrade", "DirectListingWithCapitalRaise",
    "Field", "IpoQuotingPeriodUpdate", "LuldAuctionCollar", "MarketParticipantPosition",
    "Message", "MwcbDeclineLevel", "MwcbStatus", "Noii", "OperationalHalt", "OrderCancel",
    "OrderDelete", "OrderExecuted", "OrderExecutedWithPrice", "OrderReplace",
    "RegShoRestriction", "RetailPriceImprovement", "StockDirectory", "StockTradingAction",
    "SystemEvent", "Trade", "check_frame", "decode", "encode", "iter_frames", "iter_messages",
]

#: offset of the one-byte message type (ITCH 5.0 §1, common header)
TYPE_OFFSET = 0
#: bytes of the common header: type, stock locate, tracking number, timestamp (ITCH 5.0 §1)
HEADER_LENGTH = 11
#: bytes of the big-endian length before each message in a MoldUDP64 message
#: block or a BinaryFILE (MoldUDP64 §2, ITCH 5.0 §1 "Transports")
PREFIX_LENGTH = 2

#: field kinds: ``uint`` big-endian unsigned, ``price4`` / ``price8`` unsigned
#: with 4 / 8 implied decimals, ``alpha`` space-padded ASCII (ITCH 5.0 §1)
KINDS = ("uint", "price4", "price8", "alpha")


class Field(NamedTuple):
    """One wire field: where it sits in the message and how to read it."""

    name: str
    offset: int
    length: int
    kind: str


class _Wire(NamedTuple):
    """Width and kind of a field, attached to its annotation."""

    length: int
    kind: str


Char = Annotated[str, _Wire(1, "alpha")]
Alpha2 = Annotated[str, _Wire(2, "alpha")]
Alpha4 = Annotated[str, _Wire(4, "alpha")]
Alpha8 = Annotated[str, _Wire(8, "alpha")]
U16 = Annotated[int, _Wire(2, "uint")]
U32 = Annotated[int, _Wire(4, "uint")]
U48 = Annotated[int, _Wire(6, "uint")]
U64 = Annotated[int, _Wire(8, "uint")]
Price4 = Annotated[int, _Wire(4, "price4")]
Price8 = Annotated[int, _Wire(8, "price8")]

#: every message type code → its dataclass, in spec order (ITCH 5.0 §2)
MESSAGE_TYPES: dict[str, type["Message"]] = {}
#: every message type code → its fixed length in bytes (ITCH 5.0 §2)
LENGTHS: dict[str, int] = {}
#: every message type code → its fields after the type byte, in wire order
FIELDS: dict[str, tuple[Field, ...]] = {}


@dataclass(frozen=True, slots=True)
class Message:
    """Common header of every ITCH message (ITCH 5.0 §1, common 11-byte header)."""

    TYPE: ClassVar[str]
    LENGTH: ClassVar[int]

    stock_locate: U16
    tracking_number: U16
    timestamp: U48


def _wire_fields(cls: type, names: list[str], offset: int) -> list[Field]:
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = []
    for name in names:
        (wire,) = [m for m in hints[name].__metadata__ if isinstance(m, _Wire)]
        fields.append(Field(name, offset, wire.length, wire.kind))
        offset += wire.length
    return fields


_HEADER_FIELDS = tuple(_wire_fields(Message, ["stock_locate", "tracking_number", "timestamp"], 1))


def _message(type_code: str, length: int):
    """Register a message class: derive its layout and check it against the spec length."""

    def register(cls: type) -> type:
        own = [n for n in cls.__dict__.get("__annotations__", {})]
        fields = _HEADER_FIELDS + tuple(_wire_fields(cls, own, HEADER_LENGTH))
        end = fields[-1].offset + fields[-1].length
        if end != length:
            raise AssertionError(f"ITCH {type_code!r}: fields end at {end}, spec length {length}")
        cls.TYPE = type_code
        cls.LENGTH = length
        cls = dataclass(frozen=True, slots=True)(cls)
        MESSAGE_TYPES[type_code] = cls
        LENGTHS[type_code] = length
        FIELDS[type_code] = fields
        return cls

    return register


@_message("S", 12)
class SystemEvent(Message):
    """System Event (ITCH 5.0 §3.1); ``event_code`` values in §4.1."""

    event_code: Char


@_message("R", 39)
class StockDirectory(Message):
    """Stock Directory: sets the day's locate → symbol map (ITCH 5.0 §3.2)."""

    stock: Alpha8
    market_category: Char
    financial_status_indicator: Char
    round_lot_size: U32
    round_lots_only: Char
    issue_classification: Char
    issue_sub_type: Alpha2
    authenticity: Char
    short_sale_threshold_indicator: Char
    ipo_flag: Char
    luld_reference_price_tier: Char
    etp_flag: Char
    etp_leverage_factor: U32
    inverse_indicator: Char


@_message("H", 25)
class StockTradingAction(Message):
    """Stock Trading Action (ITCH 5.0 §3.3); ``reason`` codes in §4.7."""

    stock: Alpha8
    trading_state: Char
    reserved: Char
    reason: Alpha4


@_message("Y", 20)
class RegShoRestriction(Message):
    """Reg SHO Short Sale Price Test Restricted Indicator (ITCH 5.0 §3.4)."""

    stock: Alpha8
    reg_sho_action: Char


@_message("L", 26)
class MarketParticipantPosition(Message):
    """Market Participant Position (ITCH 5.0 §3.5)."""

    mpid: Alpha4
    stock: Alpha8
    primary_market_maker: Char
    market_maker_mode: Char
    market_participant_state: Char


@_message("V", 35)
class MwcbDeclineLevel(Message):
    """MWCB Decline Level; levels are Price(8) (ITCH 5.0 §3.6)."""

    level_1: Price8
    level_2: Price8
    level_3: Price8


@_message("W", 12)
class MwcbStatus(Message):
    """MWCB Status (ITCH 5.0 §3.7)."""

    breached_level: Char


@_message("K", 28)
class IpoQuotingPeriodUpdate(Message):
    """IPO Quoting Period Update; release time in seconds (ITCH 5.0 §3.8)."""

    stock: Alpha8
    ipo_quotation_release_time: U32
    ipo_quotation_release_qualifier: Char
    ipo_price: Price4


@_message("J", 35)
class LuldAuctionCollar(Message):
    """LULD Auction Collar (ITCH 5.0 §3.9)."""

    stock: Alpha8
    auction_collar_reference_price: Price4
    upper_auction_collar_price: Price4
    lower_auction_collar_price: Price4
    auction_collar_extension: U32


@_message("h", 21)
class OperationalHalt(Message):
    """Operational Halt, one market centre only (ITCH 5.0 §3.10)."""

    stock: Alpha8
    market_code: Char
    operational_halt_action: Char


@_message("A", 36)
class AddOrder(Message):
    """Add Order, no MPID attribution (ITCH 5.0 §3.11)."""

    order_ref: U64
    side: Char
    shares: U32
    stock: Alpha8
    price: Price4


@_message("F", 40)
class AddOrderMpid(Message):
    """Add Order with MPID attribution (ITCH 5.0 §3.12)."""

    order_ref: U64
    side: Char
    shares: U32
    stock: Alpha8
    price: Price4
    attribution: Alpha4


@_message("E", 31)
class OrderExecuted(Message):
    """Order Executed at the resting order's price (ITCH 5.0 §3.13)."""

    order_ref: U64
    executed_shares: U32
    match_number: U64


@_message("C", 36)
class OrderExecutedWithPrice(Message):
    """Order Executed With Price (ITCH 5.0 §3.14)."""

    order_ref: U64
    executed_shares: U32
    match_number: U64
    printable: Char
    execution_price: Price4


@_message("X", 23)
class OrderCancel(Message):
    """Order Cancel, partial (ITCH 5.0 §3.15)."""

    order_ref: U64
    cancelled_shares: U32


@_message("D", 19)
class OrderDelete(Message):
    """Order Delete (ITCH 5.0 §3.16)."""

    order_ref: U64


@_message("U", 35)
class OrderReplace(Message):
    """Order Replace: remove the original, add the new (ITCH 5.0 §3.17)."""

    original_order_ref: U64
    new_order_ref: U64
    shares: U32
    price: Price4


@_message("P", 44)
class Trade(Message):
    """Trade against a non-displayed order (ITCH 5.0 §3.18)."""

    order_ref: U64
    side: Char
    shares: U32
    stock: Alpha8
    price: Price4
    match_number: U64


@_message("Q", 40)
class CrossTrade(Message):
    """Cross Trade; ``shares`` is 8 bytes here (ITCH 5.0 §3.19)."""

    shares: U64
    stock: Alpha8
    cross_price: Price4
    match_number: U64
    cross_type: Char


@_message("B", 19)
class BrokenTrade(Message):
    """Broken Trade / Order Execution (ITCH 5.0 §3.20)."""

    match_number: U64


@_message("I", 50)
class Noii(Message):
    """Net Order Imbalance Indicator (ITCH 5.0 §3.21)."""

    paired_shares: U64
    imbalance_shares: U64
    imbalance_direction: Char
    stock: Alpha8
    far_price: Price4
    near_price: Price4
    current_reference_price: Price4
    cross_type: Char
    price_variation_indicator: Char


@_message("N", 20)
class RetailPriceImprovement(Message):
    """Retail Price Improvement Indicator (ITCH 5.0 §3.22)."""

    stock: Alpha8
    interest_flag: Char


@_message("O", 48)
class DirectListingWithCapitalRaise(Message):
    """Direct Listing with Capital Raise Price Discovery (ITCH 5.0 §3.23)."""

    stock: Alpha8
    open_eligibility_status: Char
    minimum_allowable_price: Price4
    maximum_allowable_price: Price4
    near_execution_price: Price4
    near_execution_time: U64
    lower_price_range_collar: Price4
    upper_price_range_collar: Price4


# --- codecs, generated from FIELDS ----------------------------------------------------------
#
# Each type gets a decoder and an encoder generated from its layout (as
# ``dataclasses`` and ``namedtuple`` generate theirs): one ``struct`` call and
# straight-line field handling, about twice as fast as a loop over the
# fields. The encoder's fast path leaves all checking to ``struct`` and to a
# length test on the Alpha fields; whatever it refuses is encoded again by
# the field-by-field path, which names the bad field.

_STRUCT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
_TIMESTAMP = "timestamp"


class _Codec(NamedTuple):
    cls: type[Message]
    length: int
    struct: struct.Struct
    decode: Callable[[bytes | bytearray | memoryview], Message]
    encode: Callable[[Message], bytes]


def _slot_setter(cls: type, name: str):
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name].__set__
    raise AssertionError(f"{cls.__name__} has no slot {name!r}")


def _struct_format(type_code: str) -> str:
    """``struct`` format of a whole message; the 6-byte timestamp is split high 16 / low 32."""
    parts = [">c"]
    for field in FIELDS[type_code]:
        if field.kind == "alpha":
            parts.append(f"{field.length}s")
        elif field.name == _TIMESTAMP:
            parts.append("HI")
        else:
            parts.append(_STRUCT_CODES[field.length])
    return "".join(parts)


def _generate(type_code: str, codec_struct: struct.Struct) -> tuple[Callable, Callable]:
    cls = MESSAGE_TYPES[type_code]
    fields = FIELDS[type_code]
    unpacked, stores, packed, alpha_checks = ["_type"], [], [repr(type_code.encode())], []
    for i, field in enumerate(fields):
        value = f"v{i}"
        if field.name == _TIMESTAMP:
            unpacked += [f"{value}_high", f"{value}_low"]
            stores.append(f"set{i}(msg, {value}_high << 32 | {value}_low)")
            packed += [f"msg.{field.name} >> 32", f"msg.{field.name} & 0xFFFFFFFF"]
            continue
        unpacked.append(value)
        if field.kind != "alpha":
            stores.append(f"set{i}(msg, {value})")
            packed.append(f"msg.{field.name}")
            continue
        strip = '.rstrip(" ")' if field.length > 1 else ""
        stores.append(f'set{i}(msg, {value}.decode("latin-1"){strip})')
        alpha_checks.append(f'{value} = msg.{field.name}.encode("latin-1")')
        alpha_checks.append(f"if len({value}) > {field.length}: raise struct.error")
        packed.append(f'{value}.ljust({field.length}, b" ")')
    setters = [f"set{i}" for i in range(len(fields))]
    source = "\n".join([
        f"def make(cls, unpack, pack, struct, new, {', '.join(setters)}):",
        "    def decode(buf):",
        f"        {', '.join(unpacked)} = unpack(buf)",
        "        msg = new(cls)  # values are in range by construction: skip the frozen __init__",
        *(f"        {line}" for line in stores),
        "        return msg",
        "    def encode(msg):",
        *(f"        {line}" for line in alpha_checks),
        f"        return pack({', '.join(packed)})",
        "    return decode, encode",
    ])
    namespace: dict = {}
    exec(compile(source, f"<itch codec {type_code!r}>", "exec"), namespace)  # noqa: S102
    return namespace["make"](cls, codec_struct.unpack, codec_struct.pack, struct, object.__new__,
                             *(_slot_setter(cls, f.name) for f in fields))


def _make_codec(type_code: str) -> _Codec:
    codec_struct = struct.Struct(_struct_format(type_code))
    assert codec_struct.size == LENGTHS[type_code]
    fast_decode, fast_encode = _generate(type_code, codec_struct)
    return _Codec(MESSAGE_TYPES[type_code], LENGTHS[type_code], codec_struct, fast_decode,
                  fast_encode)


_CODECS: dict[int, _Codec] = {ord(t): _make_codec(t) for t in MESSAGE_TYPES}
_CODECS_BY_CLASS: dict[type, _Codec] = {c.cls: c for c in _CODECS.values()}


def _type_name(code: int) -> str:
    return repr(chr(code)) + f" (0x{code:02x})"


class _ShortMessageError(LengthMismatchError, TruncatedError):
    """A message shorter than its type's fixed length: both truncated and mismatched."""


def decode(buf: bytes | bytearray | memoryview) -> Message:
    """Decode exactly one ITCH message (ITCH 5.0 §2, §3).

    ``buf`` is one whole message as delimited by the transport. Raises
    ``TruncatedError`` if it is empty, ``UnknownTypeError`` for a type byte
    the spec does not define and ``LengthMismatchError`` when its length is
    not the type's fixed length (a short one is also a ``TruncatedError``).
    """
    if isinstance(buf, memoryview) and buf.format != "B":
        buf = buf.cast("B")
    return _checked_codec(buf).decode(buf)


def _checked_codec(buf: bytes | bytearray | memoryview) -> _Codec:
    """The codec for one whole message, after checking its type byte and length."""
    if not len(buf):
        raise TruncatedError("ITCH message: expected at least the 1-byte type, found 0 bytes")
    codec = _CODECS.get(buf[0])
    if codec is None:
        raise UnknownTypeError(f"ITCH message type {_type_name(buf[0])} at offset 0 is not "
                               f"defined by ITCH 5.0; message length {len(buf)}")
    if len(buf) != codec.length:
        error = _ShortMessageError if len(buf) < codec.length else LengthMismatchError
        raise error(f"ITCH {chr(buf[0])!r} ({codec.cls.__name__}): expected {codec.length} "
                    f"bytes, found {len(buf)}")
    return codec


def _alpha(value: object, field: Field, cls: type) -> bytes:
    if not isinstance(value, str):
        raise FieldError(f"{cls.__name__}.{field.name}: expected str, found "
                         f"{type(value).__name__} {value!r}")
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise FieldError(f"{cls.__name__}.{field.name}: expected single-byte characters, "
                         f"found {value!r}") from None
    if len(raw) > field.length:
        raise FieldError(f"{cls.__name__}.{field.name}: expected at most {field.length} "
                         f"characters, found {len(raw)} in {value!r}")
    return raw.ljust(field.length, b" ")


def _uint(value: object, field: Field, cls: type) -> int:
    try:
        number = operator.index(value)  # int, bool, numpy integers; not float or str
    except TypeError:
        number = -1
    if not 0 <= number < 1 << (8 * field.length):
        raise FieldError(f"{cls.__name__}.{field.name}: expected an int in "
                         f"[0, 2**{8 * field.length}), found {value!r}")
    return number


def _encode_checked(codec: _Codec, msg: Message) -> bytes:
    """Encode field by field, naming the first field that cannot go on the wire."""
    values: list[object] = [codec.cls.TYPE.encode()]
    for field in FIELDS[codec.cls.TYPE]:
        value = getattr(msg, field.name)
        if field.kind == "alpha":
            values.append(_alpha(value, field, codec.cls))
        elif field.name == _TIMESTAMP:
            value = _uint(value, field, codec.cls)
            values += (value >> 32, value & 0xFFFFFFFF)
        else:
            values.append(_uint(value, field, codec.cls))
    return codec.struct.pack(*values)


def encode(msg: Message) -> bytes:
    """Encode one ITCH message to its fixed-length wire form (ITCH 5.0 §3).

    Raises ``FieldError`` naming the field whose value does not fit.
    """
    codec = _CODECS_BY_CLASS.get(type(msg))
    if codec is None:
        raise TypeError(f"expected an ITCH message instance, found {type(msg).__name__}")
    try:
        return codec.encode(msg)
    except (struct.error, AttributeError, TypeError, ValueError):
        return _encode_checked(codec, msg)


def iter_messages(buf: bytes | bytearray | memoryview) -> Iterator[bytes]:
    """Split 2-byte big-endian length-prefixed messages (MoldUDP64 §2 message block, BinaryFILE).

    Yields each message's bytes without its prefix (``b""`` for a zero-length
    record, which BinaryFILE uses as end of session). Raises ``TruncatedError``
    naming the offset if a prefix or a message runs past the end.
    """
    for _offset, message in iter_frames(buf):
        yield bytes(message)


def iter_frames(buf: bytes | bytearray | memoryview) -> Iterator[tuple[int, memoryview]]:
    """Like :func:`iter_messages`, yielding ``(prefix offset, message view)`` without copying."""
    view = memoryview(buf).cast("B")
    size = len(view)
    offset = 0
    while offset < size:
        if offset + PREFIX_LENGTH > size:
            raise TruncatedError(f"length prefix at offset {offset}: expected {PREFIX_LENGTH} "
                                 f"bytes, found {size - offset}")
        length = view[offset] << 8 | view[offset + 1]
        start = offset + PREFIX_LENGTH
        if start + length > size:
            raise TruncatedError(f"message at offset {offset}: prefix says {length} bytes, "
                                 f"found {size - start}")
        yield offset, view[start:start + length]
        offset = start + length


def check_frame(view: memoryview, offset: int) -> tuple[int, int]:
    """Check the framed message at ``offset`` and return ``(type byte, length)``.

    Raises the ``ProtocolError`` that :func:`iter_frames` then :func:`decode`
    would raise for it, naming the offset (ITCH 5.0 §2).
    """
    size = len(view)
    if offset + PREFIX_LENGTH > size:
        raise TruncatedError(f"length prefix at offset {offset}: expected {PREFIX_LENGTH} "
                             f"bytes, found {size - offset}")
    length = view[offset] << 8 | view[offset + 1]
    start = offset + PREFIX_LENGTH
    if start + length > size:
        raise TruncatedError(f"message at offset {offset}: prefix says {length} bytes, "
                             f"found {size - start}")
    try:
        _checked_codec(view[start:start + length])
    except ProtocolError as error:
        raise type(error)(f"{error} (message at offset {offset})") from None
    return view[start], length
