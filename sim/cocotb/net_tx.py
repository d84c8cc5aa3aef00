"""cocotb testbench: frames into XgmiiTx under Verilator, cocotbext-eth ``XgmiiSink`` on the wire.

The case file named by ``T2T_NET_TX_CASE`` (JSON, written by the pytest side)
holds the frames (no FCS), the wire frames the MAC must send (padded, FCS),
and whether to leave random idle gaps between input beats. Every frame must
start in lane 0 with the standard preamble, carry a good FCS and be at least
the minimum gap after the one before.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from amaranth.lib import data
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotb.utils import get_sim_steps
from cocotbext.eth import XgmiiSink

from tick2trade.hdl.layouts import Beat
from tick2trade.hdl.net.mac.xgmii import PREAMBLE, SFD
from tick2trade.hdl.net.mac.xgmii_tx import MIN_IPG

PERIOD_NS = 6.4


def pack_beat(**fields) -> int:
    layout = data.Layout.cast(Beat)
    return sum(int(value) << layout[name].offset for name, value in fields.items())


async def drive(dut, frames: list[bytes], gaps: bool, rng: random.Random):
    for frame in frames:
        chunks = [frame[i:i + 8] for i in range(0, len(frame), 8)]
        for n, chunk in enumerate(chunks):
            while gaps and rng.random() < 0.3:
                dut.i__valid.value = 0
                await RisingEdge(dut.clk)
            dut.i__valid.value = 1
            dut.i__payload.value = pack_beat(
                data=int.from_bytes(chunk.ljust(8, b"\0"), "little"), keep=(1 << len(chunk)) - 1,
                first=n == 0, last=n == len(chunks) - 1)
            await RisingEdge(dut.clk)
            while not int(dut.i__ready.value):
                await RisingEdge(dut.clk)
        dut.i__valid.value = 0


@cocotb.test()
async def frames_reach_the_wire(dut):
    with open(os.environ["T2T_NET_TX_CASE"]) as f:
        case = json.load(f)
    rng = random.Random(case.get("seed", 1))
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    sink = XgmiiSink(dut.xgmii__data, dut.xgmii__ctrl, dut.clk, dut.rst)
    dut.i__valid.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    frames = [bytes.fromhex(f) for f in case["frames"]]
    cocotb.start_soon(drive(dut, frames, case["gaps"], rng))
    byte_steps = get_sim_steps(PERIOD_NS, "ns") / 8
    previous_end = None
    for want in case["wire"]:
        got = await sink.recv()
        assert got.start_lane == 0, f"start in lane {got.start_lane}"
        # the sink reports /S/ as a preamble byte: seven 0x55 then the SFD
        assert bytes(got.get_preamble()) == bytes([PREAMBLE] * 7 + [SFD])
        assert got.check_fcs(), "bad FCS"
        assert bytes(got.get_payload(strip_fcs=False)) == bytes.fromhex(want)
        assert not got.ctrl or not any(got.ctrl), "control character inside the frame"
        if previous_end is not None:
            gap = (got.sim_time_start - previous_end) / byte_steps
            assert gap >= MIN_IPG, f"inter-packet gap of {gap} bytes"
        previous_end = got.sim_time_end
    await ClockCycles(dut.clk, 8)
    assert int(dut.frames.value) == len(frames) and int(dut.underruns.value) == 0
