"""cocotb testbench: XGMII frames (cocotbext-eth XgmiiSource) through FeedPathTop.

The case file named by ``T2T_FEED_CASE`` (JSON, written by the pytest side)
holds the wire frames (FCS included; ``frames_b`` for line B of a two-line
build, sent ``b_delay`` cycles behind line A), whether to apply random back-pressure
on the record output, and the counter ports to read. The bench writes what
came out — every record as an integer and the counters — to
``T2T_FEED_RESULT``; the pytest side compares them with the models and
``proto`` (so a mismatch is reported with Python's full diff).
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.eth import XgmiiFrame, XgmiiSource


async def collect(dut, records: list, backpressure: bool, rng: random.Random):
    while True:
        await RisingEdge(dut.clk)
        if int(dut.o__valid.value) and int(dut.o__ready.value):
            records.append(int(dut.o__payload.value))
        dut.o__ready.value = int(rng.random() < 0.9) if backpressure else 1


async def send_all(dut, source, frames, delay: int):
    await ClockCycles(dut.clk, delay + 1)
    for wire in frames:
        await source.send(XgmiiFrame.from_raw_payload(bytes.fromhex(wire)))
    await source.wait()


@cocotb.test()
async def records_out(dut):
    with open(os.environ["T2T_FEED_CASE"]) as f:
        case = json.load(f)
    rng = random.Random(case.get("seed", 1))
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    source = XgmiiSource(dut.xgmii__data, dut.xgmii__ctrl, dut.clk, dut.rst)
    dut.o__ready.value = 1
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    records: list = []
    cocotb.start_soon(collect(dut, records, case["backpressure"], rng))
    line_b = None
    if "frames_b" in case:  # A/B: line B lags line A by ``b_delay`` cycles
        source_b = XgmiiSource(dut.xgmii_b__data, dut.xgmii_b__ctrl, dut.clk, dut.rst)
        line_b = cocotb.start_soon(send_all(dut, source_b, case["frames_b"], case["b_delay"]))
    await send_all(dut, source, case["frames"], 0)
    if line_b is not None:
        await line_b
    await ClockCycles(dut.clk, case.get("tail", 2000))
    counters = {name: int(getattr(dut, name).value) for name in case["counters"]}
    with open(os.environ["T2T_FEED_RESULT"], "w") as f:
        json.dump({"records": [hex(r) for r in records], "counters": counters}, f)
