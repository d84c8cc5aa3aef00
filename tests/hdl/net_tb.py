"""Testbench helpers for the receive-path blocks (Amaranth simulator)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether

OWN_MAC = "02:00:00:00:00:01"
GROUP_MAC = "01:00:5e:36:0c:6f"
FEED_PORT = 26477


def scapy_frame(payload: bytes, *, dst=GROUP_MAC, vlan: int | None = None, options: bytes = b"",
                dport: int = FEED_PORT, frag: int = 0, flags: int = 0, proto: int | None = None,
                bad_checksum: bool = False, pad_to: int = 60) -> bytes:
    """An Ethernet/[802.1Q]/IPv4/UDP frame built with scapy (no FCS)."""
    ip = IP(src="206.200.127.138", dst="233.54.12.111", options=options, frag=frag,
            flags=flags)
    if proto is not None:
        ip.proto = proto
    pkt = Ether(dst=dst, src="d4:af:f7:cb:20:d5")
    if vlan is not None:
        pkt = pkt / Dot1Q(vlan=vlan)
    pkt = pkt / ip / UDP(sport=49653, dport=dport) / payload
    raw = bytearray(bytes(pkt))
    if bad_checksum:
        ip_at = 18 if vlan is not None else 14
        raw[ip_at + 10] ^= 0x5A
    return bytes(raw).ljust(pad_to, b"\0")


def beats_of(frame: bytes):
    """(data, keep, first, last) for each 8-byte beat of ``frame``."""
    n = max(1, (len(frame) + 7) // 8)
    for k in range(n):
        chunk = frame[8 * k:8 * k + 8]
        yield (int.from_bytes(chunk.ljust(8, b"\0"), "little"), (1 << len(chunk)) - 1,
               k == 0, k == n - 1)


def bytes_of(data: int, keep: int) -> bytes:
    n = bin(keep).count("1")
    return data.to_bytes(8, "little")[:n]


@dataclass
class FrameCollector:
    """Reassembles frames from a beat stream: list of (bytes, error, meta-of-first-beat)."""

    frames: list = field(default_factory=list)
    _buf: bytearray = field(default_factory=bytearray)
    _meta: dict | None = None

    def beat(self, payload: dict):
        if payload["first"]:
            assert not self._buf and self._meta is None, "first beat inside a frame"
            self._meta = payload
        assert self._meta is not None, "beat outside a frame"
        keep = payload["keep"]
        assert keep & (keep + 1) == 0, f"keep {keep:#x} not contiguous from lane 0"
        if not payload["last"]:
            assert keep == 0xFF, "short beat before the last"
        self._buf += bytes_of(payload["data"], keep)
        if payload["last"]:
            self.frames.append((bytes(self._buf), bool(payload["error"]), self._meta))
            self._buf = bytearray()
            self._meta = None


def ready_pattern(rng: random.Random, backpressure: bool, p_ready: float = 0.7):
    return (rng.random() < p_ready) if backpressure else True


def match_outputs(expected, outputs):
    """Check DUT frames against model frames in order.

    ``expected``: list of (bytes, error); ``outputs``: list of (bytes, error, meta).
    Good frames must come out exactly; bad frames may be missing or end in error.
    Returns the list of matched (expected index, output) for good frames.
    """
    out = list(outputs)
    matched = []
    j = 0
    for i, (data, error) in enumerate(expected):
        if error:
            if j < len(out) and out[j][1]:
                j += 1
            continue
        assert j < len(out), f"frame {i} missing from the output"
        got = out[j]
        assert not got[1], f"frame {i} flagged bad"
        assert got[0] == data, f"frame {i}: got {got[0].hex()} want {data.hex()}"
        matched.append((i, got))
        j += 1
    assert j == len(out), f"{len(out) - j} unexpected frames at the end: {out[j:]}"
    return matched
