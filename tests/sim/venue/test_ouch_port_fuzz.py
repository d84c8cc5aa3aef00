"""Random and mutated OUCH messages over a real socket never break the port.

Hypothesis picks valid inbound messages of both versions, flips bytes in
them, cuts or extends them, or makes up bytes; the session must stay up
and answer, another account's order must be untouched, and nothing may
raise inside the venue.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ouch_port import enter42, enter50, ports

from tick2trade.proto import ouch42, ouch50
from tick2trade.sim.venue.client import OuchClient

VALID_50 = [enter50(1).encode(), ouch50.ReplaceOrder(1, 2, 50, 1_000_000, "0", "Y", "N",
                                                     "R").encode(),
            ouch50.CancelOrder(1, 0).encode(), ouch50.ModifyOrder(1, "S", 5).encode(),
            ouch50.MassCancel(3, "FIRM", "").encode(), ouch50.AccountQuery().encode(),
            ouch50.DisableOrderEntry(4, "FIRM").encode()]
VALID_42 = [enter42("TOK").encode(), ouch42.CancelOrder("TOK", 0).encode(),
            ouch42.ReplaceOrder("TOK", "TOK2", 50, 1_000_000, 0, "Y", "N", 0).encode(),
            ouch42.ModifyOrder("TOK", "S", 5).encode(), ouch42.TradeNow("TOK").encode()]


@st.composite
def hostile(draw, valid: list[bytes]) -> bytes:
    kind = draw(st.sampled_from(["flip", "cut", "extend", "random"]))
    if kind == "random":
        return draw(st.binary(max_size=80))
    msg = bytearray(draw(st.sampled_from(valid)))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            pos = draw(st.integers(0, len(msg) - 1))
            msg[pos] = draw(st.integers(0, 255))
    elif kind == "cut":
        del msg[draw(st.integers(0, len(msg) - 1)):]
    else:
        msg += draw(st.binary(min_size=1, max_size=10))
    return bytes(msg)


async def barrage(version: str, messages: list[bytes]) -> None:
    async with ports() as (engine, p50, p42, login):
        port = p50 if version == "5.0" else p42
        bob = await login(port, "BOB", "pw2")
        # Bob trades another symbol than the messages Alice's barrage is made from
        bob.send_ouch(enter50(1, "S", 100, symbol="MSFT") if version == "5.0"
                      else enter42("BOB1", "S", 100, stock="MSFT"))
        await bob.recv_ouch()
        alice = await login(port)
        for message in messages:
            alice.send_message(message)
        # still alive: a valid request is answered after everything else
        if version == "5.0":
            alice.send_ouch(ouch50.AccountQuery())
            await alice.recv_until(ouch50.AccountQueryResponse)
        else:
            alice.send_ouch(enter42("ALIVE0000000ZZ", "B", 1, price=1))
            while not isinstance(msg := await alice.recv_ouch(), ouch42.Accepted) or \
                    msg.order_token != "ALIVE0000000ZZ":
                pass
        assert not alice.closed.is_set()
        assert port.server.stats["handler_errors"] == 0
        assert engine.stats.get("subscriber_errors", 0) == 0
        assert engine.order(f"{port.name}:BOB", 1 if version == "5.0" else "BOB1").leaves == 100
        again = OuchClient("127.0.0.1", port.port, version)
        await again.login("BOB", "pw2", sequence=2)       # Bob's stream replays intact
        assert await again.recv_ouch() is not None
        await again.close()


SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@SETTINGS
@given(st.lists(hostile(VALID_50), min_size=1, max_size=40))
def test_hostile_ouch50_messages(messages):
    asyncio.run(asyncio.wait_for(barrage("5.0", messages), 30))


@SETTINGS
@given(st.lists(hostile(VALID_42), min_size=1, max_size=40))
def test_hostile_ouch42_messages(messages):
    asyncio.run(asyncio.wait_for(barrage("4.2", messages), 30))
