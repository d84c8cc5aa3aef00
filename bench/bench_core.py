"""The composed core: tick-to-trade and per-stage cycles, and model vs gateware replay speed.

Generates a seeded synthetic flow (``sim/model/generator.py``) as a
MoldUDP64 pcap, then in the same run:

- the model engine of ``t2t replay --config --orders-out`` (book model and
  decision model) replays it: the baseline rate;
- the rtl engine replays it twice: the gateware core (``hdl/core.py``) under
  its C++ Verilator harness, configured by control datagrams, orders decoded
  from its OUCH bytes, with the frames back to back at line rate, then paced
  (one packet in flight: no queueing); its orders are checked equal to the
  model's (a line-rate run whose receive path dropped packets is reported,
  not measured);
- from the stamps of every sent order: tick-to-trade (last byte of the
  triggering ITCH message on XGMII RX → first OUCH payload byte out of the
  encoder; MAC/IP/TCP transmit not built yet) and its split into feed, book,
  strategy, risk and encoder cycles.

Usage: ``.venv/bin/python bench/bench_core.py [--messages N] [--symbols K] [--seed S]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tick2trade.hdl.book.layouts import BookParams
from tick2trade.sim.core_rtl import OVERFLOW_COUNTERS, PACE, STAGES, run_core
from tick2trade.sim.feed_engine import input_frames, replay_config
from tick2trade.sim.model.decision_config import parse_decision_config
from tick2trade.sim.model.feed_writer import write_pcap_flow
from tick2trade.sim.model.generator import FlowConfig, FlowGenerator
from tick2trade.sim.model.replay import open_input
from tick2trade.sim.model.strategy.replay import (
    directory,
    feed_events,
    replay_orders,
    subscriptions,
)
from tick2trade.sim.verilator.core import build_core_harness

CONFIG = {
    "taker": {"num": 3, "den": 5, "cooldown_ns": 50_000, "max_spread": 600, "size": 100},
    "quoter": {"enabled": 1, "offset": 100, "requote": 100, "size": 100, "max_spread": 800},
    "risk": {"rate_orders": 50, "rate_window_ns": 1_000_000, "max_position": 300,
             "fat_finger_band": 300, "max_gross_notional": 20_000_000_000},
}
NS_PER_CYCLE = 6.4  # 156.25 MHz


def spread(values) -> str:
    values = sorted(values)
    return (f"min {values[0]:>4}  median {statistics.median(values):>6.1f}  "
            f"max {values[-1]:>4}  (n={len(values):,})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    config = parse_decision_config(CONFIG)
    with tempfile.TemporaryDirectory() as tmp:
        flow = Path(tmp) / "flow.pcap"
        write_pcap_flow(flow, FlowGenerator(FlowConfig(args.messages, args.symbols, args.seed)),
                        session=b"BENCHCORE0")
        source = open_input(flow)

        started = time.perf_counter()
        model = replay_orders(source, config, "model")
        model_s = time.perf_counter() - started

        records = list(feed_events(source))
        params = BookParams()
        locates = subscriptions(records, config, params.symbols)
        frames = input_frames(flow)
        started = time.perf_counter()
        build_core_harness(replay_config(frames), params)  # Verilog and build, not timed below
        print(f"core harness ready in {time.perf_counter() - started:.1f} s "
              "(Verilog conversion; the Verilator build is cached by design digest)")
        runs = {}
        for name, pace in (("line rate", 0), (f"paced ({PACE})", PACE)):
            started = time.perf_counter()
            runs[name] = (run_core(frames, replay_config(frames), config, locates,
                                   directory(records), params, pace=pace),
                          time.perf_counter() - started)

    print(f"flow: {args.messages:,} messages, {args.symbols} symbols, seed {args.seed}; "
          f"{len(frames):,} frames; {len(model.decisions):,} decisions")
    print(f"model engine        : {model_s:7.2f} s  ({args.messages / model_s:>9,.0f} msg/s)")
    for name, (run, seconds) in runs.items():
        dropped = sum(run.feed_counters.get(c, 0) for c in OVERFLOW_COUNTERS)
        same = [d.json() for d in run.decisions] == [d.json() for d in model.decisions]
        print(f"rtl, {name:<15}: {seconds:7.2f} s  ({args.messages / seconds:>9,.0f} msg/s, "
              f"{seconds / model_s:.1f}x the model's time; {run.sim_cycles:,} cycles in "
              f"{run.wall_seconds:.2f} s of simulation = "
              f"{run.sim_cycles / run.wall_seconds / 1e3:,.0f} kcycles/s); "
              f"{'orders identical to the model' if same else 'ORDERS DIFFER'}"
              + (f"; {dropped:,} packets dropped by the receive path" if dropped else ""))
        if dropped:
            continue
        if not same:
            raise SystemExit(f"{name}: the gateware core's orders differ from the model's")
        report(name, run)


def report(name, run):
    sent = [(t, s) for t, s in zip(run.t2t_cycles, run.stages, strict=True) if t is not None]
    if not sent:
        print("  no order was sent: nothing to measure")
        return
    t2t = [t for t, _ in sent]
    print(f"  [{name}] tick-to-trade, last ITCH byte on XGMII RX -> first OUCH payload byte:")
    print(f"    {spread(t2t)}  = {min(t2t) * NS_PER_CYCLE:.0f} / "
          f"{statistics.median(t2t) * NS_PER_CYCLE:.0f} / {max(t2t) * NS_PER_CYCLE:.0f} ns")
    print(f"  [{name}] per stage (cycles):")
    for stage in STAGES:
        print(f"    {stage:<9}{spread([s[stage] for _, s in sent])}")
    print(f"  [{name}] top of book -> first OUCH byte ('cycles' of the orders file):")
    print(f"    {spread([c for c, t in zip(run.cycles, run.t2t_cycles, strict=True) if t])}")

if __name__ == "__main__":
    main()
