"""A simulation top for the feed path: FeedPath + Timestamp, filters fixed at build time.

Verilog ports: ``xgmii__data``/``xgmii__ctrl`` (and ``xgmii_b__*`` with two
lines), ``o__payload``/``o__valid``/``o__ready`` (``FeedRecord``), and the
counters ``stats__*``, ``mac_stats__*``, ``udp_stats__*``. Gap events are
consumed inside (always ready) and show in ``stats__gaps``/``stats__missing``.
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tick2trade.hdl.feed.layer import FeedStats
from tick2trade.hdl.feed.layouts import record_stream
from tick2trade.hdl.feed.path import FeedPath
from tick2trade.hdl.net.mac.stats import MacRxStats
from tick2trade.hdl.net.mac.xgmii import XgmiiSignature
from tick2trade.hdl.net.udp_rx_config import UdpRxStats, drive_fixed_config
from tick2trade.hdl.timestamp import Timestamp

from .model.net import UdpRxConfig

__all__ = ["FeedPathTop"]


class FeedPathTop(wiring.Component):
    def __init__(self, config: UdpRxConfig, *, lines: int = 1, seq_check: bool = True,
                 **feed_params):
        self.net_config = config
        self.lines = lines
        self.seq_check = seq_check
        self.feed_params = feed_params
        members = {
            "xgmii": In(XgmiiSignature()),
            "o": Out(record_stream()),
            "stats": Out(FeedStats(lines)),
            "mac_stats": Out(MacRxStats()),
            "udp_stats": Out(UdpRxStats()),
        }
        if lines == 2:
            members.update({"xgmii_b": In(XgmiiSignature()), "mac_stats_b": Out(MacRxStats()),
                            "udp_stats_b": Out(UdpRxStats())})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        cfg = self.net_config
        groups, ports = max(1, len(cfg.groups)), max(1, len(cfg.ports))
        m.submodules.clock = clock = Timestamp()
        m.submodules.path = path = FeedPath(lines=self.lines, groups=groups, ports=ports,
                                            **self.feed_params)
        m.d.comb += [
            path.timestamp.eq(clock.count),
            path.seq_check.eq(self.seq_check),
            path.gap.ready.eq(1),
        ]
        drive_fixed_config(m, path.config, cfg)
        names = ["xgmii", "o", "stats", "mac_stats", "udp_stats"]
        if self.lines == 2:
            names += ["xgmii_b", "mac_stats_b", "udp_stats_b"]
        for name in names:
            ours, theirs = getattr(self, name), getattr(path, name)
            if name.startswith("xgmii"):
                wiring.connect(m, wiring.flipped(ours), theirs)
            else:
                wiring.connect(m, theirs, wiring.flipped(ours))
        return m
