"""ControlEndpoint + CsrBank in the simulator answer every datagram exactly as the model does."""

from __future__ import annotations

import random

import pytest
from feed_streams import TIMING_IDS, TIMINGS, beats, join, receive, run, send

from tick2trade.hdl.csr import Access
from tick2trade.hdl.csr.device_map import device_map
from tick2trade.hdl.csr.plane import ControlPlane
from tick2trade.proto import control as c
from tick2trade.sim.model.control import ControlModel, RegisterFile

HASH = 0x0BAD_CAFE_1234_5678


def random_datagram(rng: random.Random, regmap) -> bytes:
    addrs = sorted({a for p in regmap.registers for a in p.word_addrs()}
                   | {t.row_addr for t in regmap.tables} | {t.commit_addr for t in regmap.tables})
    roll = rng.random()
    tag = rng.getrandbits(16)
    if roll < 0.25:
        addr = rng.choice(addrs + [0x20, regmap.size, 0xFFFF_FFFC, 2])
        count = rng.choice([0, 1, 1, 2, 5, 9, c.MAX_WORDS + 1])
        return c.encode(c.Read(addr, count), tag)
    if roll < 0.5:
        addr = rng.choice(addrs + [0x20, regmap.size, 0xFFFF_FFFC, 1])
        words = tuple(rng.choice([rng.getrandbits(32), rng.randrange(300)])
                      for _ in range(rng.choice([0, 1, 1, 2, 3, 6])))
        return c.encode(c.Write(addr, words), tag)
    if roll < 0.7:
        placed = rng.choice(regmap.tables)
        table = placed.table
        n = table.row_bytes + rng.choice([0, 0, 0, 0, -1, 1])
        value = rng.getrandbits(max(0, 8 * n))
        if rng.random() < 0.7:
            value &= (1 << table.width) - 1
        table_id = rng.choice([table.table_id] * 6 + [0, 99])
        row = rng.choice([rng.randrange(table.depth)] * 4 + [table.depth, 0xFFFF_FFFF])
        return c.encode(c.TableWrite(table_id, row, value.to_bytes(max(0, n), "little")), tag)
    if roll < 0.78:
        return c.encode(c.Subscribe(rng.getrandbits(32)), tag)
    good = c.encode(rng.choice([c.Read(0x0C, 2), c.Subscribe(3), c.WriteAck(0, 1),
                                c.Events(1, (c.Gap(0, 1, 2, 3),))]), tag)
    kind = rng.randrange(7)
    if kind == 0:
        return good[:rng.randrange(0, len(good))] or b"\0"
    if kind == 1:
        return good + rng.randbytes(rng.randint(1, 9))
    if kind == 2:
        return b"\x12\x34" + good[2:]
    if kind == 3:
        return good[:2] + bytes([7]) + good[3:]
    if kind == 4:
        return good[:3] + bytes([rng.choice([0x00, 0x05, 0x7F, 0xC1])]) + good[4:]
    if kind == 5:
        return rng.randbytes(rng.randint(1, 40))
    return good + bytes(c.MAX_DATAGRAM)  # too long


def simulate(datagrams, *, idle, stall, seed, ro_values):
    regmap = device_map(c.DeviceKind.HARDWARE, build_hash=HASH)
    dut = ControlPlane(regmap)
    rng = random.Random(seed)
    replies = []

    async def drive(ctx):
        for path, value in ro_values.items():
            ctx.set(dut.port(path).value, value)
        for datagram in datagrams:
            await send(ctx, dut.rx, beats(datagram), rng, idle)

    async def collect(ctx):
        for _ in datagrams:
            got = []
            while True:
                beat = await receive(ctx, dut.tx, rng, stall)
                assert beat.first == (not got)
                got.append((beat.data, beat.keep))
                if beat.last:
                    break
            replies.append(join(got))

    run(dut, drive, collect, max_cycles=400_000)
    return replies


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_endpoint_replies_equal_the_model(seed, idle, stall):
    rng = random.Random(seed)
    regmap = device_map(c.DeviceKind.HARDWARE, build_hash=HASH)
    ro_values = {p.path: rng.getrandbits(p.register.width) for p in regmap.registers
                 if p.register.access is Access.RO and p.path != "events.errors"}
    datagrams = [random_datagram(rng, regmap) for _ in range(90)]
    registers = RegisterFile(regmap)
    for path, value in ro_values.items():
        registers.set(path, value)
    model = ControlModel(registers)
    expected = [model.handle(d) for d in datagrams]
    got = simulate(datagrams, idle=idle, stall=stall, seed=seed, ro_values=ro_values)
    for datagram, want, have in zip(datagrams, expected, got, strict=True):
        assert have == want, (datagram.hex(), c.decode(want), have.hex())
    assert any(isinstance(c.decode(r)[1], c.ErrorReply) for r in expected)
    assert any(isinstance(c.decode(r)[1], c.TableAck) for r in expected)


def test_identity_read_through_the_endpoint():
    datagram = c.encode(c.Read(c.ID_ADDR, 4), 77)
    (reply,) = simulate([datagram], idle=0, stall=0, seed=0, ro_values={})
    tag, msg = c.decode(reply)
    assert tag == 77
    ident, version, lo, hi = msg.words
    assert c.split_device_id(ident) == (c.DEVICE_FAMILY, c.DeviceKind.HARDWARE)
    assert c.split_version(version) == c.MAP_VERSION and hi << 32 | lo == HASH


def test_subscribe_strobes_and_latches_the_mask():
    regmap = device_map()
    dut = ControlPlane(regmap)
    seen = []

    async def drive(ctx):
        await send(ctx, dut.rx, beats(c.encode(c.Subscribe(0b1010), 1)),
                   random.Random(0), 0)

    async def watch(ctx):
        ctx.set(dut.tx.ready, 1)
        for _ in range(60):
            await ctx.tick()
            if ctx.get(dut.subscribed):
                seen.append(ctx.get(dut.mask))
        assert ctx.get(dut.mask) == 0b1010

    run(dut, drive, watch)
    assert len(seen) == 1



def test_plane_elaborates_to_rtlil():
    from amaranth.back import rtlil
    from amaranth.hdl import Signal, Value
    dut = ControlPlane(device_map())
    ports = [Value.cast(v) for _, _, v in dut.signature.flatten(dut)
             if isinstance(Value.cast(v), Signal)]
    assert "module" in rtlil.convert(dut, ports=ports)
