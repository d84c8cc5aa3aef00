"""A real capture replayed as the market: reproduced in order, booked as external liquidity.

Every real capture must come out of the feed exactly as it went in; our
orders trade against the replayed book, and whatever happens the published
feed rebuilds the engine's book (ITCH 5.0 §5).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter

import pytest
from conftest import CAPTURES, itch_pcaps
from itch_subscriber import Subscriber, assert_same_book

from tick2trade.proto import itch
from tick2trade.proto.binaryfile import read_binaryfile, write_binaryfile
from tick2trade.proto.capture import iter_mold
from tick2trade.proto.errors import ProtocolError
from tick2trade.proto.moldudp64 import MoldPacket
from tick2trade.proto.net import build_udp_frame
from tick2trade.proto.pcap import PcapWriter
from tick2trade.sim.model.generator import generate
from tick2trade.sim.venue.engine import (
    MARKET,
    MatchingEngine,
    OrderRequest,
    Side,
    TimeInForce,
)
from tick2trade.sim.venue.marketdata.feed import ItchFeed
from tick2trade.sim.venue.marketdata.replay import (
    CaptureReplay,
    ReplayClock,
    read_capture,
    scan_capture,
)


def _replay_sources():
    sources = list(itch_pcaps())
    if (CAPTURES / "sample.itch").exists():
        sources.append(CAPTURES / "sample.itch")
    return sources or [pytest.param(None, marks=pytest.mark.skip(
        reason=f"third-party captures not present in {CAPTURES} (set T2T_SHARED)"))]


def _engine_for(path, extra=()):
    summary = scan_capture(path)
    ticks = itertools.count(1)
    return MatchingEngine(tuple(dict.fromkeys(summary.symbols + tuple(extra))) or ("ZVZZT",),
                          clock=lambda: next(ticks),
                          order_ref_start=summary.max_order_ref + 1,
                          match_number_start=summary.max_match_number + 1)


def _capture_messages(path) -> list[bytes]:
    """The capture's messages read straight from proto (independent of read_capture)."""
    if path.suffix == ".pcap":
        return [m for c in iter_mold(path) for m in c.packet.messages]
    return list(read_binaryfile(path))


@pytest.mark.parametrize("path", _replay_sources(), ids=lambda p: getattr(p, "name", "none"))
def test_replay_of_every_real_capture_reproduces_its_messages_in_order(path):
    engine = _engine_for(path)
    published: list[bytes] = []
    feed = ItchFeed(engine, published.append)
    replay = CaptureReplay(feed, path, speed=0)
    replay.replay_all()
    assert published == _capture_messages(path)
    assert feed.stats["adjusted"] == 0 and feed.stats["suppressed"] == 0
    assert replay.stats["replayed"] == len(published)


def test_sample_binaryfile_books_nothing_but_learns_every_locate():
    path = CAPTURES / "sample.itch"
    if not path.exists():
        pytest.skip(f"third-party capture not present: {path}")
    engine = _engine_for(path)
    feed = ItchFeed(engine, lambda raw: None)
    CaptureReplay(feed, path, speed=0).replay_all()
    assert len(feed.locates) == 993
    assert engine.orders() == []


def test_multiple_packets_capture_books_its_orders_as_external_liquidity():
    path = CAPTURES / "itch50_Multiple.Packets.pcap"
    if not path.exists():
        pytest.skip(f"third-party capture not present: {path}")
    engine = _engine_for(path)
    sub = Subscriber(strict=False)  # the capture starts mid-day: its D names an unseen order
    feed = ItchFeed(engine, sub)
    CaptureReplay(feed, path, speed=0).replay_all()
    assert feed.stats["unknown_refs"] == 1
    market = engine.orders(MARKET)
    assert market and all(o.symbol == "META" for o in market)
    assert {o.order_ref for o in market} == set(sub.orders)
    # our order now trades against the replayed book; the feed shows it
    best_ask = engine.best("META", Side.SELL)
    sub.decoded.clear()
    engine.submit(OrderRequest("us", 1, "META", Side.BUY, 1, best_ask, TimeInForce.IOC))
    (execution,) = [m for m in sub.decoded if m.TYPE == "E"]
    assert execution.order_ref in {o.order_ref for o in market}
    assert execution.match_number > scan_capture(path).max_match_number
    assert_same_book(engine, feed, sub)


# ------------------------------------------------------------ interference


def _msg(cls, *fields, locate=7, ts=34_200_000_000_000):
    return itch.encode(cls(locate, 3, ts, *fields))


