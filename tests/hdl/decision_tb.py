"""Shared helpers of the strategy/risk tests: records, tables, model and RTL side by side."""

from __future__ import annotations

from tick2trade.hdl.book.layouts import TopOfBook
from tick2trade.sim.decision_rtl import run_decision_path
from tick2trade.sim.model.decision_config import parse_decision_config, tables
from tick2trade.sim.model.hwbook.model import TobRecord
from tick2trade.sim.model.strategy.events import run_model
from tick2trade.sim.model.strategy.replay import load_model

assert {name for name, _ in TopOfBook.as_shape()} == set(TobRecord.__dataclass_fields__)

#: a taker that buys when bid_qty > ask_qty (num/den = 1/2), no cooldown, quoter off
TAKER_ONLY = {"taker": {"num": 1, "den": 2, "cooldown_ns": 0, "max_spread": 1_000, "size": 100},
              "quoter": {"enabled": 0}}


def tob(bid_px=10_000, bid_qty=300, ask_px=10_200, ask_qty=100, ts=1_000, seq=1, locate=1,
        bid_exact=1, ask_exact=1, hw_ts=0) -> TobRecord:
    return TobRecord(locate=locate, bid_px=bid_px, bid_qty=bid_qty, ask_px=ask_px,
                     ask_qty=ask_qty, bid_exact=bid_exact, ask_exact=ask_exact, ts=ts, seq=seq,
                     hw_ts=hw_ts)


def merge(base: dict, extra: dict) -> dict:
    out = {k: dict(v) for k, v in base.items()}
    for section, keys in extra.items():
        out.setdefault(section, {}).update(keys)
    return out


def decide(config: dict, events, locates=(1,), rtl=True, symbols=2, **timing):
    """Decisions of the model, checked equal (same orders, same order) to the gateware's."""
    cfg = parse_decision_config(config)
    model = load_model(cfg, list(locates), symbols)
    want = run_model(model, events)
    if rtl:
        strategy, risk, glob = tables(cfg, list(locates))
        got = run_decision_path(strategy, risk, glob, events, symbols=symbols, **timing)
        assert got.decisions == want
        assert got.counters == dict(model.counters)
    return want


def verdicts(decisions) -> list[str]:
    return [d.json()["verdict"] for d in decisions]
