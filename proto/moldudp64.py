"""MoldUDP64 1.00: downstream packets, re-request packets and a packet builder.

Downstream packet (MoldUDP64 §2): a 20-byte header (Session 10, Sequence
Number u64, Message Count u16, big-endian) followed by Message Count blocks,
each a u16 length and that many bytes (MoldUDP64 §2.2). Count 0 is a
heartbeat (§2.3) and 0xFFFF end of session (§2.4); both carry no blocks and
their Sequence Number is the next expected one. The request packet
(MoldUDP64 §3) has the same 20-byte layout.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tick2trade.proto.errors import FieldError, LengthMismatchError, TruncatedError

HEADER_LEN = 20
SESSION_LEN = 10
BLOCK_PREFIX_LEN = 2
HEARTBEAT = 0
END_OF_SESSION = 0xFFFF
MAX_MESSAGES = 0xFFFE
MAX_MESSAGE_LEN = 0xFFFF
REQUEST_LEN = 20
#: UDP payload that fits a 1500-byte IP MTU (1500 - 20 IP - 8 UDP); MoldUDP64 §5 note.
MTU_PAYLOAD = 1472

HEADER = struct.Struct("!10sQH")
_U16 = struct.Struct("!H")
_MAX_SEQ = (1 << 64) - 1

#: MoldUDP64 §2.1 header fields as (name, offset, length) for gateware and dissectors.
HEADER_FIELDS = (("session", 0, 10), ("sequence", 10, 8), ("count", 18, 2))


def _check_session(session: bytes) -> None:
    if not isinstance(session, bytes) or len(session) != SESSION_LEN:
        raise FieldError(f"MoldUDP64 §2.1: session must be 10 bytes, got {session!r}")


def _check_sequence(sequence: int) -> None:
    if not 0 <= sequence <= _MAX_SEQ:
        raise FieldError(f"MoldUDP64 §2.1: sequence {sequence} out of u64 range")


@dataclass(frozen=True, slots=True)
class MoldPacket:
    """A downstream packet (MoldUDP64 §2).

    ``count`` defaults to ``len(messages)``; give 0 (heartbeat) or
    :data:`END_OF_SESSION` with no messages for the control packets.
    """

    session: bytes
    sequence: int
    messages: tuple[bytes, ...] = ()
    count: int = field(default=None)  # type: ignore[assignment]

    def __post_init__(self):
        _check_session(self.session)
        _check_sequence(self.sequence)
        if not isinstance(self.messages, tuple):
            object.__setattr__(self, "messages", tuple(self.messages))
        n = len(self.messages)
        if self.count is None:
            object.__setattr__(self, "count", n)
        if self.count == END_OF_SESSION:
            if n:
                raise FieldError(f"MoldUDP64 §2.4: end-of-session packet with {n} messages")
        elif self.count != n:
            raise FieldError(f"MoldUDP64 §2.1: count {self.count} != {n} messages")
        if n > MAX_MESSAGES:
            raise FieldError(f"MoldUDP64 §2.1: {n} messages exceed {MAX_MESSAGES}")
        for i, msg in enumerate(self.messages):
            if len(msg) > MAX_MESSAGE_LEN:
                raise FieldError(f"MoldUDP64 §2.2: message {i} is {len(msg)} bytes (max 65535)")

    @property
    def is_heartbeat(self) -> bool:
        return self.count == HEARTBEAT

    @property
    def is_end_of_session(self) -> bool:
        return self.count == END_OF_SESSION

    @property
    def next_sequence(self) -> int:
        """Sequence number expected after this packet (MoldUDP64 §2.1, §2.3)."""
        return self.sequence + len(self.messages)

    @property
    def encoded_len(self) -> int:
        return HEADER_LEN + sum(BLOCK_PREFIX_LEN + len(m) for m in self.messages)

    @classmethod
    def heartbeat(cls, session: bytes, next_sequence: int) -> MoldPacket:
        """Heartbeat carrying the next expected sequence number (MoldUDP64 §2.3)."""
        return cls(session, next_sequence, (), HEARTBEAT)

    @classmethod
    def end_of_session(cls, session: bytes, next_sequence: int) -> MoldPacket:
        """End-of-session packet (MoldUDP64 §2.4)."""
        return cls(session, next_sequence, (), END_OF_SESSION)

    def encode(self) -> bytes:
        parts = [HEADER.pack(self.session, self.sequence, self.count)]
        for msg in self.messages:
            parts.append(_U16.pack(len(msg)))
            parts.append(msg)
        return b"".join(parts)

    @classmethod
    def decode(cls, buf: bytes) -> MoldPacket:
        """Decode one UDP payload; blocks must end exactly at the end of ``buf``."""
        buf = bytes(buf)
        if len(buf) < HEADER_LEN:
            raise TruncatedError(
                f"MoldUDP64 §2.1: packet of {len(buf)} bytes, header needs {HEADER_LEN}")
        session, sequence, count = HEADER.unpack_from(buf)
        end = len(buf)
        if count in (HEARTBEAT, END_OF_SESSION):
            if end != HEADER_LEN:
                kind = "heartbeat" if count == HEARTBEAT else "end-of-session"
                raise LengthMismatchError(
                    f"MoldUDP64 §2.3: {kind} packet carries {end - HEADER_LEN} extra bytes")
            return _trusted(cls, session, sequence, (), count)
        messages = []
        pos = HEADER_LEN
        for i in range(count):
            if pos + BLOCK_PREFIX_LEN > end:
                raise TruncatedError(
                    f"MoldUDP64 §2.2: block {i} of {count} length prefix at offset {pos} "
                    f"runs past the {end}-byte packet")
            length = (buf[pos] << 8) | buf[pos + 1]
            start = pos + BLOCK_PREFIX_LEN
            pos = start + length
            if pos > end:
                raise TruncatedError(
                    f"MoldUDP64 §2.2: block {i} of {count} claims {length} bytes at offset "
                    f"{start}, only {end - start} left")
            messages.append(buf[start:pos])
        if pos != end:
            raise LengthMismatchError(
                f"MoldUDP64 §2.2: {end - pos} bytes left after {count} blocks")
        return _trusted(cls, session, sequence, tuple(messages), count)


_new = object.__new__
_set = object.__setattr__


def _trusted(cls, session: bytes, sequence: int, messages: tuple, count: int) -> MoldPacket:
    """Build a decoded packet without re-checking what the decoder just checked."""
    packet = _new(cls)
    _set(packet, "session", session)
    _set(packet, "sequence", sequence)
    _set(packet, "messages", messages)
    _set(packet, "count", count)
    return packet


@dataclass(frozen=True, slots=True)
class MoldRequest:
    """A re-request packet (MoldUDP64 §3): messages ``sequence .. sequence+count-1``."""

    session: bytes
    sequence: int
    count: int

    def __post_init__(self):
        _check_session(self.session)
        _check_sequence(self.sequence)
        if not 0 <= self.count <= 0xFFFF:
            raise FieldError(f"MoldUDP64 §3: requested count {self.count} out of u16 range")

    def encode(self) -> bytes:
        return HEADER.pack(self.session, self.sequence, self.count)

    @classmethod
    def decode(cls, buf: bytes) -> MoldRequest:
        if len(buf) < REQUEST_LEN:
            raise TruncatedError(f"MoldUDP64 §3: request of {len(buf)} bytes, needs 20")
        if len(buf) != REQUEST_LEN:
            raise LengthMismatchError(f"MoldUDP64 §3: request of {len(buf)} bytes, must be 20")
        return cls(*HEADER.unpack(bytes(buf)))


class MoldPacker:
    """Batch messages into downstream packets of at most ``max_payload`` bytes.

    ``add`` returns the packets that the new message closed (zero or one);
    ``flush`` closes the open packet. Sequence numbers run on from
    ``next_sequence`` (MoldUDP64 §2.1: a packet's number is that of its
    first message).
    """

    def __init__(self, session: bytes, next_sequence: int = 1, max_payload: int = MTU_PAYLOAD,
                 max_messages: int = MAX_MESSAGES):
        _check_session(session)
        _check_sequence(next_sequence)
        if max_payload < HEADER_LEN + BLOCK_PREFIX_LEN:
            raise FieldError(f"MoldPacker: max_payload {max_payload} cannot hold one block")
        if not 1 <= max_messages <= MAX_MESSAGES:
            raise FieldError(f"MoldPacker: max_messages {max_messages} out of 1..{MAX_MESSAGES}")
        self.session = session
        self.max_payload = max_payload
        self.max_messages = max_messages
        self._first = next_sequence  # sequence of the first pending message
        self._pending: list[bytes] = []
        self._size = HEADER_LEN

    @property
    def next_sequence(self) -> int:
        """Sequence number the next added message will get."""
        return self._first + len(self._pending)

    @property
    def sent_sequence(self) -> int:
        """Next expected sequence number as seen by a listener (pending messages excluded)."""
        return self._first

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, message: bytes) -> list[MoldPacket]:
        block = BLOCK_PREFIX_LEN + len(message)
        if HEADER_LEN + block > self.max_payload or len(message) > MAX_MESSAGE_LEN:
            raise FieldError(f"MoldPacker: message of {len(message)} bytes cannot fit a "
                             f"{self.max_payload}-byte packet")
        out = []
        if self._size + block > self.max_payload or len(self._pending) >= self.max_messages:
            out.append(self._close())
        self._pending.append(bytes(message))
        self._size += block
        return out

    def flush(self) -> MoldPacket | None:
        """Close the open packet, if any."""
        return self._close() if self._pending else None

    def pack(self, messages: Iterable[bytes]) -> Iterator[MoldPacket]:
        """Add every message and flush at the end."""
        for msg in messages:
            yield from self.add(msg)
        last = self.flush()
        if last is not None:
            yield last

    def heartbeat(self) -> MoldPacket:
        """Heartbeat with the next expected sequence (flush first if messages are pending)."""
        return MoldPacket.heartbeat(self.session, self._first)

    def end_of_session(self) -> MoldPacket:
        return MoldPacket.end_of_session(self.session, self._first)

    def _close(self) -> MoldPacket:
        packet = MoldPacket(self.session, self._first, tuple(self._pending))
        self._first += len(self._pending)
        self._pending = []
        self._size = HEADER_LEN
        return packet


__all__ = [
    "END_OF_SESSION",
    "HEADER_LEN",
    "HEARTBEAT",
    "MTU_PAYLOAD",
    "MoldPacker",
    "MoldPacket",
    "MoldRequest",
]
