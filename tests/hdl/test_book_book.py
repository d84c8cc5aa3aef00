"""The gateware book against its bit-exact model: same tops, same counters, same levels."""

from __future__ import annotations

import pytest
from feed_streams import TIMING_IDS, TIMINGS

from tick2trade.hdl.book import BookParams
from tick2trade.proto.binaryfile import read_binaryfile
from tick2trade.sim.model.feed.records import RECORD_FIELD_NAMES, Record
from tick2trade.sim.model.generator import generate
from tick2trade.sim.model.hwbook import HwBookModel
from tick2trade.sim.model.hwbook.flow import busiest_locates, records_of
from tick2trade.sim.model.hwbook.rtl import run_book

_ZERO = Record(**dict.fromkeys(RECORD_FIELD_NAMES, 0))


def rec(type_code: str, seq: int, **fields) -> Record:
    if "side" in fields:
        fields["side"] = ord(fields["side"])
    return _ZERO._replace(type=ord(type_code), seq=seq, **fields)


def check_against_model(params, subs, records, idle=0.0, stall=0.0):
    model = HwBookModel(params, subs)
    want = [t for r in records for t in model.push(r)]
    run = run_book(params, subs, records, idle=idle, stall=stall, read_back=True)
    assert run.tops == want
    assert run.counters == model.counters
    for slot in range(len(subs)):
        assert run.published[slot] == model.published[slot]
        for ask in (0, 1):
            assert run.levels[(slot, ask)] == model.levels(slot, ask)
    return model


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_generated_flow_matches_model(idle, stall):
    """Small table and 8-tick windows: collisions, shifts and out-of-window all happen."""
    messages = list(generate(400, symbols=5, seed=3, orders_per_symbol=12))
    records = list(records_of(messages))
    subs = busiest_locates(records, 3)
    params = BookParams(order_bits=5, way_bits=1, symbols=4, window_bits=3)
    model = check_against_model(params, subs, records, idle, stall)
    c = model.counters
    assert c["shifts"] and c["out_of_window"] and c["collisions"] and c["tob"] > 20


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_back_to_back_hazards_on_one_order_and_level(idle, stall):
    """Each record reads what the previous one wrote: same reference, same level, same set."""
    B = "B"
    records = [
        rec("A", 1, locate=9, ref=7, side=B, price=10_000, shares=300),
        rec("E", 2, locate=9, ref=7, shares=100),            # same order, just written
        rec("X", 3, locate=9, ref=7, shares=50),
        rec("A", 4, locate=9, ref=8, side=B, price=10_000, shares=10),   # same level
        rec("C", 5, locate=9, ref=8, shares=10, price=1),    # level back to one order
        rec("U", 6, locate=9, ref=7, new_ref=9, price=10_100, shares=40),
        rec("U", 7, locate=9, ref=9, new_ref=9, price=10_000, shares=41),  # replace in place
        rec("A", 8, locate=9, ref=9, side="S", price=10_200, shares=5),    # duplicate add
        rec("D", 9, locate=9, ref=9),
        rec("D", 10, locate=9, ref=9),                        # now a miss
        rec("A", 11, locate=9, ref=10, side="S", price=10_250, shares=5),  # off the grid
        rec("D", 12, locate=9, ref=10),
    ]
    params = BookParams(order_bits=3, way_bits=0, symbols=2, window_bits=3)
    model = check_against_model(params, [9], records, idle, stall)
    c = model.counters
    assert (c["duplicates"], c["misses"], c["off_grid"]) == (1, 1, 1)


def test_real_capture_records_match_model(captures_dir):
    messages = list(read_binaryfile(captures_dir / "sample.itch"))
    records = list(records_of(messages))
    subs = busiest_locates(records, 4)
    params = BookParams(order_bits=8, way_bits=2, symbols=4, window_bits=5)
    check_against_model(params, subs, records)
