"""Unsigned multiplier in two registered stages, sized for ECP5 18×18 DSPs (DESIGN.md, timing)."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PipelinedMultiplier", "MULTIPLY_LATENCY"]

#: cycles from stable operands to a valid ``product``: operand copies, partials, sum
MULTIPLY_LATENCY = 3


class PipelinedMultiplier(wiring.Component):
    """``product = a * b``, valid :data:`MULTIPLY_LATENCY` cycles after ``a``/``b`` settle.

    Stage 1 registers a copy of each operand chunk for each DSP that reads
    it (fan-out one, so the copy sits next to its DSP: a DSP's own delay is
    about half the 6.4 ns cycle on ECP5), stage 2 the ``chunk``×``chunk``
    partial products (one DSP each), stage 3 their shifted sum. Operands
    must stay stable while the product is read (the decision path holds
    them in registers).
    """

    def __init__(self, a_width: int, b_width: int, chunk: int = 16):
        self.a_width, self.b_width, self.chunk = a_width, b_width, chunk
        super().__init__({"a": In(a_width), "b": In(b_width),
                          "product": Out(a_width + b_width)})

    def elaborate(self, platform):
        m = Module()
        c = self.chunk
        partials = []
        # the copies of one chunk differ in their (unused) reset value only: yosys would
        # merge identical flip-flops back into one with a fan-out
        for i in range(0, self.a_width, c):
            for j in range(0, self.b_width, c):
                a_src = self.a[i:min(i + c, self.a_width)]
                b_src = self.b[j:min(j + c, self.b_width)]
                a = Signal(len(a_src), name=f"a_copy_{i}_{j}", init=j // c)
                b = Signal(len(b_src), name=f"b_copy_{i}_{j}", init=i // c)
                part = Signal(len(a) + len(b), name=f"part_{i}_{j}")
                m.d.sync += [a.eq(a_src), b.eq(b_src), part.eq(a * b)]
                partials.append((i + j, part))
        total = 0
        for shift, part in partials:
            total = total + (part << shift)
        m.d.sync += self.product.eq(total)
        return m
