"""The CSR bank: a register map as gateware (STYLE.md §5, §6).

One port per register and table, named ``<block>_<register>`` and
``table_<table>``: RW and STROBE registers are outputs of their layout, RO
registers inputs, tables write ports (:func:`.ports.table_write_signature`).
The top wires them to the blocks by name (:meth:`CsrBank.port`). Word
semantics are those of :mod:`.builder` and :class:`.registers.Access`.
"""

from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .builder import WORD_BYTES, RegisterMap
from .ports import bus_signature, table_write_signature
from .registers import WORD_BITS, Access

__all__ = ["CsrBank"]


def _port_name(block: str, name: str) -> str:
    return f"{block}_{name}"


class CsrBank(wiring.Component):
    """Registers and table windows of ``regmap`` behind a 32-bit bus.

    Ports
    -----
    bus : In(bus_signature(addr_width))
    <block>_<register> : Out(layout) for RW/STROBE, In(layout) for RO
    table_<name> : Out(table_write_signature(row layout, depth))
    """

    def __init__(self, regmap: RegisterMap):
        self.regmap = regmap
        self.addr_width = max(1, (regmap.size - 1).bit_length())
        members = {"bus": In(bus_signature(self.addr_width))}
        for placed in regmap.registers:
            reg = placed.register
            if reg.access in (Access.RW, Access.STROBE):
                init = reg.layout.from_bits(reg.reset)
                members[_port_name(placed.block, reg.name)] = Out(reg.layout, init=init)
            elif reg.access is Access.RO:
                members[_port_name(placed.block, reg.name)] = In(reg.layout)
        for placed in regmap.tables:
            members[f"table_{placed.table.name}"] = Out(
                table_write_signature(placed.table.layout, placed.table.depth))
        super().__init__(members)

    def port(self, path: str):
        """The port of register ``"block.name"`` or of table ``"table.name"``."""
        block, name = path.split(".")
        return getattr(self, f"table_{name}" if block == "table" else _port_name(block, name))

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        hit = Signal()
        self._entries = []
        # reads take two cycles (a decode and a 100-way mux in one cycle miss 156.25 MHz
        # on ECP5); ``error`` is delayed to match
        refused = Signal()
        m.d.sync += [refused.eq((bus.r_stb | bus.w_stb) & ~hit), bus.error.eq(refused)]

        for placed in self.regmap.registers:
            reg = placed.register
            width = reg.width
            if reg.access is Access.CONST:
                value = Const(placed.value, max(width, 1))
                self._words(m, placed, read=value)
                continue
            port = self.port(placed.path)
            bits = port.as_value()
            if reg.access is Access.RW:
                self._words(m, placed, read=bits, write=bits)
            elif reg.access is Access.STROBE:
                m.d.sync += bits.eq(0)
                self._words(m, placed, read=Const(0, width), write=bits)
            else:  # RO: reading word 0 latches a wide register, the others read the latch
                if reg.words == 1:
                    self._words(m, placed, read=bits)
                else:
                    shadow = Signal(width, name=f"{placed.block}_{reg.name}_latch")
                    with m.If(bus.r_stb & (bus.addr == placed.addr)):
                        m.d.sync += shadow.eq(bits)
                    self._words(m, placed, read=shadow, first=bits)

        commits = []
        for placed in self.regmap.tables:
            table = placed.table
            port = self.port(f"table.{table.name}")
            staged = Signal(table.width, name=f"{table.name}_row")
            index = Signal(range(table.depth), name=f"{table.name}_index")
            for i in range(table.words):
                addr = placed.row_addr + WORD_BYTES * i
                part = staged[WORD_BITS * i:WORD_BITS * (i + 1)]
                self._word(m, addr, read=part, write=part)
            # the row follows the staged words every cycle (it only counts with ``en``): the
            # commit's range check then enables ``en`` and the row number, not the whole row
            m.d.sync += [port.en.eq(0), port.data.eq(staged)]
            commits.append((placed.commit_addr, table, port, staged, index))

        # hit from bitmaps indexed by the word number (a 100-case decode OR'd is too deep)
        n_words = -(-self.regmap.size // WORD_BYTES)
        word = bus.addr[2:2 + max(1, (n_words - 1).bit_length())]
        inside = (bus.addr[:2] == 0) & (bus.addr < self.regmap.size)

        def bitmap(addrs):
            return Const(sum(1 << (a // WORD_BYTES) for a in addrs), n_words).bit_select(word, 1)

        readable = bitmap([a for a, _, _ in self._entries] + [c[0] for c in commits])
        writable = bitmap([a for a, _, w in self._entries if w is not None])
        commit_word = bitmap([c[0] for c in commits])
        row_in_range = Signal()
        with m.Switch(bus.addr):
            for addr, table, *_ in commits:
                with m.Case(addr):
                    m.d.comb += row_in_range.eq(bus.w_data < table.depth)
        m.d.comb += hit.eq(inside & ((bus.r_stb & readable)
                                     | (bus.w_stb & (writable | (commit_word & row_in_range)))))

        # the read mux is indexed by the registered word number: no decode before it
        reads = [Const(0, WORD_BITS)] * (-(-self.regmap.size // WORD_BYTES))
        for addr, read, _ in self._entries:
            reads[addr // WORD_BYTES] = read
        for addr, *_, index in commits:
            reads[addr // WORD_BYTES] = index
        # two registered stages of the read mux: 16 words per group by the low address bits,
        # then the group (the values are those of the strobe cycle)
        group_bits = 4
        groups = [reads[i:i + (1 << group_bits)] for i in range(0, len(reads), 1 << group_bits)]
        group_out = [Signal(WORD_BITS, name=f"read_group{g}") for g in range(len(groups))]
        low = bus.addr[2:2 + group_bits]
        for out, words in zip(group_out, groups, strict=True):
            m.d.sync += out.eq(Array(words + [Const(0, WORD_BITS)] * ((1 << group_bits)
                                                                     - len(words)))[low])
        selected = Signal(range(len(groups)))
        m.d.sync += selected.eq(bus.addr[2 + group_bits:])
        # one parallel decode of every word (a chain of Ifs would be a long priority mux)
        with m.Switch(bus.addr):
            for addr, _, write in self._entries:
                with m.Case(addr):
                    if write is not None:
                        with m.If(bus.w_stb):
                            m.d.sync += write.eq(bus.w_data[:len(write)])
            for addr, table, port, _staged, index in commits:
                with m.Case(addr):
                    in_range = bus.w_data < table.depth  # a row past the end is refused
                    with m.If(bus.w_stb & in_range):
                        m.d.sync += [index.eq(bus.w_data), port.addr.eq(bus.w_data),
                                     port.en.eq(1)]
        m.d.sync += bus.r_data.eq(Array(group_out)[selected])
        return m

    def _words(self, m, placed, *, read, write=None, first=None):
        """Every word of a register; ``first`` (if given) is read for word 0 instead."""
        for i, addr in enumerate(placed.word_addrs()):
            lo, hi = WORD_BITS * i, WORD_BITS * (i + 1)
            source = first if (first is not None and i == 0) else read
            self._word(m, addr, read=source[lo:hi],
                       write=None if write is None else write[lo:hi])

    def _word(self, m, addr, *, read, write):
        """One bus word; a write to a word without ``write`` is refused (``error`` rises)."""
        self._entries.append((addr, read, write))
