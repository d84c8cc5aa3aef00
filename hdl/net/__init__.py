"""Network path: XGMII MAC RX/TX, Ethernet/IPv4/UDP parser and framer (issue 4, part A)."""

from .layer import NetRx
from .udp_rx import UdpRx
from .udp_tx import UdpTx

__all__ = ["NetRx", "UdpRx", "UdpTx"]
