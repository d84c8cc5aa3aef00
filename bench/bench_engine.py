"""Matching-engine throughput: order messages per second in one process.

A deterministic random flow (new limit orders near the touch, IOC and
market orders, cancels, reduce-to cancels, replaces) over 8 symbols is
generated first, then timed through :class:`MatchingEngine` with one
subscriber (as in the venue), and through a naive engine in the same run
as the baseline: resting orders in a flat list, re-sorted by price-time
for every aggressor (what the engine's oracle test does). Target:
≥ 100,000 order messages/s (issue 7), judged on this process's CPU time
(``time.process_time``) because the development machine is shared; the
wall-clock rate is printed too.

    .venv/bin/python bench/bench_engine.py [--messages N]
"""

from __future__ import annotations

import argparse
import random
import time

from tick2trade.sim.venue.engine import MatchingEngine
from tick2trade.sim.venue.events import OrderRequest, Side, TimeInForce

SYMBOLS = ("AAPL", "MSFT", "AMZN", "NVDA", "SPY", "QQQ", "TSLA", "META")
OWNERS = ("p1", "p2", "p3", "p4")
TARGET = 100_000


def make_flow(n: int, seed: int = 7) -> list[tuple]:
    """``n`` requests: ("new", OrderRequest) | ("cancel", owner, id, rest) | ("replace", ...)."""
    rng = random.Random(seed)
    live: list[tuple[str, int, str]] = []
    flow: list[tuple] = []
    next_id = 1
    for _ in range(n):
        roll = rng.random()
        if roll < 0.5 or not live:
            owner, symbol = rng.choice(OWNERS), rng.choice(SYMBOLS)
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            mid = 1_000_000
            offset = rng.randint(-5, 20) * 100
            price = mid - offset if side is Side.BUY else mid + offset
            kind = rng.random()
            tif = TimeInForce.IOC if kind < 0.08 else TimeInForce.DAY
            if kind > 0.97:
                price = None
            flow.append(("new", OrderRequest(owner, next_id, symbol, side,
                                             rng.randint(1, 50) * 100, price, tif)))
            if tif is TimeInForce.DAY and price is not None:
                live.append((owner, next_id, symbol))
            next_id += 1
        elif roll < 0.85:
            owner, cid, _ = live.pop(rng.randrange(len(live)))
            rest = 0 if rng.random() < 0.8 else rng.randint(1, 10) * 100
            flow.append(("cancel", owner, cid, rest))
            if rest:
                live.append((owner, cid, _))
        else:
            owner, cid, symbol = live.pop(rng.randrange(len(live)))
            price = 1_000_000 + rng.randint(-20, 20) * 100
            flow.append(("replace", owner, cid, next_id, rng.randint(1, 50) * 100, price))
            live.append((owner, next_id, symbol))
            next_id += 1
    return flow


def run_engine(flow: list[tuple], engine) -> tuple[float, float]:
    """Run ``flow``; returns (wall seconds, CPU seconds of this process)."""
    submit, cancel, replace = engine.submit, engine.cancel, engine.replace
    start, cpu = time.perf_counter(), time.process_time()
    for item in flow:
        kind = item[0]
        if kind == "new":
            submit(item[1])
        elif kind == "cancel":
            cancel(item[1], item[2], item[3])
        else:
            replace(item[1], item[2], item[3], item[4], item[5])
    return time.perf_counter() - start, time.process_time() - cpu


class NaiveEngine:
    """Baseline: one flat list per symbol, candidates re-sorted for every aggressor."""

    def __init__(self, symbols):
        self.resting = {s: [] for s in symbols}
        self.seq = 0
        self.trades = 0

    def _find(self, owner, cid):
        for orders in self.resting.values():
            for o in orders:
                if o[0] == owner and o[1] == cid:
                    return orders, o
        return None, None

    def _match(self, orders, owner, cid, side, qty, price):
        while qty:
            if side is Side.BUY:
                cands = [o for o in orders if o[2] is Side.SELL
                         and (price is None or o[3] <= price)]
                cands.sort(key=lambda o: (o[3], o[5]))
            else:
                cands = [o for o in orders if o[2] is Side.BUY
                         and (price is None or o[3] >= price)]
                cands.sort(key=lambda o: (-o[3], o[5]))
            if not cands:
                break
            best = cands[0]
            if best[0] == owner:          # self-match: cancel the newest
                return 0
            fill = min(best[4], qty)
            best[4] -= fill
            qty -= fill
            self.trades += 1
            if not best[4]:
                orders.remove(best)
        return qty

    def submit(self, req):
        orders = self.resting[req.symbol]
        rest = self._match(orders, req.owner, req.client_id, req.side, req.qty, req.price)
        if rest and req.price is not None and req.tif is TimeInForce.DAY:
            self.seq += 1
            orders.append([req.owner, req.client_id, req.side, req.price, rest, self.seq])

    def cancel(self, owner, cid, rest=0):
        orders, o = self._find(owner, cid)
        if o is not None and rest < o[4]:
            o[4] = rest
            if not rest:
                orders.remove(o)

    def replace(self, owner, cid, new_cid, qty, price):
        orders, o = self._find(owner, cid)
        if o is None:
            return
        orders.remove(o)
        rest = self._match(orders, owner, new_cid, o[2], qty, price)
        if rest:
            self.seq += 1
            orders.append([owner, new_cid, o[2], price, rest, self.seq])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--baseline-messages", type=int, default=30_000)
    args = parser.parse_args()

    flow = make_flow(args.messages)
    events = [0]

    def subscriber(evs):
        events[0] += len(evs)

    engine = MatchingEngine(SYMBOLS, clock=lambda: 0)
    engine.subscribe(subscriber)
    wall, cpu = run_engine(flow, engine)
    rate, cpu_rate = len(flow) / wall, len(flow) / cpu

    base_flow = flow[:args.baseline_messages]
    base_wall, base_cpu = run_engine(base_flow, NaiveEngine(SYMBOLS))
    # the same prefix through the engine, so both rates come from equal books
    prefix_wall, prefix_cpu = run_engine(base_flow, MatchingEngine(SYMBOLS, clock=lambda: 0))

    n = len(base_flow)
    print(f"matching engine: {len(flow):,} order messages, {engine.stats['trades']:,} trades, "
          f"{events[0]:,} events, {len(engine.orders()):,} orders resting at the end")
    print(f"  wall clock: {wall:.3f} s = {rate:,.0f} msg/s ({1e6 / rate:.2f} µs/msg)")
    print(f"  CPU time:   {cpu:.3f} s = {cpu_rate:,.0f} msg/s ({1e6 / cpu_rate:.2f} µs/msg)")
    print(f"naive baseline (flat list, sort per aggressor), first {n:,} messages: "
          f"{n / base_wall:,.0f} msg/s wall, {n / base_cpu:,.0f} msg/s CPU")
    print(f"  engine on the same prefix: {n / prefix_wall:,.0f} msg/s wall, "
          f"{n / prefix_cpu:,.0f} msg/s CPU → ratio {base_wall / prefix_wall:.1f}x wall, "
          f"{base_cpu / prefix_cpu:.1f}x CPU")
    verdict = "meets" if cpu_rate >= TARGET else "MISSES"
    print(f"target ≥ {TARGET:,} msg/s (CPU time; wall clock depends on the machine's load): "
          f"{verdict} ({cpu_rate / TARGET:.2f}x of target; wall {rate / TARGET:.2f}x)")


if __name__ == "__main__":
    main()
