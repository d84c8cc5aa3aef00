"""Read-modify-write hazards of the pipelined book, back to back, against the model.

Each sequence puts records on the same order reference, level, (slot, side)
state or published top right behind each other, so they are in the
pipeline together (``hdl/book/book.py`` docstring: table stage, level
pipeline, publish stage). Every sequence runs with the input at full rate,
with random idle gaps, and with back-pressure on the output, and is
compared with :class:`HwBookModel` record by record (tops, counters,
published tops and levels read back). At full rate the sequence must
also finish in few cycles per record, so the records really overlapped.
"""

from __future__ import annotations

import random

import pytest
from test_book_book import check_against_model, rec

from tick2trade.hdl.book import BookParams
from tick2trade.sim.model.hwbook import HwBookModel
from tick2trade.sim.model.hwbook.rtl import run_book

#: (idle probability on the input, stall probability on the output)
TIMINGS = [(0.0, 0.0), (0.3, 0.0), (0.0, 0.5), (0.3, 0.4)]
TIMING_IDS = ["full-rate", "gaps", "backpressure", "gaps+backpressure"]

#: one symbol per slot, 8-tick windows of $0.01, a table of 16 entries in 2-way sets
SMALL = BookParams(order_bits=4, way_bits=1, symbols=2, window_bits=3)
LOC, OTHER = 9, 12
B, S = "B", "S"


def add(seq, ref, side, price, shares, locate=LOC):
    return rec("A", seq, locate=locate, ref=ref, side=side, price=price, shares=shares)


#: references whose sets in both banks are the same: the fifth finds both sets full
_SAME_SETS = [r for r in range(1, 4000)
              if all(SMALL.set_of(r, b) == SMALL.set_of(1, b) for b in (0, 1))][:7]

SEQUENCES = {
    # order table: the lookup of a record reads the entry the previous one just wrote
    "add-then-delete-same-ref": [
        add(1, 7, B, 10_000, 300), rec("D", 2, locate=LOC, ref=7),
        add(3, 7, S, 10_100, 30), rec("E", 4, locate=LOC, ref=7, shares=10),
        rec("X", 5, locate=LOC, ref=7, shares=20), rec("C", 6, locate=LOC, ref=7, shares=1),
    ],
    "replace-then-execute-new-ref": [
        add(1, 7, B, 10_000, 300),
        rec("U", 2, locate=LOC, ref=7, new_ref=8, price=10_100, shares=200),
        rec("E", 3, locate=LOC, ref=8, shares=50),
        rec("U", 4, locate=LOC, ref=8, new_ref=8, price=10_200, shares=60),   # in place
        rec("U", 5, locate=LOC, ref=8, new_ref=9, price=10_200, shares=70),
        rec("D", 6, locate=LOC, ref=9), rec("E", 7, locate=LOC, ref=8, shares=1),  # miss
    ],
    # one level: back-to-back read-modify-writes of the same (slot, side, tick)
    "same-level": [
        add(1, 1, B, 10_000, 100), add(2, 2, B, 10_000, 200), add(3, 3, B, 10_000, 300),
        rec("E", 4, locate=LOC, ref=2, shares=200), rec("D", 5, locate=LOC, ref=1),
        add(6, 4, B, 10_000, 5), rec("D", 7, locate=LOC, ref=3), rec("D", 8, locate=LOC, ref=4),
        add(9, 5, B, 10_000, 7),
    ],
    # the best level empties: the quote reads the next best while the record behind
    # it writes that same level
    "best-empties-next-best-written": [
        add(1, 1, S, 10_000, 10), add(2, 2, S, 10_100, 20), add(3, 3, S, 10_200, 30),
        rec("D", 4, locate=LOC, ref=1), add(5, 4, S, 10_100, 5),
        rec("D", 6, locate=LOC, ref=2), rec("E", 7, locate=LOC, ref=4, shares=5),
        rec("C", 8, locate=LOC, ref=3, shares=29), rec("X", 9, locate=LOC, ref=3, shares=1),
    ],
    # one (slot, side) state: window moves, orders below/above it, off the grid, lost
    "same-side-window-state": [
        add(1, 1, B, 10_000, 10), add(2, 2, B, 10_700, 10),      # moves the window up
        add(3, 3, B, 9_000, 10),                                  # below: counted low
        add(4, 4, B, 11_500, 10),                                 # above, cannot move
        rec("D", 5, locate=LOC, ref=1), add(6, 5, B, 10_750, 10),  # off the grid
        rec("D", 7, locate=LOC, ref=4), rec("D", 8, locate=LOC, ref=2),
        add(9, 6, B, 20_000, 10), rec("D", 10, locate=LOC, ref=5),
        rec("D", 11, locate=LOC, ref=3), rec("D", 12, locate=LOC, ref=6),
        add(13, 7, B, 5_000, 1),                                   # empty window re-centres
    ],
    # one slot's published top: bid and ask changes of one symbol back to back, and a
    # top that goes back to its previous value (published again: it changed twice)
    "same-slot-published-top": [
        add(1, 1, B, 10_000, 10), add(2, 2, S, 10_100, 10), add(3, 3, B, 10_000, 5),
        rec("D", 4, locate=LOC, ref=3), add(5, 4, S, 10_050, 1), rec("D", 6, locate=LOC, ref=4),
        add(7, 5, B, 10_000, 0), rec("E", 8, locate=LOC, ref=1, shares=0),   # no change
        add(9, 6, B, 10_000, 1, locate=OTHER), add(10, 7, S, 10_000, 1, locate=OTHER),
        rec("D", 11, locate=LOC, ref=2), rec("D", 12, locate=OTHER, ref=6),
    ],
    # one record, several operations: duplicates on the same side, the other side,
    # another slot; replaces whose new reference is live
    "duplicates-and-replace-onto-live-ref": [
        add(1, 1, B, 10_000, 10), add(2, 1, B, 10_100, 20),             # same side
        add(3, 1, S, 10_200, 30),                                        # other side
        add(4, 1, B, 10_000, 40, locate=OTHER),                          # other slot
        add(5, 2, S, 10_300, 5),
        rec("U", 6, locate=OTHER, ref=1, new_ref=2, price=10_000, shares=6),  # dup elsewhere
        add(7, 3, B, 9_900, 7, locate=OTHER),
        rec("U", 8, locate=OTHER, ref=2, new_ref=3, price=9_900, shares=8),   # dup same side
        add(9, 4, S, 10_100, 9, locate=OTHER),
        rec("U", 10, locate=OTHER, ref=3, new_ref=4, price=9_800, shares=9),  # dup other side
        add(11, 5, B, 10_000, 1),
        rec("U", 12, locate=LOC, ref=5, new_ref=4, price=10_000, shares=0),   # dup, 0 shares
        add(13, 1, B, 10_000, 0, locate=OTHER), add(14, 6, B, 10_000, 1, locate=3),
    ],
    # table sets full: a dropped add marks its side lost, right behind other records
    "collision-then-same-side": [
        *[add(k, ref, B, 10_000 + 100 * k, 1) for k, ref in enumerate(_SAME_SETS[:5], 1)],
        rec("D", 6, locate=LOC, ref=_SAME_SETS[0]), add(7, _SAME_SETS[5], B, 10_000, 1),
        add(8, _SAME_SETS[6], S, 10_000, 1),
    ],
}


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
@pytest.mark.parametrize("name", list(SEQUENCES))
def test_hazard_sequence(name, idle, stall):
    records = SEQUENCES[name]
    check_against_model(SMALL, [LOC, OTHER], records, idle, stall)
    if not idle and not stall:
        run = run_book(SMALL, [LOC, OTHER], records)
        assert run.cycles <= 3 * len(records) + 12, "records did not overlap"


