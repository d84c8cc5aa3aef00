"""A real capture replayed as the market.

Sources: a pcap/pcapng of MoldUDP64 packets (``tick2trade.proto.capture``)
or an ITCH 5.0 BinaryFILE (``tick2trade.proto.binaryfile``), told apart by
the file's magic number. From a pcap, heartbeats and end-of-session packets
are skipped and a packet seen twice (same session, sequence numbers already
read; MoldUDP64 §5) is skipped as a duplicate; sequence number 0 (captures
whose numbers were zeroed) means "unsequenced", replayed in file order.

Each message goes to :meth:`ItchFeed.replay`, which re-publishes it in the
venue's own MoldUDP64 session and books it in the matching engine as
external liquidity. The pace is set by a :class:`~.pacing.Pacer`: real time
(speed 1), N times real time, or as fast as possible (speed 0), following
the pcap capture times (``timestamps="capture"``) or the ITCH timestamps
(``"itch"``; a BinaryFILE has only those).

:class:`ReplayClock` gives the engine the replay's time of day, so our own
orders' ITCH messages carry timestamps that fit between the replayed ones.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tick2trade.proto import itch
from tick2trade.proto.binaryfile import read_binaryfile
from tick2trade.proto.errors import ProtocolError
from tick2trade.proto.pcap import MAGIC_NS, MAGIC_US, PCAPNG_SHB
from tick2trade.sim.venue.engine import ns_since_midnight
from tick2trade.sim.venue.marketdata.feed import DAY_NS, ItchFeed
from tick2trade.sim.venue.marketdata.pacing import Pacer

#: ITCH 5.0 §1: the 6-byte timestamp sits at offset 5 of every message
_TIMESTAMP = struct.Struct(">HI")
_TIMESTAMP_OFFSET = 5
#: where each message type carries its Stock field (ITCH 5.0 §3), for the symbol filter
_STOCK_FIELDS = {t.encode(): f for t, fields in itch.FIELDS.items()
                 for f in fields if f.name == "stock"}
#: messages handled between two yields to the event loop when not waiting
_YIELD_EVERY = 256

Timestamps = Literal["capture", "itch"]


@dataclass(frozen=True, slots=True)
class ReplayMessage:
    """One message of a capture; ``capture_ts_ns`` is the pcap time (None in a BinaryFILE)."""

    message: bytes
    capture_ts_ns: int | None = None

    @property
    def itch_ts_ns(self) -> int | None:
        """The message's own timestamp, ns since midnight (ITCH 5.0 §1), if it has one."""
        if len(self.message) < _TIMESTAMP_OFFSET + 6:
            return None
        high, low = _TIMESTAMP.unpack_from(self.message, _TIMESTAMP_OFFSET)
        return high << 32 | low


def is_pcap(path: str | Path) -> bool:
    """True if the file starts with a pcap or pcapng magic number."""
    with open(path, "rb") as f:
        head = f.read(4)
    if len(head) < 4:
        return False
    return (int.from_bytes(head, "little") == PCAPNG_SHB
            or int.from_bytes(head, "little") in (MAGIC_US, MAGIC_NS)
            or int.from_bytes(head, "big") in (MAGIC_US, MAGIC_NS))


def read_capture(path: str | Path, stats: Counter | None = None) -> Iterator[ReplayMessage]:
    """Every ITCH message of a pcap/pcapng (MoldUDP64) or BinaryFILE, in feed order."""
    stats = Counter() if stats is None else stats
    if not is_pcap(path):
        for message in read_binaryfile(path):
            stats["messages"] += 1
            yield ReplayMessage(message)
        return
    from tick2trade.proto.capture import iter_mold

    expected: dict[bytes, int] = {}
    for captured in iter_mold(path):
        packet = captured.packet
        stats["packets"] += 1
        if packet.is_heartbeat or packet.is_end_of_session:
            stats["control_packets"] += 1
            continue
        skip = 0
        if packet.sequence:
            next_expected = expected.get(packet.session, packet.sequence)
            if packet.next_sequence <= next_expected and packet.session in expected:
                stats["duplicate_packets"] += 1
                continue
            skip = max(0, next_expected - packet.sequence)
            if packet.sequence > next_expected:
                stats["gaps"] += 1
            expected[packet.session] = packet.next_sequence
        else:
            stats["unsequenced_packets"] += 1
        for message in packet.messages[skip:]:
            stats["messages"] += 1
            yield ReplayMessage(message, captured.ts_ns)


@dataclass(frozen=True)
class CaptureSummary:
    """What the engine must know before a replay starts (from one pass over the file)."""

    symbols: tuple[str, ...]
    max_order_ref: int
    max_match_number: int
    messages: int


