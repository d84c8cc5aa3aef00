"""CsrBank in the Amaranth simulator: reads and writes by address give the declared fields."""

from __future__ import annotations

import pytest
from amaranth.lib import data
from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from tick2trade.hdl.csr import Access, Block, CsrBank, Register, RegisterMap, Table
from tick2trade.hdl.csr.device_map import device_map
from tick2trade.hdl.risk.layouts import RiskGlobal, RiskParams
from tick2trade.proto import control

HASH = 0x1122_3344_5566_7788


class BusTB:
    """Drives the bank's bus: one access per call, its data and error two cycles later."""

    def __init__(self, ctx, bank):
        self.ctx, self.bus = ctx, bank.bus

    async def read(self, addr: int) -> tuple[int, int]:
        ctx, bus = self.ctx, self.bus
        ctx.set(bus.addr, addr)
        ctx.set(bus.r_stb, 1)
        await ctx.tick()
        ctx.set(bus.r_stb, 0)
        await ctx.tick()  # r_data and error two cycles after the strobe
        return ctx.get(bus.r_data), ctx.get(bus.error)

    async def write(self, addr: int, word: int) -> int:
        ctx, bus = self.ctx, self.bus
        ctx.set(bus.addr, addr)
        ctx.set(bus.w_data, word)
        ctx.set(bus.w_stb, 1)
        await ctx.tick()
        ctx.set(bus.w_stb, 0)
        await ctx.tick()
        return ctx.get(bus.error)

    async def read_value(self, placed) -> int:
        value = 0
        for i, addr in enumerate(placed.word_addrs()):
            word, error = await self.read(addr)
            assert not error
            value |= word << (32 * i)
        return value

    async def write_value(self, addrs, value: int):
        for i, addr in enumerate(addrs):
            assert not await self.write(addr, (value >> (32 * i)) & 0xFFFF_FFFF)


def simulate(bank, body, watch=None):
    sim = Simulator(bank)
    sim.add_clock(1e-8)

    async def tb(ctx):
        await body(ctx, BusTB(ctx, bank))

    sim.add_testbench(tb)
    if watch is not None:
        sim.add_testbench(watch, background=True)
    sim.run()


def test_identity_at_fixed_addresses_and_block_chain():
    regmap = device_map(control.DeviceKind.HARDWARE, build_hash=HASH)
    bank = CsrBank(regmap)

    async def body(ctx, tb):
        assert (await tb.read(control.ID_ADDR))[0] == control.device_id(
            control.DeviceKind.HARDWARE)
        major, _ = control.split_version((await tb.read(control.MAP_VERSION_ADDR))[0])
        assert major == control.MAP_VERSION[0]
        lo = (await tb.read(control.BUILD_HASH_ADDR))[0]
        hi = (await tb.read(control.BUILD_HASH_ADDR + 4))[0]
        assert hi << 32 | lo == HASH
        addr, seen = 0, []
        while True:
            seen.append((await tb.read(addr + control.BLOCK_TYPE))[0])
            addr = (await tb.read(addr + control.BLOCK_NEXT))[0]
            if addr == 0:
                break
        assert seen == [b.type for b, _ in regmap.blocks]

    simulate(bank, body)


@settings(max_examples=15, deadline=None)
@given(kill=st.integers(0, 1), kill_on_gap=st.integers(0, 1),
       gross=st.integers(0, (1 << 64) - 1), rate=st.integers(0, 0xFFFF),
       window=st.integers(0, (1 << 48) - 1))
def test_rw_register_fields(kill, kill_on_gap, gross, rate, window):
    regmap = device_map()
    bank = CsrBank(regmap)
    placed = regmap.register("risk.global")
    layout = data.Layout.cast(RiskGlobal)
    fields = {"kill": kill, "kill_on_gap": kill_on_gap, "max_gross_notional": gross,
              "rate_orders": rate, "rate_window_ns": window}
    value = layout.const(fields).as_value().value

    async def body(ctx, tb):
        port = bank.port("risk.global")
        assert ctx.get(port.kill) == 1  # power-up: kill set
        await tb.write_value(placed.word_addrs(), value)
        got = {name: ctx.get(getattr(port, name)) for name in fields}
        assert got == fields
        assert await tb.read_value(placed) == value

    simulate(bank, body)


def test_ro_strobe_const_and_errors():
    regmap = device_map()
    bank = CsrBank(regmap)

    async def body(ctx, tb):
        sent = regmap.register("risk.count_sent")
        ctx.set(bank.port("risk.count_sent").value, 1234)
        assert await tb.read(sent.addr) == (1234, 0)
        assert await tb.write(sent.addr, 5) == 1          # read-only: refused
        assert await tb.read(sent.addr) == (1234, 0)
        assert await tb.write(control.ID_ADDR, 0) == 1     # constant: refused
        assert (await tb.read(control.ID_ADDR))[0] == control.device_id(
            control.DeviceKind.HARDWARE)
        for hole in (0x20, regmap.size):                   # no register there
            assert (await tb.read(hole))[1] == 1
        strobe = bank.port("risk.clear_trip")
        ctx.set(bank.bus.addr, regmap.register("risk.clear_trip").addr)
        ctx.set(bank.bus.w_data, 1)
        ctx.set(bank.bus.w_stb, 1)
        await ctx.tick()
        ctx.set(bank.bus.w_stb, 0)
        assert ctx.get(strobe.value) == 1
        await ctx.tick()
        assert ctx.get(strobe.value) == 0
        scratch = regmap.register("device.scratch")
        assert not await tb.write(scratch.addr, 0xDEADBEEF)
        assert await tb.read(scratch.addr) == (0xDEADBEEF, 0)

    simulate(bank, body)


