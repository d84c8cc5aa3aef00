"""The market-data component over real sockets: live day, replayed capture, tshark.

A :class:`MoldListener` (our ``proto`` decoders, re-requests on gaps) feeds
the reference book; it must match the engine. ``tshark`` must dissect every
published MoldUDP64 packet without an error (MoldUDP64 §2, §3).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time

import pytest
from conftest import CAPTURES, itch_pcaps
from itch_subscriber import Subscriber, assert_same_book

from tick2trade.proto import itch
from tick2trade.proto.capture import iter_mold
from tick2trade.proto.moldudp64 import MoldPacket, MoldRequest
from tick2trade.proto.net import build_udp_frame
from tick2trade.proto.pcap import PcapWriter
from tick2trade.sim.venue.config import ConfigError, MarketDataConfig, ReplayConfig, parse_config
from tick2trade.sim.venue.engine import MatchingEngine, OrderRequest, Side, TimeInForce
from tick2trade.sim.venue.marketdata.listener import MoldListener
from tick2trade.sim.venue.marketdata.service import MarketData, engine_options, session_bytes

SYMBOLS = ("AAPL", "MSFT")


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def _listen(config: MarketDataConfig, md: MarketData, sub, **kw) -> MoldListener:
    """A subscriber of the started ``md``: what it missed before joining it re-requests."""
    listener = MoldListener(config.group, config.port, rerequest=md.rerequest_address,
                            on_message=lambda seq, raw: sub(raw), **kw)
    await listener.start()
    return listener


def _config(group="127.0.0.1", **kw) -> MarketDataConfig:
    return MarketDataConfig(group=group, port=_free_udp_port(), rerequest_port=0,
                            heartbeat_interval=0.05, session="TESTMD", **kw)


def _trade(engine: MatchingEngine) -> None:
    engine.submit(OrderRequest("a", 1, "AAPL", Side.SELL, 300, 1_900_000))
    engine.submit(OrderRequest("a", 2, "AAPL", Side.SELL, 100, 1_900_100))
    engine.submit(OrderRequest("b", 1, "AAPL", Side.BUY, 350, 1_900_100, TimeInForce.IOC))
    engine.submit(OrderRequest("b", 2, "MSFT", Side.BUY, 10, 4_000_000))
    engine.replace("b", 2, 3, qty=20, price=4_000_100)
    engine.cancel("a", 2, remaining=20)


def test_live_day_over_unicast_rebuilds_the_engine_book():
    config = _config()
    engine = MatchingEngine(SYMBOLS)
    sub = Subscriber()

    async def scenario():
        md = MarketData(config, engine)
        await md.start()
        listener = await _listen(config, md, sub)
        _trade(engine)
        await listener.wait_for(md.publisher.next_sequence)
        assert_same_book(engine, md.feed, sub)
        md.end_session()
        await listener.wait_ended()
        await md.stop()
        await listener.stop()
        return md, listener

    md, listener = _run(scenario())
    types = [m.TYPE for m in sub.decoded]
    assert types[:5] == ["S", "R", "R", "S", "S"] and types[-3:] == ["S", "S", "S"]
    assert [m.event_code for m in sub.decoded if m.TYPE == "S"] == list("OSQMEC")
    assert listener.session == session_bytes("TESTMD") == b"    TESTMD"
    assert listener.ended and listener.stats["malformed"] == 0
    assert md.stats["mold.end_of_session"] >= 1


def test_late_subscriber_on_multicast_recovers_the_whole_day():
    config = _config(group="239.255.77.12")
    engine = MatchingEngine(SYMBOLS)
    sub = Subscriber()

    async def scenario():
        md = MarketData(config, engine)
        await md.start()
        _trade(engine)
        await asyncio.sleep(0.01)
        listener = await _listen(config, md, sub)   # joins after the first messages
        engine.submit(OrderRequest("c", 1, "MSFT", Side.SELL, 5, 4_100_000))
        await listener.wait_for(md.publisher.next_sequence, timeout=3)
        assert_same_book(engine, md.feed, sub)
        await listener.stop()
        await md.stop()
        return listener

    try:
        listener = _run(scenario())
    except (OSError, TimeoutError) as error:
        pytest.skip(f"multicast on loopback refused by this kernel: {error!r}")
    assert listener.stats["requests"] >= 1 and listener.messages[0][0] == 1


def test_replayed_capture_reaches_subscribers_and_our_orders_trade_against_it():
    path = CAPTURES / "itch50_Multiple.Packets.pcap"
    if not path.exists():
        pytest.skip(f"third-party capture not present: {path}")
    config = _config(replay=ReplayConfig(capture=path, speed=0))
    options = engine_options(config, SYMBOLS)
    engine = MatchingEngine(**options)
    sub = Subscriber(strict=False)  # the capture starts mid-day
    captured = [m for c in iter_mold(path) for m in c.packet.messages]

    async def scenario():
        md = MarketData(config, engine, clock=options["clock"])
        await md.start()
        listener = await _listen(config, md, sub)
        await md.wait_replayed(timeout=5)
        await listener.wait_for(len(captured) + 1)
        assert sub.raw == captured
        ask = engine.best("META", Side.SELL)
        engine.submit(OrderRequest("us", 1, "META", Side.BUY, 10, ask, TimeInForce.IOC))
        await listener.wait_for(md.publisher.next_sequence)
        assert_same_book(engine, md.feed, sub)
        await md.stop()
        await listener.stop()

    _run(scenario())
    execution = sub.decoded[-1]
    assert execution.TYPE == "E" and execution.executed_shares == 10
    # our timestamps follow the replayed market's clock, not the wall clock
    last_replayed = itch.decode(captured[-1]).timestamp
    assert 0 <= execution.timestamp - last_replayed < 10**9


def _real_captures():
    return list(itch_pcaps()) or [pytest.param(None, marks=pytest.mark.skip(
        reason=f"third-party captures not present in {CAPTURES} (set T2T_SHARED)"))]


@pytest.mark.parametrize("path", _real_captures(), ids=lambda p: getattr(p, "name", "none"))
def test_every_real_capture_arrives_over_the_wire_in_order(path):
    config = _config(replay=ReplayConfig(capture=path, speed=0))
    options = engine_options(config, SYMBOLS)
    engine = MatchingEngine(**options)
    captured = [m for c in iter_mold(path) for m in c.packet.messages]
    received: list[tuple[int, bytes]] = []

    async def scenario():
        md = MarketData(config, engine, clock=options["clock"])
        await md.start()
        listener = MoldListener(config.group, config.port, rerequest=md.rerequest_address,
                                on_message=lambda seq, raw: received.append((seq, raw)))
        await listener.start()
        await md.wait_replayed(timeout=5)
        await listener.wait_for(len(captured) + 1)
        await md.stop()
        await listener.stop()

    _run(scenario())
    assert received == list(enumerate(captured, 1))


def test_malformed_requests_do_not_disturb_the_feed():
    config = _config()
    engine = MatchingEngine(SYMBOLS)
    sub = Subscriber()

    async def scenario():
        md = MarketData(config, engine)
        await md.start()
        listener = await _listen(config, md, sub)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
            for datagram in (b"", b"\x00" * 7, b"?" * 20, b"!" * 2000,
                             MoldRequest(md.session, 10**9, 3).encode()):
                junk.sendto(datagram, md.rerequest_address)
        _trade(engine)
        await listener.wait_for(md.publisher.next_sequence)
        await asyncio.sleep(0.05)
        await md.stop()
        await listener.stop()
        return md

    md = _run(scenario())
    stats = md.stats
    assert stats["rerequest.malformed"] == 3 and stats["rerequest.unknown_session"] == 1
    assert stats["rerequest.future"] == 1
    assert_same_book(engine, md.feed, sub)


@pytest.mark.skipif(shutil.which("tshark") is None,
                    reason="tshark is not installed (apt-get install -y tshark)")
def test_tshark_dissects_every_published_packet_without_errors(tmp_path):
    config = _config(mtu=300)
    engine = MatchingEngine(SYMBOLS)
    datagrams: list[tuple[int, bytes]] = []
    sub = Subscriber()

    seen: set[int] = set()

    def drop_first_copy(packet):
        # lose every third live data packet once, so re-request replies are on the wire too
        if not packet.count or packet.sequence in seen:
            return False
        seen.add(packet.sequence)
        return len(seen) % 3 == 0

    async def scenario():
        md = MarketData(config, engine)
        await md.start()
        listener = await _listen(config, md, sub, drop=drop_first_copy,
                                 on_datagram=lambda d: datagrams.append((time.time_ns(), d)))
        for i in range(60):
            engine.submit(OrderRequest("a", i, SYMBOLS[i % 2], Side.SELL, 100 + i,
                                       1_000_000 + 100 * (i % 7)))
            if i % 10 == 0:
                await asyncio.sleep(0)
        await listener.wait_for(md.publisher.next_sequence)
        await asyncio.sleep(0.12)   # heartbeats
        md.end_session()            # re-requests are still served after the end (§2.4)
        await listener.wait_ended()
        await md.stop()
        await listener.stop()
        return md

    md = _run(scenario())
    assert_same_book(engine, md.feed, sub)
    pcap = tmp_path / "feed.pcap"
    with PcapWriter(pcap) as writer:
        for ts, datagram in datagrams:
            writer.write(build_udp_frame(datagram, src_mac="02:00:00:00:00:01",
                                         dst_mac="02:00:00:00:00:02", src_ip="127.0.0.1",
                                         dst_ip="127.0.0.1", src_port=config.port + 1,
                                         dst_port=config.port), ts)
    decode_as = f"udp.port=={config.port},moldudp64"
    errors = subprocess.run(
        ["tshark", "-r", str(pcap), "-d", decode_as, "-Y",
         "_ws.malformed || _ws.expert.severity >= warning || moldudp64.msglen.invalid"
         " || moldudp64.count.invalid || moldudp64.end_of_session_extra"],
        capture_output=True, text=True, check=True).stdout
    assert errors.strip() == ""
    fields = subprocess.run(
        ["tshark", "-r", str(pcap), "-d", decode_as, "-T", "fields", "-E", "separator=|",
         "-e", "moldudp64.session", "-e", "moldudp64.sequence", "-e", "moldudp64.count",
         "-e", "moldudp64.msglen"],
        capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(fields) == len(datagrams)
    kinds = set()
    for line, (_, datagram) in zip(fields, datagrams, strict=True):
        packet = MoldPacket.decode(datagram)
        session, sequence, count, lengths = line.split("|")
        assert session.strip() == "TESTMD"
        assert int(sequence) == packet.sequence and int(count) == packet.count
        assert [int(n) for n in lengths.split(",") if n] == [len(m) for m in packet.messages]
        kinds.add("heartbeat" if packet.is_heartbeat else
                  "end" if packet.is_end_of_session else "data")
    assert kinds == {"heartbeat", "end", "data"}
    assert md.stats["rerequest.replies"] >= 1, dict(md.stats)


def test_stop_lingers_serving_rerequests_after_end_of_session():
    config = _config(end_linger=0.3)
    engine = MatchingEngine(SYMBOLS)
    sub = Subscriber()
    lost_from = [None]
    seen: set[int] = set()

    def lose_the_tail_once(packet) -> bool:
        """The live copy of every data packet from ``lost_from`` on never arrives."""
        if lost_from[0] is None or not packet.messages or packet.sequence < lost_from[0]:
            return False
        first_copy = packet.sequence not in seen
        seen.add(packet.sequence)
        return first_copy

    async def scenario():
        md = MarketData(config, engine)
        await md.start()
        listener = await _listen(config, md, sub, drop=lose_the_tail_once)
        await listener.wait_for(md.publisher.next_sequence)
        lost_from[0] = md.publisher.next_sequence
        _trade(engine)
        await md.stop()       # end of session, then 0.3 s of lingering before closing
        await listener.stop()
        return md, listener

    md, listener = _run(scenario())
    assert listener.stats["dropped_by_test"] >= 1 and md.stats["rerequest.replies"] >= 1
    assert listener.ended and listener.next_sequence == md.publisher.next_sequence
    assert_same_book(engine, md.feed, sub)


def test_engine_events_after_the_end_of_session_are_counted_not_raised():
    config = _config()
    engine = MatchingEngine(SYMBOLS)

    async def scenario():
        md = MarketData(config, engine)
        await md.start()
        md.end_session()
        engine.submit(OrderRequest("late", 1, "AAPL", Side.BUY, 10, 1_000_000))
        await md.stop()
        return md

    md = _run(scenario())
    assert md.stats["mold.after_end_of_session"] == 1
    assert engine.order("late", 1) is not None


def test_a_capture_that_is_missing_or_not_a_capture_is_a_clear_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such capture file"):
        parse_config({"marketdata": {"replay": {"capture": str(tmp_path / "none.pcap")}}})
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a capture")
    config = parse_config({"marketdata": {"replay": {"capture": str(junk)}}})
    with pytest.raises(ConfigError, match="cannot replay .*junk.bin"):
        engine_options(config.marketdata, SYMBOLS)


def test_lossy_line_is_recovered_by_rerequests():
    config = _config(loss=0.4, loss_seed=3, mtu=200)
    engine = MatchingEngine(SYMBOLS)
    sub = Subscriber()

    async def scenario():
        md = MarketData(config, engine)
        await md.start()
        listener = await _listen(config, md, sub)
        for i in range(80):
            engine.submit(OrderRequest("a", i, SYMBOLS[i % 2], Side.BUY, 10 + i,
                                       900_000 + 100 * (i % 9)))
            await asyncio.sleep(0)
        md.end_session()
        await listener.wait_ended()
        await md.stop()
        await listener.stop()
        return md, listener

    md, listener = _run(scenario())
    assert md.stats["mold.lost_on_purpose"] >= 10
    assert [seq for seq, _ in listener.messages] == list(range(1, len(listener.messages) + 1))
    assert_same_book(engine, md.feed, sub)
