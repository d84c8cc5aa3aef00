"""Venue assembly, its TOML config, and ``t2t venue`` as a real process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tick2trade.proto import ouch42, ouch50
from tick2trade.proto import soupbintcp as soup
from tick2trade.proto.dropcopy import decode as decode_drop
from tick2trade.sim.venue.client import OuchClient, SoupClient
from tick2trade.sim.venue.config import ConfigError, VenueConfig, load_config, parse_config
from tick2trade.sim.venue.events import MARKET, Side
from tick2trade.sim.venue.venue import Venue

T2T = Path(sys.executable).with_name("t2t")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_text(fix: bool = False) -> str:
    return textwrap.dedent(f"""
        symbols = ["AAPL", "MSFT"]
        [soup]
        heartbeat_interval = 0.2
        [[ouch]]
        name = "ouch50"
        port = 0
        [[ouch]]
        name = "ouch42"
        port = 0
        version = "4.2"
        [dropcopy]
        port = 0
        [fix]
        enabled = {"true" if fix else "false"}
        port = 0
        [marketdata]
        group = "127.0.0.1"
        port = {free_udp_port()}
        rerequest_port = 0
    """)


# ------------------------------------------------------------------ config


def test_defaults_name_every_port():
    config = VenueConfig()
    assert config.host == "127.0.0.1"
    assert [(p.name, p.port, p.version) for p in config.ouch] == [("ouch50", 15000, "5.0"),
                                                                  ("ouch42", 15001, "4.2")]
    assert config.dropcopy.port == 15100 and config.fix.port == 9878
    assert (config.marketdata.group, config.marketdata.port) == ("233.54.12.111", 26477)
    assert config.soup.heartbeat_interval == 1.0 and config.soup.idle_timeout == 15.0
    with pytest.raises(ValueError):
        config.ouch[0].port = 1          # frozen


@pytest.mark.parametrize("data, message", [
    ({"bogus": 1}, "bogus: unknown key"),
    ({"ouch": [{"name": "a", "colour": "red"}]}, "ouch.0.colour: unknown key"),
    ({"soup": {"heartbeat_interval": 0}}, "soup.heartbeat_interval"),
    ({"ouch": [{"version": "4.1"}]}, "ouch.0.version"),
    ({"ouch": [{"name": "a"}, {"name": "a"}]}, "duplicate OUCH port name"),
    ({"symbols": ["TOOLONGSYM"]}, "symbols"),
    ({"dropcopy": {"users": [{"username": "TOOLONGNAME", "password": "x"}]}}, "username"),
])
def test_bad_config_names_the_key(data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(data)


def test_load_config_from_toml(tmp_path):
    path = tmp_path / "venue.toml"
    path.write_text(config_text())
    config = load_config(path)
    assert config.symbols == ("AAPL", "MSFT") and config.ouch[1].version == "4.2"
    path.write_text("[soup\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


# ------------------------------------------------------------ in process


def test_venue_runs_orders_drop_copy_and_ends_the_day(tmp_path):
    async def scenario():
        path = tmp_path / "venue.toml"
        path.write_text(config_text())
        venue = Venue(load_config(path))
        await venue.start()
        try:
            names = [e.name for e in venue.endpoints()]
            assert names == ["ouch50", "ouch42", "dropcopy", "marketdata", "rerequest"]
            drop = SoupClient("127.0.0.1", venue.dropcopy.port, heartbeat_interval=0.2)
            await drop.login("DROP", "DROPPASS")
            buyer = OuchClient("127.0.0.1", venue.ouch["ouch50"].port)
            seller = OuchClient("127.0.0.1", venue.ouch["ouch42"].port, "4.2")
            await buyer.login("T2T", "T2TPASS")
            await seller.login("T2T", "T2TPASS")
            for client in (buyer, seller):
                assert (await client.recv_ouch()).event_code == "S"
            buyer.send_ouch(ouch50.EnterOrder(1, "B", 100, "AAPL", 2_000_000, "0", "Y", "A",
                                              "N", "N", "C1"))
            await buyer.recv_ouch()
            seller.send_ouch(ouch42.EnterOrder("S1", "S", 40, "AAPL", 1_990_000, 0, "", "Y", "A",
                                               "N", 0, "N", " "))
            fill = (await seller.recv_until(ouch42.Executed))[-1]
            drop_fill = decode_drop(await drop.recv_sequenced())
            assert drop_fill.match_number == fill.match_number
            assert (drop_fill.passive_account, drop_fill.aggressor_account) == ("ouch50:T2T",
                                                                                 "ouch42:T2T")
            assert venue.marketdata.stats["mold.messages"] > 0
            stats = venue.stats()
            assert stats["engine"]["trades"] == 1 and stats["ouch50"]["enter"] == 1
            assert stats["ouch42"]["soup.logins"] == 1 and stats["dropcopy"]["soup.logins"] == 1
            await venue.stop()
            end = await buyer.recv_until(ouch50.SystemEvent)
            assert end[-1].event_code == "E"
            assert isinstance(await buyer.recv(), soup.EndOfSession)
            assert isinstance(await drop.recv(), soup.EndOfSession)
            for client in (buyer, seller, drop):
                await client.close()
        finally:
            await venue.stop()
    asyncio.run(asyncio.wait_for(scenario(), 30))


# ----------------------------------------------------------------- process


def _read_ports(proc: subprocess.Popen) -> dict[str, int]:
    ports = {}
    for line in proc.stderr:
        if "ready" in line:
            return ports
        match = re.match(r"venue: (\w+): .* on [\d.]+:(\d+)", line)
        if match:
            ports[match[1]] = int(match[2])
    raise AssertionError("t2t venue exited before it was ready")


@pytest.mark.skipif(not T2T.exists(), reason="t2t entry point not installed in this venv")
def test_t2t_venue_serves_until_interrupted(tmp_path):
    path = tmp_path / "venue.toml"
    path.write_text(config_text(fix=True))
    proc = subprocess.Popen([str(T2T), "venue", "--config", str(path)], text=True,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        ports = _read_ports(proc)
        assert set(ports) == {"ouch50", "ouch42", "dropcopy", "fix", "marketdata", "rerequest"}

        async def order():
            client = OuchClient("127.0.0.1", ports["ouch50"])
            await client.login("T2T", "T2TPASS")
            await client.recv_ouch()
            client.send_ouch(ouch50.EnterOrder(1, "B", 10, "MSFT", 1_000_000, "0", "Y", "A",
                                               "N", "N", "C1"))
            accepted = await client.recv_ouch()
            await client.close()
            return accepted
        assert isinstance(asyncio.run(asyncio.wait_for(order(), 10)), ouch50.OrderAccepted)
        with socket.create_connection(("127.0.0.1", ports["fix"]), timeout=5):
            pass                                      # the FIX acceptor listens too
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        rest = proc.stderr.read()
        assert "venue: stopping" in rest and "venue: engine: " in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(not T2T.exists(), reason="t2t entry point not installed in this venv")
def test_t2t_venue_rejects_a_bad_config(tmp_path):
    path = tmp_path / "venue.toml"
    path.write_text('[dropcopy]\nprot = 1\n')
    result = subprocess.run([str(T2T), "venue", "--config", str(path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "dropcopy.prot: unknown key" in result.stderr


def test_our_ouch_order_trades_against_a_replayed_capture(captures_dir, tmp_path):
    """Replay a real ITCH capture as the market; an OUCH order takes a replayed order."""
    capture = captures_dir / "itch50_Multiple.Packets.pcap"
    path = tmp_path / "venue.toml"
    path.write_text(config_text() + f'[marketdata.replay]\ncapture = "{capture}"\nspeed = 0\n')

    async def scenario():
        venue = Venue(load_config(path))
        await venue.start()
        try:
            await venue.marketdata.wait_replayed(10)
            resting = [o for o in venue.engine.orders(MARKET) if o.side is Side.SELL]
            assert resting, "the capture should leave replayed sell orders on the book"
            target = min(resting, key=lambda o: (o.symbol, o.price))
            best = venue.engine.best(target.symbol, Side.SELL)
            drop = SoupClient("127.0.0.1", venue.dropcopy.port, heartbeat_interval=0.2)
            await drop.login("DROP", "DROPPASS")
            buyer = OuchClient("127.0.0.1", venue.ouch["ouch50"].port)
            await buyer.login("T2T", "T2TPASS")
            await buyer.recv_ouch()
            buyer.send_ouch(ouch50.EnterOrder(1, "B", 1, target.symbol, best, "3", "Y", "A",
                                              "N", "N", "TAKE"))
            fill = (await buyer.recv_until(ouch50.OrderExecuted))[-1]
            assert (fill.quantity, fill.price, fill.liquidity_flag) == (1, best, "R")
            copy = decode_drop(await drop.recv_sequenced())
            assert copy.passive_account == MARKET and copy.aggressor_account == "ouch50:T2T"
            assert copy.match_number == fill.match_number
            for client in (buyer, drop):
                await client.close()
        finally:
            await venue.stop()
    asyncio.run(asyncio.wait_for(scenario(), 30))


@pytest.mark.skipif(not T2T.exists(), reason="t2t entry point not installed in this venv")
def test_t2t_venue_fix_app_echo_answers_the_acceptance_suite(tmp_path, fix_acceptance_dir):
    """``--fix-app echo`` swaps only the application: same session layer, same process."""
    path = tmp_path / "venue.toml"
    path.write_text(config_text(fix=True))
    proc = subprocess.Popen([str(T2T), "venue", "--config", str(path), "--fix-app", "echo"],
                            text=True, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        ports = _read_ports(proc)
        result = subprocess.run(
            [sys.executable, str(fix_acceptance_dir / "run_acceptance.py"),
             "--port", str(ports["fix"]), "--defs", str(fix_acceptance_dir / "definitions/fix44"),
             "--only", "2[a-e]_*"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout[-2000:]
        assert result.stdout.strip().splitlines()[-1].endswith(" 0 failed")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
