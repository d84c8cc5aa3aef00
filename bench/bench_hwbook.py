"""Gateware order book: latency and sustained rate in cycles (C++ Verilator harness).

Drives a generated flow's records into ``Book(RTL_PARAMS)`` back to back
(no idle, output always ready) and prints:

* latency, cycles from a record's input handshake to each top-of-book
  record it caused: min / median / max, with the records back to back
  (they queue in front of the level pipeline) and offered at the flow's
  line rate (random idle gaps);
* sustained records per cycle over all book records, and at full
  subscription (only the records of the subscribed symbols), against the
  line-rate baseline: the messages per cycle a 64-bit, 156.25 MHz datapath
  receives when the same messages arrive at 10 Gb/s in full MoldUDP64
  packets;
* cycles per record of each kind, back to back in steady state;
* the simulation speed of the harness against the Python bit-exact model
  in this process.

Usage: ``.venv/bin/python bench/bench_hwbook.py [MESSAGES]`` (default 200 000).
"""

from __future__ import annotations

import statistics
import sys
import time

from tick2trade.sim.model.feed.records import RECORD_FIELD_NAMES, Record
from tick2trade.sim.model.generator import generate
from tick2trade.sim.model.hwbook import HwBookModel
from tick2trade.sim.model.hwbook.engine import RTL_PARAMS
from tick2trade.sim.model.hwbook.flow import BOOK_TYPE_CODES, busiest_locates, records_of
from tick2trade.sim.verilator.book import build_book_harness, run_book_harness

#: bytes per message on the wire besides the message: 2-byte MoldUDP64 length; per
#: 1472-byte packet, Ethernet + IPv4 + UDP + MoldUDP64 headers + preamble/IFG/FCS
_PACKET_OVERHEAD = 14 + 20 + 8 + 20 + 8 + 12 + 4


def line_rate_messages_per_cycle(messages: list[bytes]) -> float:
    """Messages per 8-byte cycle at 10 Gb/s, packed into 1472-byte MoldUDP64 payloads."""
    payload = sum(2 + len(m) for m in messages)
    packets = payload / (1472 - 20)
    return len(messages) / ((payload + packets * _PACKET_OVERHEAD) / 8)


_ZERO = Record(**dict.fromkeys(RECORD_FIELD_NAMES, 0))


def _rec(code: str, seq: int, **fields) -> Record:
    if "side" in fields:
        fields["side"] = ord(fields["side"])
    return _ZERO._replace(type=ord(code), seq=seq, locate=1, **fields)


def cycles_per_kind(params, count: int = 2000) -> dict[str, float]:
    """Cycles per record of each kind: extra cycles after ``count`` resting adds, per record."""
    adds = [_rec("A", k + 1, ref=k + 1, side="BS"[k % 2], price=10_000 + 100 * (k % 60),
                 shares=100) for k in range(count)]
    base = run_book_harness(params, [1], adds).cycles
    seq = count + 1
    kinds = {
        "add, new or existing level": [],
        "execute (partial), cancel": [_rec("E", seq + k, ref=k + 1, shares=1)
                                      for k in range(count)],
        "delete": [_rec("D", seq + k, ref=k + 1) for k in range(count)],
        "replace": [_rec("U", seq + k, ref=k + 1, new_ref=count + k + 1,
                         price=10_000 + 100 * (k % 60), shares=5) for k in range(count)],
        "add of a live reference (duplicate)": [
            _rec("A", seq + k, ref=k + 1, side="B", price=10_000, shares=1) for k in range(count)],
        "reference miss": [_rec("D", seq + k, ref=10 * count + k) for k in range(count)],
        "add of an unsubscribed locate": [
            _rec("A", seq + k, ref=10 * count + k, side="B", price=10_000, shares=1)._replace(
                locate=2) for k in range(count)],
        "pass (R, H, ...)": [_rec("H", seq + k) for k in range(count)],
    }
    out = {"add, new or existing level": base / count}
    for name, extra in kinds.items():
        if extra:
            out[name] = (run_book_harness(params, [1], adds + extra).cycles - base) / count
    return out


def main(n: int) -> None:
    params = RTL_PARAMS
    messages = list(generate(n, symbols=100, seed=5, orders_per_symbol=100))
    records = [r for r in records_of(messages) if r.type in BOOK_TYPE_CODES]
    subs = busiest_locates(records, params.symbols)
    subscribed = sum(1 for r in records if r.locate in set(subs))

    started = time.perf_counter()
    model = HwBookModel(params, subs)
    for r in records:
        model.push(r)
    model_s = time.perf_counter() - started

    _, built = build_book_harness(params)
    run = run_book_harness(params, subs, records)
    lat = sorted(run.latencies)
    line = line_rate_messages_per_cycle(messages)
    rate_all = len(records) / run.cycles
    print(f"book {params}")
    print(f"flow: {n:,} messages, {len(records):,} book records, {subscribed:,} of the "
          f"{len(subs)} subscribed symbols; {len(run.tops):,} top-of-book records")
    print(f"latency (record in -> top out), cycles: min {lat[0]}, median "
          f"{statistics.median(lat):.0f}, max {lat[-1]}  "
          f"(at 156.25 MHz: {lat[0] * 6.4:.1f} / {statistics.median(lat) * 6.4:.1f} / "
          f"{lat[-1] * 6.4:.1f} ns)")
    print(f"sustained: {rate_all:.4f} records/cycle ({1 / rate_all:.2f} cycles per record, "
          f"{rate_all * 156.25:.1f} M records/s at 156.25 MHz)")
    print(f"baseline, 10 GbE line rate of this flow: {line:.4f} messages/cycle -> the book "
          f"sustains {rate_all / line:.2f}x line rate")
    wanted = set(subs)
    full = [r for r in records if r.locate in wanted]
    full_run = run_book_harness(params, subs, full)
    full_rate = len(full) / full_run.cycles
    full_line = line_rate_messages_per_cycle([messages[r.seq - 1] for r in full])
    print(f"full subscription ({len(full):,} records, all subscribed): {full_rate:.4f} "
          f"records/cycle ({1 / full_rate:.2f} cycles per record); line rate of these "
          f"messages {full_line:.4f}/cycle -> {full_rate / full_line:.2f}x line rate")
    idle = 100 - round(100 * line)
    paced = run_book_harness(params, subs, records, idle_percent=idle)
    lat = sorted(paced.latencies)
    print(f"latency with the records offered at line rate (random gaps, {idle} % idle), "
          f"cycles: min {lat[0]}, median {statistics.median(lat):.0f}, max {lat[-1]}  "
          f"(99th percentile {lat[len(lat) * 99 // 100]})")
    print("cycles per record, back to back:")
    for kind, cycles in cycles_per_kind(params).items():
        print(f"  {kind:40s} {cycles:.2f}")
    print(f"simulation: harness {len(records) / run.wall_seconds:,.0f} records/s, "
          f"Python model {len(records) / model_s:,.0f} records/s "
          f"({model_s / run.wall_seconds:.1f}x); harness build {built:.0f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
