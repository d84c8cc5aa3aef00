"""cocotb testbench: XGMII frames (cocotbext-eth XgmiiSource) through NetRxTop under Verilator.

The case file named by ``T2T_NET_CASE`` (JSON, written by the pytest side)
holds the wire frames (FCS included), the expected UDP payloads with their
destination ports, the expected counters, and whether to apply random
back-pressure on the output (ready 90 % of cycles: XGMII cannot be stalled, so the
output must keep up on average; the MAC's buffer absorbs the bursts).
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.eth import XgmiiFrame, XgmiiSource

from tick2trade.hdl.layouts import UdpBeat
from tick2trade.sim.verilator.payload import unpack_payload


def load_case() -> dict:
    with open(os.environ["T2T_NET_CASE"]) as f:
        return json.load(f)


async def collect(dut, payloads: list, backpressure: bool, rng: random.Random):
    """Reassemble UDP payloads from the ``o`` stream."""
    buf = bytearray()
    while True:
        await RisingEdge(dut.clk)
        if int(dut.o__valid.value) and int(dut.o__ready.value):
            beat = unpack_payload(UdpBeat, int(dut.o__payload.value))
            n = bin(beat["keep"]).count("1")
            buf += beat["data"].to_bytes(8, "little")[:n]
            if beat["last"]:
                payloads.append((bytes(buf), beat["dst_port"], beat["error"], beat["timestamp"]))
                buf = bytearray()
        dut.o__ready.value = int(rng.random() < 0.9) if backpressure else 1


@cocotb.test()
async def payloads_match_proto(dut):
    case = load_case()
    rng = random.Random(case.get("seed", 1))
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    source = XgmiiSource(dut.xgmii__data, dut.xgmii__ctrl, dut.clk, dut.rst)
    dut.o__ready.value = 1
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    payloads: list = []
    cocotb.start_soon(collect(dut, payloads, case["backpressure"], rng))
    for wire in case["frames"]:
        await source.send(XgmiiFrame.from_raw_payload(bytes.fromhex(wire)))
    await source.wait()
    await ClockCycles(dut.clk, 200)

    expected = [(bytes.fromhex(p), port) for p, port in case["expected"]]
    good = [(p, port) for p, port, error, _ in payloads if not error]
    assert len(good) == len(expected), f"{len(good)} payloads, expected {len(expected)}"
    for k, (got, want) in enumerate(zip(good, expected, strict=True)):
        assert got == want, f"payload {k}: got {got[0].hex()}:{got[1]}, want {want[0].hex()}"
    stamps = [stamp for *_, stamp in payloads]
    assert stamps == sorted(stamps), "timestamps must rise frame by frame"
    for group, counters in case["counters"].items():
        for name, value in counters.items():
            got = int(getattr(dut, f"{group}__{name}").value)
            assert got == value, f"{group}.{name} = {got}, expected {value}"
