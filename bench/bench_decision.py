"""Decision path: cycles per stage in the gateware, and model vs simulator speed.

Generates a seeded synthetic flow (``sim/model/generator.py``), builds its
top-of-book records with the gateware book's model, then in the same run:

- the Python model (:class:`~tick2trade.sim.model.strategy.decision.DecisionModel`)
  decides on every record (the baseline rate);
- the gateware decision path alone runs under the C++ Verilator harness
  (``sim/verilator/decision.py``) on the same records;
- the gateware decision path feeding the OUCH encoder runs in the Amaranth
  simulator on the same records at line rate (no idle cycles, no
  back-pressure); its decisions are checked equal to the model's, and the
  per-order stage stamps give cycles per stage: strategy (record accepted →
  decided), risk (decided → request handed to the encoder), encoder
  (→ first byte of the OUCH packet), and in total.

The book stage is not in these figures: the records come from the book's
model (the gateware book is measured in its own section).

Usage: ``.venv/bin/python bench/bench_decision.py [--messages N] [--symbols K] [--seed S]``
"""

from __future__ import annotations

import argparse
import statistics
import time

from tick2trade.sim.decision_rtl import run_decision_path
from tick2trade.sim.model.decision_config import parse_decision_config, tables
from tick2trade.sim.model.generator import generate
from tick2trade.sim.model.hwbook.flow import busiest_locates, records_of
from tick2trade.sim.model.hwbook.model import HwBookModel
from tick2trade.sim.model.strategy.events import run_model
from tick2trade.sim.model.strategy.replay import load_model

CONFIG = {
    "taker": {"num": 3, "den": 5, "cooldown_ns": 50_000, "max_spread": 600, "size": 100},
    "quoter": {"enabled": 1, "offset": 100, "requote": 100, "size": 100, "max_spread": 800},
    "risk": {"rate_orders": 50, "rate_window_ns": 1_000_000, "max_position": 300,
             "fat_finger_band": 300, "max_gross_notional": 20_000_000_000},
}


def spread(values) -> str:
    values = sorted(values)
    return (f"min {values[0]:>3}  median {statistics.median(values):>5.1f}  "
            f"max {values[-1]:>3}  (n={len(values):,})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    records = list(records_of(generate(args.messages, symbols=args.symbols, seed=args.seed)))
    locates = busiest_locates(records, 64)
    book = HwBookModel(None, locates)
    tops = [t for r in records for t in book.push(r)]
    config = parse_decision_config(CONFIG)
    print(f"flow: {args.messages:,} messages, {len(records):,} book records, "
          f"{len(tops):,} top-of-book records, {len(locates)} slots")

    model = load_model(config, locates, 64)
    start = time.process_time()
    want = run_model(model, tops)
    model_s = time.process_time() - start

    strategy, risk, glob = tables(config, locates)
    start = time.process_time()
    run = run_decision_path(strategy, risk, glob, tops, symbols=64, encoder=True,
                            max_cycles=40 * len(tops) + 10_000)
    rtl_s = time.process_time() - start
    assert run.decisions == want, "gateware and model disagree"

    from tick2trade.sim.verilator.decision import run_decision_harness
    harness = run_decision_harness(strategy, risk, glob, tops, symbols=64)
    assert harness.decisions == want, "Verilator harness and model disagree"

    sent = [i for i, d in enumerate(want) if d.reason.value == 0]
    print(f"decisions: {len(want):,} ({len(sent):,} sent), equal in model and gateware")
    print(f"model:     {len(tops) / model_s:>12,.0f} records/s  (baseline)")
    print(f"simulator: {len(tops) / rtl_s:>12,.0f} records/s  "
          f"({model_s / rtl_s:.4f}x the model)")
    print(f"verilator: {len(tops) / harness.wall_seconds:>12,.0f} records/s  "
          f"({model_s / harness.wall_seconds:.2f}x the model; C++ loop wall time, "
          f"build {harness.build_seconds:.0f} s)")
    print(f"gateware:  {run.total_cycles:,} cycles for {len(tops):,} records "
          f"({run.total_cycles / len(tops):.1f} cycles per record at line rate, "
          f"{156.25e6 / (run.total_cycles / len(tops)):,.0f} records/s at 156.25 MHz)")
    print("cycles per stage, sent orders:")
    for n, name in enumerate(("strategy", "risk", "encoder")):
        print(f"  {name:<9}{spread(run.stages[i][n] for i in sent)}")
    print(f"  {'total':<9}{spread(run.cycles[i] for i in sent)}")
    firsts = [i for i in sent if i == 0 or want[i - 1].trigger_seq != want[i].trigger_seq
              or want[i - 1].locate != want[i].locate]
    print(f"  first order of a record, total: {spread(run.cycles[i] for i in firsts)}")


if __name__ == "__main__":
    main()
