"""OUCH order ports over real sockets: lifecycles, rejects, replace/cancel rules."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tick2trade.proto import ouch42, ouch50
from tick2trade.proto import soupbintcp as soup
from tick2trade.sim.venue.client import LoginRejectedError, OuchClient
from tick2trade.sim.venue.config import Credential, OuchPortConfig, SoupConfig
from tick2trade.sim.venue.engine import MatchingEngine
from tick2trade.sim.venue.events import SelfMatch
from tick2trade.sim.venue.ouch_port import OuchPort

USERS = (Credential(username="ALICE", password="pw1"), Credential(username="BOB", password="pw2"))
FAST_SOUP = SoupConfig(heartbeat_interval=0.2, idle_timeout=5.0, login_timeout=5.0)


@contextlib.asynccontextmanager
async def ports(soup_config: SoupConfig = FAST_SOUP, **port_kw):
    """An engine with one OUCH 5.0 and one OUCH 4.2 port on ephemeral ports."""
    engine = MatchingEngine(["AAPL", "MSFT"], clock=lambda: 34_200_000_000_000)
    p50 = OuchPort(OuchPortConfig(name="o50", port=0, version="5.0", users=USERS, **port_kw),
                   engine, soup=soup_config, clock=lambda: 1)
    p42 = OuchPort(OuchPortConfig(name="o42", port=0, version="4.2", users=USERS, **port_kw),
                   engine, soup=soup_config, clock=lambda: 1)
    await p50.start()
    await p42.start()
    clients: list[OuchClient] = []

    async def login(port: OuchPort, user="ALICE", password="pw1", **kw) -> OuchClient:
        client = OuchClient("127.0.0.1", port.port, port.dialect.version,
                            heartbeat_interval=kw.pop("heartbeat_interval", 0.2))
        clients.append(client)
        await client.login(user, password, **kw)
        start = await client.recv_ouch()                # System Event S
        assert start.event_code == "S"
        return client

    try:
        yield engine, p50, p42, login
    finally:
        for client in clients:
            await client.close()
        await p50.stop()
        await p42.stop()


def run(coro):
    asyncio.run(asyncio.wait_for(coro, 30))


def enter50(ref, side="B", qty=100, symbol="AAPL", price=1_500_000, tif="0", display="Y",
            cross="N", iso="N", appendage=()):
    return ouch50.EnterOrder(ref, side, qty, symbol, price, tif, display, "A", iso, cross,
                             f"CL{ref}", appendage)


def enter42(token, side="B", shares=100, stock="AAPL", price=1_500_000, tif=99999,
            display="Y", firm="FIRM"):
    return ouch42.EnterOrder(token, side, shares, stock, price, tif, firm, display, "A", "N",
                             0, "N", " ")


# ------------------------------------------------------------------ logins


def test_login_rejects_and_case_insensitive_credentials():
    async def scenario():
        async with ports() as (_, p50, _, login):
            for user, password, session, reason in [
                    ("ALICE", "wrong", b"", soup.LoginRejectReason.NOT_AUTHORIZED),
                    ("NOBODY", "pw1", b"", soup.LoginRejectReason.NOT_AUTHORIZED),
                    ("ALICE", "pw1", b"OTHERSESS", soup.LoginRejectReason.SESSION_NOT_AVAILABLE)]:
                client = OuchClient("127.0.0.1", p50.port)
                with pytest.raises(LoginRejectedError) as info:
                    await client.login(user, password, session=session)
                assert info.value.reason is reason
                await client.wait_closed()          # the server closes after J
                await client.close()
            ok = await login(p50, "alice", "PW1")
            assert ok.session.strip() == b"T2T0000001"
    run(scenario())


# --------------------------------------------------------------- lifecycle


def test_ouch50_full_lifecycle_against_another_session():
    async def scenario():
        async with ports() as (engine, p50, _, login):
            alice = await login(p50)
            bob = await login(p50, "BOB", "pw2")
            alice.send_ouch(enter50(1, "B", 300, price=1_500_000))
            acc = await alice.recv_ouch()
            assert isinstance(acc, ouch50.OrderAccepted)
            assert (acc.user_ref_num, acc.side, acc.quantity, acc.symbol, acc.price,
                    acc.order_state, acc.cl_ord_id) == (1, "B", 300, "AAPL", 1_500_000, "L",
                                                        "CL1")
            # Bob sells 100 into it: both sides see the same match number
            bob.send_ouch(enter50(1, "S", 100, price=1_490_000))
            bob_msgs = await bob.recv_until(ouch50.OrderExecuted)
            ex_alice = await alice.recv_ouch()
            ex_bob = bob_msgs[-1]
            assert ex_alice.match_number == ex_bob.match_number
            assert (ex_alice.quantity, ex_alice.price, ex_alice.liquidity_flag) == (
                100, 1_500_000, "A")
            assert ex_bob.liquidity_flag == "R"
            # replace: total 250 (100 executed) at a new price → 150 open, new reference
            alice.send_ouch(ouch50.ReplaceOrder(1, 2, 250, 1_510_000, "0", "Y", "N", "CL2"))
            rep = await alice.recv_ouch()
            assert isinstance(rep, ouch50.OrderReplaced)
            assert (rep.orig_user_ref_num, rep.user_ref_num, rep.quantity, rep.price) == (
                1, 2, 150, 1_510_000)
            assert rep.order_reference_number != acc.order_reference_number
            # cancel down to a total of 180 (100 executed) → 70 shares removed
            alice.send_ouch(ouch50.CancelOrder(2, 180))
            can = await alice.recv_ouch()
            assert (can.user_ref_num, can.quantity, can.reason) == (2, 70, "U")
            assert can.appendage is None
            alice.send_ouch(ouch50.CancelOrder(2, 0, ()))
            can = await alice.recv_ouch()
            assert (can.quantity, can.appendage) == (80, ())
            assert engine.orders() == []
    run(scenario())


def test_ouch42_lifecycle_trades_with_ouch50():
    async def scenario():
        async with ports() as (_, p50, p42, login):
            alice42 = await login(p42)
            bob50 = await login(p50, "BOB", "pw2")
            alice42.send_ouch(enter42("TOKA1", "S", 200, price=1_000_000))
            acc = await alice42.recv_ouch()
            assert isinstance(acc, ouch42.Accepted)
            assert (acc.order_token, acc.shares, acc.firm, acc.time_in_force) == (
                "TOKA1", 200, "FIRM", 99999)
            bob50.send_ouch(enter50(5, "B", 50, price=1_000_000, tif="3"))
            msgs = await bob50.recv_until(ouch50.OrderExecuted)
            assert msgs[-1].quantity == 50
            ex = await alice42.recv_ouch()
            assert isinstance(ex, ouch42.Executed)
            assert (ex.order_token, ex.executed_shares, ex.execution_price) == (
                "TOKA1", 50, 1_000_000)
            alice42.send_ouch(ouch42.ReplaceOrder("TOKA1", "TOKA2", 300, 1_010_000, 99999, "Y",
                                                  "N", 0))
            rep = await alice42.recv_ouch()
            assert isinstance(rep, ouch42.Replaced)
            assert (rep.replacement_order_token, rep.previous_order_token, rep.shares) == (
                "TOKA2", "TOKA1", 250)
            alice42.send_ouch(ouch42.CancelOrder("TOKA2", 0))
            can = await alice42.recv_ouch()
            assert (can.order_token, can.decrement_shares, can.reason) == ("TOKA2", 250, "U")
            alice42.send_ouch(enter42("TOKA3", firm=""))
            assert (await alice42.recv_ouch()).firm == "ALIC"     # the account's default firm
    run(scenario())


def test_ioc_rest_and_market_orders_are_cancelled():
    async def scenario():
        async with ports() as (_, p50, _, login):
            alice = await login(p50)
            alice.send_ouch(enter50(1, "B", 100, tif="3"))
            acc, can = await alice.recv_ouch(), await alice.recv_ouch()
            assert isinstance(acc, ouch50.OrderAccepted)
            assert (can.quantity, can.reason) == (100, "I")
            alice.send_ouch(enter50(2, "B", 100, price=ouch50.MARKET_PRICE))
            acc, can = await alice.recv_ouch(), await alice.recv_ouch()
            assert acc.price == ouch50.MARKET_PRICE and can.reason == "I"
    run(scenario())


def test_self_match_prevention_within_an_account():
    async def scenario():
        async with ports(self_match=SelfMatch.CANCEL_NEWEST) as (_, p50, _, login):
            alice = await login(p50)
            alice.send_ouch(enter50(1, "S", 100, price=1_000_000))
            await alice.recv_ouch()
            alice.send_ouch(enter50(2, "B", 100, price=1_000_000))
            acc, can = await alice.recv_ouch(), await alice.recv_ouch()
            assert isinstance(acc, ouch50.OrderAccepted)
            assert (can.user_ref_num, can.reason) == (2, "Q")
    run(scenario())


# ------------------------------------------------------------------ rejects


REJECTS_50 = [
    (dict(side="X"), ouch50.RejectReason.INVALID_SIDE),
    (dict(qty=0), ouch50.RejectReason.INVALID_QUANTITY),
    (dict(qty=1_000_000), ouch50.RejectReason.INVALID_QUANTITY),
    (dict(symbol="NOPE"), ouch50.RejectReason.INVALID_SYMBOL),
    (dict(price=0), ouch50.RejectReason.INVALID_PRICE),
    (dict(price=ouch50.MAX_PRICE + 1), ouch50.RejectReason.INVALID_PRICE),
    (dict(display="Q"), ouch50.RejectReason.INVALID_DISPLAY),
    (dict(cross="O"), ouch50.RejectReason.INVALID_CROSS_ORDER),
    (dict(iso="?"), ouch50.RejectReason.ISO_NOT_ALLOWED),
    (dict(tif="9"), ouch50.RejectReason.OTHER),
    (dict(appendage=(ouch50.make_option(ouch50.OptionTag.MIN_QTY, 100),)),
     ouch50.RejectReason.INVALID_MIN_QUANTITY),
    (dict(appendage=(ouch50.make_option(ouch50.OptionTag.PRICE_TYPE, "M"),)),
     ouch50.RejectReason.INVALID_PEG_TYPE),
    (dict(appendage=(ouch50.make_option(ouch50.OptionTag.MAX_FLOOR, 100),)),
     ouch50.RejectReason.INVALID_MAX_FLOOR),
]

REJECTS_42 = [
    (dict(shares=0), ouch42.RejectReason.SHARES_EXCEED_SAFETY),
    (dict(stock="NOPE"), ouch42.RejectReason.INVALID_STOCK),
    (dict(price=0), ouch42.RejectReason.INVALID_PRICE),
    (dict(display="M"), ouch42.RejectReason.INVALID_DISPLAY),
    (dict(side="Q"), ouch42.RejectReason.OTHER),
]


def test_invalid_fields_are_rejected_with_the_spec_reason():
    async def scenario():
        async with ports() as (engine, p50, p42, login):
            alice50, alice42 = await login(p50), await login(p42)
            for ref, (fields, reason) in enumerate(REJECTS_50, start=1):
                alice50.send_ouch(enter50(ref, **fields))
                rej = await alice50.recv_ouch()
                assert isinstance(rej, ouch50.Rejected), fields
                assert (rej.user_ref_num, rej.reason, rej.cl_ord_id) == (ref, reason,
                                                                         f"CL{ref}"), fields
            for n, (fields, reason) in enumerate(REJECTS_42):
                alice42.send_ouch(enter42(f"BAD{n}", **fields))
                rej = await alice42.recv_ouch()
                assert (rej.order_token, rej.reason) == (f"BAD{n}", reason), fields
            engine.halt("AAPL", True)
            alice50.send_ouch(enter50(100))
            assert (await alice50.recv_ouch()).reason == ouch50.RejectReason.HALTED
            alice42.send_ouch(enter42("HALT1"))
            assert (await alice42.recv_ouch()).reason == ouch42.RejectReason.HALTED
            assert engine.orders() == []
    run(scenario())


def test_duplicate_ids_are_ignored():
    async def scenario():
        async with ports() as (_, p50, p42, login):
            alice50, alice42 = await login(p50), await login(p42)
            alice50.send_ouch(enter50(10))
            await alice50.recv_ouch()
            alice50.send_ouch(enter50(10))          # repeated: ignored
            alice50.send_ouch(enter50(9))           # lower: ignored
            alice50.send_ouch(ouch50.AccountQuery())
            answer = await alice50.recv_ouch()      # nothing came before the answer
            assert isinstance(answer, ouch50.AccountQueryResponse)
            assert answer.next_user_ref_num == 11 and answer.appendage is None
            alice42.send_ouch(enter42("DUP"))
            await alice42.recv_ouch()
            alice42.send_ouch(enter42("DUP", shares=5))
            alice42.send_ouch(enter42("NEXT"))
            acc = await alice42.recv_ouch()
            assert acc.order_token == "NEXT"
            assert p50.stats["duplicate_id"] == 2 and p42.stats["duplicate_id"] == 1
    run(scenario())


def test_replace_rules():
    async def scenario():
        async with ports() as (engine, p50, _, login):
            alice = await login(p50)
            alice.send_ouch(enter50(1, qty=100, price=1_000_000))
            await alice.recv_ouch()
            # not live → ignored (and the new number stays free)
            alice.send_ouch(ouch50.ReplaceOrder(77, 2, 100, 1_000_000, "0", "Y", "N", "X"))
            # invalid (quantity too large) → the old order is cancelled
            alice.send_ouch(ouch50.ReplaceOrder(1, 2, 1_000_000, 1_000_000, "0", "Y", "N", "X"))
            can = await alice.recv_ouch()
            assert isinstance(can, ouch50.OrderCanceled) and can.user_ref_num == 1
            # number 2 was not consumed: a fresh order may use it
            alice.send_ouch(enter50(2, qty=100, price=1_000_000))
            assert (await alice.recv_ouch()).user_ref_num == 2
            engine.halt("AAPL", True)
            alice.send_ouch(ouch50.ReplaceOrder(2, 3, 100, 1_000_100, "0", "Y", "N", "X"))
            rej = await alice.recv_ouch()
            assert (rej.user_ref_num, rej.reason) == (3, ouch50.RejectReason.HALTED)
            assert engine.order("o50:ALICE", 2).leaves == 100
    run(scenario())


def test_modify_mass_cancel_and_order_entry_switch():
    async def scenario():
        async with ports() as (engine, p50, _, login):
            alice = await login(p50)
            for ref, sym in ((1, "AAPL"), (2, "AAPL"), (3, "MSFT")):
                alice.send_ouch(enter50(ref, "S", 100, symbol=sym))
                await alice.recv_ouch()
            alice.send_ouch(ouch50.ModifyOrder(1, "T", 60))
            mod = await alice.recv_ouch()
            assert isinstance(mod, ouch50.OrderModified)
            assert (mod.side, mod.quantity) == ("T", 60)
            assert engine.order("o50:ALICE", 1).leaves == 60
            alice.send_ouch(ouch50.ModifyOrder(1, "B", 10))    # sell → buy: not allowed
            alice.send_ouch(ouch50.MassCancel(4, "FIRM", "AAPL"))
            msgs = await alice.recv_until(ouch50.MassCancelResponse)
            assert sorted(m.user_ref_num for m in msgs[:-1]) == [1, 2]
            assert engine.order("o50:ALICE", 3) is not None
            alice.send_ouch(ouch50.DisableOrderEntry(5, "FIRM"))
            assert isinstance(await alice.recv_ouch(), ouch50.DisableOrderEntryResponse)
            alice.send_ouch(enter50(6))
            assert (await alice.recv_ouch()).reason == ouch50.RejectReason.OTHER
            alice.send_ouch(ouch50.EnableOrderEntry(7, "FIRM"))
            assert isinstance(await alice.recv_ouch(), ouch50.EnableOrderEntryResponse)
            alice.send_ouch(enter50(8))
            assert isinstance(await alice.recv_ouch(), ouch50.OrderAccepted)
    run(scenario())


# ------------------------------------------------------- sessions, replay


def test_relogin_replays_from_the_requested_sequence():
    async def scenario():
        async with ports() as (_, p50, _, login):
            alice = await login(p50)
            for ref in (1, 2, 3):
                alice.send_ouch(enter50(ref, price=1_000_000 + ref))
                await alice.recv_ouch()
            session = alice.session
            assert alice.next_sequence == 5          # S event + 3 accepts
            await alice.logout()
            again = OuchClient("127.0.0.1", p50.port)
            acc = await again.login("ALICE", "pw1", session=session, sequence=3)
            assert acc.sequence == 3
            replayed = [await again.recv_ouch() for _ in range(2)]
            assert [m.user_ref_num for m in replayed] == [2, 3]
            again.send_ouch(enter50(4))
            assert (await again.recv_ouch()).user_ref_num == 4
            await again.close()
            latest = OuchClient("127.0.0.1", p50.port)
            assert (await latest.login("ALICE", "pw1", sequence=0)).sequence == 6
            beat = await latest.recv(0.5, heartbeats=True)
            assert isinstance(beat, soup.ServerHeartbeat)   # nothing replayed
            await latest.close()
            beyond = OuchClient("127.0.0.1", p50.port)
            assert (await beyond.login("ALICE", "pw1", sequence=999)).sequence == 6
            await beyond.close()
    run(scenario())


def test_second_login_takes_over_and_end_of_session():
    async def scenario():
        async with ports() as (_, p50, _, login):
            first = await login(p50)
            second = OuchClient("127.0.0.1", p50.port)
            await second.login("ALICE", "pw1", sequence=2)
            await first.wait_closed()
            p50.end_of_day()
            eod = await second.recv_ouch()
            assert isinstance(eod, ouch50.SystemEvent) and eod.event_code == "E"
            assert isinstance(await second.recv(), soup.EndOfSession)
            await second.wait_closed()
            await second.close()
            late = OuchClient("127.0.0.1", p50.port)
            with pytest.raises(LoginRejectedError) as info:
                await late.login("ALICE", "pw1", session=second.session)
            assert info.value.reason is soup.LoginRejectReason.SESSION_NOT_AVAILABLE
            await late.close()
    run(scenario())


def test_server_heartbeats_and_idle_timeout():
    async def scenario():
        config = SoupConfig(heartbeat_interval=0.1, idle_timeout=0.5, login_timeout=0.5)
        async with ports(config) as (_, p50, _, login):
            silent = await login(p50, heartbeat_interval=None)
            beat = await silent.recv(1.0, heartbeats=True)
            assert isinstance(beat, soup.ServerHeartbeat)
            await silent.wait_closed(3.0)            # no client heartbeats → closed
            assert p50.server.stats["idle_timeouts"] == 1
            chatty = await login(p50)                # client heartbeats keep it alive
            await asyncio.sleep(1.0)
            assert not chatty.closed.is_set()
            mute = OuchClient("127.0.0.1", p50.port)
            await mute.connect()                      # never logs in
            await mute.wait_closed(3.0)
            assert p50.server.stats["login_timeouts"] == 1
            await mute.close()
    run(scenario())


# ------------------------------------------------------------ bad input


def test_malformed_input_never_hurts_other_sessions():
    async def scenario():
        async with ports() as (engine, p50, _, login):
            bob = await login(p50, "BOB", "pw2")
            bob.send_ouch(enter50(1, "S", 500, price=1_000_000))
            await bob.recv_ouch()
            alice = await login(p50)
            alice.send_raw(b"\x00\x05Q1234")                  # unknown SoupBinTCP type
            alice.send_raw(b"\x00\x03R\x00\x00")               # heartbeat with a payload
            alice.send_message(b"Z\x00\x01")                   # unknown OUCH type
            alice.send_message(enter50(3).encode()[:-3])       # truncated Enter Order
            alice.send_message(enter50(4).encode() + b"\x00")  # trailing byte
            alice.send_message(b"")                            # empty message
            alice.send(soup.LoginRequest("ALICE", "pw1"))       # a second login: ignored
            alice.send_ouch(enter50(5, "B", 100, price=1_000_000))
            msgs = await alice.recv_until(ouch50.OrderExecuted)
            assert [type(m) for m in msgs] == [ouch50.OrderAccepted, ouch50.OrderExecuted]
            assert p50.server.stats["malformed"] == 3 and p50.stats["malformed"] == 4
            # a broken length field ends only that connection
            alice.send_raw(b"\xff\xff" + bytes(range(256)))
            await alice.wait_closed()
            garbage = OuchClient("127.0.0.1", p50.port)
            await garbage.connect()
            garbage.send_raw(b"GET / HTTP/1.1\r\n\r\n")
            await garbage.wait_closed()
            await garbage.close()
            no_login = OuchClient("127.0.0.1", p50.port)
            await no_login.connect()
            no_login.send(soup.ClientHeartbeat())            # first packet is not a login
            await no_login.wait_closed()
            await no_login.close()
            assert p50.server.stats["framing_errors"] == 2
            assert p50.server.stats["login_protocol_errors"] == 1
            # Bob's session and orders are intact and still trade
            assert (await bob.recv_ouch()).quantity == 100     # his fill from Alice
            assert engine.order("o50:BOB", 1).leaves == 400
            bob.send_ouch(ouch50.CancelOrder(1, 0))
            assert (await bob.recv_ouch()).quantity == 400
            again = OuchClient("127.0.0.1", p50.port)
            await again.login("ALICE", "pw1", sequence=1)
            assert (await again.recv_ouch()).event_code == "S"  # her stream survived
            await again.close()
    run(scenario())
