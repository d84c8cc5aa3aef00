"""Address assignment: blocks in order, each starting with its header (STYLE.md §5, §6).

Every block begins with three constant words, TYPE, VERSION and NEXT (byte
address of the next block, 0 for the last), at the offsets
``tick2trade.proto.control`` defines; registers follow in declaration order,
each on ``ceil(width / 32)`` consecutive words (low bits first); then one
window per table: the staged row (``<table>.row``, RW words) and
``<table>.commit``, whose write stores the staged row at the written index.
Blocks are aligned to ``BLOCK_ALIGN`` bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from tick2trade.proto import control

from .registers import Access, Block, Register, Table

__all__ = ["BLOCK_ALIGN", "Placed", "PlacedTable", "RegisterMap"]

BLOCK_ALIGN = 0x40
WORD_BYTES = 4


@dataclass(frozen=True)
class Placed:
    """A register at its address, with its value if constant."""

    block: str
    register: Register
    addr: int
    value: int = 0

    @property
    def path(self) -> str:
        return f"{self.block}.{self.register.name}"

    def word_addrs(self) -> range:
        return range(self.addr, self.addr + WORD_BYTES * self.register.words, WORD_BYTES)


@dataclass(frozen=True)
class PlacedTable:
    block: str
    table: Table
    row_addr: int
    commit_addr: int


class RegisterMap:
    """The device's register map: blocks added in order, addresses assigned on :meth:`build`.

    ``consts`` gives the value of each CONST register by ``"block.name"``.
    """

    def __init__(self):
        self._blocks: list[Block] = []
        self._consts: dict[str, int] = {}
        self.blocks: list[tuple[Block, int]] = []
        self.registers: list[Placed] = []
        self.tables: list[PlacedTable] = []

    def add(self, block: Block, **consts: int) -> RegisterMap:
        if any(b.name == block.name for b in self._blocks):
            raise ValueError(f"block {block.name} added twice")
        self._blocks.append(block)
        for name, value in consts.items():
            self._consts[f"{block.name}.{name}"] = value
        return self

    def build(self) -> RegisterMap:
        sizes = [self._block_size(b) for b in self._blocks]
        bases, addr = [], 0
        for size in sizes:
            bases.append(addr)
            addr += -(-size // BLOCK_ALIGN) * BLOCK_ALIGN
        table_ids = set()
        for i, block in enumerate(self._blocks):
            base = bases[i]
            nxt = bases[i + 1] if i + 1 < len(bases) else 0
            self.blocks.append((block, base))
            header = [
                (control.BLOCK_TYPE, "type", block.type, "Block type (STYLE.md §6)."),
                (control.BLOCK_VERSION, "version", control.version_word(*block.version),
                 "Block version, major in bits 16–31."),
                (control.BLOCK_NEXT, "next", nxt, "Address of the next block, 0 if last."),
            ]
            for offset, name, value, doc in header:
                self.registers.append(Placed(block.name, Register(name, 32, Access.CONST, doc),
                                             base + offset, value))
            pos = base + control.BLOCK_NEXT + WORD_BYTES
            for reg in block.registers:
                value = self._consts.pop(f"{block.name}.{reg.name}", 0)
                if reg.access is not Access.CONST and value:
                    raise ValueError(f"{block.name}.{reg.name} is not a constant")
                self.registers.append(Placed(block.name, reg, pos, value))
                pos += WORD_BYTES * reg.words
            for table in block.tables:
                if table.table_id in table_ids:
                    raise ValueError(f"table id {table.table_id} used twice")
                table_ids.add(table.table_id)
                self.tables.append(PlacedTable(block.name, table, pos,
                                               pos + WORD_BYTES * table.words))
                pos += WORD_BYTES * (table.words + 1)
        if self._consts:
            raise ValueError(f"constants for unknown registers: {sorted(self._consts)}")
        return self

    @staticmethod
    def _block_size(block: Block) -> int:
        words = 3 + sum(r.words for r in block.registers) + sum(t.words + 1
                                                                  for t in block.tables)
        return WORD_BYTES * words

    @property
    def size(self) -> int:
        """Bytes spanned by the map (one past the last word)."""
        ends = [p.addr + WORD_BYTES * p.register.words for p in self.registers]
        ends += [t.commit_addr + WORD_BYTES for t in self.tables]
        return max(ends)

    def register(self, path: str) -> Placed:
        for p in self.registers:
            if p.path == path:
                return p
        raise KeyError(f"no register {path!r}")

    def table(self, name: str) -> PlacedTable:
        for t in self.tables:
            if t.table.name == name:
                return t
        raise KeyError(f"no table {name!r}")
