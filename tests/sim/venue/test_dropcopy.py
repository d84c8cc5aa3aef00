"""Drop copy over real sockets: every execution, both sides, replayable."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess

import pytest

from tick2trade.proto import ouch50
from tick2trade.proto import soupbintcp as soup
from tick2trade.proto.dropcopy import DropCopyExecution, decode
from tick2trade.sim.venue.client import LoginRejectedError, OuchClient, SoupClient
from tick2trade.sim.venue.config import Credential, DropCopyConfig, OuchPortConfig, SoupConfig
from tick2trade.sim.venue.dropcopy import DropCopy
from tick2trade.sim.venue.engine import MatchingEngine
from tick2trade.sim.venue.events import OrderRequest, Side
from tick2trade.sim.venue.ouch_port import OuchPort

SOUP = SoupConfig(heartbeat_interval=0.2)


def test_layout_is_contiguous_and_round_trips():
    assert DropCopyExecution.LENGTH == 125
    msg = DropCopyExecution(1, 2, "AAPL", 1_500_000, 100, "o50:ALICE", "17", 5, "B", "A", 0,
                            "o42:BOB", "TOKEN", 6, "S", "R", 50)
    assert decode(msg.encode()) == msg


def test_every_execution_reaches_the_drop_copy_and_replays():
    async def scenario():
        engine = MatchingEngine(["AAPL"], clock=lambda: 7)
        users = (Credential(username="ALICE", password="a"), Credential(username="BOB",
                                                                          password="b"))
        port = OuchPort(OuchPortConfig(name="o50", port=0, users=users), engine, soup=SOUP)
        drop = DropCopy(DropCopyConfig(port=0), engine, soup=SOUP)
        await port.start()
        await drop.start()
        watcher = SoupClient("127.0.0.1", drop.port, heartbeat_interval=0.2)
        try:
            with pytest.raises(LoginRejectedError):
                await SoupClient("127.0.0.1", drop.port).login("ALICE", "a")
            await watcher.login("drop", "droppass")
            alice = OuchClient("127.0.0.1", port.port)
            bob = OuchClient("127.0.0.1", port.port)
            await alice.login("ALICE", "a")
            await bob.login("BOB", "b")
            alice.send_ouch(ouch50.EnterOrder(1, "S", 300, "AAPL", 1_000_000, "0", "Y", "A", "N",
                                              "N", "A1"))
            await alice.recv_until(ouch50.OrderAccepted)
            fills = []
            for ref, qty in ((1, 100), (2, 50)):
                bob.send_ouch(ouch50.EnterOrder(ref, "B", qty, "AAPL", 1_000_000, "3", "Y", "A",
                                                "N", "N", f"B{ref}"))
                fills.append((await bob.recv_until(ouch50.OrderExecuted))[-1])
            # liquidity from outside the order ports is on the drop copy too
            engine.submit(OrderRequest("fix:TW44", "F1", "AAPL", Side.BUY, 10, 1_000_000))
            got = [decode(await watcher.recv_sequenced()) for _ in range(3)]
            assert [g.match_number for g in got[:2]] == [f.match_number for f in fills]
            first = got[0]
            assert (first.symbol, first.price, first.shares) == ("AAPL", 1_000_000, 100)
            assert (first.passive_account, first.passive_client_id, first.passive_side,
                    first.passive_liquidity, first.passive_open) == ("o50:ALICE", "1", "S", "A",
                                                                     200)
            assert (first.aggressor_account, first.aggressor_client_id,
                    first.aggressor_liquidity, first.aggressor_open) == ("o50:BOB", "1", "R", 0)
            assert got[2].aggressor_account == "fix:TW44" and got[2].passive_open == 140
            await watcher.close()
            again = SoupClient("127.0.0.1", drop.port, heartbeat_interval=0.2)
            accepted = await again.login("DROP", "DROPPASS", session=watcher.session,
                                         sequence=2)
            assert accepted.sequence == 2
            assert [decode(await again.recv_sequenced()).match_number for _ in range(2)] == [
                g.match_number for g in got[1:]]
            drop.end_of_day()
            assert isinstance(await again.recv(), soup.EndOfSession)
            engine.submit(OrderRequest("fix:TW44", "F2", "AAPL", Side.BUY, 10, 1_000_000))
            assert drop.stream.dropped == 1
            for client in (alice, bob, again):
                await client.close()
        finally:
            await watcher.close()
            await drop.stop()
            await port.stop()
    asyncio.run(asyncio.wait_for(scenario(), 30))


@pytest.mark.skipif(shutil.which("tshark") is None,
                    reason="tshark not installed (the Makefile should install it)")
def test_tshark_dissects_the_drop_copy_stream(tmp_path):
    async def scenario():
        engine = MatchingEngine(["AAPL"], clock=lambda: 5)
        drop = DropCopy(DropCopyConfig(port=0), engine, soup=SOUP)
        await drop.start()
        client = SoupClient("127.0.0.1", drop.port, heartbeat_interval=0.2)
        try:
            await client.login("DROP", "DROPPASS")
            engine.submit(OrderRequest("a", 1, "AAPL", Side.SELL, 100, 100))
            for n in range(3):
                engine.submit(OrderRequest("b", n, "AAPL", Side.BUY, 10, 100))
            for _ in range(3):
                await client.recv_sequenced()
            await client.logout()
            client.transcript.write_pcap(tmp_path / "drop.pcap", client.local,
                                         ("127.0.0.1", drop.port))
            return drop.port
        finally:
            await client.close()
            await drop.stop()
    port = asyncio.run(asyncio.wait_for(scenario(), 20))
    text = subprocess.run(["tshark", "-r", str(tmp_path / "drop.pcap"), "-d",
                           f"tcp.port=={port},soupbintcp", "-V"], capture_output=True, text=True,
                          timeout=60, check=True).stdout
    assert "Malformed" not in text and "Expert Info (Error" not in text
    assert re.findall(r"Sequenced Data, SeqNum=(\d+)", text) == ["1", "2", "3"]
    assert "Login Accepted" in text and "Logout Request" in text
