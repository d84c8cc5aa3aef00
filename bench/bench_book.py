"""ITCH decoding and book-building throughput: fast paths against a baseline.

Generates a seeded synthetic flow (``sim/model/generator.py``, 5 M messages
by default) as a BinaryFILE, then measures in the same run, each stage in a
forked child so that its peak memory is its own:

- decode: dataclass decoding per message (``proto.itch.decode``, the
  baseline), splitting into raw messages only (``read_binaryfile``), and the
  numpy bulk decoder (``proto.itch_bulk``);
- book: the baseline (dataclass decode, then a straightforward dict book
  written out below), the model's reference path (``OrderBook.apply``, which
  also reports changed levels), and the fast path (``OrderBook.apply_raw_many``
  on raw messages) both from the file and on messages already split.

Every book is checked equal to the fast path's at the end. Rates are
messages per CPU second of the measuring process (one core) and per wall
second; the machine is shared, so the ratios are the stable figures.

Usage: ``.venv/bin/python bench/bench_book.py [--messages N] [--symbols K] [--seed S]``
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tick2trade.proto import itch, itch_bulk
from tick2trade.proto.binaryfile import read_binaryfile
from tick2trade.sim.model.book import OrderBook
from tick2trade.sim.model.feed_writer import write_binaryfile_flow
from tick2trade.sim.model.generator import FlowConfig, FlowGenerator
from tick2trade.sim.model.snapshot import book_records


class BaselineBook:
    """A straightforward dict book over decoded messages: what one writes first."""

    def __init__(self):
        self.orders: dict[int, list] = {}   # ref → [locate, side, price, shares]
        self.levels: dict[tuple, dict] = {}  # (locate, side) → {price: [shares, orders]}
        self.symbols: dict[int, str] = {}

    def _level_add(self, locate, side, price, shares):
        lvl = self.levels.setdefault((locate, side), {}).setdefault(price, [0, 0])
        lvl[0] += shares
        lvl[1] += 1

    def _level_sub(self, o, shares, remove):
        levels = self.levels[(o[0], o[1])]
        lvl = levels[o[2]]
        lvl[0] -= shares
        if remove:
            lvl[1] -= 1
            if lvl[1] == 0:
                del levels[o[2]]

    def apply(self, msg) -> None:
        if isinstance(msg, itch.AddOrder | itch.AddOrderMpid):
            self.orders[msg.order_ref] = [msg.stock_locate, msg.side, msg.price, msg.shares]
            self._level_add(msg.stock_locate, msg.side, msg.price, msg.shares)
        elif isinstance(msg, itch.OrderExecuted | itch.OrderExecutedWithPrice | itch.OrderCancel):
            o = self.orders.get(msg.order_ref)
            if o is not None:
                n = min(o[3], msg.cancelled_shares if isinstance(msg, itch.OrderCancel)
                        else msg.executed_shares)
                o[3] -= n
                self._level_sub(o, n, o[3] == 0)
                if o[3] == 0:
                    del self.orders[msg.order_ref]
        elif isinstance(msg, itch.OrderDelete):
            o = self.orders.pop(msg.order_ref, None)
            if o is not None:
                self._level_sub(o, o[3], True)
        elif isinstance(msg, itch.OrderReplace):
            o = self.orders.pop(msg.original_order_ref, None)
            if o is not None:
                self._level_sub(o, o[3], True)
                self.orders[msg.new_order_ref] = [o[0], o[1], msg.price, msg.shares]
                self._level_add(o[0], o[1], msg.price, msg.shares)
        elif isinstance(msg, itch.StockDirectory):
            self.symbols[msg.stock_locate] = msg.stock

    def snapshot(self) -> dict:
        return {k: {p: tuple(v) for p, v in lv.items()} for k, lv in self.levels.items() if lv}


def model_snapshot(book: OrderBook) -> dict:
    out = {}
    for record in book_records(book, depth=1 << 30):
        for side, key in (("B", "bids"), ("S", "asks")):
            if record[key]:
                out[(record["locate"], side)] = {p: (q, n) for p, q, n in record[key]}
    return out


# ---------------------------------------------------------------- stages

def decode_dataclasses(path: Path):
    decode = itch.decode
    for raw in read_binaryfile(path):
        decode(raw)


def split_raw(path: Path):
    for _ in read_binaryfile(path):
        pass


def decode_bulk(path: Path):
    itch_bulk.decode_bulk_file(path)


def book_baseline(path: Path):
    book, decode = BaselineBook(), itch.decode
    for raw in read_binaryfile(path):
        book.apply(decode(raw))
    return book.snapshot()


def book_reference(path: Path):
    book, decode = OrderBook(), itch.decode
    for raw in read_binaryfile(path):
        book.apply(decode(raw))
    return model_snapshot(book)


def book_fast_from_file(path: Path):
    book = OrderBook()
    book.apply_raw_many(read_binaryfile(path))
    return model_snapshot(book)


def book_fast_presplit(path: Path, messages: list[bytes]):
    book = OrderBook()
    book.apply_raw_many(messages)
    return model_snapshot(book)


# ---------------------------------------------------------------- measuring

def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _child(stage: Callable, path: Path, presplit: bool, conn) -> None:
    args = (path, list(read_binaryfile(path))) if presplit else (path,)
    gc.collect()
    try:  # reset the peak-RSS mark so the stage's own peak is measured (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    rss0 = _rss_kb("VmRSS")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = stage(*args)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    peak = max(_rss_kb("VmHWM"), _rss_kb("VmRSS"))
    conn.send((cpu, wall, rss0, peak, result))
    conn.close()


def measure(stage: Callable, path: Path, presplit: bool = False):
    """(cpu s, wall s, rss at start MB, peak rss MB, result) of ``stage`` in a forked child."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(stage, path, presplit, child))
    proc.start()
    child.close()
    cpu, wall, rss0, peak, result = parent.recv()
    proc.join()
    return cpu, wall, rss0 / 1024, peak / 1024, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000_000)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "flow.itch"
        config = FlowConfig(n, args.symbols, args.seed)
        # in a child too, so the parent's heap stays small for the stages forked after it
        gen_cpu, gen_wall, *_ = measure(lambda p: write_binaryfile_flow(p, FlowGenerator(config))
                                        and None, path)
        size = path.stat().st_size
        print(f"flow: {n:,} messages, {args.symbols} symbols, seed {args.seed}, "
              f"{size / 1e6:.1f} MB BinaryFILE; generated and written at "
              f"{n / gen_cpu / 1e3:,.0f} k msg/s (cpu), {n / gen_wall / 1e3:,.0f} k msg/s (wall)")
        print(f"{'stage':<44}{'M msg/s cpu':>12}{'wall':>8}{'× base':>8}{'peak MB':>9}")
        rows = [
            ("decode", "dataclasses per message (baseline)", decode_dataclasses, False),
            ("decode", "split into raw messages", split_raw, False),
            ("decode", "numpy bulk decoder", decode_bulk, False),
            ("book", "dataclasses + dict book (baseline)", book_baseline, False),
            ("book", "OrderBook.apply (reference, level changes)", book_reference, False),
            ("book", "OrderBook.apply_raw_many from the file", book_fast_from_file, False),
            ("book", "OrderBook.apply_raw_many, pre-split", book_fast_presplit, True),
        ]
        base: dict[str, float] = {}
        books = []
        for group, name, stage, presplit in rows:
            cpu, wall, rss0, peak, result = measure(stage, path, presplit)
            rate = n / cpu
            base.setdefault(group, rate)
            print(f"{group + ': ' + name:<44}{rate / 1e6:>12.2f}{n / wall / 1e6:>8.2f}"
                  f"{rate / base[group]:>7.1f}x{peak - rss0:>9.0f}")
            if result is not None:
                books.append(result)
        assert all(b == books[-1] for b in books), "books differ between paths"
        print(f"all {len(books)} books identical ({len(books[-1])} non-empty sides); "
              f"parent max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
              f" MB; pid {os.getpid()}")


if __name__ == "__main__":
    main()
