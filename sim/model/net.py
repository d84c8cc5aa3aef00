"""Reference models of the receive path: XGMII MAC RX and the Ethernet/IPv4/UDP parser.

Frame-level and cycle-free: bytes in, ``(payload, meta)`` out, plus the same
counters the gateware exposes (``MAC_RX_COUNTERS``, ``UDP_RX_COUNTERS``), each
frame counted once by the same rules (``hdl/net/mac/xgmii_rx.py``,
``hdl/net/udp_rx.py``).
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from dataclasses import dataclass, field

from tick2trade.hdl.net.mac.stats import MAC_RX_COUNTERS
from tick2trade.hdl.net.mac.xgmii_rx import DEFAULT_MAX_FRAME, MIN_FRAME
from tick2trade.hdl.net.udp_rx_config import UDP_RX_COUNTERS
from tick2trade.proto.net import (
    ETH_HEADER_LEN,
    ETHERTYPE_IPV4,
    ETHERTYPE_VLAN,
    FCS_LEN,
    FCS_RESIDUE,
    IP_FLAG_MF,
    IP_FRAG_MASK,
    IPPROTO_UDP,
    UDP_HEADER_LEN,
    VLAN_TAG_LEN,
    internet_checksum,
    mac_bytes,
)

__all__ = ["MacRxModel", "UdpPayload", "UdpRxConfig", "UdpRxModel", "with_fcs"]

BROADCAST = b"\xff" * 6


def with_fcs(frame: bytes) -> bytes:
    """``frame`` followed by its IEEE 802.3 FCS."""
    return frame + struct.pack("<I", zlib.crc32(frame))


@dataclass
class MacRxModel:
    """XGMII MAC RX on whole frames (FCS included); see :class:`~XgmiiRx`."""

    max_frame: int = DEFAULT_MAX_FRAME
    counters: Counter = field(default_factory=Counter)

    def receive(self, wire: bytes, *, ctrl_error: bool = False) -> tuple[bytes, bool]:
        """Return ``(frame without FCS, error)`` and count the frame once."""
        if ctrl_error:
            reason = "ctrl_errors"
        elif len(wire) > self.max_frame:
            reason = "giants"
        elif len(wire) < MIN_FRAME:
            reason = "runts"
        elif zlib.crc32(wire) != FCS_RESIDUE:
            reason = "crc_errors"
        else:
            reason = "frames"
        assert reason in MAC_RX_COUNTERS
        self.counters[reason] += 1
        return wire[:-FCS_LEN], reason != "frames"


@dataclass(frozen=True)
class UdpRxConfig:
    """Filter settings, as driven on ``UdpRx.config`` (MACs as bytes or ``aa:bb:..``)."""

    own_mac: bytes | str = b"\x02\x00\x00\x00\x00\x01"
    groups: tuple = ()
    ports: tuple[int, ...] = ()
    accept_broadcast: bool = False
    check_ip_checksum: bool = True

    def accepts_mac(self, dst: bytes) -> bool:
        return (dst == mac_bytes(self.own_mac) or dst in {mac_bytes(g) for g in self.groups}
                or (self.accept_broadcast and dst == BROADCAST))


@dataclass(frozen=True)
class UdpPayload:
    """One forwarded UDP payload; ``error`` is the end-of-frame verdict."""

    payload: bytes
    dst_port: int
    error: bool = False


@dataclass
class UdpRxModel:
    """The Ethernet/IPv4/UDP parser on whole frames (FCS already stripped)."""

    config: UdpRxConfig
    counters: Counter = field(default_factory=Counter)

    def receive(self, frame: bytes, *, mac_error: bool = False) -> UdpPayload | None:
        """The payload the gateware forwards for ``frame`` (None if dropped); counts once."""
        reason, out = self._classify(frame)
        if mac_error:
            reason = "mac_errors"
        assert reason in UDP_RX_COUNTERS
        self.counters[reason] += 1
        if out is None:
            return None
        return UdpPayload(out[0], out[1], reason != "packets")

    def _classify(self, frame: bytes):
        vlan = len(frame) >= 14 and frame[12:14] == ETHERTYPE_VLAN.to_bytes(2, "big")
        ip = ETH_HEADER_LEN + (VLAN_TAG_LEN if vlan else 0)
        if len(frame) <= ip:
            return "truncated", None
        ihl = frame[ip] & 0xF
        header_len = ip + 4 * max(ihl, 5) + UDP_HEADER_LEN
        if len(frame) < header_len:
            return "truncated", None
        ethertype = int.from_bytes(frame[ip - 2:ip], "big")
        total, frag = struct.unpack_from("!H2xH", frame, ip + 2)
        proto = frame[ip + 9]
        udp = ip + 4 * ihl
        dst_port, udp_len = struct.unpack_from("!HH", frame, udp + 2) if ihl >= 5 else (0, 0)
        if not self.config.accepts_mac(frame[0:6]):
            return "dst_mac", None
        if ethertype != ETHERTYPE_IPV4 or frame[ip] >> 4 != 4 or ihl < 5:
            return "not_ipv4", None
        if self.config.check_ip_checksum and internet_checksum(frame[ip:udp]) != 0:
            return "ip_checksum", None
        if frag & (IP_FLAG_MF | IP_FRAG_MASK):
            return "fragments", None
        if proto != IPPROTO_UDP:
            return "not_udp", None
        if total < 4 * ihl + UDP_HEADER_LEN or udp_len <= UDP_HEADER_LEN \
                or udp_len > total - 4 * ihl:
            return "bad_length", None
        if dst_port not in self.config.ports:
            return "dst_port", None
        payload = frame[header_len:udp + udp_len]
        if len(frame) < ip + total:
            return "truncated", (payload, dst_port)
        return "packets", (payload, dst_port)
