"""Real OUCH 5.0 client bytes (Nasdaq captures) sent to our port; answers shaped like Nasdaq's.

The captures hold single SoupBinTCP packets from real sessions (see the
captures README): we send the client packets unchanged and check what the
venue makes of them, and compare our outbound messages with the captured
server messages of the same types.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tick2trade.proto import ouch50
from tick2trade.proto import soupbintcp as soup
from tick2trade.proto.net import parse_frame
from tick2trade.proto.pcap import read_records
from tick2trade.sim.venue.client import OuchClient
from tick2trade.sim.venue.config import OuchPortConfig, SoupConfig
from tick2trade.sim.venue.engine import MatchingEngine
from tick2trade.sim.venue.ouch_port import OuchPort


def soup_packet(captures_dir, name: str) -> bytes:
    (record,) = read_records(captures_dir / name)
    return parse_frame(record.frame).payload


@contextlib.asynccontextmanager
async def cvlt_port(ts: int = 44_647_483_708_183):
    engine = MatchingEngine(["CVLT", "ADBE"], clock=lambda: ts)
    port = OuchPort(OuchPortConfig(port=0), engine, soup=SoupConfig(heartbeat_interval=0.2))
    await port.start()
    client = OuchClient("127.0.0.1", port.port, heartbeat_interval=0.2)
    try:
        await client.login("T2T", "T2TPASS")
        assert (await client.recv_ouch()).event_code == "S"
        yield port, client
    finally:
        await client.close()
        await port.stop()


def test_captured_enter_order_is_accepted_as_entered(captures_dir):
    enter = soup_packet(captures_dir, "ouch50_EnterOrderMessage.pcap")
    heartbeat = soup_packet(captures_dir, "ouch50_ClientHeartbeatPacket.pcap")
    cancel = soup_packet(captures_dir, "ouch50_CancelOrderMessage.pcap")
    sent = ouch50.decode_inbound(soup.decode(enter).message)

    async def scenario():
        async with cvlt_port() as (port, client):
            client.send_raw(heartbeat)
            client.send_raw(enter)
            acc = await client.recv_ouch()
            assert isinstance(acc, ouch50.OrderAccepted)
            assert (acc.user_ref_num, acc.side, acc.quantity, acc.symbol, acc.price,
                    acc.time_in_force, acc.display, acc.capacity, acc.cross_type,
                    acc.cl_ord_id) == (sent.user_ref_num, sent.side, sent.quantity, sent.symbol,
                                       sent.price, sent.time_in_force, sent.display,
                                       sent.capacity, sent.cross_type, sent.cl_ord_id)
            assert ouch50.get_option(acc, ouch50.OptionTag.FIRM) == "LIME"
            assert port.engine.order("ouch50:T2T", sent.user_ref_num).side.value == "S"  # short
            client.send_raw(cancel)       # an order this session never entered: ignored
            client.send_ouch(ouch50.AccountQuery())
            answer = await client.recv_ouch()
            assert answer.next_user_ref_num == sent.user_ref_num + 1
            assert port.server.stats["malformed"] == 0 and port.stats["malformed"] == 0
            assert port.stats["cancel_ignored"] == 1
    asyncio.run(asyncio.wait_for(scenario(), 20))


@pytest.mark.parametrize("capture, make", [
    ("ouch50_OrderAcceptedMessage.pcap", "accepted"),
    ("ouch50_CanceledMessage.pcap", "canceled"),
])
def test_outbound_messages_match_the_captured_layouts(captures_dir, capture, make):
    """Our Accepted / Canceled for the captured order have the captured fixed layout."""
    theirs = ouch50.decode_outbound(soup.decode(soup_packet(captures_dir, capture)).message)

    async def scenario():
        async with cvlt_port(theirs.timestamp) as (_, client):
            # the captured order: ADBE, buy 40 @ 477.78 (UserRefNum from the capture)
            ref = theirs.user_ref_num
            client.send_ouch(ouch50.EnterOrder(ref, "B", 40, "ADBE", 4_777_800, "0", "Y", "A",
                                               "N", "N", "CAPTURE"))
            acc = await client.recv_ouch()
            client.send_ouch(ouch50.CancelOrder(ref, 0))
            can = await client.recv_ouch()
            return {"accepted": acc, "canceled": can}[make]
    ours = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert type(ours) is type(theirs)
    assert len(ours.encode()) - len(ours.appendage_bytes) == \
        len(theirs.encode()) - len(theirs.appendage_bytes)
    assert (ours.user_ref_num, ours.timestamp) == (theirs.user_ref_num, theirs.timestamp)
    if make == "canceled":
        assert ours.encode() == theirs.encode()       # same order, same cancel: same bytes
    else:
        assert (ours.side, ours.quantity, ours.symbol, ours.price) == (
            theirs.side, theirs.quantity, theirs.symbol, theirs.price)
