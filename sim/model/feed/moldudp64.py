"""Reference model of :class:`~tick2trade.hdl.feed.moldudp64.MoldIngress`.

Same checks and counters as the gateware (MoldUDP64 §2, §5), on whole
payloads instead of beats. Buffer overflow depends on timing and is not
modelled (tests size the buffer so it cannot happen).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tick2trade.proto.moldudp64 import END_OF_SESSION, HEADER, HEADER_LEN, HEARTBEAT

__all__ = ["UdpPayload", "Buffered", "IngressCounters", "MoldIngressModel", "min_message_len"]


def min_message_len() -> int:
    """The shortest ITCH 5.0 message (ITCH 5.0 §2)."""
    from tick2trade.proto.itch import LENGTHS
    return min(LENGTHS.values())


@dataclass(frozen=True)
class UdpPayload:
    """One UDP payload as a ``UdpBeat`` stream carries it."""

    payload: bytes
    line: int = 0
    dst_port: int = 0
    timestamp: int = 0
    error: bool = False


@dataclass(frozen=True)
class Buffered:
    """A packet the ingress committed: its ``PacketInfo`` and its bytes."""

    session: bytes
    seq: int
    count: int
    line: int
    dst_port: int
    timestamp: int
    payload: bytes

    @property
    def beats(self) -> int:
        return (len(self.payload) + 7) // 8

    @property
    def is_data(self) -> bool:
        return self.count not in (HEARTBEAT, END_OF_SESSION)


@dataclass
class IngressCounters:
    packets: int = 0
    errored: int = 0
    malformed: int = 0
    overflowed: int = 0


def well_formed(payload: bytes, min_len: int) -> bool:
    """MoldUDP64 §5 validation as the ingress applies it."""
    if len(payload) < HEADER_LEN:
        return False
    _, _, count = HEADER.unpack_from(payload)
    if count in (HEARTBEAT, END_OF_SESSION):
        return True
    offset, blocks = HEADER_LEN, 0
    while offset < len(payload):
        if offset + 2 > len(payload):
            return False
        length = int.from_bytes(payload[offset:offset + 2], "big")
        if length < min_len:
            return False
        offset += 2 + length
        blocks += 1
    return offset == len(payload) and blocks == count


@dataclass
class MoldIngressModel:
    """Check one line's packets; :meth:`push` returns the committed packet or None."""

    min_len: int = field(default_factory=min_message_len)
    counters: IngressCounters = field(default_factory=IngressCounters)

    def push(self, p: UdpPayload) -> Buffered | None:
        c = self.counters
        c.packets += 1
        if p.error:
            c.errored += 1
            return None
        if not well_formed(p.payload, self.min_len):
            c.malformed += 1
            return None
        session, seq, count = HEADER.unpack_from(p.payload)
        return Buffered(session, seq, count, p.line, p.dst_port, p.timestamp, bytes(p.payload))
