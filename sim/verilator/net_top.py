"""A simulation top for the receive path: NetRx + Timestamp, filters fixed at build time."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tick2trade.hdl.layouts import udp_stream
from tick2trade.hdl.net.layer import NetRx
from tick2trade.hdl.net.mac.stats import MacRxStats
from tick2trade.hdl.net.mac.xgmii import XgmiiSignature
from tick2trade.hdl.net.udp_rx_config import UdpRxStats, drive_fixed_config
from tick2trade.hdl.timestamp import Timestamp

from ..model.net import UdpRxConfig

__all__ = ["NetRxTop"]


class NetRxTop(wiring.Component):
    """Ports: ``xgmii`` in; ``o`` (UdpBeat stream), ``mac_stats``, ``udp_stats`` out.

    Verilog names: ``xgmii__data``, ``xgmii__ctrl``, ``o__payload``/``o__valid``/
    ``o__ready``, ``mac_stats__<name>``, ``udp_stats__<name>``.
    """

    def __init__(self, config: UdpRxConfig, **net_params):
        self.net_config = config
        self.net_params = net_params
        super().__init__({
            "xgmii": In(XgmiiSignature()),
            "o": Out(udp_stream()),
            "mac_stats": Out(MacRxStats()),
            "udp_stats": Out(UdpRxStats()),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.net_config
        groups = max(1, len(cfg.groups))
        ports = max(1, len(cfg.ports))
        m.submodules.clock = clock = Timestamp()
        m.submodules.net = net = NetRx(groups=groups, ports=ports, **self.net_params)
        m.d.comb += [
            net.timestamp.eq(clock.count),
        ]
        drive_fixed_config(m, net.config, cfg)
        wiring.connect(m, wiring.flipped(self.xgmii), net.xgmii)
        wiring.connect(m, net.o, wiring.flipped(self.o))
        wiring.connect(m, net.mac_stats, wiring.flipped(self.mac_stats))
        wiring.connect(m, net.udp_stats, wiring.flipped(self.udp_stats))
        return m
