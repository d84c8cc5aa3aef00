"""Port signatures between the CSR bank and the blocks whose registers and tables it maps."""

from amaranth.lib import wiring
from amaranth.lib.wiring import Out

__all__ = ["table_write_signature"]


def table_write_signature(shape, depth: int) -> wiring.Signature:
    """A table write port as seen from the bank: one row ``data`` at ``addr`` when ``en``."""
    return wiring.Signature({"en": Out(1), "addr": Out(range(depth)), "data": Out(shape)})
