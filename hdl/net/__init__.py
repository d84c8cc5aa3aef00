"""Network receive path: XGMII MAC RX, Ethernet/IPv4/UDP parser (issue 4, part A)."""

from .layer import NetRx
from .udp_rx import UdpRx

__all__ = ["NetRx", "UdpRx"]
