"""tshark dissects the SoupBinTCP/OUCH conversation the venue produces, without errors.

The client's transcript (every byte sent and received) is written as a
pcap of TCP frames with our own ``proto.net``/``proto.pcap`` writers, then
read back by Wireshark's SoupBinTCP dissector. Wireshark's OUCH dissector
speaks OUCH 4.x only: for the 4.2 port every message must decode to OUCH
fields; for the 5.0 port the SoupBinTCP layer (types, sequence numbers)
must be clean and the System Event (same layout in both) decoded.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_ouch_port import enter42, enter50, ports

from tick2trade.proto import ouch42, ouch50

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(
    TSHARK is None, reason="tshark not installed (the Makefile should install it: "
                           "apt-get install -y tshark)")


async def conversation(version: str, pcap: Path) -> int:
    """Run a full order lifecycle on one port; write the first client's pcap; return the port."""
    async with ports() as (_, p50, p42, login):
        port = p50 if version == "5.0" else p42
        alice = await login(port)
        bob = await login(port, "BOB", "pw2")
        if version == "5.0":
            alice.send_ouch(enter50(1, "S", 100, price=1_000_000))
            await alice.recv_ouch()
            bob.send_ouch(enter50(1, "B", 40, price=1_000_000))
            await alice.recv_until(ouch50.OrderExecuted)
            alice.send_ouch(ouch50.ReplaceOrder(1, 2, 80, 1_000_100, "0", "Y", "N", "R2"))
            await alice.recv_until(ouch50.OrderReplaced)
            alice.send_ouch(ouch50.CancelOrder(2, 0))
            await alice.recv_until(ouch50.OrderCanceled)
            alice.send_ouch(enter50(3, symbol="NOPE"))
            await alice.recv_until(ouch50.Rejected)
        else:
            alice.send_ouch(enter42("T1", "S", 100, price=1_000_000))
            await alice.recv_ouch()
            bob.send_ouch(enter42("T2", "B", 40, price=1_000_000))
            await alice.recv_until(ouch42.Executed)
            alice.send_ouch(ouch42.ReplaceOrder("T1", "T3", 80, 1_000_100, 99999, "Y", "N", 0))
            await alice.recv_until(ouch42.Replaced)
            alice.send_ouch(ouch42.CancelOrder("T3", 0))
            await alice.recv_until(ouch42.Canceled)
            alice.send_ouch(enter42("T4", stock="NOPE"))
            await alice.recv_until(ouch42.Rejected)
        await asyncio.sleep(0.5)                      # heartbeats both ways in the capture too
        await alice.recv(1.0, heartbeats=True)
        await alice.logout()
        alice.transcript.write_pcap(pcap, alice.local, ("127.0.0.1", port.port))
        return port.port


def tshark(pcap: Path, port: int, *args: str) -> str:
    result = subprocess.run([TSHARK, "-r", str(pcap), "-d", f"tcp.port=={port},soupbintcp",
                             *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def column(text: str, index: int = 0) -> list[str]:
    """Values of one ``-T fields`` column, split on commas, FT_CHAR quotes removed."""
    return [v.strip().strip("'") for line in text.splitlines()
            for v in (line.split("\t") + [""] * 3)[index].split(",") if v.strip()]


def assert_clean(text: str) -> None:
    assert "Malformed" not in text
    for severity in ("Error", "Warning"):
        assert f"Expert Info ({severity}" not in text, text


def test_tshark_decodes_ouch42_from_the_venue(tmp_path):
    pcap = tmp_path / "ouch42.pcap"
    port = asyncio.run(asyncio.wait_for(conversation("4.2", pcap), 30))
    assert_clean(tshark(pcap, port, "-V"))
    types = column(tshark(pcap, port, "-T", "fields", "-e", "soupbintcp.packet_type"))
    assert {"L", "A", "S", "U", "H", "R", "O"} <= set(types)
    fields = tshark(pcap, port, "-T", "fields", "-e", "ouch.packet_type", "-e",
                    "ouch.order_token", "-e", "ouch.reject_reason")
    assert set("OAEUXCJS") <= set(column(fields, 0))
    assert {"T1", "T3", "T4"} <= set(column(fields, 1))
    assert column(fields, 2) == ["S"]           # Rejected: Invalid Stock


def test_tshark_decodes_soupbintcp_carrying_ouch50(tmp_path):
    pcap = tmp_path / "ouch50.pcap"
    port = asyncio.run(asyncio.wait_for(conversation("5.0", pcap), 30))
    text = tshark(pcap, port, "-V")
    assert_clean(text)
    numbers = [int(n) for n in re.findall(r"Sequenced Data, SeqNum=(\d+)", text)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 6
    events = column(tshark(pcap, port, "-T", "fields", "-e", "ouch.event_code"))
    assert events == ["S"]           # System Event: the one layout OUCH 4.x and 5.0 share
