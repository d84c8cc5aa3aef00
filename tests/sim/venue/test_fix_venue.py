"""The ``venue`` profile over real sockets: FIX orders through the matching engine.

Each test runs for FIX 4.2 and 4.4 and reads every reply through
``FixClient``, which validates it against the version's data dictionary.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tick2trade.sim.venue.engine import MatchingEngine
from tick2trade.sim.venue.events import OrderRequest, Side
from tick2trade.sim.venue.fix import FixAcceptor, FixConfig, FixSessionConfig
from tick2trade.sim.venue.fix.client import FixClient, fields

VERSIONS = {"FIX.4.2": "TW42", "FIX.4.4": "TW44"}
SYMBOLS = ("AAPL", "MSFT")
TRANSACT_TIME = "20260101-12:00:00"
# tags read back from ExecutionReports
ER_TAGS = (11, 41, 37, 150, 39, 151, 14, 6, 32, 31, 38, 44, 103, 20)


@contextlib.asynccontextmanager
async def venue(*versions):
    engine = MatchingEngine(SYMBOLS)
    acceptor = FixAcceptor(FixConfig(port=0), "venue", engine=engine)
    await acceptor.start()
    clients = []
    try:
        for version in versions:
            client = FixClient(acceptor.port, begin_string=version,
                               sender_comp_id=VERSIONS[version])
            await client.logon()
            clients.append(client)
        yield engine, acceptor, clients
    finally:
        for client in clients:
            await client.close()
        await acceptor.stop()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def new_order(client, cl_ord_id, side="1", qty="100", price="10.00", symbol="AAPL",
              ord_type="2", tif=None):
    body = [(11, cl_ord_id), (21, "1"), (38, qty), (40, ord_type)]
    if price is not None:
        body.append((44, price))
    body += [(54, side), (55, symbol)]
    if tif is not None:
        body.append((59, tif))
    body.append((60, TRANSACT_TIME))
    client.send("D", body)


def cancel(client, cl_ord_id, orig, side="1", symbol="AAPL"):
    client.send("F", [(11, cl_ord_id), (38, "100"), (41, orig), (54, side), (55, symbol),
                      (60, TRANSACT_TIME)])


def replace(client, cl_ord_id, orig, qty, price, side="1", symbol="AAPL"):
    client.send("G", [(11, cl_ord_id), (21, "1"), (38, qty), (40, "2"), (41, orig),
                      (44, price), (54, side), (55, symbol), (60, TRANSACT_TIME)])


async def report(client):
    return fields(await client.expect("8"), *ER_TAGS)


def fill_type(version, full):
    if version == "FIX.4.4":
        return "F"
    return "2" if full else "1"


@pytest.mark.parametrize("version", VERSIONS)
def test_new_partial_fill_by_other_participant_then_fill(version):
    async def body():
        other = "FIX.4.4" if version == "FIX.4.2" else "FIX.4.2"
        async with venue(version, other) as (engine, _, (client, counterparty)):
            new_order(client, "B1", side="1", qty="100", price="10.00")
            er = await report(client)
            assert er[150] == "0" and er[39] == "0" and er[11] == "B1"
            assert (er[151], er[14], er[6], er[38], er[44]) == ("100", "0", "0", "100", "10")
            assert (er[20] == "0") == (version == "FIX.4.2")
            order_id = er[37]

            # an OUCH participant (straight into the engine) sells 40
            engine.submit(OrderRequest("ouch:1", 1, "AAPL", Side.SELL, 40, 100_000))
            er = await report(client)
            assert er[150] == fill_type(version, False) and er[39] == "1"
            assert (er[32], er[31], er[151], er[14], er[6]) == ("40", "10", "60", "40", "10")
            assert er[37] == order_id

            # another FIX session sells 60 at a lower limit: trades at the resting 10.00
            new_order(counterparty, "S1", side="2", qty="60", price="9.50")
            assert (await report(counterparty))[150] == "0"
            er = await report(client)
            assert er[150] == fill_type(version, True) and er[39] == "2"
            assert (er[32], er[31], er[151], er[14], er[6]) == ("60", "10", "0", "100", "10")
            er = await report(counterparty)
            assert er[39] == "2" and (er[32], er[31], er[14]) == ("60", "10", "60")
    run(body())


@pytest.mark.parametrize("version", VERSIONS)
def test_replace_then_cancel(version):
    async def body():
        async with venue(version) as (engine, _, (client,)):
            new_order(client, "A1", qty="100", price="10.00")
            order_id = (await report(client))[37]
            replace(client, "A2", "A1", qty="200", price="10.5")
            er = await report(client)
            assert (er[150], er[39], er[11], er[41]) == ("5", "0", "A2", "A1")
            assert (er[38], er[44], er[151], er[14], er[37]) == ("200", "10.5", "200", "0",
                                                                 order_id)
            assert engine.order(f"fix:{version}:ISLD->{VERSIONS[version]}", "A2").price \
                == 105_000
            cancel(client, "A3", "A2")
            er = await report(client)
            assert (er[150], er[39], er[11], er[41], er[151]) == ("4", "4", "A3", "A2", "0")
            assert engine.orders() == []
            cancel(client, "A4", "A2")  # already canceled: too late
            reject = fields(await client.expect("9"), 11, 41, 39, 102, 434, 37)
            assert reject == {11: "A4", 41: "A2", 39: "4", 102: "0", 434: "1", 37: order_id}
    run(body())


@pytest.mark.parametrize("version", VERSIONS)
def test_order_rejects(version):
    async def body():
        async with venue(version) as (_, _, (client,)):
            new_order(client, "R1", symbol="ZZZZ")
            er = await report(client)
            assert (er[150], er[39], er[103], er[151], er[14]) == ("8", "8", "1", "0", "0")
            new_order(client, "R2", qty="0")
            assert (await report(client))[103] == ("0" if version == "FIX.4.2" else "13")
            new_order(client, "R3", qty="10.5")
            assert (await report(client))[39] == "8"
            new_order(client, "R4", price="10.12345")
            er = await report(client)
            assert er[39] == "8" and er[103] == ("0" if version == "FIX.4.2" else "99")
            new_order(client, "R5", price=None)  # limit without a price
            assert (await report(client))[39] == "8"
            new_order(client, "R6", tif="6")  # GTD is not supported
            assert (await report(client))[39] == "8"
            new_order(client, "R7")
            assert (await report(client))[39] == "0"
            new_order(client, "R7")  # duplicate ClOrdID
            er = await report(client)
            assert (er[39], er[103]) == ("8", "6")
            cancel(client, "C1", "NOPE")
            reject = fields(await client.expect("9"), 11, 41, 37, 102, 434)
            assert reject == {11: "C1", 41: "NOPE", 37: "NONE", 102: "1", 434: "1"}
            replace(client, "C2", "NOPE", "10", "10")
            reject = fields(await client.expect("9"), 102, 434)
            assert reject == {102: "1", 434: "2"}
    run(body())


@pytest.mark.parametrize("version", VERSIONS)
def test_market_order_fills_and_cancels_rest(version):
    async def body():
        async with venue(version) as (engine, _, (client,)):
            engine.submit(OrderRequest("ouch:1", 1, "MSFT", Side.SELL, 30, 2_000_000))
            new_order(client, "M1", qty="50", price=None, ord_type="1", symbol="MSFT")
            assert (await report(client))[39] == "0"
            er = await report(client)
            assert (er[39], er[32], er[31], er[151]) == ("1", "30", "200", "20")
            er = await report(client)
            assert (er[150], er[39], er[14], er[151], er[6]) == ("4", "4", "30", "0", "200")
    run(body())


@pytest.mark.parametrize("version", VERSIONS)
def test_replace_below_and_down_to_executed(version):
    async def body():
        async with venue(version) as (engine, _, (client,)):
            new_order(client, "P1", side="2", qty="100", price="20")
            await report(client)
            engine.submit(OrderRequest("ouch:1", 1, "AAPL", Side.BUY, 70, 200_000))
            assert (await report(client))[14] == "70"
            replace(client, "P2", "P1", qty="50", price="20", side="2")
            reject = fields(await client.expect("9"), 11, 41, 39, 434)
            assert reject == {11: "P2", 41: "P1", 39: "1", 434: "2"}
            replace(client, "P3", "P1", qty="70", price="20", side="2")
            er = await report(client)
            assert (er[150], er[39], er[11], er[41], er[151], er[14], er[38]) == (
                "5", "2", "P3", "P1", "0", "70", "70")
            assert engine.orders() == []
    run(body())


def test_other_message_types_get_business_reject():
    async def body():
        async with venue("FIX.4.4") as (_, _, (client,)):
            client.send("8", [(6, "0"), (14, "0"), (17, "E1"), (37, "O1"), (39, "0"),
                              (54, "1"), (55, "AAPL"), (150, "0"), (151, "0")])
            reject = fields(await client.expect("j"), 372, 380, 58)
            assert reject == {372: "8", 380: "3", 58: "Unsupported Message Type"}
    run(body())


def test_pipelined_orders_from_two_sessions_all_fill():
    """Many orders in flight on both sessions: every one is acknowledged and filled once."""
    count = 150

    async def body():
        async with venue("FIX.4.2", "FIX.4.4") as (engine, _, (buyer, seller)):
            for i in range(count):
                new_order(buyer, f"B{i}", side="1", qty="10", price="10")
                new_order(seller, f"S{i}", side="2", qty="10", price="10")
            for client, prefix in ((buyer, "B"), (seller, "S")):
                status = {}
                for _ in range(2 * count):
                    er = await report(client)
                    assert er[11].startswith(prefix)
                    status.setdefault(er[11], []).append(er[39])
                assert len(status) == count
                assert all(s == ["0", "2"] for s in status.values()), status
            assert engine.orders() == []
    run(body())


def test_drop_copy_session_gets_every_execution():
    async def body():
        sessions = [FixSessionConfig(begin_string=v, target_comp_id=t)
                    for v, t in VERSIONS.items()]
        sessions.append(FixSessionConfig(begin_string="FIX.4.4", target_comp_id="DROP"))
        config = FixConfig(port=0, sessions=sessions, drop_copy_target_comp_id="DROP")
        engine = MatchingEngine(SYMBOLS)
        acceptor = FixAcceptor(config, "venue", engine=engine)
        await acceptor.start()
        trader = FixClient(acceptor.port, begin_string="FIX.4.2", sender_comp_id="TW42")
        drop = FixClient(acceptor.port, sender_comp_id="DROP")
        try:
            await trader.logon()
            await drop.logon()
            engine.submit(OrderRequest("ouch:7", "T1", "MSFT", Side.SELL, 100, 2_000_000))
            new_order(trader, "F1", side="1", qty="60", price="200", symbol="MSFT")
            assert (await report(trader))[39] == "0"
            assert (await report(trader))[39] == "2"
            copies = [await drop.expect("8") for _ in range(2)]
            got = {c.getField(1): fields(c, 11, 39, 32, 31, 151, 14, 150, 54) for c in copies}
            assert got == {
                "ouch:7": {11: "T1", 39: "1", 32: "60", 31: "200", 151: "40", 14: "60",
                           150: "F", 54: "2"},
                "fix:FIX.4.2:ISLD->TW42": {11: "F1", 39: "2", 32: "60", 31: "200", 151: "0",
                                           14: "60", 150: "F", 54: "1"},
            }
        finally:
            await trader.close()
            await drop.close()
            await acceptor.stop()
    run(body())


@pytest.mark.parametrize("version", VERSIONS)
def test_halt_self_match_and_ioc(version):
    async def body():
        async with venue(version) as (engine, _, (client,)):
            engine.halt("MSFT", True)
            new_order(client, "H1", symbol="MSFT")
            er = await report(client)
            assert (er[39], er[103]) == ("8", "2")
            engine.halt("MSFT", False)
            # our own resting sell, then our own crossing buy: self-match cancels the buy
            new_order(client, "S1", side="2", qty="10", price="10")
            assert (await report(client))[39] == "0"
            new_order(client, "B1", side="1", qty="10", price="10")
            assert (await report(client))[39] == "0"
            er = fields(await client.expect("8"), 11, 39, 150, 58, 14)
            assert (er[11], er[39], er[150], er[14]) == ("B1", "4", "4", "0")
            assert "self-match" in er[58]
            # an IOC that finds nothing: New, then Canceled
            new_order(client, "I1", side="1", qty="10", price="9", tif="3")
            assert (await report(client))[39] == "0"
            er = await report(client)
            assert (er[11], er[39], er[151]) == ("I1", "4", "0")
            assert [o.client_id for o in engine.orders()] == ["S1"]
    run(body())


@pytest.mark.parametrize("version", VERSIONS)
def test_order_without_symbol_is_rejected_and_the_session_trades_on(version):
    """FIX 4.2 requires Symbol (session Reject); FIX 4.4 does not (order Rejected)."""
    async def body():
        async with venue(version) as (_, _, (client,)):
            seq = client.send("D", [(11, "N1"), (21, "1"), (38, "10"), (40, "2"), (44, "10"),
                                    (54, "1"), (60, TRANSACT_TIME)])  # no Symbol (55)
            if version == "FIX.4.2":
                reject = fields(await client.expect("3"), 45, 371, 372)
                assert reject == {45: str(seq), 371: "55", 372: "D"}
            else:
                er = fields(await client.expect("8"), 39, 55, 58, 103)
                assert er == {39: "8", 55: None, 58: "Symbol missing", 103: "1"}
            new_order(client, "N2")
            assert (await report(client))[39] == "0"
    run(body())