def test_sequences_exercise_what_they_name():
    """The events each hazard sequence is meant to cause do happen in the model."""
    def counters(name):
        model = HwBookModel(SMALL, [LOC, OTHER])
        for r in SEQUENCES[name]:
            model.push(r)
        return model.counters
    assert counters("same-side-window-state")["shifts"] >= 2
    assert counters("same-side-window-state")["out_of_window"] >= 2
    assert counters("same-side-window-state")["off_grid"] == 1
    assert counters("duplicates-and-replace-onto-live-ref")["duplicates"] >= 6
    assert counters("collision-then-same-side")["collisions"] >= 1
    assert counters("replace-then-execute-new-ref")["misses"] == 1


def random_records(rng: random.Random, n: int) -> list:
    """Records over few references, prices and two subscribed locates: every hazard, often."""
    out, seq = [], 0
    for _ in range(n):
        seq += 1
        kind = rng.choices("AEXCDU", weights=[8, 2, 1, 1, 3, 3])[0]
        locate = rng.choice([LOC, LOC, OTHER, 3])
        ref = rng.randrange(1, 14)
        price = 10_000 + 100 * rng.randrange(-6, 7) + (50 if rng.random() < 0.03 else 0)
        shares = rng.choice([0, 1, 5, 10, 100]) if rng.random() < 0.1 else rng.randrange(1, 60)
        if kind == "A":
            out.append(add(seq, ref, rng.choice("BBSS" + ("X" if rng.random() < 0.05 else "")),
                           price, shares, locate))
        elif kind == "D":
            out.append(rec("D", seq, locate=locate, ref=ref))
        elif kind == "U":
            out.append(rec("U", seq, locate=locate, ref=ref, new_ref=rng.randrange(1, 14),
                           price=price, shares=shares))
        else:
            out.append(rec(kind, seq, locate=locate, ref=ref, shares=shares))
    return out


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
@pytest.mark.parametrize("seed", [1, 2])
def test_random_back_to_back_records(seed, idle, stall):
    check_against_model(SMALL, [LOC, OTHER], random_records(random.Random(seed), 250),
                        idle, stall)
