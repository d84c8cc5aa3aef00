"""Host side of the control plane: an async client of ``proto/control`` (STYLE.md §1).

:class:`DeviceInterface` talks to anything that serves the protocol over
UDP (the FPGA, the RTL co-simulation, the Python model) and refuses a
device whose ID family or map major version differs from what this host
was built for. Requests are matched to replies by tag and retried on
timeout; events arrive on the same socket and are queued for
:meth:`DeviceInterface.events`, with lost events counted from the
stream's sequence numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass

from tick2trade.proto import control as c

__all__ = ["ALL_EVENTS", "DeviceError", "DeviceInfo", "DeviceInterface", "DeviceMismatchError",
           "DeviceTimeoutError"]

#: SUBSCRIBE mask taking every event type
ALL_EVENTS = sum(1 << int(t) for t in c.EventType)


class DeviceError(Exception):
    """The device answered a request with an ERROR reply."""

    def __init__(self, reply: c.ErrorReply):
        super().__init__(f"device refused: {reply.code.name}: {reply.detail}")
        self.reply = reply


class DeviceMismatchError(DeviceError):
    """Not a tick2trade device, or a register map major version this host does not speak."""

    def __init__(self, message: str):
        Exception.__init__(self, message)


class DeviceTimeoutError(TimeoutError):
    """No reply after every retry."""


@dataclass(frozen=True)
class DeviceInfo:
    kind: c.DeviceKind
    map_version: tuple[int, int]
    build_hash: int


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: DeviceInterface):
        self.owner = owner

    def datagram_received(self, data, addr):
        self.owner._received(data)

    def error_received(self, exc):
        self.owner._socket_errors += 1


class DeviceInterface:
    """Async client of one device at ``(host, port)``; use ``async with`` or open/close."""

    def __init__(self, host: str, port: int, *, timeout: float = 0.25, retries: int = 4,
                 expect_major: int = c.MAP_VERSION[0]):
        self.address = (host, port)
        self.timeout, self.retries, self.expect_major = timeout, retries, expect_major
        self.info: DeviceInfo | None = None
        self.events_lost = 0
        self.bad_datagrams = 0
        self._socket_errors = 0
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._tags = itertools.cycle(range(1, 0x10000))
        self._events: asyncio.Queue = asyncio.Queue()
        self._next_seq: int | None = None

    async def __aenter__(self) -> DeviceInterface:
        await self.open()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def open(self) -> DeviceInfo:
        """Connect and identify; raises :class:`DeviceMismatchError` for a foreign device."""
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), remote_addr=self.address)
        try:
            self.info = await self.identify()
        except BaseException:
            await self.close()
            raise
        return self.info

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()

    # --- requests ---------------------------------------------------------------------------

    async def request(self, msg):
        """Send one request and return its reply (retried on timeout)."""
        if self._transport is None:
            raise RuntimeError("device interface is not open")
        tag = next(self._tags)
        datagram = c.encode(msg, tag)
        future = asyncio.get_running_loop().create_future()
        self._pending[tag] = future
        try:
            for _ in range(self.retries):
                self._transport.sendto(datagram)
                with contextlib.suppress(TimeoutError):
                    reply = await asyncio.wait_for(asyncio.shield(future), self.timeout)
                    break
            else:
                raise DeviceTimeoutError(f"no reply from {self.address} to {type(msg).__name__} "
                                         f"after {self.retries} tries")
        finally:
            self._pending.pop(tag, None)
        if isinstance(reply, c.ErrorReply):
            raise DeviceError(reply)
        return reply

    async def read(self, addr: int, count: int = 1) -> tuple[int, ...]:
        reply = await self.request(c.Read(addr, count))
        return reply.words

    async def read64(self, addr: int) -> int:
        lo, hi = await self.read(addr, 2)
        return hi << 32 | lo

    async def write(self, addr: int, *words: int) -> None:
        await self.request(c.Write(addr, tuple(words)))

    async def write_table(self, table: int, row: int, value: int, row_bytes: int) -> None:
        """Write one row (the row layout's value, ``row_bytes`` little-endian bytes)."""
        await self.request(c.TableWrite(int(table), row, value.to_bytes(row_bytes, "little")))

    async def subscribe(self, mask: int = ALL_EVENTS) -> None:
        await self.request(c.Subscribe(mask))

    async def identify(self) -> DeviceInfo:
        """Read ID, map version and build hash at their fixed addresses and check them."""
        ident, version = await self.read(c.ID_ADDR, 2)
        family, kind = c.split_device_id(ident)
        if family != c.DEVICE_FAMILY:
            raise DeviceMismatchError(f"{self.address}: ID 0x{ident:08x} is not a tick2trade "
                                      f"device (family 0x{c.DEVICE_FAMILY:04x})")
        try:
            kind = c.DeviceKind(kind)
        except ValueError:
            raise DeviceMismatchError(f"{self.address}: unknown device kind 0x{kind:04x}") \
                from None
        major, minor = c.split_version(version)
        if major != self.expect_major:
            raise DeviceMismatchError(f"{self.address}: register map version {major}.{minor}, "
                                      f"this host speaks {self.expect_major}.x")
        return DeviceInfo(kind, (major, minor), await self.read64(c.BUILD_HASH_ADDR))

    async def blocks(self) -> list[tuple[int, int, tuple[int, int]]]:
        """Walk the self-describing blocks: (address, type, (major, minor)) of each."""
        out, addr = [], 0
        while True:
            btype, version, nxt = await self.read(addr + c.BLOCK_TYPE, 3)
            out.append((addr, btype, c.split_version(version)))
            if nxt == 0 or nxt <= addr or len(out) > 64:
                return out
            addr = nxt

    # --- events -----------------------------------------------------------------------------

    async def events(self):
        """Events as they arrive, forever (cancel the consumer to stop)."""
        while True:
            yield await self._events.get()

    async def next_event(self, timeout: float = 1.0):
        return await asyncio.wait_for(self._events.get(), timeout)

    def _received(self, data: bytes) -> None:
        try:
            tag, msg = c.decode(data)
        except c.ControlError:
            self.bad_datagrams += 1
            return
        if isinstance(msg, c.Events):
            if self._next_seq is not None and msg.seq != self._next_seq:
                self.events_lost += (msg.seq - self._next_seq) & 0xFFFF_FFFF
            self._next_seq = (msg.seq + len(msg.events)) & 0xFFFF_FFFF
            for event in msg.events:
                self._events.put_nowait(event)
            return
        future = self._pending.get(tag)
        if future is not None and not future.done():
            future.set_result(msg)
