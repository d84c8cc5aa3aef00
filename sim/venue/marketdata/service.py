"""The venue's market-data component: feed, publisher, re-request server, replay.

:class:`MarketData` assembles, from ``[marketdata]`` of the venue config
(:class:`~tick2trade.sim.venue.config.MarketDataConfig`), one MoldUDP64
session: an :class:`ItchFeed` subscribed to the matching engine, a
:class:`MoldPublisher` sending to the multicast group (or unicast address),
a :class:`RerequestServer` on its own UDP port (MoldUDP64 §3), and, when
``replay.capture`` is set, a :class:`CaptureReplay` playing that capture as
the market.

Live mode: :meth:`start` publishes the start of day (System Event ``O``,
Stock Directory per symbol, ``S``, ``Q``; ITCH 5.0 §4.1) and then every book
change of the engine. Replay mode: the capture supplies the day's messages
(its own System Events and directory); the venue only adds its orders'
messages. :meth:`stop` publishes the end of day (live mode), announces the
end of the MoldUDP64 session (§2.4), keeps announcing it and serving
re-requests for ``end_linger`` seconds, and closes the sockets.

The engine for a replay must know the capture's symbols and number its
orders and matches above the capture's: build it with
:func:`engine_options` (symbols, ``order_ref_start``,
``match_number_start``, ``clock``) and pass the same ``clock`` here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Iterable

from tick2trade.proto.errors import ProtocolError
from tick2trade.sim.venue.config import ConfigError
from tick2trade.sim.venue.engine import MatchingEngine, ns_since_midnight
from tick2trade.sim.venue.marketdata.feed import ItchFeed
from tick2trade.sim.venue.marketdata.publisher import MoldPublisher
from tick2trade.sim.venue.marketdata.replay import CaptureReplay, ReplayClock, scan_capture
from tick2trade.sim.venue.marketdata.rerequest import RerequestServer
from tick2trade.sim.venue.marketdata.store import RetransmitStore
from tick2trade.sim.venue.marketdata.transport import UdpSender

log = logging.getLogger(__name__)

#: IPv4 (20) + UDP (8) header bytes: the UDP payload is the MTU minus these
IP_UDP_OVERHEAD = 28


def session_bytes(name: str) -> bytes:
    """The 10-byte MoldUDP64 session (MoldUDP64 §2.1): ASCII, space-padded on the left."""
    raw = name.encode("ascii")
    if not 1 <= len(raw) <= 10:
        raise ValueError(f"MoldUDP64 session must be 1-10 ASCII characters, got {name!r}")
    return raw.rjust(10, b" ")


def engine_options(config, symbols: Iterable[str], order_ref_start: int = 1) -> dict:
    """Keyword arguments for :class:`MatchingEngine` that suit ``config`` (a MarketDataConfig).

    Without a replay: just ``symbols``. With one: the capture's symbols
    added, order references and match numbers starting above the capture's,
    and a :class:`ReplayClock` (pass it on as ``MarketData(clock=...)``).
    """
    symbols = tuple(dict.fromkeys(symbols))
    replay = config.replay
    if replay.capture is None:
        return {"symbols": symbols, "order_ref_start": order_ref_start}
    try:
        summary = scan_capture(replay.capture)
    except (OSError, ProtocolError) as error:
        raise ConfigError(f"marketdata.replay.capture: cannot replay {replay.capture}: "
                          f"{error}") from None
    wanted = [s for s in summary.symbols if not replay.symbols or s in replay.symbols]
    return {"symbols": tuple(dict.fromkeys(symbols + tuple(wanted))),
            "order_ref_start": max(order_ref_start, summary.max_order_ref + 1),
            "match_number_start": summary.max_match_number + 1,
            "clock": ReplayClock(replay.speed)}


class MarketData:
    """ITCH 5.0 over MoldUDP64 for one venue (see module docstring)."""

    def __init__(self, config, engine: MatchingEngine, *, host: str = "127.0.0.1",
                 clock: ReplayClock | None = None):
        self.config = config
        self.engine = engine
        self.host = host
        self.store = RetransmitStore(session_bytes(config.session),
                                     max_messages=config.retransmit_limit)
        self.max_payload = config.mtu - IP_UDP_OVERHEAD
        self.server = RerequestServer(self.store, host=host, port=config.rerequest_port,
                                      max_payload=self.max_payload)
        self.sender: UdpSender | None = None
        self.publisher: MoldPublisher | None = None
        self.feed: ItchFeed | None = None
        self.replay: CaptureReplay | None = None
        self._clock = clock
        self._replay_task: asyncio.Task | None = None
        self._running = False

    # ------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._running

    @property
    def session(self) -> bytes:
        return self.store.session

    @property
    def destination(self) -> tuple[str, int]:
        """Where the feed's packets go (group or unicast address, port)."""
        return self.config.group, self.config.port

    @property
    def rerequest_address(self) -> tuple[str, int]:
        return self.server.address

    @property
    def stats(self) -> Counter:
        """Counters of every part, prefixed ``feed.``, ``mold.``, ``rerequest.``, ``replay.``."""
        out: Counter = Counter()
        for prefix, part in (("feed", self.feed), ("mold", self.publisher),
                             ("rerequest", self.server), ("replay", self.replay)):
            if part is not None:
                out.update({f"{prefix}.{k}": v for k, v in part.stats.items()})
        return out

    async def start(self) -> None:
        """Open the sockets, start the day (or the replay) and the heartbeats."""
        if self._running:
            raise RuntimeError("market data is already started")
        await self._start()
        self._running = True

    async def stop(self) -> None:
        """End the day and the MoldUDP64 session, close the sockets."""
        if not self._running:
            return
        self._running = False
        await self._stop()

    async def wait_replayed(self, timeout: float | None = None) -> None:
        """Wait until the whole capture has been replayed (at once if there is none)."""
        if self.replay is not None:
            await asyncio.wait_for(self.replay.done.wait(), timeout)

    def end_session(self) -> None:
        """Publish the end of day (live mode) and the end of the MoldUDP64 session."""
        if self.publisher is None or self.publisher.ended:
            return
        if self.replay is None:
            self.feed.end_of_day()
        self.publisher.end_session()

    # ------------------------------------------------------------ internals

    async def _start(self) -> None:
        config = self.config
        await self.server.start()
        try:
            self.sender = UdpSender(config.group, config.port, interface=config.interface,
                                    ttl=config.ttl, loopback=config.loopback)
        except OSError:
            await self.server.stop()
            raise
        self.publisher = MoldPublisher(self.store, self.sender, max_payload=self.max_payload,
                                       batch_interval=config.batch_interval,
                                       heartbeat_interval=config.heartbeat_interval,
                                       loss=config.loss, loss_seed=config.loss_seed)
        clock = self._clock if self._clock is not None else ns_since_midnight
        self.feed = ItchFeed(self.engine, self._publish, clock=clock)
        await self.publisher.start()
        replay = config.replay
        if replay.capture is None:
            self.feed.start_of_day()
        else:
            self.replay = CaptureReplay(self.feed, replay.capture, speed=replay.speed,
                                        timestamps=replay.timestamps, max_gap=replay.max_gap,
                                        symbols=replay.symbols,
                                        clock=clock if isinstance(clock, ReplayClock) else None)
            self._replay_task = asyncio.create_task(self._run_replay(), name="capture-replay")
        log.info("market data: MoldUDP64 session %r to %s:%d (from %s), re-request on %s:%d%s",
                 self.session.decode(), config.group, config.port, self.sender.address[0],
                 *self.server.address,
                 f", replaying {replay.capture}" if replay.capture else "")

    def _publish(self, message: bytes) -> None:
        """The feed's sink: after the end of the session, engine events are counted, not sent."""
        if self.publisher.ended:
            self.publisher.stats["after_end_of_session"] += 1
            return
        self.publisher.publish(message)

    async def _run_replay(self) -> None:
        try:
            await self.replay.run()
            log.info("market data: replay of %s done: %s", self.replay.source,
                     dict(self.replay.stats))
        except Exception:  # a corrupt capture ends the replay, not the venue
            log.exception("market data: replay of %s failed", self.replay.source)
            self.replay.stats["failed"] += 1

    async def _stop(self) -> None:
        if self._replay_task is not None:
            self._replay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replay_task
            self._replay_task = None
        self.end_session()
        if self.config.end_linger:
            await asyncio.sleep(self.config.end_linger)  # EOS heartbeats, re-requests served
        await self.publisher.stop()
        self.feed.close()
        await self.server.stop()
        self.sender.close()
