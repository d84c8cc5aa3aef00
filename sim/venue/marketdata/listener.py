"""A MoldUDP64 listener that fills gaps by re-request (MoldUDP64 §4, §5).

The venue's own subscriber, for tests and demos: it receives the feed
(multicast group or unicast port), checks every packet, delivers messages
strictly in sequence order and, when a packet skips ahead (or a heartbeat
or end-of-session packet announces more than it has), sends a request
packet (MoldUDP64 §3) for the missing range from the same socket, so the
unicast reply arrives beside the live data. Packets that arrive ahead of a
gap wait in a bounded buffer; requests are repeated after
``request_timeout`` until the gap closes (replies can be partial or lost).

The host daemon will have its own receiver; this one exists so the venue is
tested by a real peer over real sockets.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import Callable

from tick2trade.proto.errors import ProtocolError
from tick2trade.proto.moldudp64 import MAX_MESSAGES, MoldPacket, MoldRequest
from tick2trade.sim.venue.marketdata.transport import is_multicast


class MoldListener:
    """Receive one MoldUDP64 session in order, recovering gaps by re-request."""

    def __init__(self, host: str, port: int, *, rerequest: tuple[str, int] | None = None,
                 interface: str = "127.0.0.1", session: bytes | None = None,
                 first_sequence: int = 1, request_timeout: float = 0.1,
                 request_cap: int = MAX_MESSAGES, max_buffered: int = 10_000,
                 on_message: Callable[[int, bytes], object] | None = None,
                 drop: Callable[[MoldPacket], bool] | None = None,
                 on_datagram: Callable[[bytes], object] | None = None,
                 receive_buffer: int = 4 << 20):
        self.host, self.port = host, port
        self.rerequest = rerequest
        self.interface = interface
        self.session = session
        self.next_sequence = first_sequence
        self.request_timeout = request_timeout
        self.request_cap = request_cap
        self.max_buffered = max_buffered
        self.on_message = on_message
        #: loss injection for tests: a live packet for which it returns True is discarded
        self.drop = drop
        #: sees every datagram as received (e.g. to write a pcap for dissectors)
        self.on_datagram = on_datagram
        self.receive_buffer = receive_buffer
        self.messages: list[tuple[int, bytes]] = []
        self.ended = False
        self.stats: Counter[str] = Counter()
        self._announced = first_sequence   # highest "next" any packet announced
        self._buffer: dict[int, MoldPacket] = {}
        self._requested_at: int | None = None  # next_sequence when the last request went out
        self._transport: asyncio.DatagramTransport | None = None
        self._request_task: asyncio.Task | None = None
        self._progress = asyncio.Event()

    # ------------------------------------------------------------ lifecycle

    @property
    def address(self) -> tuple[str, int]:
        """The local (host, port) packets are received on."""
        return self._transport.get_extra_info("sockname")[:2]

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # a burst of small packets must not overflow the default buffer (capped by
            # the kernel's rmem_max)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
            if is_multicast(self.host):
                # bound to any address: the group's packets and the unicast replies to our
                # requests arrive on the same socket (MoldUDP64 §3), and requests leave
                # from a real source address
                sock.bind(("", self.port))
                membership = socket.inet_aton(self.host) + socket.inet_aton(self.interface)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
            else:
                sock.bind((self.host, self.port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), sock=sock)
        self._request_task = asyncio.create_task(self._requests(), name="mold-rerequest")

    async def stop(self) -> None:
        if self._request_task is not None:
            self._request_task.cancel()
            try:
                await self._request_task
            except asyncio.CancelledError:
                pass
            self._request_task = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def wait_for(self, next_sequence: int, timeout: float = 5.0) -> None:
        """Wait until every message before ``next_sequence`` has been delivered."""
        async with asyncio.timeout(timeout):
            while self.next_sequence < next_sequence:
                self._progress.clear()
                await self._progress.wait()

    async def wait_ended(self, timeout: float = 5.0) -> None:
        """Wait for end of session with nothing missing (MoldUDP64 §2.4)."""
        async with asyncio.timeout(timeout):
            while not (self.ended and self.next_sequence >= self._announced):
                self._progress.clear()
                await self._progress.wait()

    # ------------------------------------------------------------ receiving

    def receive(self, datagram: bytes) -> None:
        """Process one datagram (live or re-request reply)."""
        self.stats["datagrams"] += 1
        if self.on_datagram is not None:
            self.on_datagram(datagram)
        try:
            packet = MoldPacket.decode(datagram)
        except ProtocolError:
            self.stats["malformed"] += 1
            return
        if self.session is None:
            self.session = packet.session
        elif packet.session != self.session:
            self.stats["wrong_session"] += 1
            return
        if self.drop is not None and self.drop(packet):
            self.stats["dropped_by_test"] += 1
            return
        if packet.is_heartbeat or packet.is_end_of_session:
            self.stats["end_of_session" if packet.is_end_of_session else "heartbeats"] += 1
            self.ended = self.ended or packet.is_end_of_session
            self._announce(packet.sequence)
        else:
            self.stats["data_packets"] += 1
            self._announce(packet.next_sequence)
            self._accept(packet)
            self._drain()
            if self.next_sequence < self._announced and self.next_sequence != self._requested_at:
                self._request()  # a reply (or a live packet) moved us on: ask for the rest
        self._progress.set()

    def _announce(self, next_sequence: int) -> None:
        if next_sequence > self._announced:
            self._announced = next_sequence
            if next_sequence > self.next_sequence and self.next_sequence != self._requested_at:
                self._request()  # a new gap (one request per position; the timer retries)

    def _accept(self, packet: MoldPacket) -> None:
        start, end = packet.sequence, packet.next_sequence
        if end <= self.next_sequence:
            self.stats["duplicates"] += 1
            return
        if start > self.next_sequence:
            if len(self._buffer) < self.max_buffered:
                self._buffer.setdefault(start, packet)
            else:
                self.stats["buffer_full"] += 1
            return
        for offset in range(self.next_sequence - start, len(packet.messages)):
            sequence = start + offset
            message = packet.messages[offset]
            self.messages.append((sequence, message))
            if self.on_message is not None:
                self.on_message(sequence, message)
        self.next_sequence = end

    def _drain(self) -> None:
        while self._buffer:
            first = min(self._buffer)
            if first > self.next_sequence:
                return
            self._accept(self._buffer.pop(first))

    # ------------------------------------------------------------- requests

    def _request(self) -> None:
        if self.rerequest is None or self._transport is None or self.session is None:
            return
        missing = min(self._announced, min(self._buffer, default=self._announced))
        count = min(missing - self.next_sequence, self.request_cap)
        if count <= 0:
            return
        request = MoldRequest(self.session, self.next_sequence, count)
        self._transport.sendto(request.encode(), self.rerequest)
        self._requested_at = self.next_sequence
        self.stats["requests"] += 1

    async def _requests(self) -> None:
        while True:
            await asyncio.sleep(self.request_timeout)
            if self.next_sequence < self._announced:
                self._request()  # the last request or its reply may have been lost


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, listener: MoldListener):
        self.listener = listener

    def datagram_received(self, data: bytes, addr) -> None:
        self.listener.receive(data)

    def error_received(self, exc: Exception) -> None:
        self.listener.stats["socket_errors"] += 1
