"""The FIX acceptor's plumbing: config, data dictionaries, lifecycle, bad input, CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pydantic
import pytest
import quickfix as fix

from tick2trade.sim.venue.fix import FixAcceptor, FixConfig, FixSessionConfig
from tick2trade.sim.venue.fix.client import FixClient, FixClientError, fields, frame
from tick2trade.sim.venue.fix.dictionary import (
    DataDictionaryError,
    dictionary_path,
    installed_dictionary_dir,
)
from tick2trade.sim.venue.fix.orders import FixOrder, IllegalTransition, OrderEvent, OrdStatus
from tick2trade.sim.venue.fix.requests import BadValue, format_price, to_price, to_quantity


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_defaults_are_the_acceptance_configuration():
    config = FixConfig()
    assert config.sender_comp_id == "ISLD" and config.reset_on_logon
    assert [(s.begin_string, s.target_comp_id) for s in config.sessions] == [
        ("FIX.4.2", "TW42"), ("FIX.4.4", "TW44")]
    assert config.check_latency and config.max_latency == 120


def test_config_errors_name_the_problem():
    with pytest.raises(pydantic.ValidationError, match="bogus"):
        FixConfig(bogus=1)
    with pytest.raises(pydantic.ValidationError, match="duplicate FIX session"):
        FixConfig(sessions=[FixSessionConfig(target_comp_id="A"),
                            FixSessionConfig(target_comp_id="A")])
    with pytest.raises(pydantic.ValidationError, match="begin_string"):
        FixSessionConfig(begin_string="FIX.5.0", target_comp_id="A")


def test_data_dictionaries_come_from_the_installed_wheel(tmp_path):
    folder = installed_dictionary_dir()
    assert dictionary_path("FIX.4.2").parent == folder
    assert dictionary_path("FIX.4.4").name == "FIX44.xml"
    with pytest.raises(DataDictionaryError, match="FIX42.xml is missing"):
        dictionary_path("FIX.4.2", tmp_path)


def test_missing_dictionary_fails_start_clearly(tmp_path):
    acceptor = FixAcceptor(FixConfig(port=0, data_dictionary_dir=tmp_path), "echo")
    with pytest.raises(DataDictionaryError):
        run(acceptor.start())
    assert not acceptor.running


def test_venue_profile_needs_an_engine():
    with pytest.raises(ValueError, match="matching engine"):
        run(FixAcceptor(FixConfig(port=0), "venue").start())


def test_port_in_use_is_a_clear_error():
    async def body():
        first = FixAcceptor(FixConfig(port=0), "echo")
        await first.start()
        try:
            other = [FixSessionConfig(target_comp_id="OTHER")]
            second = FixAcceptor(FixConfig(port=first.port, sessions=other), "echo")
            with pytest.raises(OSError, match=str(first.port)):
                await second.start()
        finally:
            await first.stop()
    run(body())


def test_values_and_order_states():
    assert to_quantity("002000.00") == 2000
    assert to_price("10.5") == 105_000 and format_price(105_000) == "10.5"
    assert to_quantity("999999") == 999_999 and to_price("199999.99") == 1_999_999_900
    for bad in ("0", "-5", "1.5", "abc", "NaN", "1000000", "1E+30", None):
        with pytest.raises(BadValue):
            to_quantity(bad)
    for bad in ("1.00001", "0", "-1", "200000", "99999999999999999999"):
        with pytest.raises(BadValue):
            to_price(bad)
    order = FixOrder("1", "A", "AAPL", "1", "2", 100_000, 100)
    assert order.apply(OrderEvent.ACCEPT) is OrdStatus.NEW
    assert order.fill(40, 100_000, 60) is OrdStatus.PARTIALLY_FILLED
    assert order.fill(60, 110_000, 0) is OrdStatus.FILLED
    assert order.avg_px == 106_000
    with pytest.raises(IllegalTransition):
        order.apply(OrderEvent.CANCEL)


def test_garbage_and_stopped_sessions_do_not_hurt_others(tmp_path):
    async def body():
        acceptor = FixAcceptor(FixConfig(port=0, log_dir=tmp_path / "log"), "echo")
        await acceptor.start()
        try:
            good = FixClient(acceptor.port)
            await good.logon()
            # garbage, a half message, an unknown CompID and a silent probe on other sockets
            for payload in (b"\x00\xff garbage \x01\x01",
                            b"8=FIX.4.4\x019=99999\x0135=A\x01",
                            frame("FIX.4.4", [(35, "A"), (34, "1"), (49, "NOBODY"),
                                              (52, "20260101-00:00:00.000"), (56, "ISLD"),
                                              (98, "0"), (108, "30")]),
                            b""):
                _, writer = await asyncio.open_connection("127.0.0.1", acceptor.port)
                writer.write(payload)
                await writer.drain()
                writer.close()
            good.send("D", [(11, "X1"), (21, "1"), (38, "100"), (40, "1"), (54, "1"),
                            (55, "AAPL"), (60, "20260101-12:00:00")])
            echoed = await good.expect("D")
            assert echoed.getField(11) == "X1"
            assert acceptor.logged_on() == ["FIX.4.4 TW44"]
            await good.close()
        finally:
            await acceptor.stop()
        assert any((tmp_path / "log").iterdir()), "QuickFIX logs go to log_dir when set"
    run(body())


def test_unsupported_message_is_rejected_and_stop_releases_the_sessions():
    """QuickFIX's answer to unsupported types, without leaking the acceptor past ``stop``."""
    async def body():
        for _ in range(2):
            acceptor = FixAcceptor(FixConfig(port=0), "echo")
            await acceptor.start()
            client = FixClient(acceptor.port)
            await client.logon()
            seq = client.send("8", [(6, "0"), (14, "0"), (17, "E1"), (37, "O1"), (39, "0"),
                                    (54, "1"), (55, "AAPL"), (150, "0"), (151, "0")])
            reject = fields(await client.expect("j"), 45, 58, 372, 380)
            assert reject == {45: str(seq), 58: "Unsupported Message Type", 372: "8", 380: "3"}
            await client.close()
            await acceptor.stop()
            assert fix.Session.lookupSession(fix.SessionID("FIX.4.4", "ISLD", "TW44")) is None

        first = FixAcceptor(FixConfig(port=0), "echo")
        await first.start()
        try:
            with pytest.raises(RuntimeError, match="already served"):
                await FixAcceptor(FixConfig(port=0), "echo").start()
        finally:
            await first.stop()
    run(body())


