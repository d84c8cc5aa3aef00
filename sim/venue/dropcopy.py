"""Drop copy: every execution of the venue on its own SoupBinTCP 3.0 stream.

A reconciliation feed: one :data:`DropCopyExecution` message per trade,
carrying both sides (account, client order id, order reference, side,
liquidity flag, shares still open), sent as Sequenced Data on a separate
port with its own logins. All users share one stream; like the order
ports it is replayed from any sequence number on re-login and ends with
End of Session (``SoupBinTCP §2.6``, ``§4``). Inbound Unsequenced Data is
ignored (counted).

The message layout is defined once in :mod:`tick2trade.proto.dropcopy`.
"""

from __future__ import annotations

import logging
from collections import Counter

from tick2trade.proto.dropcopy import ACCOUNT_LEN, CLIENT_ID_LEN, DropCopyExecution
from tick2trade.sim.venue.config import DropCopyConfig, SoupConfig
from tick2trade.sim.venue.engine import MatchingEngine
from tick2trade.sim.venue.events import Executed, Fill
from tick2trade.sim.venue.soup_server import (
    EngineSoupService,
    SequencedStream,
    SoupConnection,
    SoupServer,
)

log = logging.getLogger(__name__)


def _side_values(fill: Fill) -> tuple:
    return (fill.owner[:ACCOUNT_LEN], str(fill.client_id)[:CLIENT_ID_LEN], fill.order_ref,
            fill.side.value, fill.liquidity, fill.remaining)


def execution_message(ev: Executed) -> DropCopyExecution:
    """The drop-copy message of one engine execution."""
    return DropCopyExecution(ev.ts, ev.match_number, ev.symbol, ev.price, ev.qty,
                             *_side_values(ev.passive), *_side_values(ev.aggressor))


class DropCopy(EngineSoupService):
    """The drop-copy port: subscribes to the engine, serves one replayable stream."""

    def __init__(self, config: DropCopyConfig, engine: MatchingEngine, *,
                 soup: SoupConfig | None = None, host: str = "127.0.0.1"):
        soup = soup or SoupConfig()
        self.config = config
        self.engine = engine
        self.stream = SequencedStream()
        self.stats: Counter[str] = Counter()
        self.server = SoupServer(
            "drop copy", credentials={u.username: u.password for u in config.users},
            session=soup.session, stream_for=lambda _user: self.stream,
            on_message=self._on_message, host=host, port=config.port,
            heartbeat_interval=soup.heartbeat_interval, idle_timeout=soup.idle_timeout,
            login_timeout=soup.login_timeout, max_packet_length=soup.max_packet_length)

    def end_of_day(self) -> None:
        """End of Session to every client; the stream takes no more messages."""
        self.server.end_session()
        self.stream.ended = True

    def _on_events(self, events: list) -> None:
        for ev in events:
            if isinstance(ev, Executed):
                self.stream.append(execution_message(ev).encode())
                self.stats["executions"] += 1

    def _on_message(self, conn: SoupConnection, payload: bytes) -> None:
        self.stats["ignored_inbound"] += 1
