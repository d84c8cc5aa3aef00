"""The whole feed path: XGMII of one or two lines in, ITCH records out (issue 4).

Per line, part A's :class:`~tick2trade.hdl.net.NetRx` (XGMII MAC RX →
Ethernet/IPv4/UDP, payload realigned to lane 0, stamped with ``timestamp``
at start of frame); then the :class:`~.layer.FeedLayer` (MoldUDP64 §2
checks, MoldUDP64 §5 sequencing and A/B arbitration, ITCH 5.0 decoding).
Both lines share one filter configuration (``config``: own MAC, multicast
groups, UDP ports). Only composes.
"""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..layouts import TIMESTAMP_WIDTH
from ..net import NetRx
from ..net.mac.stats import MacRxStats
from ..net.mac.xgmii import XgmiiSignature
from ..net.udp_rx_config import UdpRxConfigSignature, UdpRxStats
from .layer import LINES, FeedLayer, FeedStats
from .layouts import gap_stream, record_stream

__all__ = ["FeedPath"]


class FeedPath(wiring.Component):
    """XGMII in (``xgmii``; ``xgmii_b`` with two lines), records and gap events out.

    Ports: ``timestamp`` (free-running cycle counter), ``config`` (filters),
    ``seq_check``/``timeout``/``b_enable`` (see :class:`~.arbiter.MoldArbiter`),
    ``o`` (:class:`~.layouts.FeedRecord` stream), ``gap``, and the counters
    ``stats`` (feed), ``mac_stats``/``udp_stats`` (line A),
    ``mac_stats_b``/``udp_stats_b`` (line B). ``feed_params`` go to
    :class:`~.layer.FeedLayer` (``depth``, ``info_depth``, ``timeout``,
    ``cut_through``: records leave while their packet still arrives).
    """

    def __init__(self, *, lines: int = 1, groups: int = 4, ports: int = 4, **feed_params):
        self._lines = lines
        self._net = dict(groups=groups, ports=ports)
        self._feed = dict(lines=lines, **feed_params)
        members = {
            "xgmii": In(XgmiiSignature()),
            "timestamp": In(TIMESTAMP_WIDTH),
            "config": In(UdpRxConfigSignature(groups, ports)),
            "o": Out(record_stream()),
            "gap": Out(gap_stream()),
            "seq_check": In(1, init=1),
            "timeout": In(32, init=feed_params.get("timeout", 4096)),
            "stats": Out(FeedStats(lines)),
            "mac_stats": Out(MacRxStats()),
            "udp_stats": Out(UdpRxStats()),
        }
        if lines == 2:
            members.update({"xgmii_b": In(XgmiiSignature()), "b_enable": In(1, init=1),
                            "mac_stats_b": Out(MacRxStats()), "udp_stats_b": Out(UdpRxStats())})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.feed = feed = FeedLayer(**self._feed)
        for n, line in enumerate(LINES[:self._lines]):
            suffix = "" if n == 0 else "_b"
            m.submodules[f"net_{line}"] = net = NetRx(line=n, **self._net)
            m.d.comb += net.timestamp.eq(self.timestamp)
            wiring.connect(m, wiring.flipped(getattr(self, "xgmii" + suffix)), net.xgmii)
            wiring.connect(m, wiring.flipped(self.config), net.config)
            wiring.connect(m, net.o, getattr(feed, line))
            wiring.connect(m, net.mac_stats, wiring.flipped(getattr(self, "mac_stats" + suffix)))
            wiring.connect(m, net.udp_stats, wiring.flipped(getattr(self, "udp_stats" + suffix)))
        wiring.connect(m, feed.o, wiring.flipped(self.o))
        wiring.connect(m, feed.gap, wiring.flipped(self.gap))
        wiring.connect(m, feed.stats, wiring.flipped(self.stats))
        m.d.comb += [feed.seq_check.eq(self.seq_check), feed.timeout.eq(self.timeout)]
        if self._lines == 2:
            m.d.comb += feed.b_enable.eq(self.b_enable)
        return m
