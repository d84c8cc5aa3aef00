"""XGMII MAC TX (IEEE 802.3 §46.3, §4.2.3.3, §3.2.9) vs its model, and back through XgmiiRx."""

from __future__ import annotations

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator
from feed_streams import beats, send
from net_tb import FrameCollector, scapy_frame

from tick2trade.hdl.net.mac.xgmii import ERROR, IDLE, PREAMBLE, SFD, START, TERMINATE
from tick2trade.hdl.net.mac.xgmii_rx import XgmiiRx
from tick2trade.hdl.net.mac.xgmii_tx import MIN_IPG, XgmiiTx, XgmiiTxCore
from tick2trade.sim.model.net_tx import mac_frame, xgmii_columns
from tick2trade.sim.model.xgmii import columns_to_lanes

PREAMBLE_SFD = [PREAMBLE] * 6 + [SFD]


def wire_frames(columns):
    """(frames between /S/ and /T/, gaps in bytes before each start, start lanes, errors)."""
    lanes = columns_to_lanes(columns)
    frames, gaps, start_lanes, errors = [], [], [], 0
    gap, i = None, 0
    while i < len(lanes):
        byte, ctrl = lanes[i]
        if ctrl and byte == START:
            start_lanes.append(i % 8)
            gaps.append(gap)
            assert [b for b, _ in lanes[i + 1:i + 8]] == PREAMBLE_SFD
            assert not any(k for _, k in lanes[i + 1:i + 8])
            i += 8
            frame = bytearray()
            while not lanes[i][1]:
                frame.append(lanes[i][0])
                i += 1
            if lanes[i][0] == ERROR:
                errors += 1
            frames.append(bytes(frame))
            gap = 0
            continue
        if gap is not None:
            assert ctrl and byte in (IDLE, TERMINATE, ERROR), f"data outside a frame at {i}"
            gap += 1
        i += 1
    return frames, gaps, start_lanes, errors


def test_frames_from_the_model_parse_back():
    frames = [bytes(range(60)), bytes(70)]
    got, _, lanes, errors = wire_frames(xgmii_columns(frames))
    assert got == [mac_frame(f) for f in frames] and lanes == [0, 0] and errors == 0


def tx_frames(rng):
    sizes = [14, 42, 55, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 100, 1514]
    frames = [rng.randbytes(n) for n in sizes]
    frames += [scapy_frame(rng.randbytes(rng.randrange(200)))[:rng.choice([60, 50, 120])]
               for _ in range(6)]
    rng.shuffle(frames)
    return frames


def simulate(dut, frames, *, idle, seed, tail=80, rx=None):
    """Drive ``frames`` into ``dut.i``; return the XGMII columns (and ``rx`` frames, if given)."""
    rng = random.Random(seed)
    columns = []
    collector = FrameCollector()
    sent = []
    counters = {}

    async def drive(ctx):
        for frame in frames:
            await send(ctx, dut.i, beats(frame), rng, idle)
        sent.append(True)

    async def watch(ctx):
        quiet = 0
        while quiet < tail:
            await ctx.tick()
            columns.append((ctx.get(dut.xgmii.data), ctx.get(dut.xgmii.ctrl)))
            quiet = quiet + 1 if columns[-1][1] == 0xFF and sent else 0
            if rx is not None and ctx.get(rx.o.valid):
                collector.beat({k: ctx.get(getattr(rx.o.payload, k))
                                for k in ("data", "keep", "first", "last", "error")})
        counters.update({name: ctx.get(getattr(dut, name))
                         for name in ("frames", "underruns", "oversized")})

    top = dut
    if rx is not None:
        top = Module()
        top.submodules.tx, top.submodules.rx = dut, rx
        top.d.comb += [rx.xgmii.data.eq(dut.xgmii.data), rx.xgmii.ctrl.eq(dut.xgmii.ctrl),
                       rx.o.ready.eq(1)]
    sim = Simulator(top)
    sim.add_clock(6.4e-9)
    sim.add_testbench(drive)
    sim.add_testbench(watch)
    sim.run()
    return columns, collector.frames, counters


