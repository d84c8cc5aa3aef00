"""SoupBinTCP 3.00: one dataclass per packet type, codec and a stream framer.

Every packet is a u16 big-endian Packet Length (bytes after the field), a
one-byte Packet Type and a payload (SoupBinTCP §1). Type letters are unique
across both directions in 3.00 (SoupBinTCP §2), so :func:`decode` needs no
direction; each class still records its ``DIRECTION`` for checks.
Numeric ASCII fields are right-aligned and padded on the left with spaces;
alpha fields are padded on the right; the Login Accepted session is padded
on the left (SoupBinTCP §2.2, §5). The session is kept as the exact 10
bytes received, so it can be echoed unchanged.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tick2trade.proto.errors import (
    FieldError,
    LengthMismatchError,
    ProtocolError,
    TruncatedError,
    UnknownTypeError,
)

LENGTH_PREFIX_LEN = 2
SESSION_LEN = 10
SEQUENCE_LEN = 20
USERNAME_LEN = 6
PASSWORD_LEN = 10
#: Largest Packet Length the framer accepts by default (SoupBinTCP §1 sets no
#: maximum; an OUCH message with appendage is far below this).
DEFAULT_MAX_LENGTH = 4096

_U16 = struct.Struct("!H")


class Direction(enum.Enum):
    """Who sends a packet. INBOUND = client → server (venue), OUTBOUND = server → client."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    BOTH = "both"


class LoginRejectReason(enum.StrEnum):
    """Login Rejected reason codes (SoupBinTCP §2.3)."""

    NOT_AUTHORIZED = "A"
    SESSION_NOT_AVAILABLE = "S"


def _session(value: str | bytes, where: str) -> bytes:
    raw = value.encode("latin-1") if isinstance(value, str) else bytes(value)
    if len(raw) > SESSION_LEN:
        raise FieldError(f"SoupBinTCP {where}: session {value!r} longer than 10 bytes")
    return raw.rjust(SESSION_LEN, b" ")


def _encode_seq(value: int, where: str) -> bytes:
    if not isinstance(value, int) or value < 0 or len(str(value)) > SEQUENCE_LEN:
        raise FieldError(f"SoupBinTCP {where}: sequence number {value!r} does not fit 20 digits")
    return str(value).encode().rjust(SEQUENCE_LEN, b" ")


def _decode_seq(raw: bytes, where: str) -> int:
    text = raw.strip(b" ")
    if not text.isdigit():
        raise FieldError(f"SoupBinTCP {where}: sequence number {raw!r} is not a space-padded "
                         f"decimal")
    return int(text)


def _alpha(value: str, length: int, where: str) -> bytes:
    try:
        raw = value.encode("ascii")
    except (UnicodeEncodeError, AttributeError):
        raise FieldError(f"SoupBinTCP {where}: {value!r} is not an ASCII string") from None
    if len(raw) > length:
        raise FieldError(f"SoupBinTCP {where}: {value!r} longer than {length} characters")
    return raw.ljust(length, b" ")


def _text(raw: bytes) -> str:
    return raw.decode("latin-1").rstrip(" ")


class Packet:
    """Base of every SoupBinTCP packet class."""

    TYPE: ClassVar[bytes]
    NAME: ClassVar[str]
    DIRECTION: ClassVar[Direction]
    #: payload length when fixed (SoupBinTCP §2), None when variable
    PAYLOAD_LEN: ClassVar[int | None] = 0

    def payload(self) -> bytes:
        return b""

    def encode(self) -> bytes:
        body = self.payload()
        if len(body) + 1 > 0xFFFF:
            raise FieldError(f"SoupBinTCP {self.NAME}: payload of {len(body)} bytes exceeds "
                             f"the u16 Packet Length")
        return _U16.pack(len(body) + 1) + self.TYPE + body

    @classmethod
    def from_payload(cls, payload: bytes) -> Packet:
        return cls()


@dataclass(frozen=True, slots=True)
class Debug(Packet):
    """``+`` Debug, either direction: free text that applications ignore (SoupBinTCP §2.1)."""

    TYPE = b"+"
    NAME = "Debug"
    DIRECTION = Direction.BOTH
    PAYLOAD_LEN = None
    text: str = ""

    def payload(self) -> bytes:
        try:
            return self.text.encode("latin-1")
        except UnicodeEncodeError:
            raise FieldError(f"SoupBinTCP Debug: text {self.text!r} is not single-byte") from None

    @classmethod
    def from_payload(cls, payload: bytes) -> Debug:
        return cls(payload.decode("latin-1"))


@dataclass(frozen=True, slots=True)
class LoginAccepted(Packet):
    """``A`` Login Accepted: session (10, left-padded) and next sequence (SoupBinTCP §2.2)."""

    TYPE = b"A"
    NAME = "LoginAccepted"
    DIRECTION = Direction.OUTBOUND
    PAYLOAD_LEN = SESSION_LEN + SEQUENCE_LEN
    session: bytes
    sequence: int

    def __post_init__(self):
        object.__setattr__(self, "session", _session(self.session, self.NAME))

    def payload(self) -> bytes:
        return self.session + _encode_seq(self.sequence, self.NAME)

    @classmethod
    def from_payload(cls, payload: bytes) -> LoginAccepted:
        return cls(payload[:10], _decode_seq(payload[10:30], cls.NAME))


