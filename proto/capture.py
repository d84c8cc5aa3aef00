"""Read MoldUDP64 and SoupBinTCP traffic out of packet captures.

:func:`iter_mold` yields one :class:`CapturedMold` per MoldUDP64 packet
(MoldUDP64 §2) found in UDP datagrams; :func:`iter_soup` reassembles each
TCP direction's byte stream and yields one :class:`CapturedSoup` per
SoupBinTCP packet (SoupBinTCP §1), with its direction. Frames that are not
for us are skipped and malformed ones dropped; both are counted in the
iterator's ``stats`` (:class:`CaptureStats`), never raised, unless
``strict=True``. Link types: Ethernet (with 802.1Q), raw IPv4, BSD loopback,
Linux cooked v1/v2.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tick2trade.proto import net, pcap
from tick2trade.proto.errors import ProtocolError
from tick2trade.proto.moldudp64 import MoldPacket
from tick2trade.proto.soupbintcp import Direction, Packet, SoupFramer

#: how many error messages a CaptureStats keeps
MAX_ERRORS = 50

T = TypeVar("T")


@dataclass
class CaptureStats:
    """What happened to every frame of a capture."""

    frames: int = 0
    packets: int = 0            # Mold / Soup packets yielded
    unsupported_link: int = 0
    non_ip: int = 0
    other_protocol: int = 0     # not UDP (iter_mold) / not TCP (iter_soup)
    port_mismatch: int = 0
    fragments: int = 0
    empty: int = 0              # TCP segments without payload
    retransmissions: int = 0    # TCP bytes already seen
    gaps: int = 0               # TCP sequence gaps (stream resynchronised)
    malformed: int = 0          # frames or packets that failed to parse
    errors: list[str] = field(default_factory=list)

    def error(self, index: int, error: Exception) -> None:
        self.malformed += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"frame {index}: {error}")


class CaptureIterator(Iterator[T], Generic[T]):
    """An iterator with the running :class:`CaptureStats` of the capture it reads."""

    def __init__(self, make: Callable[[CaptureStats], Iterable[T]]):
        self.stats = CaptureStats()
        self._it = iter(make(self.stats))

    def __iter__(self) -> CaptureIterator[T]:
        return self

    def __next__(self) -> T:
        return next(self._it)


@dataclass(frozen=True, slots=True)
class CapturedMold:
    ts_ns: int
    src_ip: str
    dst_ip: str
    src_port: int
    dst_port: int
    vlan: int | None
    packet: MoldPacket
    index: int                  # frame number in the capture, from 0


@dataclass(frozen=True, slots=True)
class CapturedSoup:
    ts_ns: int
    src_ip: str
    dst_ip: str
    src_port: int
    dst_port: int
    vlan: int | None
    direction: Direction | None  # INBOUND = client → venue; None if not yet known (Debug)
    packet: Packet
    index: int                  # frame number of the segment that completed the packet


_SLL_IPV4 = 0x0800
_AF_INET = 2


def parse_record(record: pcap.PcapRecord) -> net.ParsedFrame | None:
    """Parse one capture record by its link type; None for a link type we do not read."""
    frame, link = record.frame, record.linktype
    if link == pcap.LINKTYPE_ETHERNET:
        return net.parse_frame(frame)
    if link in (pcap.LINKTYPE_RAW, pcap.LINKTYPE_IPV4):
        if frame and frame[0] >> 4 != 4:
            return net.ParsedFrame(b"", b"", (), 0, None, None, None, None, frame)
        return net.parse_ipv4(frame)
    if link == pcap.LINKTYPE_NULL and len(frame) >= 4:
        family = struct.unpack_from("<I", frame)[0]
        if family not in (_AF_INET, _AF_INET << 24):
            return net.ParsedFrame(b"", b"", (), 0, None, None, None, None, frame[4:])
        return net.parse_ipv4(frame[4:])
    if link == pcap.LINKTYPE_LINUX_SLL and len(frame) >= 16:
        proto, start = struct.unpack_from("!H", frame, 14)[0], 16
    elif link == pcap.LINKTYPE_LINUX_SLL2 and len(frame) >= 20:
        proto, start = struct.unpack_from("!H", frame, 0)[0], 20
    else:
        return None
    if proto != _SLL_IPV4:
        return net.ParsedFrame(b"", b"", (), proto, None, None, None, None, frame[start:])
    return net.parse_ipv4(frame[start:])


def _records(source, stats: CaptureStats, strict: bool):
    """The capture's records; a file cut off mid-record ends the capture (counted) unless
    ``strict``."""
    records = pcap.iter_records(source)
    index = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except ProtocolError as error:
            if strict:
                raise
            stats.error(index, error)
            return
        yield record
        index += 1


def _frames(source, stats: CaptureStats, strict: bool, protocol: int):
    """(index, ts_ns, parsed) for every unfragmented frame of ``protocol``; others counted."""
    for index, record in enumerate(_records(source, stats, strict)):
        stats.frames += 1
        try:
            parsed = parse_record(record)
        except ProtocolError as error:
            if strict:
                raise
            stats.error(index, error)
            continue
        if parsed is None:
            stats.unsupported_link += 1
        elif parsed.ip is None:
            stats.non_ip += 1
        elif parsed.ip.is_fragment:
            stats.fragments += 1
        elif parsed.protocol != protocol:
            stats.other_protocol += 1
        else:
            yield index, record.ts_ns, parsed


def iter_mold(source, *, udp_ports: Iterable[int] | None = None,
              strict: bool = False) -> CaptureIterator[CapturedMold]:
    """Every MoldUDP64 packet in UDP datagrams of a capture (MoldUDP64 §2).

    ``udp_ports`` keeps only datagrams whose source or destination port is
    listed. Errors are counted in ``.stats`` (raised when ``strict``).
    """
    ports = None if udp_ports is None else frozenset(udp_ports)

    def run(stats: CaptureStats):
        for index, ts, parsed in _frames(source, stats, strict, net.IPPROTO_UDP):
            if ports is not None and parsed.dst_port not in ports and \
                    parsed.src_port not in ports:
                stats.port_mismatch += 1
                continue
            try:
                packet = MoldPacket.decode(parsed.payload)
            except ProtocolError as error:
                if strict:
                    raise
                stats.error(index, error)
                continue
            stats.packets += 1
            yield CapturedMold(ts, parsed.src_ip, parsed.dst_ip, parsed.src_port,
                               parsed.dst_port, parsed.vlan, packet, index)

    return CaptureIterator(run)


class _Flow:
    """One TCP direction: expected sequence number and its SoupBinTCP framer."""

    __slots__ = ("direction", "framer", "next_seq")

    def __init__(self):
        self.next_seq: int | None = None
        self.framer = SoupFramer(max_length=0xFFFF)
        self.direction: Direction | None = None


_REVERSE = {Direction.INBOUND: Direction.OUTBOUND, Direction.OUTBOUND: Direction.INBOUND}


def iter_soup(source, *, tcp_ports: Iterable[int] | None = None,
              strict: bool = False) -> CaptureIterator[CapturedSoup]:
    """Every SoupBinTCP packet in the TCP streams of a capture (SoupBinTCP §1).

    ``tcp_ports`` are the venue (server) ports: a segment to one of them is
    INBOUND, from one OUTBOUND, others are skipped. Without ports the
    direction comes from the packet types (unique per direction in 3.00).
    Segments are put in sequence order per direction; retransmitted bytes
    are dropped, and a gap or a framing error restarts framing at the next
    segment. Errors are counted in ``.stats`` (raised when ``strict``).
    """
    ports = None if tcp_ports is None else frozenset(tcp_ports)

    def run(stats: CaptureStats):
        flows: dict[tuple, _Flow] = {}
        for index, ts, parsed in _frames(source, stats, strict, net.IPPROTO_TCP):
            direction = None
            if ports is not None:
                if parsed.dst_port in ports:
                    direction = Direction.INBOUND
                elif parsed.src_port in ports:
                    direction = Direction.OUTBOUND
                else:
                    stats.port_mismatch += 1
                    continue
            key = (parsed.src_ip, parsed.src_port, parsed.dst_ip, parsed.dst_port)
            flow = flows.get(key)
            if flow is None:
                flow = flows[key] = _Flow()
                flow.direction = direction
            data = _in_order(flow, parsed, stats)
            if parsed.tcp_flags & (net.TCP_RST | net.TCP_FIN):
                del flows[key]
            if not data:
                continue
            try:
                for packet in flow.framer.feed(data):
                    if flow.direction is None and packet.DIRECTION is not Direction.BOTH:
                        flow.direction = packet.DIRECTION
                        back = flows.get((key[2], key[3], key[0], key[1]))
                        if back is not None and back.direction is None:
                            back.direction = _REVERSE[packet.DIRECTION]
                    stats.packets += 1
                    yield CapturedSoup(ts, parsed.src_ip, parsed.dst_ip, parsed.src_port,
                                       parsed.dst_port, parsed.vlan, flow.direction, packet,
                                       index)
            except ProtocolError as error:
                if strict:
                    raise
                stats.error(index, error)
                flow.framer.reset()

    return CaptureIterator(run)


def _in_order(flow: _Flow, parsed: net.ParsedFrame, stats: CaptureStats) -> bytes:
    """The new in-order bytes of a segment, updating the flow's expected sequence."""
    seq, payload = parsed.tcp_seq, parsed.payload
    if parsed.tcp_flags & net.TCP_SYN:
        flow.next_seq = (seq + 1) & 0xFFFFFFFF
        flow.framer.reset()
        return b""
    if not payload:
        stats.empty += 1
        return b""
    if flow.next_seq is None:
        flow.next_seq = seq
    ahead = (seq - flow.next_seq) & 0xFFFFFFFF
    if ahead and ahead < 1 << 31:
        stats.gaps += 1
        flow.framer.reset()
    elif ahead:
        behind = (1 << 32) - ahead
        if behind >= len(payload):
            stats.retransmissions += 1
            return b""
        payload = payload[behind:]
        seq = flow.next_seq
    flow.next_seq = (seq + len(payload)) & 0xFFFFFFFF
    return payload


__all__ = [
    "CaptureIterator",
    "CaptureStats",
    "CapturedMold",
    "CapturedSoup",
    "iter_mold",
    "iter_soup",
    "parse_record",
]
