"""A small asyncio SoupBinTCP 3.0 / OUCH client, for tests and demos of the venue.

Not the host's session layer (that lives in ``host``): this one favours
inspection. It keeps a transcript of every byte it sent and received
(with timestamps) so tests can write a pcap of the conversation, counts
sequenced messages (``SoupBinTCP §4``), and can send client heartbeats on
its own (``SoupBinTCP §3``) or stay silent to test the server's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from tick2trade.proto import soupbintcp as soup
from tick2trade.proto.errors import ProtocolError
from tick2trade.proto.net import build_tcp_frame
from tick2trade.proto.pcap import write_records
from tick2trade.sim.venue.ouch_dialects import DIALECTS


class LoginRejectedError(ConnectionError):
    """The server answered the Login Request with Login Rejected (SoupBinTCP §2.3)."""

    def __init__(self, reason: soup.LoginRejectReason):
        super().__init__(f"login rejected: {reason.name} ({reason.value})")
        self.reason = reason


class SessionClosedError(ConnectionError):
    """The server closed the connection."""


@dataclass
class Transcript:
    """Bytes in both directions, in order: (time ns, sent by client?, bytes)."""

    chunks: list[tuple[int, bool, bytes]] = field(default_factory=list)

    def add(self, outgoing: bool, data: bytes) -> None:
        self.chunks.append((time.time_ns(), outgoing, bytes(data)))

    def frames(self, client: tuple[str, int], server: tuple[str, int],
               mss: int = 1400) -> list[tuple[int, bytes]]:
        """The conversation as Ethernet/IPv4/TCP frames, handshake first: (ts ns, frame)."""
        macs = {True: "02:00:00:00:00:01", False: "02:00:00:00:00:02"}
        ends = {True: (client, server), False: (server, client)}
        seq = {True: 1000, False: 5000}
        start = self.chunks[0][0] if self.chunks else time.time_ns()
        out = []

        def frame(outgoing: bool, payload: bytes, flags: str, ts: int) -> None:
            (src_ip, src_port), (dst_ip, dst_port) = ends[outgoing]
            out.append((ts, build_tcp_frame(
                payload, src_mac=macs[outgoing], dst_mac=macs[not outgoing], src_ip=src_ip,
                dst_ip=dst_ip, src_port=src_port, dst_port=dst_port, seq=seq[outgoing],
                ack=seq[not outgoing] if "A" in flags else 0, flags=flags)))
            seq[outgoing] += len(payload) + (1 if "S" in flags else 0)

        frame(True, b"", "S", start - 3000)
        frame(False, b"", "SA", start - 2000)
        frame(True, b"", "A", start - 1000)
        for ts, outgoing, data in self.chunks:
            for pos in range(0, len(data), mss):
                frame(outgoing, data[pos:pos + mss], "PA", ts)
        return out

    def write_pcap(self, path, client: tuple[str, int], server: tuple[str, int]) -> int:
        """Write the conversation to a pcap with ``tick2trade.proto.pcap``; returns frames."""
        return write_records(path, self.frames(client, server))


class SoupClient:
    """One SoupBinTCP 3.0 connection to a server."""

    def __init__(self, host: str, port: int, *, heartbeat_interval: float | None = 1.0):
        self.host, self.port = host, port
        self.heartbeat_interval = heartbeat_interval
        self.transcript = Transcript()
        self.session: bytes | None = None
        self.next_sequence = 1
        self.local: tuple[str, int] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._framer = soup.SoupFramer(max_length=65535, direction=soup.Direction.OUTBOUND)
        self._packets: asyncio.Queue = asyncio.Queue()
        self._reader_task: asyncio.Task | None = None
        self._heartbeat_task: asyncio.Task | None = None
        self._last_sent = 0.0
        self.closed = asyncio.Event()

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self.local = self._writer.get_extra_info("sockname")[:2]
        self._reader_task = asyncio.create_task(self._read_loop())

    async def login(self, username: str, password: str, session: bytes | str = b"",
                    sequence: int = 1, timeout: float = 5.0) -> soup.LoginAccepted:
        """Connect if needed, log in; raises :class:`LoginRejectedError` on ``J``."""
        if self._writer is None:
            await self.connect()
        if isinstance(session, str):
            session = session.encode()
        self.send(soup.LoginRequest(username, password, session.strip() or b" " * 10,
                                    sequence))
        packet = await self.recv(timeout)
        if isinstance(packet, soup.LoginRejected):
            raise LoginRejectedError(packet.reason)
        if not isinstance(packet, soup.LoginAccepted):
            raise ConnectionError(f"expected Login Accepted, got {packet!r}")
        self.session, self.next_sequence = packet.session, packet.sequence
        if self.heartbeat_interval:
            self._heartbeat_task = asyncio.create_task(self._heartbeats())
        return packet

    def send(self, packet: soup.Packet) -> None:
        self.send_raw(packet.encode())

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (for malformed-input tests)."""
        self.transcript.add(True, data)
        self._writer.write(data)
        self._last_sent = asyncio.get_running_loop().time()

    def send_message(self, message: bytes) -> None:
        """One Unsequenced Data packet (SoupBinTCP §2.8)."""
        self.send(soup.UnsequencedData(message))

    async def recv(self, timeout: float = 5.0, *, heartbeats: bool = False) -> soup.Packet:
        """The next packet (Server Heartbeats skipped unless ``heartbeats``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            packet = await asyncio.wait_for(self._packets.get(), max(0.0, deadline - loop.time()))
            if packet is None:
                raise SessionClosedError("the server closed the connection")
            if isinstance(packet, soup.SequencedData):
                self.next_sequence += 1
            if heartbeats or not isinstance(packet, soup.ServerHeartbeat):
                return packet

    async def recv_sequenced(self, timeout: float = 5.0) -> bytes:
        """The next Sequenced Data message (other packets in between are an error)."""
        packet = await self.recv(timeout)
        if not isinstance(packet, soup.SequencedData):
            raise ConnectionError(f"expected Sequenced Data, got {packet!r}")
        return packet.message

    async def wait_closed(self, timeout: float = 5.0) -> None:
        """Wait until the server closes the connection (packets before are dropped)."""
        await asyncio.wait_for(self.closed.wait(), timeout)

    async def logout(self) -> None:
        self.send(soup.LogoutRequest())
        await self.wait_closed()
        await self.close()

    async def close(self) -> None:
        for task in (self._heartbeat_task, self._reader_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()

    async def _read_loop(self) -> None:
        try:
            while data := await self._reader.read(65536):
                self.transcript.add(False, data)
                for packet in self._framer.feed(data):
                    self._packets.put_nowait(packet)
        except (ConnectionError, ProtocolError):
            pass
        finally:
            self.closed.set()
            self._packets.put_nowait(None)

    async def _heartbeats(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.closed.is_set():
            await asyncio.sleep(self.heartbeat_interval / 4)
            if loop.time() - self._last_sent >= self.heartbeat_interval:
                self.send(soup.ClientHeartbeat())


class OuchClient(SoupClient):
    """A SoupBinTCP client that speaks OUCH ``version`` ("4.2" or "5.0")."""

    def __init__(self, host: str, port: int, version: str = "5.0", **kwargs):
        super().__init__(host, port, **kwargs)
        self.dialect = DIALECTS[version]

    def send_ouch(self, message) -> None:
        """Encode one OUCH inbound message into an Unsequenced Data packet."""
        self.send_message(message.encode())

    async def recv_ouch(self, timeout: float = 5.0):
        """The next sequenced OUCH outbound message, decoded."""
        return self.dialect.decode_outbound(await self.recv_sequenced(timeout))

    async def recv_until(self, kind: type, timeout: float = 5.0) -> list:
        """Decoded messages up to and including the first of type ``kind``."""
        out = []
        while True:
            out.append(await self.recv_ouch(timeout))
            if isinstance(out[-1], kind):
                return out
