"""Port signatures between the CSR bank and the blocks whose registers and tables it maps."""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["bus_signature", "table_write_signature"]


def table_write_signature(shape, depth: int) -> wiring.Signature:
    """A table write port as seen from the bank: one row ``data`` at ``addr`` when ``en``."""
    return wiring.Signature({"en": Out(1), "addr": Out(range(depth)), "data": Out(shape)})


def bus_signature(addr_width: int) -> wiring.Signature:
    """The CSR bus as seen from its initiator (the control-plane endpoint).

    ``addr`` is a byte address of a 32-bit word. A cycle with ``w_stb`` writes
    ``w_data``; a cycle with ``r_stb`` reads, ``r_data`` valid two cycles
    later. ``error`` (two cycles later too) flags an access to no register,
    or a write to a read-only one. One access per cycle may be issued.
    """
    return wiring.Signature({
        "addr": Out(addr_width), "r_stb": Out(1), "w_stb": Out(1), "w_data": Out(32),
        "r_data": In(32), "error": In(1),
    })
