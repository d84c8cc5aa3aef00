"""CRC-32 (Ethernet FCS) over 64-bit beats vs ``zlib.crc32`` (IEEE 802.3 §3.2.9)."""

from __future__ import annotations

import random
import zlib

import pytest
from amaranth.sim import Simulator

from tick2trade.hdl.net.crc import RESIDUE, Crc32, _step, _unstep


def test_matrix_model_matches_zlib():
    rng = random.Random(1)
    for n in range(0, 40):
        payload = rng.randbytes(n)
        assert _step(0xFFFFFFFF, payload) ^ 0xFFFFFFFF == zlib.crc32(payload)
        fcs = zlib.crc32(payload).to_bytes(4, "little")
        assert _step(0xFFFFFFFF, payload + fcs) == RESIDUE


def test_zero_bytes_are_undone():
    rng = random.Random(2)
    for zeros in range(8):
        state = rng.getrandbits(32)
        assert _unstep(_step(state, bytes(zeros)), zeros) == state


def _beats(payload: bytes):
    for off in range(0, len(payload), 8):
        chunk = payload[off:off + 8]
        yield int.from_bytes(chunk.ljust(8, b"\0"), "little"), (1 << len(chunk)) - 1, off == 0


def _garbage_lanes(data: int, keep: int, rng) -> int:
    """Lanes outside ``keep`` carry noise (the CRC must ignore them)."""
    noise = rng.getrandbits(64)
    mask = sum(0xFF << (8 * k) for k in range(8) if keep >> k & 1)
    return data | (noise & ~mask)


@pytest.mark.parametrize("gaps", [False, True], ids=["back-to-back", "gaps"])
def test_crc_against_zlib(gaps):
    """Frames (with their FCS, without, with a flipped bit) in one stream; each result is read
    exactly ``LATENCY`` cycles after the frame's last beat, while the next frame is folding."""
    rng = random.Random(7 + gaps)
    frames = [rng.randbytes(n) for n in [1, 7, 8, 9, 15, 16, 17, 60, 64, 100, 1514]]
    frames += [rng.randbytes(rng.randrange(1, 200)) for _ in range(30)]
    jobs = []      # (bytes to fold, what to check)
    for frame in frames:
        with_fcs = frame + zlib.crc32(frame).to_bytes(4, "little")
        bad = bytearray(with_fcs)
        bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
        jobs += [(with_fcs, ("residue", True)), (frame, ("value", zlib.crc32(frame))),
                 (bytes(bad), ("residue", False))]
    jobs.append((b"", ("value", 0)))    # a first beat with no lane: INIT, value 0
    dut = Crc32()
    due = {}       # cycle -> expectation
    results = []

    async def drive(ctx):
        cycle = 0
        for payload, expect in jobs:
            beats = list(_beats(payload)) or [(0, 0, True)]
            for data, keep, first in beats:
                while gaps and rng.random() < 0.3:
                    ctx.set(dut.valid, 0)
                    ctx.set(dut.data, rng.getrandbits(64))
                    await ctx.tick()
                    cycle += 1
                ctx.set(dut.data, _garbage_lanes(data, keep, rng))
                ctx.set(dut.keep, keep)
                ctx.set(dut.first, first)
                ctx.set(dut.valid, 1)
                await ctx.tick()
                cycle += 1
            due[cycle - 1 + Crc32.LATENCY] = expect
        ctx.set(dut.valid, 0)
        for _ in range(Crc32.LATENCY + 1):
            await ctx.tick()

    async def watch(ctx):
        cycle = 0
        while len(results) < len(jobs):
            if cycle in due:
                kind, want = due.pop(cycle)
                got = ctx.get(dut.residue_ok) if kind == "residue" else ctx.get(dut.value)
                results.append((cycle, kind, got, want))
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(drive)
    sim.add_testbench(watch)
    sim.run()
    assert len(results) == len(jobs)
    assert [r for r in results if r[2] != r[3]] == []
