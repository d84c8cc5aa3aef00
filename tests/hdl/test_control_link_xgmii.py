"""The control port end to end on XGMII (``sim/verilator/control_top.ControlPortTop``).

MAC RX → ControlLink ⇄ ControlPlane, EventPacker → ControlLink → MAC TX. Requests
from two hosts, a subscription, decision-path events; every frame on the wire equals
the model's (replies, events, and the ``events.sent`` count read back).
"""

from __future__ import annotations

import random

from amaranth.sim import Simulator
from scapy.layers.inet import UDP
from scapy.layers.l2 import Ether
from test_control_link import HASH, HOSTS, OWN, OWN_IP, OWN_MAC, PORT, as_ints, request_frame
from test_event_packer import REF_BASE, random_report, report_value
from test_xgmii_tx import wire_frames

from tick2trade.proto import control as c
from tick2trade.proto.net import fcs_ok
from tick2trade.sim.model.control import ControlModel, EventSequencer, RegisterFile, report_event
from tick2trade.sim.model.net import with_fcs
from tick2trade.sim.model.net_tx import udp_frame
from tick2trade.sim.model.xgmii import encode_xgmii
from tick2trade.sim.verilator.control_top import ControlPortTop

ALL = sum(1 << int(t) for t in c.EventType)


def test_requests_subscription_and_events_on_the_wire():
    rng = random.Random(5)
    dut = ControlPortTop(mac=OWN_MAC, ip=OWN_IP, port=PORT, kind=c.DeviceKind.HARDWARE,
                         build_hash=HASH)
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
            await ctx.tick()
            columns.append((ctx.get(dut.xgmii_tx.data), ctx.get(dut.xgmii_tx.ctrl)))

        await feed(encode_xgmii([with_fcs(request_frame(d, h)) for d, h in first]))
        for _ in range(600):
            await tick()
        for report in reports:
            ctx.set(dut.report_valid, 1)
            ctx.set(dut.report, report_value(*report))
            await tick()
            ctx.set(dut.report_valid, 0)
        ctx.set(dut.gap_valid, 1)
        ctx.set(dut.gap, {"first": gaps[0][0], "count": gaps[0][1]})
        gap_stamp = ctx.get(dut.now)
        await tick()
        ctx.set(dut.gap_valid, 0)
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