@dataclass(frozen=True, slots=True)
class LoginRejected(Packet):
    """``J`` Login Rejected with a reason code (SoupBinTCP §2.3)."""

    TYPE = b"J"
    NAME = "LoginRejected"
    DIRECTION = Direction.OUTBOUND
    PAYLOAD_LEN = 1
    reason: LoginRejectReason

    def __post_init__(self):
        try:
            object.__setattr__(self, "reason", LoginRejectReason(self.reason))
        except ValueError:
            raise FieldError(f"SoupBinTCP §2.3: unknown login reject reason {self.reason!r} "
                             f"(expected 'A' or 'S')") from None

    def payload(self) -> bytes:
        return self.reason.value.encode()

    @classmethod
    def from_payload(cls, payload: bytes) -> LoginRejected:
        return cls(payload.decode("latin-1"))


@dataclass(frozen=True, slots=True)
class SequencedData(Packet):
    """``S`` Sequenced Data: exactly one higher-level message (SoupBinTCP §2.4)."""

    TYPE = b"S"
    NAME = "SequencedData"
    DIRECTION = Direction.OUTBOUND
    PAYLOAD_LEN = None
    message: bytes

    def payload(self) -> bytes:
        return bytes(self.message)

    @classmethod
    def from_payload(cls, payload: bytes) -> SequencedData:
        return cls(payload)


@dataclass(frozen=True, slots=True)
class ServerHeartbeat(Packet):
    """``H`` Server Heartbeat (SoupBinTCP §2.5)."""

    TYPE = b"H"
    NAME = "ServerHeartbeat"
    DIRECTION = Direction.OUTBOUND


@dataclass(frozen=True, slots=True)
class EndOfSession(Packet):
    """``Z`` End of Session (SoupBinTCP §2.6)."""

    TYPE = b"Z"
    NAME = "EndOfSession"
    DIRECTION = Direction.OUTBOUND


@dataclass(frozen=True, slots=True)
class LoginRequest(Packet):
    """``L`` Login Request (SoupBinTCP §2.7).

    ``session`` all spaces (the default) asks for the active session;
    ``sequence`` 0 asks to start with the newest message.
    """

    TYPE = b"L"
    NAME = "LoginRequest"
    DIRECTION = Direction.INBOUND
    PAYLOAD_LEN = USERNAME_LEN + PASSWORD_LEN + SESSION_LEN + SEQUENCE_LEN
    username: str
    password: str
    session: bytes = b" " * SESSION_LEN
    sequence: int = 1

    def __post_init__(self):
        object.__setattr__(self, "session", _session(self.session, self.NAME))

    def payload(self) -> bytes:
        return (_alpha(self.username, USERNAME_LEN, "LoginRequest username")
                + _alpha(self.password, PASSWORD_LEN, "LoginRequest password")
                + self.session + _encode_seq(self.sequence, self.NAME))

    @classmethod
    def from_payload(cls, payload: bytes) -> LoginRequest:
        return cls(_text(payload[0:6]), _text(payload[6:16]), payload[16:26],
                   _decode_seq(payload[26:46], cls.NAME))


@dataclass(frozen=True, slots=True)
class UnsequencedData(Packet):
    """``U`` Unsequenced Data: one client message (SoupBinTCP §2.8)."""

    TYPE = b"U"
    NAME = "UnsequencedData"
    DIRECTION = Direction.INBOUND
    PAYLOAD_LEN = None
    message: bytes

    def payload(self) -> bytes:
        return bytes(self.message)

    @classmethod
    def from_payload(cls, payload: bytes) -> UnsequencedData:
        return cls(payload)


@dataclass(frozen=True, slots=True)
class ClientHeartbeat(Packet):
    """``R`` Client Heartbeat (SoupBinTCP §2.9)."""

    TYPE = b"R"
    NAME = "ClientHeartbeat"
    DIRECTION = Direction.INBOUND


@dataclass(frozen=True, slots=True)
class LogoutRequest(Packet):
    """``O`` Logout Request (SoupBinTCP §2.10)."""

    TYPE = b"O"
    NAME = "LogoutRequest"
    DIRECTION = Direction.INBOUND


PACKET_TYPES: dict[bytes, type[Packet]] = {
    cls.TYPE: cls for cls in (Debug, LoginAccepted, LoginRejected, SequencedData, ServerHeartbeat,
                              EndOfSession, LoginRequest, UnsequencedData, ClientHeartbeat,
                              LogoutRequest)
}
_BY_BYTE = {t[0]: cls for t, cls in PACKET_TYPES.items()}


