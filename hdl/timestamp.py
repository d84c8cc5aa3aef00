"""Free-running cycle counter stamped on every frame at start (DESIGN.md, clocks)."""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from .layouts import TIMESTAMP_WIDTH

__all__ = ["Timestamp"]


class Timestamp(wiring.Component):
    """Counts clock cycles since reset; wraps at ``2**width``.

    Ports
    -----
    count : Out(width)
        Cycles since reset (0 on the first cycle after reset).
    """

    def __init__(self, width: int = TIMESTAMP_WIDTH):
        self.width = width
        super().__init__({"count": Out(width)})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.count.eq(self.count + 1)
        return m
