"""DeviceInterface (host/device.py) against the model server over real UDP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tick2trade.host.device import (
    DeviceError,
    DeviceInterface,
    DeviceMismatchError,
    DeviceTimeoutError,
)
from tick2trade.proto import control as c
from tick2trade.sim.model.control import ControlModel, ControlServer


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


async def serving(model: ControlModel | None = None):
    server = ControlServer(model or ControlModel(build_hash=0x0123456789ABCDEF))
    host, port = await server.start("127.0.0.1", 0)
    return server, host, port


def test_identify_walk_read_write_tables_and_events():
    async def main():
        server, host, port = await serving()
        try:
            async with DeviceInterface(host, port) as dev:
                assert dev.info.kind is c.DeviceKind.MODEL
                assert dev.info.map_version[0] == c.MAP_VERSION[0]
                assert dev.info.build_hash == 0x0123456789ABCDEF
                regmap = server.model.registers.regmap
                blocks = await dev.blocks()
                assert [(a, t) for a, t, _ in blocks] == [(base, b.type)
                                                          for b, base in regmap.blocks]
                scratch = regmap.register("device.scratch").addr
                await dev.write(scratch, 0xCAFEF00D)
                assert await dev.read(scratch) == (0xCAFEF00D,)
                await dev.write_table(c.TableId.SYMBOLS, 5, int.from_bytes(b"QQQ     ", "little"),
                                      8)
                assert server.model.registers.row("symbols", 5)["symbol"] == \
                    int.from_bytes(b"QQQ     ", "little")
                with pytest.raises(DeviceError) as info:
                    await dev.write(c.ID_ADDR, 1)
                assert info.value.reply.code is c.ErrorCode.READ_ONLY
                await dev.subscribe()
                gap = c.Gap(1, 10, 20, 30)
                server.publish(gap)
                assert await dev.next_event() == gap
                server.sequencer.seq += 3  # three events lost
                server.publish(gap)
                assert await dev.next_event() == gap
                assert dev.events_lost == 3
        finally:
            await server.stop()

    run(main())


@pytest.mark.parametrize(("path", "value", "match"), [
    ("device.id", 0x12345678, "not a tick2trade device"),
    ("device.id", c.DEVICE_FAMILY << 16 | 0x7777, "unknown device kind"),
    ("device.map_version", c.version_word(c.MAP_VERSION[0] + 1, 0), "map version"),
])
def test_refuses_a_mismatching_device(path, value, match):
    async def main():
        model = ControlModel()
        model.registers.set(path, value)
        server, host, port = await serving(model)
        try:
            dev = DeviceInterface(host, port)
            with pytest.raises(DeviceMismatchError, match=match):
                await dev.open()
        finally:
            await server.stop()

    run(main())


def test_silent_device_times_out():
    async def main():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        try:
            dev = DeviceInterface(*sock.getsockname(), timeout=0.05, retries=2)
            with pytest.raises(DeviceTimeoutError):
                await dev.open()
        finally:
            sock.close()

    run(main())


def test_minor_version_difference_is_accepted():
    async def main():
        model = ControlModel()
        model.registers.set("device.map_version", c.version_word(c.MAP_VERSION[0], 99))
        server, host, port = await serving(model)
        try:
            async with DeviceInterface(host, port) as dev:
                assert dev.info.map_version == (c.MAP_VERSION[0], 99)
        finally:
            await server.stop()

    run(main())


class RtlControlServer(asyncio.DatagramProtocol):
    """Serves the gateware control plane (endpoint + bank, Amaranth simulator) on UDP.

    The simulator runs in a thread; each datagram is driven into the endpoint
    and the reply sent back, so the host talks to the RTL as to the hardware.
    """

    def __init__(self, build_hash: int):
        import queue
        import threading

        from amaranth.sim import Simulator

        from tick2trade.hdl.csr.device_map import device_map
        from tick2trade.hdl.csr.plane import ControlPlane

        self.dut = dut = ControlPlane(device_map(c.DeviceKind.COSIM, build_hash=build_hash))
        self.inbox, self.outbox = queue.Queue(), queue.Queue()
        self.transport = None

        async def serve(ctx):
            ctx.set(dut.tx.ready, 1)
            while (datagram := self.inbox.get()) is not None:
                chunks = [datagram[i:i + 8] for i in range(0, len(datagram), 8)]
                for n, chunk in enumerate(chunks):
                    ctx.set(dut.rx.payload, {
                        "data": int.from_bytes(chunk.ljust(8, b"\0"), "little"),
                        "keep": (1 << len(chunk)) - 1, "first": n == 0,
                        "last": n == len(chunks) - 1})
                    ctx.set(dut.rx.valid, 1)
                    await ctx.tick().until(dut.rx.ready)
                ctx.set(dut.rx.valid, 0)
                reply = b""
                while True:
                    _, _, valid, beat = await ctx.tick().sample(dut.tx.valid, dut.tx.payload)
                    if valid:
                        reply += beat.data.to_bytes(8, "little")[:bin(beat.keep).count("1")]
                        if beat.last:
                            break
                self.outbox.put(reply)

        sim = Simulator(dut)
        sim.add_clock(1e-8)
        sim.add_testbench(serve)
        self.thread = threading.Thread(target=sim.run, daemon=True)
        self.thread.start()

    async def start(self):
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", 0))
        self.queue: asyncio.Queue = asyncio.Queue()
        self.worker = asyncio.create_task(self._work())
        return self.transport.get_extra_info("sockname")[:2]

    async def _work(self):
        loop = asyncio.get_running_loop()
        while True:
            data, addr = await self.queue.get()
            self.inbox.put(data)
            reply = await loop.run_in_executor(None, self.outbox.get)
            self.transport.sendto(reply, addr)

    def datagram_received(self, data, addr):
        self.queue.put_nowait((data, addr))

    async def stop(self):
        self.worker.cancel()
        self.transport.close()
        self.inbox.put(None)
        self.thread.join(10)


def test_same_host_code_against_the_rtl_control_plane():
    """The gateware endpoint + bank over real UDP: same answers as the model but for the ID."""
    async def main():
        server = RtlControlServer(build_hash=0x5EED)
        host, port = await server.start()
        model_server, mhost, mport = await serving(ControlModel(build_hash=0x5EED))
        try:
            async with DeviceInterface(host, port, timeout=2.0) as rtl, \
                    DeviceInterface(mhost, mport) as model:
                assert rtl.info.kind is c.DeviceKind.COSIM
                assert model.info.kind is c.DeviceKind.MODEL
                assert (rtl.info.map_version, rtl.info.build_hash) == \
                    (model.info.map_version, model.info.build_hash)
                assert await rtl.blocks() == await model.blocks()
                regmap = model_server.model.registers.regmap
                scratch = regmap.register("device.scratch").addr
                for dev in (rtl, model):
                    await dev.write(scratch, 0x600DF00D)
                    await dev.write_table(c.TableId.SYMBOLS, 9,
                                          int.from_bytes(b"NVDA    ", "little"), 8)
                symbols = regmap.table("symbols")
                for addr in (scratch, symbols.row_addr, symbols.row_addr + 4,
                             symbols.commit_addr):
                    assert await rtl.read(addr) == await model.read(addr)
                codes = []
                for dev in (rtl, model):
                    with pytest.raises(DeviceError) as info:
                        await dev.write(c.ID_ADDR, 1)
                    codes.append(info.value.reply)
                assert codes[0] == codes[1]
        finally:
            await server.stop()
            await model_server.stop()

    run(main())