def test_stop_logs_out_a_connected_counterparty():
    async def body():
        acceptor = FixAcceptor(FixConfig(port=0), "echo")
        await acceptor.start()
        client = FixClient(acceptor.port, begin_string="FIX.4.2", sender_comp_id="TW42")
        await client.logon()
        stopping = asyncio.create_task(acceptor.stop())
        logout = await client.receive()
        assert logout.getHeader().getField(35) == "5"
        client.send("5", [])
        await stopping
        with pytest.raises((FixClientError, ConnectionError)):
            await client.receive(timeout=2)
    run(body())


def test_command_line_runs_the_echo_acceptor():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "tick2trade.sim.venue.fix", "--app", "echo",
                             "--port", "0"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stderr.readline()
        assert "listening on port" in line, line
        port = int(line.rsplit(" ", 1)[1])

        async def talk():
            client = FixClient(port)
            await client.logon()
            await client.close()
        run(talk())
    finally:
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0


def test_exit_without_stop_logs_out_cleanly():
    """An acceptor nobody stopped is stopped at exit: Logout sent, no abort."""
    script = (
        "import asyncio, sys\n"
        "from tick2trade.sim.venue.fix import FixAcceptor, FixConfig\n"
        "async def main():\n"
        "    acceptor = FixAcceptor(FixConfig(port=0), 'echo')\n"
        "    await acceptor.start()\n"
        "    print(acceptor.port, flush=True)\n"
        "    await asyncio.to_thread(sys.stdin.read)\n"
        "asyncio.run(main())\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())

        async def talk():
            client = FixClient(port)
            await client.logon()
            proc.stdin.close()  # the script returns without stopping the acceptor
            logout = await client.receive(timeout=10)
            assert logout.getHeader().getField(35) == "5"
            client.send("5", [])
        run(talk())
        proc.wait(timeout=30)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "FATAL" not in err, err
