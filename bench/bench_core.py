"""The composed core: tick-to-trade and per-stage cycles, and model vs gateware replay speed.

Generates a seeded synthetic flow (``sim/model/generator.py``) as a
MoldUDP64 pcap, then in the same run:

- the model engine of ``t2t replay --config --orders-out`` (book model and
  decision model) replays it: the baseline rate;
- the rtl engine replays it: the gateware core (``hdl/core.py``) under its
  C++ Verilator harness, frames on XGMII RX at line rate, configured by
  control datagrams, orders decoded from its OUCH bytes; its lines are
  checked equal to the model's;
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
from tick2trade.sim.core_rtl import STAGES, run_core
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
        run = run_core(frames, replay_config(frames), config, locates, directory(records),
                       params)
        rtl_s = time.perf_counter() - started

    if run.decisions != [d for d in model.decisions]:
        raise SystemExit("the gateware core's decisions differ from the model's")
    if run.counters != model.counters:
        raise SystemExit(f"risk counters differ: {run.counters} vs {model.counters}")
    sent = [(t, s) for t, s in zip(run.t2t_cycles, run.stages, strict=True) if t is not None]
    print(f"flow: {args.messages:,} messages, {args.symbols} symbols, seed {args.seed}; "
          f"{len(frames):,} frames; {len(model.decisions):,} decisions "
          f"({len(sent):,} sent), identical model vs gateware")
    print(f"model engine : {model_s:7.2f} s  ({args.messages / model_s:>10,.0f} msg/s)")
    print(f"rtl engine   : {rtl_s:7.2f} s  ({args.messages / rtl_s:>10,.0f} msg/s, "
          f"{rtl_s / model_s:.2f}x the model's time; build {run.build_seconds:.0f} s; "
          f"{run.sim_cycles:,} cycles in {run.wall_seconds:.2f} s of simulation = "
          f"{run.sim_cycles / run.wall_seconds / 1e3:,.0f} kcycles/s)")
    if not sent:
        raise SystemExit("no order was sent: nothing to measure")
    t2t = [t for t, _ in sent]
    print("tick-to-trade, last ITCH byte on XGMII RX -> first OUCH payload byte (cycles):")
    print(f"  {spread(t2t)}  = {min(t2t) * NS_PER_CYCLE:.0f} / "
          f"{statistics.median(t2t) * NS_PER_CYCLE:.0f} / {max(t2t) * NS_PER_CYCLE:.0f} ns")
    print("per stage (cycles):")
    for stage in STAGES:
        print(f"  {stage:<9}{spread([s[stage] for _, s in sent])}")
    print("top of book -> first OUCH byte ('cycles' of the orders file):")
    print(f"  {spread([c for c, t in zip(run.cycles, run.t2t_cycles, strict=True) if t])}")


if __name__ == "__main__":
    main()
