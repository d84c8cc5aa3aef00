"""Unsigned multiplier in three registered stages, built on ECP5 18×18 DSPs (DESIGN.md, timing)."""

from amaranth.hdl import ClockSignal, Const, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PipelinedMultiplier", "MULTIPLY_LATENCY", "DSP_WIDTH", "multiply_latency"]


def multiply_latency(input_registers: bool = True) -> int:
    """Cycles from stable operands to a valid ``product``: [operands,] partial products, sum."""
    return 3 if input_registers else 2


#: latency of a :class:`PipelinedMultiplier` with its operand registers (the default)
MULTIPLY_LATENCY = multiply_latency()
#: operand width of one ECP5 ``MULT18X18D``
DSP_WIDTH = 18


def _ecp5(platform) -> bool:
    """Elaborating for an ECP5 (an Amaranth ``LatticePlatform`` of family ``ecp5``)."""
    return getattr(platform, "family", None) == "ecp5"


class PipelinedMultiplier(wiring.Component):
    """``product = a * b``, valid :data:`MULTIPLY_LATENCY` cycles after ``a``/``b`` settle.

    The operands are cut into ``chunk``-bit pieces, one ``chunk``×``chunk``
    partial product per DSP. Stage 1 registers the operand pieces, stage 2
    the partial products, stage 3 their shifted sum. On ECP5 (a Lattice
    platform of family ``ecp5``) stages 1 and 2 are the ``MULT18X18D``'s own
    input and output registers: its multiplier alone takes about half of the
    6.4 ns cycle, so a register in the fabric on either side of it leaves
    too little for the routes. Elsewhere (simulation, Verilator, no platform)
    the same stages are fabric registers around ``*``, cycle for cycle the
    same. Without ``input_registers`` stage 1 is left out (operands that are
    registers with few other loads, straight into the DSP): one cycle less,
    :func:`multiply_latency`. Operands must stay stable while the product is
    read (the decision path holds them in registers).
    """

    def __init__(self, a_width: int, b_width: int, chunk: int = 16, *,
                 input_registers: bool = True):
        if not 1 <= chunk <= DSP_WIDTH:
            raise ValueError(f"chunk must be 1..{DSP_WIDTH}, got {chunk}")
        self.a_width, self.b_width, self.chunk = a_width, b_width, chunk
        self.input_registers = input_registers
        self.latency = multiply_latency(input_registers)
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
                if _ecp5(platform):
                    m.submodules[f"dsp_{i}_{j}"] = self._dsp(a, b, part, self.input_registers)
                elif self.input_registers:
                    a_reg = Signal(len(a), name=f"a_{i}_{j}")
                    b_reg = Signal(len(b), name=f"b_{i}_{j}")
                    m.d.sync += [a_reg.eq(a), b_reg.eq(b), part.eq(a_reg * b_reg)]
                else:
                    m.d.sync += part.eq(a * b)
                partials.append((i + j, part))
        total = 0
        for shift, part in partials:
            total = total + (part << shift)
        m.d.sync += self.product.eq(total)
        return m

    @staticmethod
    def _dsp(a, b, part, input_registers: bool) -> Module:
        """One unsigned ``MULT18X18D`` with registered output (and inputs): lattice cells_bb."""
        ports = {f"i_A{k}": a[k] if k < len(a) else Const(0) for k in range(DSP_WIDTH)}
        ports |= {f"i_B{k}": b[k] if k < len(b) else Const(0) for k in range(DSP_WIDTH)}
        ports |= {f"i_C{k}": Const(0) for k in range(DSP_WIDTH)}
        product = Signal(2 * DSP_WIDTH)
        ports |= {f"o_P{k}": product[k] for k in range(2 * DSP_WIDTH)}
        inputs = "CLK0" if input_registers else "NONE"
        registers = {"p_REG_INPUTA_CLK": inputs, "p_REG_INPUTB_CLK": inputs,
                     "p_REG_OUTPUT_CLK": "CLK0", "p_REG_INPUTC_CLK": "NONE",
                     "p_REG_PIPELINE_CLK": "NONE"}
        dsp = Instance(
            "MULT18X18D", **registers, p_GSR="DISABLED", p_RESETMODE="SYNC",
            p_MULT_BYPASS="DISABLED", p_SOURCEB_MODE="B_SHIFT",
            i_CLK0=ClockSignal("sync"), i_CE0=Const(1), i_RST0=Const(0),
            i_SIGNEDA=Const(0), i_SIGNEDB=Const(0), i_SOURCEA=Const(0), i_SOURCEB=Const(0),
            **ports)
        m = Module()
        m.submodules.dsp = dsp
        m.d.comb += part.eq(product[:len(part)])
        return m
