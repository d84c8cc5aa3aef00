"""Capture reading speed: our pcap reader and MoldUDP64 capture iterator vs scapy.

Writes a synthetic capture of full-MTU MoldUDP64 frames (38 AddOrder-sized
messages each, like the real ``itch50_Multiple.Packets.pcap``), then times
in the same process:

- ``pcap.iter_records`` against scapy's ``RawPcapReader`` (raw frames);
- ``capture.iter_mold`` (Ethernet/VLAN/IP/UDP parse + MoldUDP64 decode)
  against scapy dissection with our ``MoldUDP64`` layer.

Usage: ``.venv/bin/python bench/bench_pcap.py [frames]``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from scapy.layers.l2 import Ether
from scapy.utils import RawPcapReader

from tick2trade.proto import capture, net, pcap, scapy_layers
from tick2trade.proto.moldudp64 import MoldPacker


def make_capture(path: Path, frames: int) -> int:
    packer = MoldPacker(b"000010059B", 1)
    message = b"A" + bytes(35)
    written = 0
    with pcap.PcapWriter(path) as writer:
        while written < frames:
            for packet in packer.add(message):
                frame = net.build_udp_frame(
                    packet.encode(), src_mac="d4:af:f7:cb:20:d5", dst_mac=None,
                    src_ip="206.200.127.138", dst_ip="233.54.12.111", src_port=49653,
                    dst_port=26477, vlan=141)
                writer.write(frame, 1_692_711_000_000_000_000 + written * 1000)
                written += 1
    return path.stat().st_size


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    scapy_frames = min(frames, 2_000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.pcap"
        size = make_capture(path, frames)
        small = Path(tmp) / "small.pcap"
        pcap.write_records(small, pcap.read_records(path)[:scapy_frames])

        ours_raw, n = timed(lambda: sum(1 for _ in pcap.iter_records(path)))
        theirs_raw, m = timed(lambda: sum(1 for _ in RawPcapReader(str(path))))
        assert n == m == frames

        ours_mold, msgs = timed(lambda: sum(c.packet.count for c in capture.iter_mold(path)))
        scapy_layers.bind_mold_port(26477)

        def scapy_mold():
            return sum(len(Ether(bytes(d))[scapy_layers.MoldUDP64].messages)
                       for d, _ in RawPcapReader(str(small)))
        theirs_mold, scapy_msgs = timed(scapy_mold)
        assert scapy_msgs == msgs * scapy_frames // frames

    print(f"capture: {frames} frames of 1518 B, {size / 1e6:.1f} MB, {msgs} ITCH messages")
    print(f"raw frames      ours   {ours_raw / frames * 1e6:7.2f} us/frame  "
          f"{size / ours_raw / 1e6:7.1f} MB/s")
    print(f"raw frames      scapy  {theirs_raw / frames * 1e6:7.2f} us/frame  "
          f"-> ours {theirs_raw / ours_raw:.1f}x faster")
    per_ours = ours_mold / frames * 1e6
    per_scapy = theirs_mold / scapy_frames * 1e6
    print(f"MoldUDP64 decode ours  {per_ours:7.2f} us/frame  "
          f"{msgs / ours_mold / 1e6:.2f} M msg/s")
    print(f"MoldUDP64 decode scapy {per_scapy:7.2f} us/frame  "
          f"-> ours {per_scapy / per_ours:.1f}x faster")


if __name__ == "__main__":
    main()
