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

    @staticmethod
    def _decode(m, name, d, c):
        """:class:`AlignedColumn` fields of one candidate column (data ``d``, ctrl ``c``)."""
        lane = [d[8 * k:8 * k + 8] for k in range(LANES)]
        preamble_ok = (c == 0b0000_0001) & (lane[LANES - 1] == SFD)
        for k in range(1, LANES - 1):
            preamble_ok &= lane[k] == PREAMBLE
        ctrl_lane = Signal(range(LANES + 1), name=f"{name}_ctrl_lane")
        terminate = Signal(name=f"{name}_terminate")
        m.d.comb += ctrl_lane.eq(LANES)
        for k in reversed(range(LANES)):
            with m.If(c[k]):
                m.d.comb += [ctrl_lane.eq(k), terminate.eq(lane[k] == TERMINATE)]
        return {"data": d, "ctrl": c, "start": c[0] & (lane[0] == START),
                "preamble_ok": preamble_ok, "ctrl_lane": ctrl_lane, "terminate": terminate}

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

        # both alignments are decoded in parallel; the start lane only picks one (timing)
        plain = self._decode(m, "plain", self.i.data, self.i.ctrl)
        swap = self._decode(m, "swap", Cat(prev_data[half:], self.i.data[:half]),
                            Cat(prev_ctrl[4:], self.i.ctrl[:4]))
        for name, value in plain.items():
            m.d.sync += getattr(self.o, name).eq(Mux(use_swap, swap[name], value))
        return m