def scan_capture(path: str | Path) -> CaptureSummary:
    """Symbols, highest order reference and match number of a capture.

    The venue creates its engine with these symbols (so replayed orders can
    be booked) and starts its own references and match numbers above the
    capture's (so they stay day-unique on the published feed, ITCH 5.0
    §3.11, §3.13).
    """
    symbols: dict[str, None] = {}
    max_ref = max_match = count = 0
    for item in read_capture(path):
        count += 1
        try:
            msg = itch.decode(item.message)
        except ProtocolError:
            continue
        stock = getattr(msg, "stock", None)
        if stock and msg.TYPE in "RAFH":
            symbols.setdefault(stock, None)
        for name in ("order_ref", "new_order_ref"):
            max_ref = max(max_ref, getattr(msg, name, 0))
        max_match = max(max_match, getattr(msg, "match_number", 0))
    return CaptureSummary(tuple(symbols), max_ref, max_match, count)


class ReplayClock:
    """Time of day on the replayed market, for the engine's timestamps (ns since midnight).

    The last replayed message's ITCH timestamp plus the wall time since,
    scaled by the replay speed (none at speed 0); never goes backwards.
    Before the first message it is the wall clock.
    """

    def __init__(self, speed: float = 1.0, wall: Callable[[], float] = time.monotonic,
                 fallback: Callable[[], int] = ns_since_midnight):
        self.speed = speed
        self._wall = wall
        self._fallback = fallback
        self._market_ts: int | None = None
        self._at = 0.0
        self._last = 0

    def advance(self, itch_ts_ns: int | None) -> None:
        """A message stamped ``itch_ts_ns`` has just been replayed."""
        if itch_ts_ns is not None and (self._market_ts is None or itch_ts_ns >= self._market_ts):
            self._market_ts = itch_ts_ns
            self._at = self._wall()

    def __call__(self) -> int:
        if self._market_ts is None:
            return self._fallback()
        now = self._market_ts + int((self._wall() - self._at) * self.speed * 1e9)
        self._last = max(self._last, min(now, DAY_NS - 1))
        return self._last


class CaptureReplay:
    """Drive a capture into an :class:`ItchFeed` at the chosen speed."""

    def __init__(self, feed: ItchFeed, source: str | Path, *, speed: float = 1.0,
                 timestamps: Timestamps = "capture", max_gap: float | None = None,
                 symbols: Iterable[str] = (), clock: ReplayClock | None = None):
        if timestamps not in ("capture", "itch"):
            raise ValueError(f"timestamps must be 'capture' or 'itch', got {timestamps!r}")
        self.feed = feed
        self.source = Path(source)
        self.timestamps: Timestamps = timestamps
        self.pacer = Pacer(speed, max_gap_ns=None if max_gap is None else int(max_gap * 1e9))
        self.symbols = frozenset(symbols)
        self.clock = clock if clock is not None else ReplayClock(speed)
        self.stats: Counter[str] = Counter()
        self.done = asyncio.Event()
        self._locate_symbols: dict[int, str] = {}

    async def run(self) -> None:
        """Replay the whole capture, then set :attr:`done`."""
        try:
            for index, item in enumerate(read_capture(self.source, self.stats)):
                ts = item.capture_ts_ns if self.timestamps == "capture" else None
                if ts is None:
                    ts = item.itch_ts_ns
                delay = self.pacer.delay(ts)
                if delay > 0:
                    await asyncio.sleep(delay)
                elif index % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                if not self._wanted(item.message):
                    self.stats["filtered"] += 1
                    continue
                self.clock.advance(item.itch_ts_ns)
                self.feed.replay(item.message)
                self.stats["replayed"] += 1
        finally:
            self.done.set()

    def replay_all(self) -> None:
        """Replay the whole capture at once, without an event loop (tests, tools)."""
        for item in read_capture(self.source, self.stats):
            if self._wanted(item.message):
                self.clock.advance(item.itch_ts_ns)
                self.feed.replay(item.message)
                self.stats["replayed"] += 1
            else:
                self.stats["filtered"] += 1
        self.done.set()

    def _wanted(self, message: bytes) -> bool:
        """The symbol filter: messages of the chosen symbols and of no symbol (locate 0)."""
        if not self.symbols or len(message) < 3:
            return True
        locate = int.from_bytes(message[1:3], "big")
        field = _STOCK_FIELDS.get(message[:1])
        if locate and field is not None and len(message) >= field.offset + field.length:
            stock = message[field.offset:field.offset + field.length]
            self._locate_symbols.setdefault(locate, stock.decode("latin-1").rstrip(" "))
        return locate == 0 or self._locate_symbols.get(locate) in self.symbols
