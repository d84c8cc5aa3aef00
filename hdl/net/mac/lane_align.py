"""Move XGMII frames that start in lane 4 to lane 0 (IEEE 802.3 §46.3.1.2).

A start in lane 4 makes every following column straddle two input columns:
the aligned column is the upper half of the previous one and the lower half
of the current one. A start in lane 0 switches back. One cycle of latency.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .xgmii import IDLE, LANES, START, XgmiiSignature

__all__ = ["LaneAligner"]


class LaneAligner(wiring.Component):
    """Ports: ``i`` (XGMII as received), ``o`` (XGMII with starts only in lane 0)."""

    i: In(XgmiiSignature())
    o: Out(XgmiiSignature())

    def elaborate(self, platform):
        m = Module()
        half = 4 * 8
        prev_data = Signal(8 * LANES, init=int.from_bytes(bytes([IDLE]) * LANES, "little"))
        prev_ctrl = Signal(LANES, init=(1 << LANES) - 1)
        swapped = Signal()
        start0 = self.i.ctrl[0] & (self.i.data[0:8] == START)
        start4 = self.i.ctrl[4] & (self.i.data[half:half + 8] == START)
        use_swap = Mux(start0, 0, swapped)
        m.d.sync += [prev_data.eq(self.i.data), prev_ctrl.eq(self.i.ctrl)]
        with m.If(start0):
            m.d.sync += swapped.eq(0)
        with m.Elif(start4):
            m.d.sync += swapped.eq(1)
        m.d.sync += [
            self.o.data.eq(Mux(use_swap, Cat(prev_data[half:], self.i.data[:half]), self.i.data)),
            self.o.ctrl.eq(Mux(use_swap, Cat(prev_ctrl[4:], self.i.ctrl[:4]), self.i.ctrl)),
        ]
        return m
