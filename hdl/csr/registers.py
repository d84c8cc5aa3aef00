"""Register declarations: typed fields, access, blocks and tables, declared once (STYLE.md §5).

A :class:`Register` has a ``data.StructLayout`` (its typed fields) and an
access kind; a :class:`Table` has a row layout and a depth; a :class:`Block`
groups them under a self-describing header (STYLE.md §6). Addresses are not
written here: :mod:`.builder` assigns them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from amaranth.lib import data

__all__ = ["WORD_BITS", "Access", "Block", "Register", "Table", "layout_of", "words_for"]

#: the bus word (the control protocol reads and writes 32-bit words)
WORD_BITS = 32


class Access(enum.Enum):
    RW = "rw"          # host writes, gateware reads (reset value at power-up)
    RO = "ro"          # gateware drives, host reads (word 0 latches a wide register)
    CONST = "const"    # fixed at build time (ID, versions, build hash, block headers)
    STROBE = "strobe"  # a write pulses the written bits for one cycle; reads 0


def layout_of(shape) -> data.StructLayout:
    """A StructLayout from a ``data.Struct``, a layout, a ``{name: shape}`` dict or a width."""
    if isinstance(shape, int):
        return data.StructLayout({"value": shape})
    if isinstance(shape, dict):
        return data.StructLayout(shape)
    if isinstance(shape, data.StructLayout):
        return shape
    layout = data.Layout.cast(shape)
    if not isinstance(layout, data.StructLayout):
        raise TypeError(f"register layout must be a StructLayout, not {layout!r}")
    return layout


def words_for(width: int) -> int:
    return max(1, -(-width // WORD_BITS))


@dataclass(frozen=True)
class Register:
    """One register: ``name`` unique in its block, typed ``layout``, ``access``, ``doc``."""

    name: str
    layout: data.StructLayout
    access: Access
    doc: str
    reset: int = 0

    def __init__(self, name, shape, access: Access, doc: str, reset: int = 0):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "layout", layout_of(shape))
        object.__setattr__(self, "access", access)
        object.__setattr__(self, "doc", doc)
        object.__setattr__(self, "reset", reset)
        if access is Access.STROBE and self.width > WORD_BITS:
            raise ValueError(f"strobe register {name} wider than one word")
        if not 0 <= reset < 1 << self.width:
            raise ValueError(f"register {name}: reset {reset} does not fit {self.width} bits")

    @property
    def width(self) -> int:
        return self.layout.size

    @property
    def words(self) -> int:
        return words_for(self.width)


@dataclass(frozen=True)
class Table:
    """A host-written table of ``depth`` rows of ``layout``, named by ``table_id``."""

    name: str
    table_id: int
    layout: data.StructLayout
    depth: int
    doc: str

    def __init__(self, name, table_id: int, shape, depth: int, doc: str):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "table_id", int(table_id))
        object.__setattr__(self, "layout", layout_of(shape))
        object.__setattr__(self, "depth", depth)
        object.__setattr__(self, "doc", doc)

    @property
    def width(self) -> int:
        return self.layout.size

    @property
    def row_bytes(self) -> int:
        """Bytes of one row in a control-protocol TABLE_WRITE (little-endian row value)."""
        return -(-self.width // 8)

    @property
    def words(self) -> int:
        return words_for(self.width)


@dataclass(frozen=True)
class Block:
    """A register block: header (type, version, next), then registers and table windows."""

    name: str
    type: int
    version: tuple[int, int]
    doc: str
    registers: tuple[Register, ...] = field(default=())
    tables: tuple[Table, ...] = field(default=())

    def __post_init__(self):
        names = [r.name for r in self.registers] + [t.name for t in self.tables]
        if len(set(names)) != len(names):
            raise ValueError(f"block {self.name}: a register or table name is used twice")
