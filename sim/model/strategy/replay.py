"""``t2t replay --config --orders-out``: a capture through book and decision path.

Messages come numbered by their MoldUDP64 sequence number (unsequenced
packets: 0; ITCH BinaryFILE: position from 1), go through the gateware book
model (:class:`~tick2trade.sim.model.hwbook.HwBookModel`), and every
top-of-book record through :class:`DecisionModel`. A sequencing gap is a feed
gap for the kill switch. No venue is attached: an IOC order expires unfilled
the moment it is sent, the quoter's orders are accepted the moment they are
sent (docs/strategy.md, "Replay semantics").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from tick2trade.hdl.book.layouts import BookParams
from tick2trade.hdl.feed.layouts import RECORD_TYPES
from tick2trade.proto.binaryfile import read_binaryfile
from tick2trade.proto.capture import iter_mold
from tick2trade.sim.model.decision_config import DecisionConfig, DecisionConfigError, tables
from tick2trade.sim.model.feed.records import record_from_message
from tick2trade.sim.model.hwbook.flow import busiest_locates
from tick2trade.sim.model.hwbook.model import HwBookModel
from tick2trade.sim.model.replay import PCAP, ReplayInput
from tick2trade.sim.model.sequencer import MoldSequencer

from .decision import Decision, DecisionModel

__all__ = ["GAP", "feed_events", "subscriptions", "replay_decisions", "load_model", "write_orders"]

#: a feed-gap marker among the records of :func:`feed_events`
GAP = None
_RECORD_CODES = frozenset(ord(c) for c in RECORD_TYPES)
_R = ord("R")


def feed_events(source: ReplayInput) -> Iterator:
    """The input's feed records in order, with :data:`GAP` where the sequence jumped."""
    if source.kind == PCAP:
        sequencer = MoldSequencer()
        for captured in iter_mold(source.path):
            gaps = sequencer.stats.gaps
            first, messages = sequencer.deliverable(captured.packet)
            if sequencer.stats.gaps != gaps:
                yield GAP
            for n, msg in enumerate(messages):
                if msg and msg[0] in _RECORD_CODES:
                    yield record_from_message(bytes(msg), seq=0 if first is None else first + n)
    else:
        for seq, msg in enumerate(read_binaryfile(source.path), 1):
            if msg and msg[0] in _RECORD_CODES:
                yield record_from_message(bytes(msg), seq=seq)


def subscriptions(records: list, config: DecisionConfig, symbols: int) -> list[int]:
    """Locates of the slots: ``[symbols] subscribe`` by the stock directory (ITCH 5.0
    §1.3.1 ``R``), or the busiest locates when the list is empty."""
    names = config.symbols.subscribe
    if not names:
        return busiest_locates((r for r in records if r is not GAP), symbols)
    if len(names) > symbols:
        raise DecisionConfigError(f"symbols.subscribe: {len(names)} symbols, at most {symbols}")
    directory = {}
    for r in records:
        if r is not GAP and r.type == _R:
            name = r.symbol.to_bytes(8, "little").decode("ascii", "replace").rstrip()
            directory.setdefault(name, r.locate)
    missing = [n for n in names if n not in directory]
    if missing:
        raise DecisionConfigError(f"symbols.subscribe: {', '.join(missing)} not in the input's "
                                  "stock directory")
    return [directory[n] for n in names]


def replay_decisions(source: ReplayInput, config: DecisionConfig,
                     book_params: BookParams | None = None) -> tuple[list[Decision], dict]:
    """Every order and reject of the model engine, and the risk counters."""
    book_params = book_params or BookParams()
    records = list(feed_events(source))
    locates = subscriptions(records, config, book_params.symbols)
    book = HwBookModel(book_params, locates)
    model = load_model(config, locates, book_params.symbols)
    decisions = []
    for r in records:
        if r is GAP:
            model.gap()
            continue
        for tob in book.push(r):
            decisions += model.on_tob(tob)
    return decisions, dict(model.counters)


def load_model(config: DecisionConfig, locates: list[int], symbols: int) -> DecisionModel:
    """A model with the config's tables written for ``locates`` (slot = position)."""
    model = DecisionModel(symbols)
    strategy, risk, glob = tables(config, locates)
    for slot, (s, r) in enumerate(zip(strategy, risk, strict=True)):
        model.write_strategy(slot, **s)
        model.write_risk(slot, **r)
    model.set_globals(**glob)
    return model


def write_orders(path: Path, lines) -> int:
    """One JSON object per line (docs/strategy.md, "Replay output"); returns the count."""
    n = 0
    with open(path, "w") as f:
        for line in lines:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
            n += 1
    return n
