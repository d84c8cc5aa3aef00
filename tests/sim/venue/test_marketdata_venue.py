"""The whole venue replaying a capture: OUCH and FIX orders trade against the replayed book.

``Venue`` with ``[marketdata.replay]`` set; the order enters over SoupBinTCP
3.0 / OUCH 5.0 (``sim/venue/client.py``) or FIX 4.4 (``sim/venue/fix``), the
feed is read by our MoldUDP64 listener; the execution shows on both,
against the replayed order.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from conftest import CAPTURES
from itch_subscriber import Subscriber, assert_same_book

from tick2trade.proto import ouch50
from tick2trade.proto.binaryfile import write_binaryfile
from tick2trade.sim.model.generator import generate
from tick2trade.sim.venue.client import OuchClient
from tick2trade.sim.venue.config import (
    DropCopyConfig,
    MarketDataConfig,
    OuchPortConfig,
    ReplayConfig,
    VenueConfig,
)
from tick2trade.sim.venue.engine import MARKET, Side
from tick2trade.sim.venue.fix.client import FixClient, fields
from tick2trade.sim.venue.marketdata.listener import MoldListener
from tick2trade.sim.venue.venue import Venue


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _venue_config(capture) -> VenueConfig:
    return VenueConfig.model_validate({
        "symbols": ["AAPL"],
        "ouch": [OuchPortConfig(name="o50", port=0).model_dump()],
        "dropcopy": DropCopyConfig(enabled=False).model_dump(),
        "fix": {"enabled": False},
        "marketdata": MarketDataConfig(
            group="127.0.0.1", port=_free_udp_port(), rerequest_port=0,
            heartbeat_interval=0.05,
            replay=ReplayConfig(capture=capture, speed=0)).model_dump(),
    })


async def _trade_against_replay(config: VenueConfig, symbol: str):
    venue = Venue(config)
    await venue.start()
    sub = Subscriber(strict=False)
    md = venue.marketdata
    listener = MoldListener(config.marketdata.group, config.marketdata.port,
                            rerequest=md.rerequest_address, on_message=lambda s, raw: sub(raw))
    await listener.start()
    client = OuchClient("127.0.0.1", venue.ouch["o50"].port, "5.0", heartbeat_interval=0.2)
    try:
        await md.wait_replayed(timeout=10)
        await listener.wait_for(md.publisher.next_sequence)
        replayed = len(sub.raw)
        engine = venue.engine
        ask = engine.best(symbol, Side.SELL)
        resting = engine.depth(symbol, Side.SELL)[0].orders[0]
        assert resting.owner == MARKET
        user = config.ouch[0].users[0]
        await client.login(user.username, user.password)
        await client.recv_ouch()                                   # System Event S
        client.send_ouch(ouch50.EnterOrder(1, "B", 1, symbol, ask, ouch50.TimeInForce.IOC,
                                           "Y", "A", "N", "N", "CL1", ()))
        replies = await client.recv_until(ouch50.OrderExecuted)
        await listener.wait_for(md.publisher.next_sequence)
        assert_same_book(engine, md.feed, sub)
        return replies, sub.decoded[replayed:], resting
    finally:
        await client.close()
        await listener.stop()
        await venue.stop()


def test_ouch_order_executes_against_a_replayed_pcap_order():
    path = CAPTURES / "itch50_Multiple.Packets.pcap"
    if not path.exists():
        pytest.skip(f"third-party capture not present: {path}")
    replies, published, resting = asyncio.run(asyncio.wait_for(
        _trade_against_replay(_venue_config(path), "META"), 30))
    executed = replies[-1]
    assert executed.quantity == 1 and executed.price == resting.price
    (execution,) = [m for m in published if m.TYPE == "E"]
    assert execution.order_ref == resting.order_ref and execution.executed_shares == 1
    assert execution.match_number == executed.match_number


def test_ouch_order_executes_against_a_replayed_binaryfile(tmp_path):
    path = tmp_path / "day.itch"
    write_binaryfile(path, generate(2000, symbols=2, seed=5))
    replies, published, resting = asyncio.run(asyncio.wait_for(
        _trade_against_replay(_venue_config(path), "AAPL"), 30))
    assert isinstance(replies[-1], ouch50.OrderExecuted)
    (execution,) = [m for m in published if m.TYPE == "E"]
    assert execution.order_ref == resting.order_ref


def test_fix_order_executes_against_a_replayed_capture(tmp_path):
    path = tmp_path / "day.itch"
    write_binaryfile(path, generate(1500, symbols=2, seed=8))
    data = _venue_config(path).model_dump()
    data["fix"] = {"enabled": True, "port": 0}
    config = VenueConfig.model_validate(data)

    async def scenario():
        venue = Venue(config)
        await venue.start()
        sub = Subscriber(strict=False)
        md = venue.marketdata
        listener = MoldListener(config.marketdata.group, config.marketdata.port,
                                rerequest=md.rerequest_address,
                                on_message=lambda s, raw: sub(raw))
        await listener.start()
        client = FixClient(venue.fix.port, begin_string="FIX.4.4", sender_comp_id="TW44")
        try:
            await md.wait_replayed(timeout=10)
            await listener.wait_for(md.publisher.next_sequence)
            replayed = len(sub.raw)
            ask = venue.engine.best("AAPL", Side.SELL)
            resting = venue.engine.depth("AAPL", Side.SELL)[0].orders[0]
            await client.logon()
            client.send("D", [(11, "F1"), (21, "1"), (38, "2"), (40, "2"),
                              (44, f"{ask / 10_000:.4f}"), (54, "1"), (55, "AAPL"),
                              (59, "3"), (60, "20260101-12:00:00")])
            reports = [fields(await client.expect("8"), 150, 32) for _ in range(2)]
            await listener.wait_for(md.publisher.next_sequence)
            assert_same_book(venue.engine, md.feed, sub)
            return reports, sub.decoded[replayed:], resting
        finally:
            await client.close()
            await listener.stop()
            await venue.stop()

    reports, published, resting = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert reports[1][150] == "F" and reports[1][32] == "2"
    (execution,) = [m for m in published if m.TYPE == "E"]
    assert execution.order_ref == resting.order_ref and execution.executed_shares == 2
