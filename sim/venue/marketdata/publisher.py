"""MoldUDP64 downstream publisher: messages → packets → UDP (MoldUDP64 §2).

Every published message takes the session's next sequence number and is
kept in the :class:`RetransmitStore` for re-requests (MoldUDP64 §3).
Messages are batched into packets of at most ``max_payload`` UDP bytes
(MTU − 28): a packet goes out when the next message would not fit, or when
the batching interval ends (``batch_interval=0`` sends what one engine
request produced together, at the next turn of the event loop). While no
data flows a heartbeat (count 0, next expected sequence; §2.3) goes out
every ``heartbeat_interval`` seconds; after :meth:`end_session` the
heartbeats become end-of-session packets (count 0xFFFF; §2.4) and nothing
more can be published, but re-requests are still served. For recovery
tests the line can be made lossy: ``loss`` is the share of data packets
that are stored but never sent (seeded, so runs repeat).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from tick2trade.proto.moldudp64 import MTU_PAYLOAD, MoldPacker, MoldPacket
from tick2trade.sim.venue.marketdata.store import RetransmitStore
from tick2trade.sim.venue.marketdata.transport import UdpSender


class SessionEndedError(RuntimeError):
    """A message was published after the end of the MoldUDP64 session (§2.4)."""


class MoldPublisher:
    """Publishes one MoldUDP64 session over a :class:`UdpSender`."""

    def __init__(self, store: RetransmitStore, sender: UdpSender, *,
                 max_payload: int = MTU_PAYLOAD, batch_interval: float = 0.0,
                 heartbeat_interval: float = 1.0, loss: float = 0.0, loss_seed: int = 0):
        if batch_interval < 0:
            raise ValueError(f"batch_interval must be ≥ 0 s, got {batch_interval}")
        if heartbeat_interval <= 0:
            raise ValueError(f"heartbeat_interval must be > 0 s, got {heartbeat_interval}")
        self.store = store
        self.sender = sender
        self.max_payload = max_payload
        self.batch_interval = batch_interval
        self.heartbeat_interval = heartbeat_interval
        self.packer = MoldPacker(store.session, store.next_sequence, max_payload)
        if not 0.0 <= loss < 1.0:
            raise ValueError(f"loss must be in [0, 1), got {loss}")
        #: share of live data packets deliberately not sent (a lossy line, for recovery
        #: tests); they stay in the store, so re-requests recover them
        self.loss = loss
        self._loss_rng = random.Random(loss_seed)
        self.stats: Counter[str] = Counter()
        self.ended = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush_handle: asyncio.Handle | None = None
        self._heartbeat_task: asyncio.Task | None = None
        self._last_send = 0.0

    @property
    def session(self) -> bytes:
        return self.store.session

    @property
    def next_sequence(self) -> int:
        """Sequence number of the next message to be published."""
        return self.store.next_sequence

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Begin batching on the running loop and sending heartbeats."""
        self._loop = asyncio.get_running_loop()
        self._last_send = self._loop.time()
        self._heartbeat_task = asyncio.create_task(self._heartbeats(), name="mold-heartbeat")

    async def stop(self) -> None:
        """Send what is pending, stop the heartbeats (the socket stays the caller's)."""
        self.flush()
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            try:
                await self._heartbeat_task
            except asyncio.CancelledError:
                pass
            self._heartbeat_task = None
        self._loop = None

    # ------------------------------------------------------------- publishing

    def publish(self, message: bytes) -> int:
        """Queue one message for the feed; return its sequence number."""
        if self.ended:
            raise SessionEndedError(f"MoldUDP64 session {self.session!r} has ended; "
                                    f"message not published")
        for packet in self.packer.add(message):  # raises if it can never fit a packet
            self._send(packet)
        sequence = self.store.append(message)
        self.stats["messages"] += 1
        self._schedule_flush()
        return sequence

    def flush(self) -> None:
        """Send the open packet now."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        packet = self.packer.flush()
        if packet is not None:
            self._send(packet)

    def heartbeat(self) -> None:
        """Send a heartbeat now (end of session once ended; §2.3, §2.4)."""
        self.flush()
        if self.ended:
            self._send(self.packer.end_of_session())
            self.stats["end_of_session"] += 1
        else:
            self._send(self.packer.heartbeat())
            self.stats["heartbeats"] += 1

    def end_session(self) -> None:
        """Flush, announce the end of the session and keep announcing it (§2.4)."""
        self.flush()
        self.ended = True
        self.heartbeat()

    # -------------------------------------------------------------- internals

    def _schedule_flush(self) -> None:
        if not self.packer.pending or self._flush_handle is not None:
            return
        if self._loop is None:
            self.flush()
        elif self.batch_interval:
            self._flush_handle = self._loop.call_later(self.batch_interval, self.flush)
        else:
            self._flush_handle = self._loop.call_soon(self.flush)

    def _send(self, packet: MoldPacket) -> None:
        if self.loss and packet.messages and self._loss_rng.random() < self.loss:
            self.stats["lost_on_purpose"] += 1
        elif self.sender.send(packet.encode()):
            self.stats["packets"] += 1
        else:
            self.stats["send_dropped"] += 1
        if self._loop is not None:
            self._last_send = self._loop.time()

    async def _heartbeats(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            idle = loop.time() - self._last_send
            if idle >= self.heartbeat_interval:
                self.heartbeat()
                idle = 0.0
            await asyncio.sleep(self.heartbeat_interval - idle)
