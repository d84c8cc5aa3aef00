"""Unsigned multiplier in two registered stages, sized for ECP5 18×18 DSPs (DESIGN.md, timing)."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PipelinedMultiplier", "MULTIPLY_LATENCY"]

#: cycles from stable operands to a valid ``product``
MULTIPLY_LATENCY = 2


class PipelinedMultiplier(wiring.Component):
    """``product = a * b``, valid :data:`MULTIPLY_LATENCY` cycles after ``a``/``b`` settle.

    Stage 1 registers the ``chunk``×``chunk`` partial products (one DSP each),
    stage 2 their shifted sum. Operands must stay stable while the product
    is read (the decision path holds them in registers).
    """

    def __init__(self, a_width: int, b_width: int, chunk: int = 16):
        self.a_width, self.b_width, self.chunk = a_width, b_width, chunk
        super().__init__({"a": In(a_width), "b": In(b_width),
                          "product": Out(a_width + b_width)})

    def elaborate(self, platform):
        m = Module()
        c = self.chunk
        partials = []
        for i in range(0, self.a_width, c):
            for j in range(0, self.b_width, c):
                a = self.a[i:min(i + c, self.a_width)]
                b = self.b[j:min(j + c, self.b_width)]
                part = Signal(len(a) + len(b), name=f"part_{i}_{j}")
                m.d.sync += part.eq(a * b)
                partials.append((i + j, part))
        total = 0
        for shift, part in partials:
            total = total + (part << shift)
        m.d.sync += self.product.eq(total)
        return m