@pytest.mark.parametrize("idle", [0.0, 0.3], ids=["line-rate", "gaps"])
def test_frames_padded_with_fcs_lane0_and_gap(idle):
    frames = tx_frames(random.Random(1))
    dut = XgmiiTx()
    columns, _, counters = simulate(dut, frames, idle=idle, seed=2)
    assert counters == {"frames": len(frames), "underruns": 0, "oversized": 0}
    got, gaps, lanes, errors = wire_frames(columns)
    assert got == [mac_frame(f) for f in frames]
    assert set(lanes) == {0} and errors == 0
    assert all(g >= MIN_IPG for g in gaps[1:])
    if idle == 0.0:
        # at line rate the columns are exactly the model's (no column wasted between frames)
        trimmed = columns[next(i for i, (_, c) in enumerate(columns) if c != 0xFF):]
        want = xgmii_columns(frames, lead_idle=0)
        assert trimmed[:len(want) - 2] == want[:-2]


@pytest.mark.parametrize("idle", [0.0, 0.3], ids=["line-rate", "gaps"])
def test_round_trip_through_xgmii_rx(idle):
    frames = tx_frames(random.Random(4))
    rx = XgmiiRx(max_frame=1522)
    _, received, _ = simulate(XgmiiTx(), frames, idle=idle, seed=3, rx=rx)
    assert [(data, error) for data, error, _ in received] == [
        (mac_frame(f)[:-4], False) for f in frames]


def test_core_underrun_cuts_the_frame_and_recovers():
    frames = [bytes(range(100)), bytes(range(80))]
    dut = XgmiiTxCore()
    rng = random.Random(0)
    columns = []

    async def drive(ctx):
        items = beats(frames[0])
        await send(ctx, dut.i, items[:4], rng, 0)
        for _ in range(3):                               # the source stalls mid-frame
            await ctx.tick()
        await send(ctx, dut.i, items[4:], rng, 0)        # the rest is dropped
        await send(ctx, dut.i, beats(frames[1]), rng, 0)

    async def watch(ctx):
        for _ in range(80):
            await ctx.tick()
            columns.append((ctx.get(dut.xgmii.data), ctx.get(dut.xgmii.ctrl)))
        assert (ctx.get(dut.underruns), ctx.get(dut.frames)) == (1, 1)

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(drive)
    sim.add_testbench(watch)
    sim.run()
    got, gaps, _, errors = wire_frames(columns)
    assert errors == 1 and got[1] == mac_frame(frames[1]) and got[0] == frames[0][:32]
    assert gaps[1] >= MIN_IPG


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("gaps", [False, True], ids=["line-rate", "gaps"])
def test_cocotbext_eth_sink_receives_the_frames(tmp_path, request, gaps):
    """Verilator + cocotb 2.1: cocotbext-eth's XgmiiSink checks preamble, FCS, lane and gap."""
    import json

    from tick2trade.sim.cocotb.runner import run_cocotb

    frames = tx_frames(random.Random(7))
    case = {"frames": [f.hex() for f in frames], "wire": [mac_frame(f).hex() for f in frames],
            "gaps": gaps, "seed": 3}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    run_cocotb(XgmiiTx(), "tick2trade.sim.cocotb.net_tx", tag=request.node.name,
               extra_env={"T2T_NET_TX_CASE": str(path)})


@pytest.mark.parametrize("idle", [0.0, 0.3], ids=["line-rate", "gaps"])
def test_oversized_frames_are_dropped_and_counted(idle):
    rng = random.Random(12)
    frames = [rng.randbytes(100), rng.randbytes(201), rng.randbytes(500), rng.randbytes(80),
              rng.randbytes(200)]
    dut = XgmiiTx(buffer_depth=64, max_frame=200)
    columns, _, counters = simulate(dut, frames, idle=idle, seed=1)
    got, _, _, errors = wire_frames(columns)
    assert got == [mac_frame(f) for f in frames if len(f) <= 200] and errors == 0
    assert counters == {"frames": 3, "underruns": 0, "oversized": 2}
