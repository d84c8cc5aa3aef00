"""SoupBinTCP 3.0 server side: logins, heartbeats, sequenced streams and replay.

One :class:`SoupServer` listens on one TCP port. A client must log in
(``SoupBinTCP §2.7``) within ``login_timeout``; a bad username/password
gets Login Rejected ``A``, a session that is not the current one (or has
ended) gets ``S`` (``SoupBinTCP §2.3``), and
the socket is closed. A logged-in client receives Login Accepted with the
next sequence number, then every stored message from the requested
number on, then live messages (``SoupBinTCP §4``). A second login of the
same user takes over: the older connection is closed (a reconnecting
client must not wait for the old socket's idle timeout). The server sends a
heartbeat whenever it has sent nothing for ``heartbeat_interval`` and
closes a connection that has been silent for ``idle_timeout``
(``SoupBinTCP §3``).

Sequenced messages live in a :class:`SequencedStream` chosen per username
by the application (``stream_for``): the OUCH port keeps one per account,
the drop copy shares one between all its users. Streams outlive
connections, so a client that reconnects gets its replay, and one
misbehaving connection never touches another's stream.

Bad input never crashes the server. A packet whose length cannot be right
(0 or above ``max_packet_length``) breaks the framing: logged, counted,
the connection closed. A well-framed packet of an unknown or
server-only type, or with a wrong length for its type, is logged, counted
and skipped; the session stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from tick2trade.proto import soupbintcp as soup
from tick2trade.proto.errors import ProtocolError

if TYPE_CHECKING:
    from tick2trade.sim.venue.engine import MatchingEngine

log = logging.getLogger(__name__)

#: a connection whose unsent output exceeds this is too slow and is closed
MAX_WRITE_BUFFER = 32 * 1024 * 1024


class SequencedStream:
    """The sequenced messages of one stream (numbered from 1, ``SoupBinTCP §4``)."""

    def __init__(self):
        self.messages: list[bytes] = []
        self._listeners: set[SoupConnection] = set()
        self.ended = False
        self.dropped = 0   # messages offered after the end of the session

    @property
    def next_sequence(self) -> int:
        return len(self.messages) + 1

    def append(self, message: bytes) -> int:
        """Store ``message``, send it to every logged-in listener; returns its number.

        After the end of the session (§2.6) nothing more is sequenced: the
        message is dropped and counted, and 0 is returned.
        """
        if self.ended:
            self.dropped += 1
            return 0
        self.messages.append(bytes(message))
        for conn in tuple(self._listeners):
            conn.send_sequenced(message)
        return len(self.messages)

    def attach(self, conn: SoupConnection, first: int) -> None:
        """Replay from ``first`` (1-based) to ``conn``, then keep it up to date."""
        for message in self.messages[first - 1:]:
            conn.send_sequenced(message)
        self._listeners.add(conn)

    def detach(self, conn: SoupConnection) -> None:
        self._listeners.discard(conn)


class SoupConnection:
    """One client TCP connection (logged in once ``username`` is set)."""

    def __init__(self, server: SoupServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.peer = writer.get_extra_info("peername")
        self.username: str | None = None
        self.stream: SequencedStream | None = None
        self.closed = False
        self.last_sent = asyncio.get_running_loop().time()

    def send(self, packet: soup.Packet) -> None:
        if self.closed:
            return
        self.writer.write(packet.encode())
        self.last_sent = asyncio.get_running_loop().time()
        if self.writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self.server.stats["slow_consumer"] += 1
            log.warning("%s %s: slow consumer, closing", self.server.name, self.peer)
            self.close()

    def send_sequenced(self, message: bytes) -> None:
        self.send(soup.SequencedData(message))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.stream is not None:
            self.stream.detach(self)
        with contextlib.suppress(Exception):
            self.writer.close()


class SoupServer:
    """A SoupBinTCP 3.0 listening port (see module docstring).

    ``on_message(conn, payload)`` is called for every Unsequenced Data
    packet of a logged-in client; ``on_login(conn)`` after Login Accepted.
    """

    def __init__(self, name: str, *, credentials: dict[str, str], session: str,
                 stream_for: Callable[[str], SequencedStream],
                 on_message: Callable[[SoupConnection, bytes], None] | None = None,
                 on_login: Callable[[SoupConnection], None] | None = None,
                 host: str = "127.0.0.1", port: int = 0, heartbeat_interval: float = 1.0,
                 idle_timeout: float = 15.0, login_timeout: float = 30.0,
                 max_packet_length: int = 1024):
        self.name = name
        self.credentials = {u.upper(): p.upper() for u, p in credentials.items()}
        self.session = soup.LoginAccepted(session.encode("ascii"), 1).session
        self.stream_for = stream_for
        self.on_message = on_message
        self.on_login = on_login
        self.host = host
        self._port = port
        self.heartbeat_interval = heartbeat_interval
        self.idle_timeout = idle_timeout
        self.login_timeout = login_timeout
        self.max_packet_length = max_packet_length
        self.stats: Counter[str] = Counter()
        self.ended = False
        self._server: asyncio.Server | None = None
        self._connections: set[SoupConnection] = set()
        self._tasks: set[asyncio.Task] = set()
        self._heartbeat: asyncio.Task | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        """The bound TCP port (after ``start``)."""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._server.sockets[0].getsockname()[1]

    @property
    def connections(self) -> list[SoupConnection]:
        return [c for c in self._connections if c.username is not None]

    async def start(self) -> None:
        """Listen on the port and start the heartbeat timer."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} is already started")
        await self._start()

    async def stop(self) -> None:
        """Close the port and every connection (no End of Session: see :meth:`end_session`)."""
        if self._server is None:
            return
        await self._stop()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self._port)
        self._heartbeat = asyncio.create_task(self._heartbeats(), name=f"{self.name} heartbeat")

    async def _stop(self) -> None:
        self._server.close()
        for conn in tuple(self._connections):
            conn.close()
        tasks = [t for t in (*self._tasks, self._heartbeat) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None
        self._heartbeat = None

    def end_session(self) -> None:
        """Send End of Session to every client and refuse the session from now on (§2.6)."""
        self.ended = True
        for conn in tuple(self._connections):
            if conn.username is not None:
                conn.send(soup.EndOfSession())
            conn.close()

    # ---------------------------------------------------------- connection

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        self._tasks.add(task)
        conn = SoupConnection(self, reader, writer)
        self._connections.add(conn)
        self.stats["connections"] += 1
        try:
            await self._serve(conn)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.stats["disconnects"] += 1
        except asyncio.CancelledError:
            pass
        except Exception:  # a bug must not take the port down with it
            self.stats["errors"] += 1
            log.exception("%s %s: unexpected error", self.name, conn.peer)
        finally:
            conn.close()
            self._connections.discard(conn)
            self._tasks.discard(task)

    async def _read_packet(self, conn: SoupConnection, timeout: float) -> soup.Packet | None:
        """The next well-framed packet; None for one that was skipped (counted)."""
        header = await asyncio.wait_for(conn.reader.readexactly(2), timeout)
        length = int.from_bytes(header, "big")
        if length == 0 or length > self.max_packet_length:
            raise _Framing(f"Packet Length {length} (must be 1..{self.max_packet_length}, "
                           f"SoupBinTCP §1)")
        body = await asyncio.wait_for(conn.reader.readexactly(length), timeout)
        try:
            return soup.decode(header + body, soup.Direction.INBOUND)
        except ProtocolError as error:
            self.stats["malformed"] += 1
            log.warning("%s %s: skipped malformed packet: %s", self.name, conn.peer, error)
            return None

    async def _serve(self, conn: SoupConnection) -> None:
        try:
            if not await self._login(conn):
                return
            while not conn.closed:
                packet = await self._read_packet(conn, self.idle_timeout)
                if isinstance(packet, soup.UnsequencedData):
                    self.stats["messages"] += 1
                    self._deliver(conn, packet.message)
                elif isinstance(packet, soup.LogoutRequest):
                    self.stats["logouts"] += 1
                    return
                elif isinstance(packet, soup.LoginRequest):
                    self.stats["malformed"] += 1
                    log.warning("%s %s: Login Request while logged in, ignored", self.name,
                                conn.peer)
        except TimeoutError:
            self.stats["idle_timeouts"] += 1
            log.info("%s %s: silent for %.1f s, closing", self.name, conn.peer,
                     self.idle_timeout)
        except _Framing as error:
            self.stats["framing_errors"] += 1
            log.warning("%s %s: %s; closing", self.name, conn.peer, error)

    def _deliver(self, conn: SoupConnection, message: bytes) -> None:
        """Hand a client message to the application; its bugs cost the message, not the session."""
        if self.on_message is None:
            return
        try:
            self.on_message(conn, message)
        except Exception:
            self.stats["handler_errors"] += 1
            log.exception("%s %s: error handling a message; message dropped", self.name,
                          conn.peer)

    async def _login(self, conn: SoupConnection) -> bool:
        try:
            packet = await self._read_packet(conn, self.login_timeout)
        except TimeoutError:
            self.stats["login_timeouts"] += 1
            return False
        if not isinstance(packet, soup.LoginRequest):
            self.stats["login_protocol_errors"] += 1
            log.warning("%s %s: first packet is not a Login Request; closing", self.name,
                        conn.peer)
            return False
        user = packet.username.upper()
        if self.credentials.get(user) != packet.password.upper():
            return self._reject(conn, soup.LoginRejectReason.NOT_AUTHORIZED)
        requested = packet.session.strip(b" ")
        if self.ended or (requested and requested != self.session.strip(b" ")):
            return self._reject(conn, soup.LoginRejectReason.SESSION_NOT_AVAILABLE)
        for other in tuple(self._connections):
            if other.username == user:   # a reconnect takes over from a stale connection
                self.stats["taken_over"] += 1
                log.info("%s %s: %s logged in again from %s; closing the old connection",
                         self.name, other.peer, user, conn.peer)
                other.close()
        stream = self.stream_for(user)
        first = packet.sequence
        if first == 0 or first > stream.next_sequence:
            first = stream.next_sequence
        conn.username, conn.stream = user, stream
        conn.send(soup.LoginAccepted(self.session, first))
        stream.attach(conn, first)
        self.stats["logins"] += 1
        log.info("%s %s: %s logged in at sequence %d", self.name, conn.peer, user, first)
        if self.on_login is not None:
            self.on_login(conn)
        return True

    def _reject(self, conn: SoupConnection, reason: soup.LoginRejectReason) -> bool:
        self.stats[f"login_rejected_{reason.value}"] += 1
        conn.send(soup.LoginRejected(reason))
        return False

    async def _heartbeats(self) -> None:
        loop = asyncio.get_running_loop()
        tick = min(self.heartbeat_interval / 4, 0.25)
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            for conn in tuple(self._connections):
                if conn.username is not None and now - conn.last_sent >= self.heartbeat_interval:
                    conn.send(soup.ServerHeartbeat())


class _Framing(Exception):
    """The byte stream has lost its framing; the connection must close."""


class EngineSoupService:
    """A SoupBinTCP port fed by the matching engine's events (STYLE §11: one lifecycle).

    Subclasses build ``self.server`` (a :class:`SoupServer`) and
    ``self.engine`` in ``__init__`` and implement ``_on_events``; the public
    ``start()``/``stop()`` are not overridden: extra work goes in
    ``_start()``/``_stop()``, which call up.
    """

    server: SoupServer
    engine: MatchingEngine

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        """Subscribe to the engine and open the TCP port."""
        await self._start()

    async def stop(self) -> None:
        """Close the port and every connection; streams are kept for replay."""
        await self._stop()

    async def _start(self) -> None:
        self._unsubscribe = self.engine.subscribe(self._on_events)
        await self.server.start()

    async def _stop(self) -> None:
        await self.server.stop()
        unsubscribe, self._unsubscribe = getattr(self, "_unsubscribe", None), None
        if unsubscribe is not None:
            unsubscribe()

    def _on_events(self, events) -> None:
        raise NotImplementedError
