"""Reference model of :class:`~tick2trade.hdl.feed.moldudp64.MoldIngress`.

Same checks and counters as the gateware (MoldUDP64 §2, §5), on whole
payloads instead of beats. Buffer overflow depends on timing and is not
modelled (tests size the buffer so it cannot happen).

Cut-through (``cut_through=True``) follows the gateware beat by beat where
it matters: a data packet is offered when its header beat (beat 2) is in
and not bad; it then dies at the first bad beat — the beat holding the
length of a block shorter than ``min_len`` or of one block more than the
header's count, or a last beat with ``error`` or failing the
store-and-forward checks. A packet cut off by the next one's first beat
(``aborted``) dies after all its beats. A dead offered packet keeps the
beats before the bad one and the blocks whole in them (:attr:`Buffered.cut`)
and is counted ``late_errors`` on top of its store-and-forward reason.
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
    aborted: bool = False   # no last beat: the next packet's first beat ends it


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
    #: cut-through, died after offering: (beats kept, leading blocks whole in them)
    cut: tuple[int, int] | None = None

    @property
    def beats(self) -> int:
        return (len(self.payload) + 7) // 8

    @property
    def delivered_payload(self) -> bytes:
        """What a taken copy hands the decoder: all of it, or the header and its whole blocks."""
        if self.cut is None:
            return self.payload
        return self.payload[:block_ends(self.payload)[self.cut[1]]]

    @property
    def is_data(self) -> bool:
        return self.count not in (HEARTBEAT, END_OF_SESSION)


@dataclass
class IngressCounters:
    packets: int = 0
    errored: int = 0
    malformed: int = 0
    overflowed: int = 0
    late_errors: int = 0


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


def block_ends(payload: bytes) -> list[int]:
    """Offsets where the header and then each whole message block end (MoldUDP64 §2.2)."""
    ends, offset = [HEADER_LEN], HEADER_LEN
    while offset + 2 <= len(payload):
        offset += 2 + int.from_bytes(payload[offset:offset + 2], "big")
        if offset > len(payload):
            break
        ends.append(offset)
    return ends


def first_bad_beat(p: UdpPayload, min_len: int) -> int | None:
    """The beat a cut-through ingress finds ``p`` bad in (None: good to its end)."""
    beats = max(1, (len(p.payload) + 7) // 8)
    last = None if p.aborted else beats - 1
    bad_end = p.error or not well_formed(p.payload, min_len)
    if len(p.payload) >= HEADER_LEN:
        _, _, count = HEADER.unpack_from(p.payload)
        offset, blocks = HEADER_LEN, 0
        while count not in (HEARTBEAT, END_OF_SESSION) and offset + 1 < len(p.payload):
            beat = (offset + 1) // 8          # the beat its length is complete in
            if beat == last:
                break
            length = int.from_bytes(p.payload[offset:offset + 2], "big")
            blocks += 1
            if length < min_len or blocks > count:
                return beat
            offset += 2 + length
    if p.aborted:
        return None
    return last if bad_end else None


@dataclass
class MoldIngressModel:
    """Check one line's packets; :meth:`push` returns the offered packet or None."""

    min_len: int = field(default_factory=min_message_len)
    counters: IngressCounters = field(default_factory=IngressCounters)
    cut_through: bool = False

    def push(self, p: UdpPayload) -> Buffered | None:
        c = self.counters
        c.packets += 1
        good = not p.error and not p.aborted and well_formed(p.payload, self.min_len)
        if p.error or p.aborted:
            c.errored += 1
        elif not good:
            c.malformed += 1
        if good:
            session, seq, count = HEADER.unpack_from(p.payload)
            return Buffered(session, seq, count, p.line, p.dst_port, p.timestamp,
                            bytes(p.payload))
        if not self.cut_through or len(p.payload) < HEADER_LEN:
            return None
        session, seq, count = HEADER.unpack_from(p.payload)
        bad = first_bad_beat(p, self.min_len)
        if count in (HEARTBEAT, END_OF_SESSION) or (bad is not None and bad <= 2):
            return None
        kept = (len(p.payload) + 7) // 8 if bad is None else bad
        done = len(block_ends(p.payload[:8 * kept])) - 1
        c.late_errors += 1
        return Buffered(session, seq, count, p.line, p.dst_port, p.timestamp,
                        bytes(p.payload), cut=(kept, done))