def _interfered_setup():
    ticks = itertools.count(34_300_000_000_000, 1000)
    engine = MatchingEngine(["ZVZZT"], clock=lambda: next(ticks), order_ref_start=10_000,
                            match_number_start=50_000)
    sub = Subscriber()
    feed = ItchFeed(engine, sub)
    for raw in (_msg(itch.StockDirectory, "ZVZZT", "Q", "N", 100, "N", "C", "Z", "P", "N",
                     "N", "1", "N", 0, "N"),):
        feed.replay(raw)
    return engine, feed, sub


def test_replayed_changes_to_an_order_we_partly_took_are_clamped():
    engine, feed, sub = _interfered_setup()
    add = _msg(itch.AddOrder, 501, "S", 100, "ZVZZT", 100_000)
    feed.replay(add)
    assert sub.raw[-1] == add and sub.decoded[-1].stock_locate == 7
    engine.submit(OrderRequest("us", 1, "ZVZZT", Side.BUY, 60, 100_000, TimeInForce.IOC))
    ours = sub.decoded[-1]
    assert (ours.TYPE, ours.order_ref, ours.executed_shares, ours.stock_locate) == \
        ("E", 501, 60, 7)
    # the real market executes 70 more: only 40 are left, so 40 are published
    execute = _msg(itch.OrderExecuted, 501, 70, 900, ts=34_200_000_000_500)
    feed.replay(execute)
    echoed = sub.decoded[-1]
    assert (echoed.TYPE, echoed.order_ref, echoed.executed_shares, echoed.match_number,
            echoed.timestamp, echoed.tracking_number) == \
        ("E", 501, 40, 900, 34_200_000_000_500, 3)
    assert feed.stats["adjusted"] == 1
    # the order is gone: a later delete of it is not published
    count = len(sub.raw)
    feed.replay(_msg(itch.OrderDelete, 501))
    assert len(sub.raw) == count and feed.stats["suppressed"] == 1
    assert_same_book(engine, feed, sub)


def test_replayed_add_that_crosses_our_resting_order_trades_with_it():
    engine, feed, sub = _interfered_setup()
    engine.submit(OrderRequest("us", 1, "ZVZZT", Side.BUY, 30, 100_100))
    feed.replay(_msg(itch.AddOrder, 777, "S", 100, "ZVZZT", 100_000))
    execution, add = sub.decoded[-2:]
    assert execution.TYPE == "E" and execution.executed_shares == 30
    assert (add.TYPE, add.order_ref, add.shares, add.price) == ("A", 777, 70, 100_000)
    assert engine.orders("us") == []
    assert_same_book(engine, feed, sub)


def test_replayed_replace_and_cancel_of_a_touched_order():
    engine, feed, sub = _interfered_setup()
    feed.replay(_msg(itch.AddOrder, 801, "B", 500, "ZVZZT", 99_900))
    engine.submit(OrderRequest("us", 1, "ZVZZT", Side.SELL, 200, 99_900))
    feed.replay(_msg(itch.OrderCancel, 801, 400))          # only 300 left: X 300 removes it
    assert (sub.decoded[-1].TYPE, sub.decoded[-1].cancelled_shares) == ("X", 300)
    feed.replay(_msg(itch.AddOrder, 802, "B", 100, "ZVZZT", 99_800))
    replace = _msg(itch.OrderReplace, 802, 803, 100, 99_900)
    feed.replay(replace)
    assert sub.raw[-1] == replace                          # untouched: published as captured
    engine.submit(OrderRequest("us", 2, "ZVZZT", Side.SELL, 60, 99_950))
    feed.replay(_msg(itch.OrderReplace, 803, 804, 100, 100_000))  # crosses our ask
    delete, execution, add = sub.decoded[-3:]
    assert (delete.TYPE, delete.order_ref) == ("D", 803)
    assert (execution.TYPE, execution.executed_shares) == ("E", 60)
    assert (add.TYPE, add.order_ref, add.shares, add.price, add.side) == \
        ("A", 804, 40, 100_000, "B")
    assert_same_book(engine, feed, sub)


