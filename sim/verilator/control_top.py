"""A simulation top for the control port: XGMII in and out, the control plane behind its link.

MAC RX → :class:`~tick2trade.hdl.csr.link.ControlLink` ⇄
:class:`~tick2trade.hdl.csr.plane.ControlPlane`, the
:class:`~tick2trade.hdl.csr.events.EventPacker` into the link, MAC TX; wired
as ``docs/control.md`` says the core wires them. The packer's inputs are
plain ports (Verilog has no constant ``ready``): ``report_valid``/``report``
for the encoder's reports, ``gap_valid``/``gap`` for the arbiter's gaps;
``now`` is the free-running cycle counter.
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tick2trade.hdl.csr.device_map import device_map
from tick2trade.hdl.csr.events import EventPacker
from tick2trade.hdl.csr.link import ControlLink
from tick2trade.hdl.csr.plane import ControlPlane
from tick2trade.hdl.feed.layouts import GapEvent
from tick2trade.hdl.layouts import TIMESTAMP_WIDTH
from tick2trade.hdl.net.mac.xgmii import XgmiiSignature
from tick2trade.hdl.net.mac.xgmii_rx import XgmiiRx
from tick2trade.hdl.net.mac.xgmii_tx import XgmiiTx
from tick2trade.hdl.order.layouts import OrderReport
from tick2trade.hdl.timestamp import Timestamp
from tick2trade.proto import control as c

__all__ = ["ControlPortTop"]


class ControlPortTop(wiring.Component):
    """Ports: ``xgmii_rx`` in, ``xgmii_tx`` out, the packer's inputs, ``now`` out.

    Verilog names: ``xgmii_rx__data``/``__ctrl``, ``xgmii_tx__data``/``__ctrl``,
    ``report_valid``, ``report``, ``gap_valid``, ``gap``, ``now``.
    """

    def __init__(self, *, mac: int, ip: int, port: int,
                 kind: c.DeviceKind = c.DeviceKind.COSIM, build_hash: int = 0):
        self.regmap = device_map(kind, build_hash=build_hash)
        self.addresses = (mac, ip, port)
        super().__init__({"xgmii_rx": In(XgmiiSignature()), "xgmii_tx": Out(XgmiiSignature()),
                          "report_valid": In(1), "report": In(OrderReport),
                          "gap_valid": In(1), "gap": In(GapEvent),
                          "now": Out(TIMESTAMP_WIDTH)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.clock = clock = Timestamp()
        m.submodules.mac_rx = mac_rx = XgmiiRx()
        m.submodules.link = link = ControlLink()
        m.submodules.plane = plane = ControlPlane(self.regmap)
        m.submodules.packer = packer = EventPacker(line=0)
        m.submodules.mac_tx = mac_tx = XgmiiTx()
        wiring.connect(m, wiring.flipped(self.xgmii_rx), mac_rx.xgmii)
        wiring.connect(m, mac_rx.o, link.rx)
        wiring.connect(m, link.ctl_rx, plane.rx)
        wiring.connect(m, plane.tx, link.ctl_tx)
        wiring.connect(m, packer.o, link.events)
        wiring.connect(m, link.tx, mac_tx.i)
        wiring.connect(m, mac_tx.xgmii, wiring.flipped(self.xgmii_tx))
        mac, ip, port = self.addresses
        m.d.comb += [self.now.eq(clock.count), mac_rx.timestamp.eq(clock.count),
                     packer.now.eq(clock.count),
                     packer.orders.valid.eq(self.report_valid),
                     packer.orders.payload.eq(self.report),
                     packer.gap.valid.eq(self.gap_valid), packer.gap.payload.eq(self.gap),
                     link.subscribed.eq(plane.subscribed), packer.mask.eq(plane.mask),
                     packer.ref_base.eq(plane.order_ref_base.value),
                     plane.events_sent.value.eq(packer.sent),
                     plane.events_dropped.value.eq(packer.dropped),
                     link.config.mac.eq(mac), link.config.ip.eq(ip), link.config.port.eq(port)]
        return m
