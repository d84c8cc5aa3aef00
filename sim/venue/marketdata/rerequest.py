"""MoldUDP64 re-request server (MoldUDP64 §3).

A listener that missed messages sends a 20-byte request packet (session,
first sequence number, count) to this UDP port; the reply is an ordinary
downstream packet (MoldUDP64 §2) with the requested messages, unicast back
to the request's source address and port. A reply holds only the messages
that fit completely in one packet of ``max_payload`` bytes, starting at the
requested number; the listener asks again for the rest (§3, partial
replies).

Requests that cannot be served are dropped and counted, never answered
with an error and never fatal: ``malformed`` (not exactly 20 bytes),
``unknown_session``, ``empty`` (count 0), ``future`` (nothing published at
that number yet), ``expired`` (older than the store holds).
"""

from __future__ import annotations

import asyncio
from collections import Counter

from tick2trade.proto.errors import ProtocolError
from tick2trade.proto.moldudp64 import MTU_PAYLOAD, MoldPacket, MoldRequest
from tick2trade.sim.venue.marketdata.store import RetransmitStore


class RerequestServer:
    """Answers MoldUDP64 re-requests from a :class:`RetransmitStore` over UDP."""

    def __init__(self, store: RetransmitStore, *, host: str = "127.0.0.1", port: int = 0,
                 max_payload: int = MTU_PAYLOAD):
        self.store = store
        self.host = host
        self.port = port
        self.max_payload = max_payload
        self.stats: Counter[str] = Counter()
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); the configured one before :meth:`start`."""
        if self._transport is None:
            return self.host, self.port
        return self._transport.get_extra_info("sockname")[:2]

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.host, self.port))

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def answer(self, datagram: bytes) -> bytes | None:
        """The reply to one request datagram, or None (counted) if it is not served."""
        self.stats["requests"] += 1
        try:
            request = MoldRequest.decode(datagram)
        except ProtocolError:
            self.stats["malformed"] += 1
            return None
        if request.session != self.store.session:
            self.stats["unknown_session"] += 1
            return None
        if request.count == 0:
            self.stats["empty"] += 1
            return None
        if request.sequence >= self.store.next_sequence:
            self.stats["future"] += 1
            return None
        if request.sequence < self.store.first_available:
            self.stats["expired"] += 1
            return None
        messages = self.store.get(request.sequence, request.count, self.max_payload)
        if not messages:
            self.stats["too_large"] += 1
            return None
        self.stats["replies"] += 1
        self.stats["messages_resent"] += len(messages)
        return MoldPacket(self.store.session, request.sequence, tuple(messages)).encode()


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: RerequestServer):
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        reply = self.server.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        # e.g. ICMP port unreachable from a requester that went away: not fatal
        self.server.stats["socket_errors"] += 1
