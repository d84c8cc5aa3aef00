"""The host's own ``DeviceInterface`` against the simulated control port, over real UDP.

A small bridge wraps each datagram from the host's socket in an Ethernet
frame (its UDP port as the source port), drives it as XGMII into
``sim/verilator/control_top.ControlPortTop`` (MAC RX, ControlLink, ControlPlane,
EventPacker, MAC TX)
running in the Amaranth simulator, and sends every frame the MAC transmits
back to the UDP port it is addressed to. The host identifies the device,
subscribes, and receives the events of a burst of order reports; the events
lost to the packer's full queue show up as ``events_lost`` and match the
``events.dropped`` register.
"""

from __future__ import annotations

import asyncio
import queue
import random
import threading

from scapy.layers.inet import UDP
from scapy.layers.l2 import Ether
from test_control_link import HASH, OWN_IP, OWN_MAC, PORT, request_frame
from test_event_packer import REF_BASE, random_report, report_value

from tick2trade.hdl.csr.device_map import device_map
from tick2trade.hdl.net.mac.xgmii import IDLE, LANES, START, TERMINATE
from tick2trade.host.device import ALL_EVENTS, DeviceInterface
from tick2trade.proto import control as c
from tick2trade.proto.net import fcs_ok
from tick2trade.sim.model.control import EventSequencer, report_event
from tick2trade.sim.model.net import with_fcs
from tick2trade.sim.model.xgmii import columns_to_lanes, encode_xgmii
from tick2trade.sim.verilator.control_top import ControlPortTop

IDLE_COLUMN = (int.from_bytes(bytes([IDLE] * LANES), "little"), (1 << LANES) - 1)


class WireParser:
    """Frames out of XGMII transmit columns, one column at a time (FCS checked, stripped)."""

    def __init__(self):
        self.frame: bytearray | None = None
        self.skip = 0

    def column(self, data: int, ctrl: int) -> list[bytes]:
        done = []
        for byte, is_ctrl in columns_to_lanes([(data, ctrl)]):
            if self.frame is None:
                if is_ctrl and byte == START:
                    self.frame, self.skip = bytearray(), 7
            elif self.skip:
                self.skip -= 1
            elif not is_ctrl:
                self.frame.append(byte)
            else:
                assert byte == TERMINATE and fcs_ok(bytes(self.frame)), "bad frame on the wire"
                done.append(bytes(self.frame[:-4]))
                self.frame = None
        return done


class RtlPortServer(asyncio.DatagramProtocol):
    """Serves ``ControlPortTop`` (simulated in a thread) on a UDP socket of 127.0.0.1."""

    def __init__(self):
        from amaranth.sim import Simulator

        self.dut = dut = ControlPortTop(mac=OWN_MAC, ip=OWN_IP, port=PORT,
                                        kind=c.DeviceKind.COSIM, build_hash=HASH)
        self.inbox, self.outbox, self.reports = queue.Queue(), queue.Queue(), queue.Queue()
        self.stop_flag = threading.Event()

        async def serve(ctx):
            parser, columns = WireParser(), []
            while not self.stop_flag.is_set():
                if not columns and not self.inbox.empty():
                    columns = encode_xgmii([with_fcs(self.inbox.get())], lead_idle=0)
                data, ctrl = columns.pop(0) if columns else IDLE_COLUMN
                ctx.set(dut.xgmii_rx.data, data)
                ctx.set(dut.xgmii_rx.ctrl, ctrl)
                report = None if self.reports.empty() else self.reports.get()
                ctx.set(dut.report_valid, report is not None)
                if report is not None:
                    ctx.set(dut.report, report_value(*report))
                await ctx.tick()
                for frame in parser.column(ctx.get(dut.xgmii_tx.data),
                                           ctx.get(dut.xgmii_tx.ctrl)):
                    self.outbox.put(frame)

        sim = Simulator(dut)
        sim.add_clock(6.4e-9)
        sim.add_testbench(serve)
        self.thread = threading.Thread(target=sim.run, daemon=True)
        self.thread.start()

    async def start(self):
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", 0))
        self.sender = asyncio.create_task(self._send_back())
        return self.transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data, addr):
        self.inbox.put(request_frame(data, ("02:00:00:00:00:42", "10.0.0.42", addr[1])))

    async def _send_back(self):
        loop = asyncio.get_running_loop()
        while True:
            frame = await loop.run_in_executor(None, self.outbox.get)
            if frame is None:
                return
            udp = Ether(frame)[UDP]          # the UDP length cuts the MAC's padding off
            self.transport.sendto(bytes(udp)[8:udp.len], ("127.0.0.1", udp.dport))

    async def stop(self):
        self.stop_flag.set()
        self.outbox.put(None)
        await self.sender
        self.transport.close()
        self.thread.join(10)


def test_host_device_interface_through_the_simulated_link():
    rng = random.Random(8)
    reports = [random_report(rng) for _ in range(16)]
    regmap = device_map(c.DeviceKind.COSIM, build_hash=HASH)

    async def main():
        server = RtlPortServer()
        host, port = await server.start()
        try:
            async with DeviceInterface(host, port, timeout=5.0) as dev:
                assert dev.info.kind is c.DeviceKind.COSIM and dev.info.build_hash == HASH
                assert await dev.blocks()
                await dev.write(regmap.register("order.ref_base").addr, REF_BASE)
                await dev.subscribe(ALL_EVENTS)
                for report in reports[:-1]:           # a burst, one report per cycle
                    server.reports.put(report)
                await asyncio.sleep(0.5)
                server.reports.put(reports[-1])       # a late one shows the hole
                received = []
                while True:
                    received.append(await dev.next_event(timeout=10.0))
                    if received[-1] == report_event(*reports[-1], ref_base=REF_BASE) \
                            or len(received) == len(reports):
                        break
                dropped, = await dev.read(regmap.register("events.dropped").addr)
                sent, = await dev.read(regmap.register("events.sent").addr)
                return received, dev.events_lost, dropped, sent
        finally:
            await server.stop()

    received, lost, dropped, sent = asyncio.run(asyncio.wait_for(main(), 120))
    seq = EventSequencer()
    want = [c.decode(seq.take(report_event(*r, ref_base=REF_BASE), ALL_EVENTS)[1])[1].events[0]
            for r in reports]
    assert dropped > 0 and lost == dropped and sent == len(received) == len(reports) - dropped
    assert all(event in want for event in received) and received[-1] == want[-1]
