"""Reference models of the transmit path: the UDP framer and the XGMII MAC TX.

Frame-level and cycle-free, like :mod:`.net` on the receive side:
:func:`udp_frame` is what ``hdl/net/udp_tx.py`` sends for a payload,
:func:`mac_frame` what ``hdl/net/mac/xgmii_tx.py`` puts between its start and
terminate characters (padding to 60 bytes, FCS; IEEE 802.3 §3.2.9, §4.2.3.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from tick2trade.proto.net import ETH_MIN_FRAME, build_udp_frame, ethernet_fcs, ip_str, mac_str

from .xgmii import encode_xgmii

__all__ = ["TX_IPG", "UdpTxConfig", "mac_frame", "udp_frame", "xgmii_columns"]

#: the MAC's minimum inter-packet gap in bytes, the terminate character included
TX_IPG = 12


@dataclass(frozen=True)
class UdpTxConfig:
    """Our own addresses, as driven on ``UdpTx.config`` (MAC/IP as ints, wire order)."""

    src_mac: int = 0x02_00_00_00_00_01
    src_ip: int = 0x0A_00_00_02
    src_port: int = 7400


def udp_frame(payload: bytes, *, dst_mac: int, dst_ip: int, dst_port: int,
              config: UdpTxConfig = UdpTxConfig()) -> bytes:
    """The frame (no FCS, unpadded) the framer sends: IPv4 id 0, TTL 64, UDP checksum 0."""
    return build_udp_frame(payload, src_mac=mac_str(config.src_mac.to_bytes(6, "big")),
                           dst_mac=mac_str(dst_mac.to_bytes(6, "big")),
                           src_ip=ip_str(config.src_ip.to_bytes(4, "big")),
                           dst_ip=ip_str(dst_ip.to_bytes(4, "big")), src_port=config.src_port,
                           dst_port=dst_port, udp_checksum_enabled=False)


def mac_frame(frame: bytes) -> bytes:
    """``frame`` as the MAC sends it after the SFD: padded to 60 bytes, then its FCS."""
    padded = frame + bytes(max(0, ETH_MIN_FRAME - len(frame)))
    return padded + ethernet_fcs(padded)


def xgmii_columns(frames, **kwargs):
    """Columns for back-to-back ``frames`` (starts in lane 0, minimum gap)."""
    return encode_xgmii([mac_frame(f) for f in frames], ipg=TX_IPG, **kwargs)
