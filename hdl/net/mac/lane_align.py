"""Move XGMII frames that start in lane 4 to lane 0, and decode each column (IEEE 802.3 §46.3).

A start in lane 4 makes every following column straddle two input columns:
the aligned column is the upper half of the previous one and the lower half
of the current one. A start in lane 0 switches back. The aligned column is
registered together with what the receiver needs to know about it (start,
preamble, first control lane, terminate), so the receiver's decisions start
from flip-flops. One cycle of latency.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .xgmii import IDLE, LANES, PREAMBLE, SFD, START, TERMINATE, XgmiiSignature

__all__ = ["AlignedColumn", "LaneAligner"]


class AlignedColumn(wiring.Signature):
    """A lane-0-aligned XGMII column and its decode.

    ``start``: ``/S/`` in lane 0. ``preamble_ok``: the start column carries six
    preamble bytes and the SFD. ``ctrl_lane``: the first control lane (8 when
    all lanes are data). ``terminate``: that lane holds ``/T/``.
    """

    def __init__(self):
        super().__init__({
            "data": Out(8 * LANES), "ctrl": Out(LANES), "start": Out(1),
            "preamble_ok": Out(1), "ctrl_lane": Out(range(LANES + 1)), "terminate": Out(1),
        })


class LaneAligner(wiring.Component):
    """Ports: ``i`` (XGMII as received), ``o`` (aligned, decoded column; registered)."""

    i: In(XgmiiSignature())
    o: Out(AlignedColumn())

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

        d = Signal(8 * LANES)
        c = Signal(LANES)
        m.d.comb += [
            d.eq(Mux(use_swap, Cat(prev_data[half:], self.i.data[:half]), self.i.data)),
            c.eq(Mux(use_swap, Cat(prev_ctrl[4:], self.i.ctrl[:4]), self.i.ctrl)),
        ]
        lane = [d[8 * k:8 * k + 8] for k in range(LANES)]
        preamble_ok = (c == 0b0000_0001) & (lane[LANES - 1] == SFD)
        for k in range(1, LANES - 1):
            preamble_ok &= lane[k] == PREAMBLE
        ctrl_lane = Signal(range(LANES + 1))
        terminate = Signal()
        m.d.comb += ctrl_lane.eq(LANES)
        for k in reversed(range(LANES)):
            with m.If(c[k]):
                m.d.comb += [ctrl_lane.eq(k), terminate.eq(lane[k] == TERMINATE)]
        m.d.sync += [
            self.o.data.eq(d), self.o.ctrl.eq(c),
            self.o.start.eq(c[0] & (lane[0] == START)), self.o.preamble_ok.eq(preamble_ok),
            self.o.ctrl_lane.eq(ctrl_lane), self.o.terminate.eq(terminate),
        ]
        return m
