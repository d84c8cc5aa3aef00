"""CRC-32 (Ethernet FCS) over 64-bit beats vs ``zlib.crc32`` (IEEE 802.3 §3.2.9)."""

from __future__ import annotations

import random
import zlib

import pytest
from amaranth.sim import Simulator

from tick2trade.hdl.net.crc import RESIDUE, Crc32, _step


def test_matrix_model_matches_zlib():
    rng = random.Random(1)
    for n in range(0, 40):
        payload = rng.randbytes(n)
        assert _step(0xFFFFFFFF, payload) ^ 0xFFFFFFFF == zlib.crc32(payload)
        fcs = zlib.crc32(payload).to_bytes(4, "little")
        assert _step(0xFFFFFFFF, payload + fcs) == RESIDUE


def _beats(payload: bytes):
    for off in range(0, len(payload), 8):
        chunk = payload[off:off + 8]
        yield int.from_bytes(chunk.ljust(8, b"\0"), "little"), (1 << len(chunk)) - 1, off == 0


@pytest.mark.parametrize("gaps", [False, True])
def test_crc_against_zlib(gaps):
    rng = random.Random(7 + gaps)
    frames = [rng.randbytes(n) for n in [1, 7, 8, 9, 15, 16, 17, 60, 64, 100, 1514]]
    frames += [rng.randbytes(rng.randrange(1, 200)) for _ in range(20)]
    dut = Crc32()
    results = []

    async def bench(ctx):
        for frame in frames:
            with_fcs = frame + zlib.crc32(frame).to_bytes(4, "little")
            for data, keep, first in _beats(with_fcs):
                while gaps and rng.random() < 0.3:
                    ctx.set(dut.valid, 0)
                    await ctx.tick()
                ctx.set(dut.data, data)
                ctx.set(dut.keep, keep)
                ctx.set(dut.first, first)
                ctx.set(dut.valid, 1)
                await ctx.tick()
            ctx.set(dut.valid, 0)
            await ctx.tick()
            results.append(ctx.get(dut.residue_ok))
            # Without the FCS the register gives zlib's value.
            for data, keep, first in _beats(frame):
                ctx.set(dut.data, data)
                ctx.set(dut.keep, keep)
                ctx.set(dut.first, first)
                ctx.set(dut.valid, 1)
                await ctx.tick()
            ctx.set(dut.valid, 0)
            await ctx.tick()
            results.append(ctx.get(dut.value) == zlib.crc32(frame))
            # A flipped bit is caught.
            bad = bytearray(with_fcs)
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
            for data, keep, first in _beats(bytes(bad)):
                ctx.set(dut.data, data)
                ctx.set(dut.keep, keep)
                ctx.set(dut.first, first)
                ctx.set(dut.valid, 1)
                await ctx.tick()
            ctx.set(dut.valid, 0)
            await ctx.tick()
            results.append(not ctx.get(dut.residue_ok))

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    assert results and all(results)
