"""The tick2trade control-plane protocol: one small UDP protocol between host and device.

Used the same way by the gateware, the Python model (``sim/model/control``)
and the host (``host/device``); the host tells them apart only by the ID
register. Every datagram is one message (all integers big-endian)::

    offset 0  u16  magic     0x5432 ("T2")
           2  u8   version   PROTOCOL_VERSION
           3  u8   opcode    Opcode
           4  u16  tag       chosen by the host, echoed in the reply (0 in events)
           6  u16  length    bytes of body that follow (the datagram's rest)
           8  ...  body      per opcode, below

Requests (host → device) and their replies:

=================  ==========================================  ======================
request            body                                        reply
=================  ==========================================  ======================
``READ``           addr u32, count u16                         ``READ_REPLY``: addr
                                                               u32, count u16, words
``WRITE``          addr u32, count u16, count × u32 words      ``WRITE_ACK``: addr u32,
                                                               count u16
``TABLE_WRITE``    table u16, row u32, row bytes               ``TABLE_ACK``: table
                                                               u16, row u32
``SUBSCRIBE``      mask u32 (bit per ``EventType``; 0 stops)   ``SUBSCRIBE_ACK``: mask
=================  ==========================================  ======================

Addresses are byte addresses of 32-bit words (multiples of 4). A row is the
table's row value (the register map's row layout) as a little-endian integer
of ``ceil(width / 8)`` bytes. A request the device cannot serve gets an
``ERROR`` reply (code u8, request opcode u8, the device's error count u32,
then UTF-8 detail) and is counted; a datagram too broken to name a tag gets
tag 0.

``EVENTS`` datagrams (device → subscribers) carry ``seq`` u32 (of the first
event; consecutive over the stream, so the host sees lost datagrams), count
u16 and that many events, each ``type`` u8, ``length`` u8 and its body, so
unknown types can be skipped.

Fixed addresses: the device block is first at address 0 (header words
TYPE, VERSION, NEXT as every block, then ID, map version and build hash).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field

from tick2trade.proto.errors import ProtocolError

__all__ = [
    "BLOCK_NEXT", "BLOCK_TYPE", "BLOCK_VERSION", "BUILD_HASH_ADDR", "DEVICE_FAMILY", "HEADER",
    "ID_ADDR", "MAGIC", "MAP_VERSION", "MAP_VERSION_ADDR", "MAX_DATAGRAM", "MAX_WORDS",
    "PROTOCOL_VERSION", "BlockType", "ControlError", "Counters", "DeviceKind", "ErrorCode",
    "ErrorReply", "EventType", "Events", "Gap", "OrderEvent", "Opcode", "Read", "ReadReply",
    "Subscribe", "SubscribeAck", "TableAck", "TableId", "TableWrite", "Write", "WriteAck",
    "decode", "decode_header", "device_id", "encode", "split_device_id", "split_version",
    "version_word",
]

MAGIC = 0x5432
PROTOCOL_VERSION = 1
HEADER = struct.Struct("!HBBHH")
#: largest datagram either side sends (Ethernet MTU 1500 − IPv4 20 − UDP 8)
MAX_DATAGRAM = 1472
#: most words one READ / WRITE carries
MAX_WORDS = 256

#: the device's register map version (major, minor); the host refuses another major
MAP_VERSION = (1, 0)

#: offsets of a register block's header words (STYLE.md §6)
BLOCK_TYPE, BLOCK_VERSION, BLOCK_NEXT = 0x0, 0x4, 0x8
#: fixed addresses in the device block (first block, at 0)
ID_ADDR = 0x0C
MAP_VERSION_ADDR = 0x10
BUILD_HASH_ADDR = 0x14  # two words, low word first

#: upper half of the ID register
DEVICE_FAMILY = 0x5432


class DeviceKind(enum.IntEnum):
    """Lower half of the ID register: what serves the protocol."""

    HARDWARE = 0x4857  # "HW"
    MODEL = 0x4D44     # "MD"
    COSIM = 0x5253     # "RS" (RTL simulation)


def device_id(kind: DeviceKind) -> int:
    return DEVICE_FAMILY << 16 | kind


def split_device_id(word: int) -> tuple[int, int]:
    """(family, kind) of an ID register value."""
    return word >> 16, word & 0xFFFF


def version_word(major: int, minor: int) -> int:
    return (major & 0xFFFF) << 16 | (minor & 0xFFFF)


def split_version(word: int) -> tuple[int, int]:
    return word >> 16, word & 0xFFFF


class BlockType(enum.IntEnum):
    """TYPE word of each register block (STYLE.md §6)."""

    DEVICE = 0x54320001
    ORDER = 0x54320002
    RISK = 0x54320003
    STRATEGY = 0x54320004
    EVENTS = 0x54320005
    BOOK = 0x54320006


class TableId(enum.IntEnum):
    """Tables the host writes with ``TABLE_WRITE``, one row per symbol slot."""

    SYMBOLS = 1     # subscriptions: the symbol of each slot (order encoder)
    STRATEGY = 2    # strategy parameters
    RISK = 3        # per-symbol risk limits
    POSITION = 4    # positions the host sets
    SUBSCRIPTION = 5  # book subscriptions: the Stock Locate of each slot (ITCH 5.0 §3.2)


class Opcode(enum.IntEnum):
    READ = 0x01
    WRITE = 0x02
    TABLE_WRITE = 0x03
    SUBSCRIBE = 0x04
    READ_REPLY = 0x81
    WRITE_ACK = 0x82
    TABLE_ACK = 0x83
    SUBSCRIBE_ACK = 0x84
    EVENTS = 0xC0
    ERROR = 0xFF


class ErrorCode(enum.IntEnum):
    BAD_MAGIC = 1
    BAD_VERSION = 2
    UNKNOWN_OPCODE = 3
    BAD_LENGTH = 4
    BAD_ADDRESS = 5
    READ_ONLY = 6
    BAD_TABLE = 7
    BAD_ROW = 8
    TOO_LONG = 9
    NOT_A_REQUEST = 10


class EventType(enum.IntEnum):
    ORDER_SENT = 1
    ORDER_REJECTED = 2
    GAP = 3
    COUNTERS = 4


class ControlError(ProtocolError):
    """A datagram that breaks this protocol; ``code`` goes into the ERROR reply."""

    def __init__(self, code: ErrorCode, detail: str, *, tag: int = 0, opcode: int = 0):
        super().__init__(f"control {code.name}: {detail}")
        self.code, self.detail, self.tag, self.opcode = code, detail, tag, opcode


# --- messages ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Read:
    addr: int
    count: int = 1
    OPCODE = Opcode.READ


@dataclass(frozen=True)
class ReadReply:
    addr: int
    words: tuple[int, ...]
    OPCODE = Opcode.READ_REPLY


@dataclass(frozen=True)
class Write:
    addr: int
    words: tuple[int, ...]
    OPCODE = Opcode.WRITE


@dataclass(frozen=True)
class WriteAck:
    addr: int
    count: int
    OPCODE = Opcode.WRITE_ACK


@dataclass(frozen=True)
class TableWrite:
    table: int
    row: int
    data: bytes
    OPCODE = Opcode.TABLE_WRITE


@dataclass(frozen=True)
class TableAck:
    table: int
    row: int
    OPCODE = Opcode.TABLE_ACK


@dataclass(frozen=True)
class Subscribe:
    mask: int
    OPCODE = Opcode.SUBSCRIBE


@dataclass(frozen=True)
class SubscribeAck:
    mask: int
    OPCODE = Opcode.SUBSCRIBE_ACK


@dataclass(frozen=True)
class ErrorReply:
    code: ErrorCode
    opcode: int
    errors: int
    detail: str = ""
    OPCODE = Opcode.ERROR


@dataclass(frozen=True)
class OrderEvent:
    """An order sent (``reason`` 0) or rejected (``reason`` the risk ``Reason`` value).

    Fields mirror ``hdl/strategy/layouts.OrderRequest``; ``number`` is the wire
    order number; stamps are the cycle counter at the trigger frame's start,
    top-of-book, strategy, risk and (sent only) encoder first byte.
    """

    kind: int
    side: int
    tif: int
    reason: int
    slot: int
    locate: int
    price: int
    shares: int
    number: int
    orig_number: int
    trigger_ts: int
    trigger_seq: int
    stamp_trigger: int
    stamp_tob: int
    stamp_strategy: int
    stamp_risk: int
    stamp_encoder: int = 0
    _BODY = struct.Struct("!BBBBBHIIIIQQQQQQQ")

    @property
    def type(self) -> EventType:
        return EventType.ORDER_SENT if self.reason == 0 else EventType.ORDER_REJECTED

    def body(self) -> bytes:
        return self._BODY.pack(self.kind, self.side, self.tif, self.reason, self.slot,
                               self.locate, self.price, self.shares, self.number,
                               self.orig_number, self.trigger_ts, self.trigger_seq,
                               self.stamp_trigger, self.stamp_tob, self.stamp_strategy,
                               self.stamp_risk, self.stamp_encoder)

    @classmethod
    def from_body(cls, body: bytes) -> OrderEvent:
        return cls(*cls._BODY.unpack(body))


@dataclass(frozen=True)
class Gap:
    """A MoldUDP64 sequence gap on feed ``line`` (MoldUDP64 §4): expected vs received."""

    line: int
    expected: int
    received: int
    stamp: int
    _BODY = struct.Struct("!BQQQ")
    type = EventType.GAP

    def body(self) -> bytes:
        return self._BODY.pack(self.line, self.expected, self.received, self.stamp)

    @classmethod
    def from_body(cls, body: bytes) -> Gap:
        return cls(*cls._BODY.unpack(body))


@dataclass(frozen=True)
class Counters:
    """A snapshot of ``len(words)`` counter registers from ``addr`` (≤ 60 words)."""

    addr: int
    words: tuple[int, ...]
    type = EventType.COUNTERS

    def body(self) -> bytes:
        return struct.pack(f"!I{len(self.words)}I", self.addr, *self.words)

    @classmethod
    def from_body(cls, body: bytes) -> Counters:
        if len(body) < 4 or len(body) % 4:
            raise ControlError(ErrorCode.BAD_LENGTH, f"counters event of {len(body)} bytes")
        values = struct.unpack(f"!{len(body) // 4}I", body)
        return cls(values[0], tuple(values[1:]))


_EVENT_CLASSES = {EventType.ORDER_SENT: OrderEvent, EventType.ORDER_REJECTED: OrderEvent,
                  EventType.GAP: Gap, EventType.COUNTERS: Counters}


@dataclass(frozen=True)
class Events:
    seq: int
    events: tuple = field(default=())
    OPCODE = Opcode.EVENTS


REQUESTS = (Opcode.READ, Opcode.WRITE, Opcode.TABLE_WRITE, Opcode.SUBSCRIBE)


# --- codec -------------------------------------------------------------------------------------

def _u32(value: int, what: str) -> int:
    if not 0 <= value <= 0xFFFF_FFFF:
        raise ControlError(ErrorCode.BAD_LENGTH, f"{what} {value} does not fit u32")
    return value


def _body(msg) -> bytes:
    if isinstance(msg, Read):
        return struct.pack("!IH", _u32(msg.addr, "addr"), msg.count)
    if isinstance(msg, (ReadReply, Write)):
        return struct.pack(f"!IH{len(msg.words)}I", _u32(msg.addr, "addr"), len(msg.words),
                           *(_u32(w, "word") for w in msg.words))
    if isinstance(msg, WriteAck):
        return struct.pack("!IH", msg.addr, msg.count)
    if isinstance(msg, TableWrite):
        return struct.pack("!HI", msg.table, msg.row) + bytes(msg.data)
    if isinstance(msg, TableAck):
        return struct.pack("!HI", msg.table, msg.row)
    if isinstance(msg, (Subscribe, SubscribeAck)):
        return struct.pack("!I", msg.mask)
    if isinstance(msg, ErrorReply):
        return struct.pack("!BBI", msg.code, msg.opcode, msg.errors) + msg.detail.encode()
    if isinstance(msg, Events):
        out = bytearray(struct.pack("!IH", msg.seq, len(msg.events)))
        for event in msg.events:
            body = event.body()
            out += struct.pack("!BB", event.type, len(body)) + body
        return bytes(out)
    raise TypeError(f"not a control message: {msg!r}")


def encode(msg, tag: int = 0) -> bytes:
    """One datagram carrying ``msg``; raises ``ControlError`` if it would not fit."""
    try:
        body = _body(msg)
    except struct.error as exc:
        raise ControlError(ErrorCode.BAD_LENGTH, f"{type(msg).__name__}: {exc}") from None
    if HEADER.size + len(body) > MAX_DATAGRAM:
        raise ControlError(ErrorCode.TOO_LONG, f"{type(msg).__name__} of {len(body)} bytes "
                           f"exceeds the {MAX_DATAGRAM}-byte datagram")
    return HEADER.pack(MAGIC, PROTOCOL_VERSION, msg.OPCODE, tag, len(body)) + body


def _need(body: bytes, n: int, exact: bool, what: str, **where):
    if len(body) < n or (exact and len(body) != n):
        raise ControlError(ErrorCode.BAD_LENGTH, f"{what} body of {len(body)} bytes, "
                           f"{'needs' if exact else 'needs at least'} {n}", **where)


def _words(body: bytes, what: str, **where) -> tuple[int, tuple[int, ...]]:
    _need(body, 6, False, what, **where)
    addr, count = struct.unpack_from("!IH", body)
    _need(body, 6 + 4 * count, True, what, **where)
    return addr, struct.unpack_from(f"!{count}I", body, 6)


def _events(body: bytes, **where) -> Events:
    _need(body, 6, False, "EVENTS", **where)
    seq, count = struct.unpack_from("!IH", body)
    pos, events = 6, []
    for i in range(count):
        _need(body, pos + 2, False, f"EVENTS event {i}", **where)
        etype, length = body[pos], body[pos + 1]
        _need(body, pos + 2 + length, False, f"EVENTS event {i}", **where)
        raw = body[pos + 2:pos + 2 + length]
        pos += 2 + length
        cls = _EVENT_CLASSES.get(etype)
        if cls is None:
            continue  # an event type this host does not know: skipped by its length
        try:
            events.append(cls.from_body(raw))
        except struct.error:
            raise ControlError(ErrorCode.BAD_LENGTH, f"event type {etype} of {length} bytes",
                               **where) from None
    _need(body, pos, True, "EVENTS", **where)
    return Events(seq, tuple(events))


def decode_header(datagram: bytes) -> tuple[int, Opcode, bytes]:
    """``(tag, opcode, body)`` after the header checks, in the order every server applies them:
    length, magic, version, body length, opcode (raises :class:`ControlError`)."""
    datagram = bytes(datagram)
    if len(datagram) < HEADER.size:
        raise ControlError(ErrorCode.BAD_LENGTH, f"{len(datagram)} bytes, the header needs "
                           f"{HEADER.size}")
    magic, version, opcode, tag, length = HEADER.unpack_from(datagram)
    if magic != MAGIC:
        raise ControlError(ErrorCode.BAD_MAGIC, f"magic 0x{magic:04x}, expected 0x{MAGIC:04x}")
    where = {"tag": tag, "opcode": opcode}
    if version != PROTOCOL_VERSION:
        raise ControlError(ErrorCode.BAD_VERSION, f"protocol version {version}, this side "
                           f"speaks {PROTOCOL_VERSION}", **where)
    body = datagram[HEADER.size:]
    if len(body) != length:
        raise ControlError(ErrorCode.BAD_LENGTH, f"header says {length} body bytes, "
                           f"datagram has {len(body)}", **where)
    try:
        op = Opcode(opcode)
    except ValueError:
        raise ControlError(ErrorCode.UNKNOWN_OPCODE, f"opcode 0x{opcode:02x}", **where) from None
    return tag, op, body


def decode(datagram: bytes) -> tuple[int, object]:
    """``(tag, message)`` of one datagram; a broken one raises :class:`ControlError`."""
    tag, op, body = decode_header(datagram)
    where = {"tag": tag, "opcode": op}
    if op in (Opcode.READ, Opcode.WRITE_ACK):
        _need(body, 6, True, op.name, **where)
        addr, count = struct.unpack("!IH", body)
        return tag, (Read(addr, count) if op is Opcode.READ else WriteAck(addr, count))
    if op in (Opcode.WRITE, Opcode.READ_REPLY):
        addr, words = _words(body, op.name, **where)
        return tag, (Write(addr, words) if op is Opcode.WRITE else ReadReply(addr, words))
    if op is Opcode.TABLE_WRITE:
        _need(body, 6, False, op.name, **where)
        table, row = struct.unpack_from("!HI", body)
        return tag, TableWrite(table, row, body[6:])
    if op is Opcode.TABLE_ACK:
        _need(body, 6, True, op.name, **where)
        return tag, TableAck(*struct.unpack("!HI", body))
    if op in (Opcode.SUBSCRIBE, Opcode.SUBSCRIBE_ACK):
        _need(body, 4, True, op.name, **where)
        (mask,) = struct.unpack("!I", body)
        return tag, (Subscribe(mask) if op is Opcode.SUBSCRIBE else SubscribeAck(mask))
    if op is Opcode.ERROR:
        _need(body, 6, False, op.name, **where)
        code, req_op, errors = struct.unpack_from("!BBI", body)
        try:
            code = ErrorCode(code)
        except ValueError:
            raise ControlError(ErrorCode.BAD_LENGTH, f"unknown error code {code}",
                               **where) from None
        return tag, ErrorReply(code, req_op, errors, body[6:].decode("utf-8", "replace"))
    return tag, _events(body, **where)
