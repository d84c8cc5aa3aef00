"""XGMII MAC RX vs its model (IEEE 802.3 §46.3, §3.2.9): scapy frames, errors, lane-4 starts."""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator
from net_tb import FrameCollector, match_outputs, ready_pattern, scapy_frame

from tick2trade.hdl.net.mac.stats import MAC_RX_COUNTERS
from tick2trade.hdl.net.mac.xgmii import ERROR, SFD, START
from tick2trade.hdl.net.mac.xgmii_rx import XgmiiRx
from tick2trade.sim.model.net import MacRxModel, with_fcs
from tick2trade.sim.model.xgmii import columns_to_lanes, encode_xgmii, lanes_to_columns

MAX_FRAME = 300   # small maximum so giants stay short in simulation


def run_mac(columns, *, backpressure=False, seed=0, max_frame=MAX_FRAME, ready_fn=None,
            buffer_depth=32, tail=64):
    """Drive columns into XgmiiRx; return (frames, counters, cycles)."""
    dut = XgmiiRx(max_frame=max_frame, buffer_depth=buffer_depth)
    rng = random.Random(seed)
    collector = FrameCollector()
    counters = {}

    async def bench(ctx):
        idle = (int.from_bytes(b"\x07" * 8, "little"), 0xFF)
        for cycle, (data, ctrl) in enumerate(list(columns) + [idle] * tail):
            ctx.set(dut.xgmii.data, data)
            ctx.set(dut.xgmii.ctrl, ctrl)
            ctx.set(dut.timestamp, cycle)
            ready = ready_fn(cycle) if ready_fn else ready_pattern(rng, backpressure, 0.85)
            ctx.set(dut.o.ready, ready)
            if ready and ctx.get(dut.o.valid):
                collector.beat({k: ctx.get(getattr(dut.o.payload, k)) for k in
                                ("data", "keep", "first", "last", "error", "timestamp")})
            await ctx.tick()
        for name in MAC_RX_COUNTERS:
            counters[name] = ctx.get(getattr(dut.stats, name))

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    return collector.frames, counters


def start_columns(columns):
    """Column index of each frame's /S/ and its lane (0 or 4)."""
    found = []
    for idx, (byte, is_ctrl) in enumerate(columns_to_lanes(columns)):
        if is_ctrl and byte == START:
            found.append((idx // 8, idx % 8))
    return found


def mixed_frames(rng: random.Random):
    """(wire bytes incl FCS, ctrl_error kind or None) covering the error cases."""
    frames = []
    for k in range(18):
        size = rng.choice([0, 1, 7, 18, 100, 200])
        raw = scapy_frame(rng.randbytes(size), vlan=141 if k % 2 else None)
        frames.append((with_fcs(raw), None))
    frames.append((with_fcs(bytes(range(60))), None))               # minimum frame
    frames.append((with_fcs(rng.randbytes(MAX_FRAME - 4)), None))   # maximum frame
    frames.append((with_fcs(rng.randbytes(MAX_FRAME - 3)), None))   # giant by one byte
    frames.append((with_fcs(rng.randbytes(MAX_FRAME + 40)), None))  # giant
    frames.append((with_fcs(rng.randbytes(59)), None))              # runt by one byte
    frames.append((with_fcs(rng.randbytes(20)), None))              # runt
    frames.append((with_fcs(rng.randbytes(2)), None))               # tiny runt
    bad = bytearray(with_fcs(rng.randbytes(90)))
    bad[30] ^= 0x10
    frames.append((bytes(bad), None))                               # bad FCS
    bad = bytearray(with_fcs(rng.randbytes(64)))
    bad[-1] ^= 0x80
    frames.append((bytes(bad), None))                               # bad FCS in the FCS
    frames.append((with_fcs(rng.randbytes(120)), "E"))              # /E/ inside
    frames.append((with_fcs(rng.randbytes(120)), "SFD"))            # bad SFD
    for n in range(60, 68):                                          # every terminate lane
        frames.append((with_fcs(rng.randbytes(n)), None))
    rng.shuffle(frames)
    return frames


def encode_with_errors(frames, rng, *, lane4, extra_idle):
    columns = encode_xgmii([w for w, _ in frames], lane4=lane4, extra_idle=extra_idle, rng=rng)
    lanes = columns_to_lanes(columns)
    starts = [i for i, (b, c) in enumerate(lanes) if c and b == START]
    for (_, kind), at in zip(frames, starts, strict=True):
        if kind == "E":
            lanes[at + 8 + 40] = (ERROR, True)
        elif kind == "SFD":
            lanes[at + 7] = (SFD ^ 0x01, False)
    return lanes_to_columns(lanes)


@pytest.mark.parametrize("backpressure", [False, True], ids=["ready", "backpressure"])
@pytest.mark.parametrize("lane4", [False, True], ids=["lane0", "lane4"])
def test_mac_rx_matches_model(lane4, backpressure):
    rng = random.Random(hash((lane4, backpressure)) & 0xFFFF)
    frames = mixed_frames(rng)
    columns = encode_with_errors(frames, rng, lane4=lane4, extra_idle=9 if backpressure else 5)
    got, counters = run_mac(columns, backpressure=backpressure, seed=3)
    model = MacRxModel(max_frame=MAX_FRAME)
    expected = [model.receive(w, ctrl_error=kind is not None) for w, kind in frames]
    matched = match_outputs(expected, got)
    assert len(matched) == sum(not err for _, err in expected) >= 25
    assert counters == {name: model.counters[name] for name in MAC_RX_COUNTERS}
    # timestamps: the cycle at which the aligned /S/ column reached the receiver
    starts = start_columns(columns)
    for i, (_, _, meta) in matched:
        col, lane = starts[i]
        assert meta["timestamp"] == col + (2 if lane == 4 else 1)
    if lane4:
        assert any(lane == 4 for _, lane in starts)


def test_frames_back_to_back_with_minimum_gap():
    rng = random.Random(5)
    wires = [with_fcs(scapy_frame(rng.randbytes(rng.randrange(20, 80)))) for _ in range(12)]
    columns = encode_xgmii(wires, ipg=5, lane4=True)
    got, counters = run_mac(columns)
    assert [g[0] for g in got] == [w[:-4] for w in wires]
    assert counters["frames"] == len(wires)


def test_overflow_cuts_frames_and_recovers():
    rng = random.Random(11)
    wires = [with_fcs(rng.randbytes(200)) for _ in range(6)]
    columns = encode_xgmii(wires)
    stall_until = len(columns) // 2
    later = [with_fcs(rng.randbytes(80)) for _ in range(3)]
    columns += encode_xgmii(later)
    got, counters = run_mac(columns, ready_fn=lambda cycle: cycle >= stall_until,
                            buffer_depth=16)
    assert counters["overflows"] >= 1
    good = [g[0] for g in got if not g[1]]
    assert good[-3:] == [w[:-4] for w in later]
    assert all(g[0] in [w[:-4] for w in wires + later] for g in got if not g[1])
    assert counters["frames"] == len(wires) + len(later)