def _trade_into(engine, rng, symbols, ids) -> None:
    """One of our requests near the replayed book: enter (maybe hidden), cancel or replace."""
    mine = engine.orders("us")
    roll = rng.random()
    if mine and roll < 0.2:
        o = rng.choice(mine)
        engine.cancel("us", o.client_id, rng.choice([0, max(0, o.leaves - 5)]))
    elif mine and roll < 0.35:
        o = rng.choice(mine)
        engine.replace("us", o.client_id, next(ids), rng.randint(1, 400),
                       o.price + rng.choice([-100, 0, 100]))
    else:
        symbol, side = rng.choice(symbols), rng.choice(list(Side))
        best = engine.best(symbol, side.opposite)
        if best is not None:
            step = rng.choice([-200, -100, 0, 0, 100]) * (1 if side is Side.BUY else -1)
            engine.submit(OrderRequest("us", next(ids), symbol, side, rng.randint(1, 300),
                                       max(best + step, 100), rng.choice(list(TimeInForce)),
                                       displayed=rng.random() > 0.1))


@pytest.mark.parametrize("seed", range(3))
def test_generated_flow_with_our_orders_interleaved_keeps_the_feed_exact(seed, tmp_path):
    """A synthetic day replayed from a BinaryFILE while we trade into it."""
    path = tmp_path / "flow.itch"
    write_binaryfile(path, generate(3000, symbols=4, seed=seed))
    engine = _engine_for(path)
    sub = Subscriber()
    feed = ItchFeed(engine, sub)
    rng = random.Random(seed)
    ids = itertools.count(1)
    symbols = scan_capture(path).symbols
    for index, item in enumerate(read_capture(path)):
        feed.replay(item.message)
        if index > 30 and rng.random() < 0.3:
            _trade_into(engine, rng, symbols, ids)
        if index % 20 == 0:
            assert_same_book(engine, feed, sub)
    assert_same_book(engine, feed, sub)
    assert feed.stats["adjusted"] + feed.stats["suppressed"] > 0


# ------------------------------------------------------------------- pacing


def _paced_file(tmp_path, gaps_ms):
    ts = 34_200_000_000_000
    messages = []
    for gap in [0, *gaps_ms]:
        ts += gap * 1_000_000
        messages.append(itch.encode(itch.SystemEvent(0, 0, ts, "Q")))
    path = tmp_path / "paced.itch"
    write_binaryfile(path, messages)
    return path


@pytest.mark.parametrize("speed, low, high", [(1.0, 0.18, 1.5), (4.0, 0.04, 0.5),
                                              (0.0, 0.0, 0.15)])
def test_replay_speed_follows_the_itch_timestamps(tmp_path, speed, low, high):
    path = _paced_file(tmp_path, [100, 100])  # 200 ms of market time
    engine = MatchingEngine(["ZVZZT"])
    published: list[float] = []
    feed = ItchFeed(engine, lambda raw: published.append(time.monotonic()))

    async def run():
        replay = CaptureReplay(feed, path, speed=speed, timestamps="itch")
        start = time.monotonic()
        await replay.run()
        return start

    start = asyncio.run(run())
    assert len(published) == 3
    assert low <= published[-1] - start <= high


def test_max_gap_shortens_idle_stretches(tmp_path):
    path = _paced_file(tmp_path, [5000])  # 5 s of silence in the capture
    feed = ItchFeed(MatchingEngine(["ZVZZT"]), lambda raw: None)
    replay = CaptureReplay(feed, path, speed=1.0, timestamps="itch", max_gap=0.05)
    start = time.monotonic()
    asyncio.run(replay.run())
    assert time.monotonic() - start < 1.0


def test_replay_clock_follows_the_replayed_market():
    wall = [100.0]
    clock = ReplayClock(speed=2.0, wall=lambda: wall[0], fallback=lambda: 5)
    assert clock() == 5
    clock.advance(34_200_000_000_000)
    wall[0] += 0.5
    assert clock() == 34_201_000_000_000
    clock.advance(34_200_000_000_010)  # the market is behind our clock: never go back
    assert clock() >= 34_201_000_000_000


def test_symbol_filter_replays_only_the_chosen_symbols(tmp_path):
    path = tmp_path / "flow.itch"
    write_binaryfile(path, generate(500, symbols=3, seed=9))
    symbols = scan_capture(path).symbols
    published: list[bytes] = []
    engine = MatchingEngine(symbols)
    feed = ItchFeed(engine, published.append)
    CaptureReplay(feed, path, speed=0, symbols=[symbols[0]]).replay_all()
    decoded = [itch.decode(m) for m in published]
    locate = feed.locates.locate(symbols[0])
    assert {m.stock_locate for m in decoded} <= {0, locate}
    assert any(m.TYPE == "A" for m in decoded)


