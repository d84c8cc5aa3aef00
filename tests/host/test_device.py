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
                server._seq[next(iter(server.model.subscribers))] += 3  # three events lost
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
