"""Venue market-data throughput: MoldUDP64 publishing, the ITCH feed, replay, re-requests.

Measured in one run, each against a baseline of the same work done the
plain way, on messages of a seeded synthetic day (``sim/model/generator.py``):

- publish: ITCH messages → MoldUDP64 → UDP on 127.0.0.1. Baseline: one
  packet per message (``MoldPacket(...).encode()`` + ``sendto``); ours:
  ``MoldPublisher`` batching into 1472-byte payloads and storing every
  message for re-requests.
- feed: matching-engine requests with the ITCH feed subscribed (messages
  to a list; then through the publisher, one UDP packet per request as on
  a live venue where each order arrives in its own turn of the event loop),
  against the same requests through the engine alone.
- replay: a BinaryFILE replayed as the market as fast as possible
  (``CaptureReplay``: decode, book as external liquidity, re-publish),
  against re-publishing the raw messages without booking them.
- re-requests: ``RerequestServer.answer`` for random 20-byte requests of up
  to 100 messages each, against building the same replies without decoding
  and checking a request.

Rates are per wall-clock second on a shared 2-core machine; the ratios are
the stable figures.

Usage: ``.venv/bin/python bench/bench_marketdata.py [--messages N] [--seed S]``
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import socket
import tempfile
import time
from pathlib import Path

from tick2trade.proto.binaryfile import read_binaryfile, write_binaryfile
from tick2trade.proto.moldudp64 import MTU_PAYLOAD, MoldPacket, MoldRequest
from tick2trade.sim.model.generator import generate
from tick2trade.sim.venue.engine import MatchingEngine, OrderRequest, Side, TimeInForce
from tick2trade.sim.venue.marketdata.feed import ItchFeed
from tick2trade.sim.venue.marketdata.publisher import MoldPublisher
from tick2trade.sim.venue.marketdata.replay import CaptureReplay, scan_capture
from tick2trade.sim.venue.marketdata.rerequest import RerequestServer
from tick2trade.sim.venue.marketdata.store import RetransmitStore
from tick2trade.sim.venue.marketdata.transport import UdpSender

SESSION = b"BENCHMARK1"


def _sink() -> socket.socket:
    """A bound UDP socket nobody reads: the kernel drops what overflows, sends still cost."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _line(name: str, count: int, seconds: float, base: float | None = None,
          unit: str = "msg") -> float:
    rate = count / seconds
    ratio = f"  ×{rate / base:.2f} vs baseline" if base else ""
    print(f"  {name:<48} {rate / 1e3:10.1f} k {unit}/s{ratio}")
    return rate


def bench_publish(messages: list[bytes]) -> None:
    print(f"publish {len(messages):,} ITCH messages as MoldUDP64 over UDP (127.0.0.1)")
    sink = _sink()
    address = sink.getsockname()

    def baseline():
        sender = UdpSender(*address)
        for seq, m in enumerate(messages, 1):
            sender.send(MoldPacket(SESSION, seq, (m,)).encode())
        sender.close()

    publisher = None

    def ours():
        nonlocal publisher
        sender = UdpSender(*address)
        publisher = MoldPublisher(RetransmitStore(SESSION), sender, max_payload=MTU_PAYLOAD)

        async def burst():
            await publisher.start()    # batches what arrives within one turn of the loop
            for m in messages:
                publisher.publish(m)
            await publisher.stop()

        asyncio.run(burst())
        sender.close()

    base = _line("baseline: one packet per message", len(messages), _timed(baseline))
    _line("MoldPublisher: batched to 1472 B + stored", len(messages), _timed(ours), base)
    packets = publisher.stats["packets"]
    print(f"  ({packets:,} packets, {len(messages) / packets:.1f} messages per packet)")
    sink.close()


def _requests(n: int, seed: int) -> list[OrderRequest]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        side = rng.choice((Side.BUY, Side.SELL))
        offset = rng.randint(-5, 5) * 100
        out.append(OrderRequest(f"p{i % 4}", i, rng.choice(("AAPL", "MSFT", "SPY")), side,
                                rng.randint(1, 5) * 100, 1_000_000 + offset,
                                TimeInForce.IOC if rng.random() < 0.1 else TimeInForce.DAY))
    return out