@pytest.mark.parametrize("raw", [b"", b"A", b"S\x00\x00", b"\xfe" * 12,
                                 b"A" + b"\x00" * 40, b"S" + b"\x00" * 12])
def test_malformed_replayed_message_is_counted_not_published(raw):
    published: list[bytes] = []
    feed = ItchFeed(MatchingEngine(["ZVZZT"]), published.append)
    feed.replay(raw)
    assert published == [] and feed.stats["malformed"] == 1


def test_truncated_capture_replays_what_is_whole_then_fails_clearly(tmp_path):
    path = tmp_path / "cut.itch"
    whole = [itch.encode(itch.SystemEvent(0, 0, ts, code)) for ts, code in ((1, "O"), (2, "S"))]
    write_binaryfile(path, whole)
    path.write_bytes(path.read_bytes() + b"\x00\x0cS\x00")   # a record cut short
    published: list[bytes] = []
    replay = CaptureReplay(ItchFeed(MatchingEngine(["ZVZZT"]), published.append), path, speed=0)
    with pytest.raises(ProtocolError, match="offset"):
        asyncio.run(replay.run())
    assert published == whole and replay.done.is_set()


# ------------------------------------------------------- pcap sources we write


def _write_mold_pcap(path, packets: list[tuple[int, MoldPacket]]) -> None:
    with PcapWriter(path) as writer:
        for ts, packet in packets:
            writer.write(build_udp_frame(packet.encode(), src_mac="02:00:00:00:00:01",
                                         dst_mac=None, src_ip="10.0.0.1",
                                         dst_ip="233.54.12.111", src_port=40000,
                                         dst_port=26477), ts)


def _events(n: int, start_ts: int = 34_200_000_000_000) -> list[bytes]:
    return [itch.encode(itch.SystemEvent(0, 0, start_ts + i, "Q")) for i in range(n)]


def test_pcap_duplicates_overlaps_and_control_packets_are_read_once(tmp_path):
    m = _events(8)
    session = b"0000000001"
    path = tmp_path / "dups.pcap"
    _write_mold_pcap(path, [
        (1, MoldPacket(session, 1, tuple(m[0:3]))),
        (2, MoldPacket(session, 1, tuple(m[0:3]))),          # the B line's copy
        (3, MoldPacket.heartbeat(session, 4)),
        (4, MoldPacket(session, 3, tuple(m[2:6]))),          # overlaps by one
        (5, MoldPacket(session, 8, tuple(m[7:8]))),          # a gap: 7 never captured
        (6, MoldPacket.end_of_session(session, 9)),
    ])
    stats = Counter()
    got = [item.message for item in read_capture(path, stats)]
    assert got == m[0:6] + m[7:8]
    assert stats["duplicate_packets"] == 1 and stats["control_packets"] == 2
    assert stats["gaps"] == 1


def test_pcap_replayed_in_real_time_by_capture_timestamps(tmp_path):
    session = b"0000000001"
    m = _events(3)
    path = tmp_path / "timed.pcap"
    base = 1_692_711_000 * 10**9
    _write_mold_pcap(path, [(base, MoldPacket(session, 1, (m[0],))),
                            (base + 150_000_000, MoldPacket(session, 2, (m[1],))),
                            (base + 300_000_000, MoldPacket(session, 3, (m[2],)))])
    times: list[float] = []
    feed = ItchFeed(MatchingEngine(["ZVZZT"]), lambda raw: times.append(time.monotonic()))
    replay = CaptureReplay(feed, path, speed=2.0, timestamps="capture")
    asyncio.run(replay.run())
    assert len(times) == 3
    assert 0.12 <= times[2] - times[0] <= 1.0      # 300 ms of capture at ×2


def test_our_symbol_unknown_to_the_capture_gets_a_locate_away_from_the_captures():
    engine, feed, sub = _interfered_setup()          # the capture announced ZVZZT as 7
    engine2 = MatchingEngine(["ZVZZT", "OURS"])
    sub2 = Subscriber()
    feed2 = ItchFeed(engine2, sub2)
    feed2.replay(sub.raw[0])
    engine2.submit(OrderRequest("us", 1, "OURS", Side.BUY, 10, 100_000))
    directory, add = sub2.decoded[-2:]
    assert (directory.TYPE, directory.stock, directory.stock_locate) == ("R", "OURS", 65535)
    assert add.stock_locate == 65535
    assert feed.locates.locate("ZVZZT") == 7