@settings(max_examples=10, deadline=None)
@given(row=st.integers(0, 255), enabled=st.integers(0, 1), shares=st.integers(0, 2**32 - 1),
       notional=st.integers(0, 2**64 - 1), band=st.integers(0, 2**32 - 1),
       position=st.integers(0, 2**40 - 1))
def test_table_row_commit(row, enabled, shares, notional, band, position):
    regmap = device_map()
    bank = CsrBank(regmap)
    placed = regmap.table("risk")
    fields = {"enabled": enabled, "max_order_shares": shares, "max_order_notional": notional,
              "fat_finger_band": band, "max_position": position}
    value = data.Layout.cast(RiskParams).const(fields).as_value().value
    rows = [placed.row_addr + 4 * i for i in range(placed.table.words)]

    async def body(ctx, tb):
        port = bank.port("table.risk")
        await tb.write_value(rows, value)
        assert ctx.get(port.en) == 0          # staged only
        ctx.set(bank.bus.addr, placed.commit_addr)
        ctx.set(bank.bus.w_data, row)
        ctx.set(bank.bus.w_stb, 1)
        await ctx.tick()
        ctx.set(bank.bus.w_stb, 0)
        assert ctx.get(port.en) == 1
        assert ctx.get(port.addr) == row
        assert {name: ctx.get(getattr(port.data, name)) for name in fields} == fields
        await ctx.tick()
        assert ctx.get(port.en) == 0          # one write per commit
        assert ctx.get(bank.bus.error) == 0
        assert await tb.read(placed.commit_addr) == (row, 0)

    simulate(bank, body)


@pytest.mark.parametrize("seed", range(3))
def test_bank_matches_register_file_model(seed):
    """Random word reads and writes give the same data, errors and table rows as the model."""
    import random

    from tick2trade.proto.control import ControlError
    from tick2trade.sim.model.control import RegisterFile

    rng = random.Random(seed)
    regmap = device_map(control.DeviceKind.HARDWARE, build_hash=HASH)
    bank = CsrBank(regmap)
    model = RegisterFile(regmap)
    addrs = sorted({a for p in regmap.registers for a in p.word_addrs()}
                   | {t.row_addr + 4 * i for t in regmap.tables for i in range(t.table.words)}
                   | {t.commit_addr for t in regmap.tables} | {0x20, 0x3C, regmap.size})
    ro = [p for p in regmap.registers if p.register.access is Access.RO]
    committed = []

    async def body(ctx, tb):
        for placed in ro:
            value = rng.getrandbits(placed.register.width)
            ctx.set(bank.port(placed.path).as_value(), value)
            model.set(placed.path, value)
        for _ in range(300):
            addr = rng.choice(addrs)
            if rng.random() < 0.5:
                word, error = await tb.read(addr)
                try:
                    assert (word, error) == (model.read(addr), 0), hex(addr)
                except ControlError:
                    assert error == 1, hex(addr)
            else:
                word = rng.choice([rng.getrandbits(32), rng.randrange(300)])
                error = await tb.write(addr, word)
                try:
                    model.write(addr, word)
                    assert error == 0, hex(addr)
                except ControlError:
                    assert error == 1, hex(addr)

    async def watch(ctx):
        ports = [(p.table.name, bank.port(f"table.{p.table.name}")) for p in regmap.tables]
        async for _ in ctx.tick():
            for name, port in ports:
                if ctx.get(port.en):
                    committed.append((name, ctx.get(port.addr), ctx.get(port.data.as_value())))

    simulate(bank, body, watch)
    assert committed, "no row was committed"
    last = {(name, row): value for name, row, value in committed}  # the latest write wins
    assert all(model.tables[name][row] == value for (name, row), value in last.items())


def test_wide_ro_register_latches_on_word_zero():
    regmap = RegisterMap().add(Block("b", 7, (1, 0), "test", registers=(
        Register("wide", {"low": 20, "high": 44}, Access.RO, "64-bit counter"),))).build()
    bank = CsrBank(regmap)
    placed = regmap.register("b.wide")

    async def body(ctx, tb):
        port = bank.port("b.wide")
        ctx.set(port.as_value(), 0x0000_0001_FFFF_FFFF)
        lo, _ = await tb.read(placed.addr)
        ctx.set(port.as_value(), 0x0000_0002_0000_0000)  # carries between the two reads
        hi, _ = await tb.read(placed.addr + 4)
        assert hi << 32 | lo == 0x0000_0001_FFFF_FFFF

    simulate(bank, body)


def test_builder_rejects_duplicates():
    reg = Register("r", 8, Access.RW, "x")
    with pytest.raises(ValueError, match="twice"):
        Block("b", 1, (1, 0), "x", registers=(reg, reg))
    table = Table("t", 1, 8, 4, "x")
    with pytest.raises(ValueError, match="table id"):
        RegisterMap().add(Block("a", 1, (1, 0), "x", tables=(table,))).add(
            Block("b", 2, (1, 0), "x", tables=(Table("u", 1, 8, 4, "x"),))).build()
    with pytest.raises(ValueError, match="unknown"):
        RegisterMap().add(Block("a", 1, (1, 0), "x"), nope=1).build()
