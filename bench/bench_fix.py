"""FIX order port throughput and latency, against the matching engine alone.

- Baseline: the same orders straight into ``MatchingEngine.submit`` in this
  process (the ceiling for anything in front of the engine).
- FIX, pipelined: two sessions (FIX 4.4 buying, FIX 4.2 selling) send
  their NewOrderSingles without waiting and count the ExecutionReports
  coming back (read, not parsed); orders cross in pairs, so each order
  produces a New and a Fill report.
- FIX, one at a time: send one order, wait for its New report (validated
  by the client against the data dictionary); round-trip percentiles.
- Echo profile, pipelined: the same session layer with QuickFIX's test
  application (no engine), the cost of the session layer itself.

Usage: ``.venv/bin/python bench/bench_fix.py [orders]``
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from tick2trade.sim.venue.engine import MatchingEngine
from tick2trade.sim.venue.events import OrderRequest, Side
from tick2trade.sim.venue.fix import FixAcceptor, FixConfig
from tick2trade.sim.venue.fix.client import FixClient

TRANSACT_TIME = "20260101-12:00:00"


def order_fields(i: int, side: str = "1") -> list[tuple[int, str]]:
    return [(11, f"C{i}"), (21, "1"), (38, "100"), (40, "2"), (44, "10"), (54, side),
            (55, "AAPL"), (60, TRANSACT_TIME)]


def engine_baseline(n: int) -> float:
    engine = MatchingEngine(["AAPL"])
    start = time.perf_counter()
    for i in range(n):
        owner, side = ("buyer", Side.BUY) if i % 2 == 0 else ("seller", Side.SELL)
        engine.submit(OrderRequest(owner, f"C{i}", "AAPL", side, 100, 100_000))
    return n / (time.perf_counter() - start)


async def fix_pipelined(n: int, profile: str) -> float:
    engine = MatchingEngine(["AAPL"])
    acceptor = FixAcceptor(FixConfig(port=0), profile, engine=engine)
    await acceptor.start()
    buyer = FixClient(acceptor.port)
    seller = FixClient(acceptor.port, begin_string="FIX.4.2", sender_comp_id="TW42")
    try:
        await buyer.logon()
        await seller.logon()
        start = time.perf_counter()
        for i in range(0, n, 2):
            buyer.send("D", order_fields(i, "1"))
            seller.send("D", order_fields(i + 1, "2"))
        msg_type, per_order = ("8", 2) if profile == "venue" else ("D", 1)
        await asyncio.gather(*(client.count(msg_type, per_order * n // 2, timeout=300)
                               for client in (buyer, seller)))
        return n / (time.perf_counter() - start)
    finally:
        await buyer.close()
        await seller.close()
        await acceptor.stop()


async def fix_round_trips(n: int) -> list[float]:
    engine = MatchingEngine(["AAPL"])
    acceptor = FixAcceptor(FixConfig(port=0), "venue", engine=engine)
    await acceptor.start()
    client = FixClient(acceptor.port)
    samples = []
    try:
        await client.logon()
        for i in range(n):
            start = time.perf_counter()
            client.send("D", order_fields(i))  # all buys: each rests, one report each
            await client.expect("8")
            samples.append((time.perf_counter() - start) * 1e6)
        return samples
    finally:
        await client.close()
        await acceptor.stop()


def main() -> None:
    n = 2 * (int(sys.argv[1]) // 2) if len(sys.argv) > 1 else 10_000
    base = engine_baseline(n)
    venue = asyncio.run(fix_pipelined(n, "venue"))
    echo = asyncio.run(fix_pipelined(n, "echo"))
    rtt = asyncio.run(fix_round_trips(min(n, 1_000)))
    qs = statistics.quantiles(rtt, n=100)
    print(f"orders: {n}")
    print(f"engine alone (baseline)        {base:>10,.0f} orders/s")
    print(f"FIX venue profile, pipelined   {venue:>10,.0f} orders/s   "
          f"{venue / base:.3f} x baseline")
    print(f"FIX echo profile, pipelined    {echo:>10,.0f} orders/s   "
          f"{echo / base:.3f} x baseline")
    print(f"FIX round trip (order -> New)  median {statistics.median(rtt):.0f} us, "
          f"p99 {qs[98]:.0f} us, max {max(rtt):.0f} us  ({len(rtt)} orders)")


if __name__ == "__main__":
    main()
