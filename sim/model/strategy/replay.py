"""``t2t replay --config --orders-out``: a capture through book and decision path.

Messages come numbered by their MoldUDP64 sequence number (unsequenced
packets: the message's index in its packet, as the gateware ITCH decoder
numbers them; ITCH BinaryFILE: position from 1), go through the gateware book
model (:class:`~tick2trade.sim.model.hwbook.HwBookModel`), and every
top-of-book record through :class:`DecisionModel`. A sequencing gap is a feed
gap for the kill switch. No venue is attached: an IOC order expires unfilled
the moment it is sent, the quoter's orders are accepted the moment they are
sent (docs/strategy.md, "Replay semantics"). The ``rtl`` engine runs the
composed gateware core from XGMII to OUCH bytes instead
(:mod:`tick2trade.sim.core_rtl`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
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
from .events import Gap, run_model

__all__ = ["GAP", "OrdersReplay", "directory", "feed_events", "subscriptions", "replay_decisions",
           "replay_orders", "load_model", "write_orders"]

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
                    yield record_from_message(bytes(msg), seq=(first or 0) + n)
    else:
        for seq, msg in enumerate(read_binaryfile(source.path), 1):
            if msg and msg[0] in _RECORD_CODES:
                yield record_from_message(bytes(msg), seq=seq)


def directory(records: list) -> dict[int, str]:
    """Locate → symbol of the Stock Directory records (ITCH 5.0 §3.2), first entry wins."""
    names: dict[int, str] = {}
    for r in records:
        if r is not GAP and r.type == _R:
            name = r.symbol.to_bytes(8, "little").decode("ascii", "replace").rstrip()
            names.setdefault(r.locate, name)
    return names


def subscriptions(records: list, config: DecisionConfig, symbols: int) -> list[int]:
    """Locates of the slots: ``[symbols] subscribe`` by the stock directory (ITCH 5.0
    §1.3.1 ``R``), or the busiest locates when the list is empty."""
    names = config.symbols.subscribe
    if not names:
        return busiest_locates((r for r in records if r is not GAP), symbols)
    if len(names) > symbols:
        raise DecisionConfigError(f"symbols.subscribe: {len(names)} symbols, at most {symbols}")
    by_name: dict[str, int] = {}
    for locate, name in directory(records).items():
        by_name.setdefault(name, locate)
    missing = [n for n in names if n not in by_name]
    if missing:
        raise DecisionConfigError(f"symbols.subscribe: {', '.join(missing)} not in the input's "
                                  "stock directory")
    return [by_name[n] for n in names]


@dataclass
class OrdersReplay:
    """What :func:`replay_orders` produced: decisions, counters and (rtl) cycles."""

    decisions: list[Decision]
    counters: dict
    engine: str
    records: int
    tops: int
    #: per decision, rtl only: cycles from the top-of-book record to the order's first byte
    cycles: list[int] | None = None
    #: per decision, rtl only: cycles from the last byte of the triggering ITCH message on
    #: XGMII RX to the order's first OUCH byte (None for a reject)
    t2t_cycles: list[int | None] | None = None
    #: rtl only: idle cycles between packets if the run had to be paced (else 0)
    pace: int = 0

    def lines(self):
        """The ``--orders-out`` JSON objects (docs/strategy.md, "Replay output")."""
        for n, decision in enumerate(self.decisions):
            line = decision.json()
            if self.cycles is not None:
                line["cycles"] = self.cycles[n]
            if self.t2t_cycles is not None:
                line["t2t_cycles"] = self.t2t_cycles[n]
            yield line


def replay_decisions(source: ReplayInput, config: DecisionConfig,
                     book_params: BookParams | None = None) -> tuple[list[Decision], dict]:
    """Every order and reject of the model engine, and the risk counters."""
    result = replay_orders(source, config, "model", book_params)
    return result.decisions, result.counters


def replay_orders(source: ReplayInput, config: DecisionConfig, engine: str = "model",
                  book_params: BookParams | None = None) -> OrdersReplay:
    """The input through book and decision path of ``engine``.

    ``model``: the book model and :class:`DecisionModel`. ``rtl``: the
    composed gateware core (:class:`~tick2trade.hdl.core.TradingCore`) under
    Verilator, from the input's frames on XGMII to OUCH bytes, configured
    through its control plane with the same subscriptions and rows.
    """
    if engine not in ("model", "rtl"):
        raise ValueError(f"unknown engine {engine!r}")
    book_params = book_params or BookParams()
    records = list(feed_events(source))
    locates = subscriptions(records, config, book_params.symbols)
    if engine == "rtl":
        return _replay_rtl(source, config, book_params, records, locates)
    book = HwBookModel(book_params, locates)
    events = []
    for r in records:
        if r is GAP:
            events.append(Gap())
        else:
            events += book.push(r)
    tops = len(events) - records.count(GAP)
    n_records = len(records) - records.count(GAP)
    model = load_model(config, locates, book_params.symbols)
    return OrdersReplay(run_model(model, events), dict(model.counters), engine, n_records, tops)


def _replay_rtl(source: ReplayInput, config: DecisionConfig, book_params: BookParams,
                records: list, locates: list[int]) -> OrdersReplay:
    """The ``rtl`` engine: the input's frames through the composed core."""
    from tick2trade.sim.core_rtl import run_core
    from tick2trade.sim.feed_engine import input_frames, replay_config

    frames = input_frames(source.path)
    run = run_core(frames, replay_config(frames), config, locates, directory(records),
                   book_params)
    return OrdersReplay(run.decisions, run.counters, "rtl", run.feed_counters["stats__records"],
                        run.book_counters["tob"], run.cycles, run.t2t_cycles, run.pace)


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
