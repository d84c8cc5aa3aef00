"""The control port end to end on XGMII: MAC RX → ControlLink ⇄ ControlPlane, EventPacker →
ControlLink → MAC TX. Requests from two hosts, a subscription, decision-path events; every frame
on the wire equals the model's (replies, events, and the ``events.sent`` count read back)."""

from __future__ import annotations

import random

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator
from scapy.layers.inet import UDP
from scapy.layers.l2 import Ether
from test_control_link import HASH, HOSTS, OWN, OWN_IP, OWN_MAC, PORT, as_ints, request_frame
from test_event_packer import REF_BASE, random_report, report_value
from test_xgmii_tx import wire_frames

from tick2trade.hdl.csr.device_map import device_map
from tick2trade.hdl.csr.events import EventPacker, gap_tap_stream
from tick2trade.hdl.csr.link import ControlLink
from tick2trade.hdl.csr.plane import ControlPlane
from tick2trade.hdl.net.mac.xgmii import XgmiiSignature
from tick2trade.hdl.net.mac.xgmii_rx import XgmiiRx
from tick2trade.hdl.net.mac.xgmii_tx import XgmiiTx
from tick2trade.hdl.order.layouts import report_stream
from tick2trade.proto import control as c
from tick2trade.proto.net import fcs_ok
from tick2trade.sim.model.control import ControlModel, EventSequencer, RegisterFile, report_event
from tick2trade.sim.model.net import with_fcs
from tick2trade.sim.model.net_tx import udp_frame
from tick2trade.sim.model.xgmii import encode_xgmii

ALL = sum(1 << int(t) for t in c.EventType)


class ControlPortTop(wiring.Component):
    """How the core wires the link, the plane and the packer (the plane's own ports aside)."""

    def __init__(self, kind: c.DeviceKind = c.DeviceKind.HARDWARE):
        self.regmap = device_map(kind, build_hash=HASH)
        super().__init__({"xgmii_rx": In(XgmiiSignature()), "xgmii_tx": Out(XgmiiSignature()),
                          "orders": In(report_stream()), "gap": In(gap_tap_stream()),
                          "now": In(64)})

    def elaborate(self, platform):
        m = Module()
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
        wiring.connect(m, wiring.flipped(self.orders), packer.orders)
        wiring.connect(m, wiring.flipped(self.gap), packer.gap)
        m.d.comb += [mac_rx.timestamp.eq(self.now), packer.now.eq(self.now),
                     link.subscribed.eq(plane.subscribed), packer.mask.eq(plane.mask),
                     packer.ref_base.eq(plane.order_ref_base.value),
                     plane.events_sent.value.eq(packer.sent),
                     plane.events_dropped.value.eq(packer.dropped),
                     link.config.mac.eq(OWN_MAC), link.config.ip.eq(OWN_IP),
                     link.config.port.eq(PORT)]
        return m


def test_requests_subscription_and_events_on_the_wire():
    rng = random.Random(5)
    dut = ControlPortTop()
    regmap = dut.regmap
    model = ControlModel(RegisterFile(regmap))
    sent_addr = regmap.register("events.sent").addr
    ref_addr = regmap.register("order.ref_base").addr
    first = [(c.encode(c.Read(c.ID_ADDR, 4), 1), HOSTS[0]),
             (c.encode(c.Write(ref_addr, (REF_BASE,)), 2), HOSTS[0]),
             (c.encode(c.Subscribe(ALL), 3), HOSTS[1])]
    reports = [random_report(rng) for _ in range(4)]
    gaps = [(1000, 7)]
    later = [(c.encode(c.Read(sent_addr, 1), 4), HOSTS[2])]

    async def bench(ctx):
        columns = []

        async def feed(cols):
            for data, ctrl in cols:
                ctx.set(dut.xgmii_rx.data, data)
                ctx.set(dut.xgmii_rx.ctrl, ctrl)
                await tick()

        async def tick():
            ctx.set(dut.now, len(columns))
            await ctx.tick()
            columns.append((ctx.get(dut.xgmii_tx.data), ctx.get(dut.xgmii_tx.ctrl)))

        await feed(encode_xgmii([with_fcs(request_frame(d, h)) for d, h in first]))
        for _ in range(600):
            await tick()
        for report in reports:
            ctx.set(dut.orders.valid, 1)
            ctx.set(dut.orders.payload, report_value(*report))
            await tick()
            ctx.set(dut.orders.valid, 0)
        ctx.set(dut.gap.valid, 1)
        ctx.set(dut.gap.payload, {"first": gaps[0][0], "count": gaps[0][1]})
        gap_stamp = len(columns)
        await tick()
        ctx.set(dut.gap.valid, 0)
        for _ in range(600):
            await tick()
        await feed(encode_xgmii([with_fcs(request_frame(d, h)) for d, h in later]))
        for _ in range(600):
            await tick()
        bench.columns, bench.gap_stamp = columns, gap_stamp

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()

    wire, _, lanes, errors = wire_frames(bench.columns)
    assert errors == 0 and set(lanes) == {0} and all(fcs_ok(f) for f in wire)
    frames = [f[:-4] for f in wire]
    replies = [f for f in frames if c.decode(Ether(f)[UDP].load)[1].__class__ is not c.Events]
    events = [f for f in frames if f not in replies]

    want_replies = []
    for datagram, host in first:
        mac, ip, port = as_ints(host)
        want_replies.append(udp_frame(model.handle(datagram, host), dst_mac=mac, dst_ip=ip,
                                      dst_port=port, config=OWN))
    seq = EventSequencer()
    want_events = [seq.take(report_event(*r, ref_base=REF_BASE), ALL)[1] for r in reports]
    want_events.append(seq.take(c.Gap(0, 1000, 1007, bench.gap_stamp), ALL)[1])
    model.registers.set("events.sent", len(want_events))
    for datagram, host in later:
        mac, ip, port = as_ints(host)
        want_replies.append(udp_frame(model.handle(datagram, host), dst_mac=mac, dst_ip=ip,
                                      dst_port=port, config=OWN))
    sub_mac, sub_ip, sub_port = as_ints(HOSTS[1])
    # padded short replies: the MAC pads to 60 bytes, the UDP length says where the data ends
    assert [f[:len(w)] for f, w in zip(replies, want_replies, strict=True)] == want_replies
    assert events == [udp_frame(d, dst_mac=sub_mac, dst_ip=sub_ip, dst_port=sub_port,
                                config=OWN) for d in want_events]
    assert c.decode(Ether(replies[-1])[UDP].load)[1] == c.ReadReply(sent_addr, (5,))
