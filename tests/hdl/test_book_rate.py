"""The book keeps up with the decoder's peak: each record kind, back to back, in fewer cycles
than its message takes on the 64-bit datapath (ITCH 5.0 §1.3.1 lengths, MoldUDP64 §3 prefix)."""

from __future__ import annotations

import functools

import pytest
from test_book_book import rec

from tick2trade.hdl.book import BookParams
from tick2trade.proto.itch import LENGTHS, PREFIX_LENGTH
from tick2trade.sim.model.hwbook.rtl import run_book

P = BookParams(order_bits=8, way_bits=2, symbols=2, window_bits=5)
N = 40
LOC = 9


def _adds():
    return [rec("A", k + 1, locate=LOC, ref=k + 1, side="BS"[k % 2],
                price=10_000 + 100 * (k % 24), shares=100) for k in range(N)]


def _kind(name: str) -> list:
    s = N + 1
    return {
        "A": [rec("A", s + k, locate=LOC, ref=N + k + 1, side="B", price=10_000 + 100 * (k % 24),
                  shares=5) for k in range(N)],
        "A-duplicate": [rec("A", s + k, locate=LOC, ref=k + 1, side="S", price=12_000,
                            shares=5) for k in range(N)],
        "A-unsubscribed": [rec("A", s + k, locate=3, ref=N + k + 1, side="B", price=10_000,
                               shares=5) for k in range(N)],
        "E": [rec("E", s + k, locate=LOC, ref=k + 1, shares=1) for k in range(N)],
        "X": [rec("X", s + k, locate=LOC, ref=k + 1, shares=1) for k in range(N)],
        "D": [rec("D", s + k, locate=LOC, ref=k + 1) for k in range(N)],
        "D-miss": [rec("D", s + k, locate=LOC, ref=1000 + k) for k in range(N)],
        "U": [rec("U", s + k, locate=LOC, ref=k + 1, new_ref=N + k + 1,
                  price=10_000 + 100 * (k % 24), shares=5) for k in range(N)],
    }[name]


@functools.cache
def _base_cycles() -> int:
    return run_book(P, [LOC], _adds()).cycles


@pytest.mark.parametrize("kind", ["A", "A-duplicate", "A-unsubscribed", "E", "X", "D", "D-miss",
                                  "U"])
def test_record_kind_faster_than_its_message_on_the_wire(kind):
    cycles = (run_book(P, [LOC], _adds() + _kind(kind)).cycles - _base_cycles()) / N
    wire = (LENGTHS[kind[0]] + PREFIX_LENGTH) / 8
    assert cycles < wire, f"{kind}: {cycles:.2f} cycles per record, the message takes {wire:.2f}"
    # the pipelined figures (docs/performance.md): a quote costs one cycle more, a
    # replace or a duplicate one or two more table cycles
    assert cycles <= {"A-duplicate": 3.6, "U": 3.1, "A-unsubscribed": 1.1, "D-miss": 1.1}.get(
        kind, 2.1)
