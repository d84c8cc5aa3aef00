"""Replay a capture or an ITCH file into a book: the engines behind ``t2t replay``.

Input is a pcap/pcapng of MoldUDP64 ITCH (every UDP datagram that parses as
MoldUDP64, MoldUDP64 §2) or an ITCH BinaryFILE (ITCH 5.0 §1). An input cut
off in its last record (a capture stopped mid-write) is replayed up to the
cut, which is reported; an input with no readable record is an error. Packets go
through the sequencing model (gaps and duplicates counted, MoldUDP64 §5),
then their messages through the book. An engine is one function from a
:class:`ReplayInput` to a :class:`ReplayResult`; :data:`ENGINES` names them
(the RTL engine will be one more entry).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tick2trade.proto import itch
from tick2trade.proto.binaryfile import END_OF_SESSION, read_binaryfile
from tick2trade.proto.capture import CaptureStats, iter_mold
from tick2trade.proto.errors import ProtocolError, TruncatedError
from tick2trade.proto.pcap import MAGIC_NS, MAGIC_US, PCAPNG_SHB
from tick2trade.sim.model.book import OrderBook
from tick2trade.sim.model.sequencer import MoldSequencer, SequencerStats

PCAP = "pcap"
BINARYFILE = "binaryfile"

_PCAP_MAGICS = {m.to_bytes(4, order) for m in (MAGIC_US, MAGIC_NS, PCAPNG_SHB)
                for order in ("little", "big")}
#: bytes a captured MoldUDP64 packet adds around its payload: pcap record, Ethernet, IPv4, UDP
_FRAME_OVERHEAD = 16 + 14 + 20 + 8
_BATCH = 65_536


class ReplayInputError(ValueError):
    """The input is missing, unreadable, or neither a capture nor an ITCH BinaryFILE."""


@dataclass(frozen=True)
class ReplayInput:
    """A checked input file and its kind (``pcap`` or ``binaryfile``)."""

    path: Path
    kind: str
    size: int


@dataclass
class ReplayResult:
    """What an engine produced: the final book and every counter."""

    book: OrderBook
    kind: str
    messages: int
    elapsed_s: float
    sequencer: SequencerStats | None = None
    capture: CaptureStats | None = None
    #: why the input ended early (a record cut short), None if it was read to its end
    cut_off: str | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.elapsed_s if self.elapsed_s > 0 else 0.0


def open_input(path: str | Path) -> ReplayInput:
    """Check ``path`` and tell a capture from a BinaryFILE by its first bytes."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(64)
        size = path.stat().st_size
    except FileNotFoundError:
        raise ReplayInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ReplayInputError(f"{path}: is a directory, expected a file") from None
    except OSError as error:
        raise ReplayInputError(f"{path}: cannot read: {error.strerror}") from None
    if not head:
        raise ReplayInputError(f"{path}: empty file, expected a pcap/pcapng or ITCH BinaryFILE")
    if head[:4] in _PCAP_MAGICS:
        return ReplayInput(path, PCAP, size)
    if head == END_OF_SESSION:  # a BinaryFILE of an empty session
        return ReplayInput(path, BINARYFILE, size)
    try:
        _check_first_frame(path)
    except ProtocolError as error:
        raise ReplayInputError(f"{path}: neither a pcap/pcapng nor an ITCH BinaryFILE "
                               f"({error})") from None
    return ReplayInput(path, BINARYFILE, size)


def _check_first_frame(path: Path) -> None:
    """The first record must be a whole, valid ITCH message (ITCH 5.0 §2)."""
    with open(path, "rb") as f:
        head = f.read(2 + 0xFFFF)
    itch.check_frame(memoryview(head), 0)


Progress = Callable[[int], None]


def run_model(source: ReplayInput, advance: Progress = lambda n: None) -> ReplayResult:
    """The Python reference model: sequencer (pcap only) then :class:`OrderBook`.

    ``advance(n)`` is called as input bytes are consumed (for a progress bar).
    """
    book = OrderBook()
    start = time.perf_counter()
    sequencer = capture = cut_off = None
    try:
        if source.kind == PCAP:
            sequencer, capture = _replay_pcap(source.path, book, advance)
            if capture.errors and not capture.frames:
                raise ReplayInputError(f"{source.path}: corrupt pcap: no readable frame "
                                       f"({capture.errors[0]})")
        else:
            cut_off = _replay_binaryfile(source.path, book, advance)
    except ProtocolError as error:
        raise ReplayInputError(f"{source.path}: corrupt {source.kind}: {error}") from None
    elapsed = time.perf_counter() - start
    return ReplayResult(book, source.kind, book.stats.messages, elapsed, sequencer, capture,
                        cut_off)


def _replay_pcap(path: Path, book: OrderBook, advance: Progress):
    sequencer = MoldSequencer()
    packets = iter_mold(path)
    deliverable, apply = sequencer.deliverable, book.apply_raw_many
    pending = 0
    for captured in packets:
        packet = captured.packet
        _first, messages = deliverable(packet)
        if messages:
            apply(messages)
        pending += _FRAME_OVERHEAD + packet.encoded_len
        if pending >= 1 << 20:
            advance(pending)
            pending = 0
    advance(pending)
    return sequencer.stats, packets.stats


def _replay_binaryfile(path: Path, book: OrderBook, advance: Progress) -> str | None:
    """Replay every whole record; a last record cut short ends the replay (returned)."""
    cut: list[str] = []
    messages = _until_cut(read_binaryfile(path), cut)
    while batch := list(itertools.islice(messages, _BATCH)):
        book.apply_raw_many(batch)
        advance(sum(map(len, batch)) + 2 * len(batch))
    return cut[0] if cut else None


def _until_cut(messages, cut: list[str]):
    try:
        yield from messages
    except TruncatedError as error:
        cut.append(str(error))


#: replay engines by name (``t2t replay --engine``)
ENGINES: dict[str, Callable[..., ReplayResult]] = {"model": run_model}