def encode(pkt: Packet) -> bytes:
    """Wire bytes of one packet (length prefix included)."""
    return pkt.encode()


def _class_for(type_byte: int, direction: Direction | None, offset: int) -> type[Packet]:
    cls = _BY_BYTE.get(type_byte)
    if cls is None:
        raise UnknownTypeError(f"SoupBinTCP §2: unknown packet type {bytes([type_byte])!r} "
                               f"(0x{type_byte:02x}) at offset {offset}")
    if direction is not None and cls.DIRECTION not in (direction, Direction.BOTH):
        raise UnknownTypeError(f"SoupBinTCP §2: {cls.NAME} ({cls.TYPE!r}) is not sent "
                               f"{direction.value}")
    return cls


def _check_length(cls: type[Packet], length: int) -> None:
    if length < 1:
        raise LengthMismatchError("SoupBinTCP §1: Packet Length 0 (must count the type byte)")
    if cls.PAYLOAD_LEN is not None and length != cls.PAYLOAD_LEN + 1:
        raise LengthMismatchError(f"SoupBinTCP §2: {cls.NAME} Packet Length must be "
                                  f"{cls.PAYLOAD_LEN + 1}, got {length}")


def decode(buf: bytes, direction: Direction | None = None) -> Packet:
    """Decode exactly one complete packet (length prefix included)."""
    buf = bytes(buf)
    if len(buf) < LENGTH_PREFIX_LEN + 1:
        raise TruncatedError(f"SoupBinTCP §1: {len(buf)} bytes, a packet needs at least 3")
    length = _U16.unpack_from(buf)[0]
    if length == 0:
        _check_length(Packet, 0)
    if len(buf) < length + 2:
        raise TruncatedError(f"SoupBinTCP §1: Packet Length {length} needs {length + 2} bytes, "
                             f"got {len(buf)}")
    if len(buf) > length + 2:
        raise LengthMismatchError(f"SoupBinTCP §1: {len(buf) - length - 2} bytes after a "
                                  f"packet of length {length}")
    cls = _class_for(buf[2], direction, 2)
    _check_length(cls, length)
    return cls.from_payload(buf[3:])


class SoupFramer:
    """Reassemble SoupBinTCP packets from a TCP byte stream (SoupBinTCP §1).

    ``feed(data)`` buffers the bytes at once and returns an iterator over the
    packets completed so far; a partial packet waits for more data. A length
    or type that cannot be valid raises a ProtocolError (after the packets
    before it have been yielded) as soon as its 3-byte header has arrived;
    the framer then stays failed, because the stream has lost its framing,
    until :meth:`reset`.
    """

    def __init__(self, max_length: int = DEFAULT_MAX_LENGTH, direction: Direction | None = None):
        self.max_length = max_length
        self.direction = direction
        self._buf = bytearray()
        self._pos = 0
        self._error: ProtocolError | None = None
        self.packets = 0
        self.bytes = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as packets."""
        return len(self._buf) - self._pos

    @property
    def failed(self) -> ProtocolError | None:
        """The error that broke the framing, if any."""
        return self._error

    def reset(self) -> None:
        """Drop buffered bytes and any error (e.g. after a TCP reconnect)."""
        self._buf.clear()
        self._pos = 0
        self._error = None

    def feed(self, data: bytes) -> Iterator[Packet]:
        if self._error is not None:
            raise self._error
        self._buf += data
        self.bytes += len(data)
        return self._drain()

    def _drain(self) -> Iterator[Packet]:
        while (packet := self._next()) is not None:
            yield packet

    def _next(self) -> Packet | None:
        if self._error is not None:
            raise self._error
        buf, pos = self._buf, self._pos
        if len(buf) - pos < LENGTH_PREFIX_LEN + 1:
            self._compact()
            return None
        length = (buf[pos] << 8) | buf[pos + 1]
        try:
            cls = _class_for(buf[pos + 2], self.direction, self.bytes - len(buf) + pos + 2)
            _check_length(cls, length)
            if length > self.max_length:
                raise LengthMismatchError(
                    f"SoupBinTCP §1: Packet Length {length} exceeds the limit "
                    f"{self.max_length} ({cls.NAME})")
        except ProtocolError as error:
            self._error = error
            raise
        if len(buf) - pos < length + 2:
            self._compact()
            return None
        self._pos = pos + length + 2
        self.packets += 1
        return cls.from_payload(bytes(buf[pos + 3:self._pos]))

    def _compact(self) -> None:
        if self._pos:
            del self._buf[:self._pos]
            self._pos = 0


__all__ = [
    "PACKET_TYPES",
    "ClientHeartbeat",
    "Debug",
    "Direction",
    "EndOfSession",
    "LoginAccepted",
    "LoginRejectReason",
    "LoginRejected",
    "LoginRequest",
    "LogoutRequest",
    "Packet",
    "SequencedData",
    "ServerHeartbeat",
    "SoupFramer",
    "UnsequencedData",
    "decode",
    "encode",
]
