"""cocotb testbench: the control port (``ControlPortTop``) under Verilator, at packet level.

cocotbext-eth ``XgmiiSource`` sends the request frames of the case file named
by ``T2T_CONTROL_CASE`` (JSON, written by the pytest side from
``proto/control`` and the model), ``XgmiiSink`` takes every frame the MAC
sends. Phases: requests and their replies; order reports driven into the
packer and the EVENTS frames they make; a last request (the ``events.sent``
count). Each frame must equal the expected one (the MAC pads short frames to
60 bytes) with a good FCS and a lane-0 start.
"""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotbext.eth import XgmiiFrame, XgmiiSink, XgmiiSource

PERIOD_NS = 6.4


async def expect(sink, wanted: list[str]):
    for want in map(bytes.fromhex, wanted):
        got = await with_timeout(sink.recv(), 200, "us")
        assert got.start_lane == 0 and got.check_fcs(), "bad start lane or FCS"
        frame = bytes(got.get_payload())
        assert len(frame) == max(60, len(want)) and frame[:len(want)] == want, \
            f"got {frame.hex()}\nwant {want.hex()}"


@cocotb.test()
async def control_port_serves_requests_and_events(dut):
    with open(os.environ["T2T_CONTROL_CASE"]) as f:
        case = json.load(f)
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    source = XgmiiSource(dut.xgmii_rx__data, dut.xgmii_rx__ctrl, dut.clk, dut.rst)
    sink = XgmiiSink(dut.xgmii_tx__data, dut.xgmii_tx__ctrl, dut.clk, dut.rst)
    dut.report_valid.value = 0
    dut.gap_valid.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 4)
    for wire in case["requests"]:
        await source.send(XgmiiFrame.from_raw_payload(bytes.fromhex(wire)))
    await expect(sink, case["replies"])
    for report in case["reports"]:
        dut.report.value = int(report)
        dut.report_valid.value = 1
        await RisingEdge(dut.clk)
    dut.report_valid.value = 0
    await expect(sink, case["events"])
    for wire in case["last_requests"]:
        await source.send(XgmiiFrame.from_raw_payload(bytes.fromhex(wire)))
    await expect(sink, case["last_replies"])
