"""Write an ITCH flow as a BinaryFILE or as a MoldUDP64 multicast pcap.

The pcap looks like the Nasdaq TotalView-ITCH FPGA feed (ITCH 5.0 §1,
"Transports"): Ethernet II, IPv4 and UDP with real checksums, multicast to
233.54.12.111:26477, MoldUDP64 packets of one session with contiguous
sequence numbers from 1 (MoldUDP64 §2.1) and at most ``packet_size`` bytes
of UDP payload, closed by an end-of-session packet (MoldUDP64 §2.4). Each
frame's capture time is the trading day's midnight (US Eastern) plus the
ITCH timestamp of the packet's last message plus a fixed wire latency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from os import PathLike

from tick2trade.proto.binaryfile import write_binaryfile
from tick2trade.proto.moldudp64 import MTU_PAYLOAD, MoldPacker, MoldPacket
from tick2trade.proto.net import build_udp_frame, multicast_mac
from tick2trade.proto.pcap import PcapWriter

#: 2024-01-02 00:00 US Eastern (UTC-5) in ns since the epoch: the synthetic trading day
TRADING_DAY_MIDNIGHT_NS = 1_704_171_600 * 10**9
#: venue → capture point latency added to each packet's last ITCH timestamp
WIRE_LATENCY_NS = 200_000


@dataclass(frozen=True)
class FeedAddress:
    """Where the synthetic feed comes from and goes to (the Nasdaq FPGA feed's group)."""

    src_mac: str = "d4:af:f7:cb:20:d5"
    src_ip: str = "206.200.127.138"
    src_port: int = 49653
    dst_ip: str = "233.54.12.111"
    dst_port: int = 26477
    vlan: int | None = None


def write_binaryfile_flow(path: str | PathLike, flow: Iterable[tuple[int, bytes]]) -> int:
    """Write ``(timestamp, message)`` pairs as a BinaryFILE with its end marker."""
    return write_binaryfile(path, (message for _ts, message in flow))


def write_pcap_flow(path: str | PathLike, flow: Iterable[tuple[int, bytes]], *,
                    session: bytes, packet_size: int = MTU_PAYLOAD,
                    address: FeedAddress = FeedAddress(),
                    midnight_ns: int = TRADING_DAY_MIDNIGHT_NS) -> tuple[int, int]:
    """Write the flow as MoldUDP64-in-UDP frames; return ``(packets, messages)``.

    ``packet_size`` is the largest MoldUDP64 packet (UDP payload) in bytes.
    """
    packer = MoldPacker(session, next_sequence=1, max_payload=packet_size)
    dst_mac = multicast_mac(address.dst_ip)
    messages = 0
    last_ts = 0

    def frame(packet: MoldPacket, ts: int) -> None:
        payload = packet.encode()
        writer.write(build_udp_frame(payload, src_mac=address.src_mac, dst_mac=dst_mac,
                                     src_ip=address.src_ip, dst_ip=address.dst_ip,
                                     src_port=address.src_port, dst_port=address.dst_port,
                                     vlan=address.vlan, ip_id=writer.count & 0xFFFF),
                     midnight_ns + ts + WIRE_LATENCY_NS)

    with PcapWriter(path, nanosecond=True) as writer:
        for ts, message in flow:
            for packet in packer.add(message):
                frame(packet, last_ts)
            last_ts = ts
            messages += 1
        last = packer.flush()
        if last is not None:
            frame(last, last_ts)
        frame(packer.end_of_session(), last_ts + 1)
        return writer.count, messages
