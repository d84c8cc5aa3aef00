"""The receive path, composed: XGMII MAC RX → Ethernet/IPv4/UDP parser (issue 4, part A)."""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..layouts import TIMESTAMP_WIDTH, udp_stream
from .mac.stats import MacRxStats
from .mac.xgmii import XgmiiSignature
from .mac.xgmii_rx import DEFAULT_MAX_FRAME, XgmiiRx
from .udp_rx import UdpRx
from .udp_rx_config import UdpRxConfigSignature, UdpRxStats

__all__ = ["NetRx"]


class NetRx(wiring.Component):
    """XGMII columns in, UDP payloads (``UdpBeat``) out.

    Ports
    -----
    xgmii : In(XgmiiSignature)
        Receive columns from the PHY, one per cycle.
    timestamp : In(64)
        Free-running cycle counter, stamped at each frame's start column.
    config : In(UdpRxConfigSignature)
        MAC/group/port filters (see :class:`~.udp_rx.UdpRx`).
    o : Out(udp_stream())
        Payloads of accepted UDP datagrams, realigned to lane 0.
    mac_stats, udp_stats : Out
        Counters of the MAC and of the parser.
    """

    def __init__(self, *, groups: int = 4, ports: int = 4, line: int = 0,
                 max_frame: int = DEFAULT_MAX_FRAME, buffer_depth: int = 32):
        self._params = dict(groups=groups, ports=ports, line=line)
        self._mac_params = dict(max_frame=max_frame, buffer_depth=buffer_depth)
        super().__init__({
            "xgmii": In(XgmiiSignature()),
            "timestamp": In(TIMESTAMP_WIDTH),
            "config": In(UdpRxConfigSignature(groups, ports)),
            "o": Out(udp_stream()),
            "mac_stats": Out(MacRxStats()),
            "udp_stats": Out(UdpRxStats()),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.mac = mac = XgmiiRx(**self._mac_params)
        m.submodules.udp = udp = UdpRx(**self._params)
        m.d.comb += mac.timestamp.eq(self.timestamp)
        wiring.connect(m, wiring.flipped(self.xgmii), mac.xgmii)
        wiring.connect(m, wiring.flipped(self.config), udp.config)
        wiring.connect(m, mac.o, udp.i)
        wiring.connect(m, udp.o, wiring.flipped(self.o))
        wiring.connect(m, mac.stats, wiring.flipped(self.mac_stats))
        wiring.connect(m, udp.stats, wiring.flipped(self.udp_stats))
        return m