def bench_feed(n: int, seed: int) -> None:
    requests = _requests(n, seed)
    print(f"feed: {n:,} order requests through the engine, ITCH feed + publisher subscribed")
    sink = _sink()
    ticks = itertools.count()

    def run(with_feed: str | None) -> ItchFeed | None:
        engine = MatchingEngine(("AAPL", "MSFT", "SPY"), clock=lambda: next(ticks))
        feed = publisher = None
        if with_feed == "list":
            feed = ItchFeed(engine, [].append)
        elif with_feed == "udp":
            sender = UdpSender(*sink.getsockname())
            publisher = MoldPublisher(RetransmitStore(SESSION), sender)
            feed = ItchFeed(engine, publisher.publish)
        live: list[tuple[str, int]] = []
        for i, req in enumerate(requests):
            engine.submit(req)
            live.append((req.owner, req.client_id))
            if i % 3 == 0 and live:
                owner, client_id = live.pop(len(live) // 2)
                engine.cancel(owner, client_id)
        if publisher is not None:
            publisher.flush()
            sender.close()
        return feed

    base = _line("baseline: engine alone", n, _timed(lambda: run(None)), unit="req")
    _line("engine + ITCH feed (messages to a list)", n, _timed(lambda: run("list")), base,
          unit="req")
    result = {}
    seconds = _timed(lambda: result.setdefault("feed", run("udp")))
    _line("engine + feed + publisher, a packet per request", n, seconds, base, unit="req")
    print(f"  ({result['feed'].stats['messages']:,} ITCH messages published)")
    sink.close()


def bench_replay(path: Path, count: int) -> None:
    print(f"replay a generated BinaryFILE of {count:,} messages as the market, speed 0")
    sink = _sink()
    summary = scan_capture(path)

    def baseline():
        sender = UdpSender(*sink.getsockname())
        publisher = MoldPublisher(RetransmitStore(SESSION), sender)

        async def republish():
            await publisher.start()
            for i, m in enumerate(read_binaryfile(path)):
                publisher.publish(m)
                if i % 256 == 0:
                    await asyncio.sleep(0)  # as the replay yields to the loop
            await publisher.stop()

        asyncio.run(republish())
        sender.close()

    def ours():
        sender = UdpSender(*sink.getsockname())
        publisher = MoldPublisher(RetransmitStore(SESSION), sender)
        engine = MatchingEngine(summary.symbols, order_ref_start=summary.max_order_ref + 1)
        feed = ItchFeed(engine, publisher.publish)

        async def replay():
            await publisher.start()
            await CaptureReplay(feed, path, speed=0).run()
            await publisher.stop()

        asyncio.run(replay())
        sender.close()

    base = _line("baseline: re-publish raw, no booking", count, _timed(baseline))
    _line("CaptureReplay: decode, book, re-publish", count, _timed(ours), base)
    sink.close()


def bench_rerequests(messages: list[bytes], n: int, seed: int) -> None:
    print(f"re-requests: {n:,} requests of 1-100 messages from a {len(messages):,}-message store")
    store = RetransmitStore(SESSION)
    store.extend(messages)
    server = RerequestServer(store)
    rng = random.Random(seed)
    wanted = [(rng.randint(1, len(messages)), rng.randint(1, 100)) for _ in range(n)]
    datagrams = [MoldRequest(SESSION, s, c).encode() for s, c in wanted]

    def baseline():
        for s, c in wanted:
            MoldPacket(SESSION, s, tuple(store.get(s, c, MTU_PAYLOAD))).encode()

    def ours():
        for d in datagrams:
            server.answer(d)

    base = _line("baseline: store.get + encode, no request", n, _timed(baseline), unit="req")
    _line("RerequestServer.answer (decode, check, fit)", n, _timed(ours), base, unit="req")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    messages = list(generate(args.messages, symbols=50, seed=args.seed))
    bench_publish(messages)
    bench_feed(max(args.messages // 3, 1000), args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "day.itch"
        write_binaryfile(path, messages)
        bench_replay(path, len(messages))
    bench_rerequests(messages, max(args.messages // 10, 1000), args.seed)


if __name__ == "__main__":
    main()
