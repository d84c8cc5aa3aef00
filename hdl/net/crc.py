"""CRC-32 of the Ethernet FCS over 64-bit beats, one beat per cycle (IEEE 802.3 §3.2.9).

The CRC is the reflected CRC-32 (polynomial 0x04C11DB7, reflected 0xEDB88320,
initial value all ones) that ``zlib.crc32`` computes. Running it over a frame
*and* its FCS leaves the constant residue :data:`RESIDUE` in the register, so
the MAC checks a frame without locating its FCS bytes.

Timing (a pipeline of three registers, :attr:`Crc32.LATENCY`): only the
full-beat update is a loop. A beat of ``n < 8`` bytes is folded as 8 bytes
with its unused lanes zeroed, which is the CRC over its ``n`` bytes followed
by ``8 - n`` zero bytes; since the register update over a zero byte is
invertible, the true CRC is recovered a stage later by the inverse update
over ``8 - n`` zero bytes, and the residue check compares against
:data:`RESIDUE` moved forward by those zero bytes (a constant per ``n``).
"""

from functools import cache

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tick2trade.proto.net import FCS_RESIDUE

__all__ = ["INIT", "POLY_REFLECTED", "RESIDUE", "Crc32", "crc_matrix", "unstep_matrix"]

POLY_REFLECTED = 0xEDB88320
INIT = 0xFFFFFFFF
#: register value after a good frame plus its FCS (``~zlib.crc32(frame + fcs)``)
RESIDUE = FCS_RESIDUE ^ 0xFFFFFFFF
_LANES = 8


def _step(state: int, data: bytes) -> int:
    """Bytewise reflected CRC register update, without inversion (linear over GF(2))."""
    for byte in data:
        state ^= byte
        for _ in range(8):
            state = (state >> 1) ^ (POLY_REFLECTED if state & 1 else 0)
    return state


def _unstep(state: int, zero_bytes: int) -> int:
    """The register before ``zero_bytes`` zero bytes were folded into it (inverse of ``_step``)."""
    for _ in range(8 * zero_bytes):
        # the polynomial's top bit is set: bit 31 after a shift says whether it was XORed in
        state = (((state ^ POLY_REFLECTED) << 1) | 1 if state >> 31 else state << 1) & INIT
    return state


def _rows(columns: list[int]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(j for j, col in enumerate(columns) if (col >> i) & 1) for i in range(32))


@cache
def crc_matrix(nbytes: int) -> tuple[tuple[int, ...], ...]:
    """For each of the 32 next-state bits, the input bits it XORs.

    Input bit ``j < 32`` is register bit ``j``; ``32 + 8*lane + b`` is data bit
    ``b`` of byte ``lane``.
    """
    columns = [_step(1 << j, bytes(nbytes)) for j in range(32)]
    columns += [_step(0, (1 << j).to_bytes(nbytes, "little")) for j in range(8 * nbytes)]
    return _rows(columns)


@cache
def unstep_matrix(zero_bytes: int) -> tuple[tuple[int, ...], ...]:
    """For each register bit, the bits it XORs to undo ``zero_bytes`` zero bytes."""
    return _rows([_unstep(1 << j, zero_bytes) for j in range(32)])


def _apply(m, name, rows, inputs):
    """A 32-bit signal whose bit ``i`` is the XOR of the ``inputs`` bits listed in ``rows[i]``."""
    out = Signal(32, name=name)
    m.d.comb += out.eq(Cat(*((inputs & sum(1 << j for j in taps)).xor() for taps in rows)))
    return out


class Crc32(wiring.Component):
    """Pipelined CRC-32 over up to 8 bytes per cycle; outputs :attr:`LATENCY` cycles later.

    Ports
    -----
    valid : In(1)
        Fold ``data`` lanes ``0 .. popcount(keep)-1`` into the register.
    first : In(1)
        This beat starts a new frame: start from :data:`INIT`.
    data : In(64)
        Lane 0 (the first byte on the wire) is ``data[0:8]``.
    keep : In(8)
        Valid lanes, contiguous from lane 0 (a beat with no lane is ignored).
    crc : Out(32)
        The register after the last folded beat (not inverted), ``LATENCY``
        cycles after that beat was presented.
    value : Out(32)
        ``~crc``: equal to ``zlib.crc32`` of the bytes folded since ``first``.
    residue_ok : Out(1)
        ``crc == RESIDUE``: the bytes folded since ``first`` end with a good FCS
        (same cycle as ``crc``).
    """

    #: a beat presented in cycle ``t`` is reflected in ``crc``/``residue_ok`` from cycle ``t + 3``
    LATENCY = 3

    valid: In(1)
    first: In(1)
    data: In(64)
    keep: In(8)
    crc: Out(32, init=INIT)
    value: Out(32)
    residue_ok: Out(1)

    def elaborate(self, platform):
        m = Module()
        # stage 1: the beat registered, unused lanes zeroed, and the zero bytes that pad it
        fold = Signal()
        restart = Signal()
        first = Signal()
        data = Signal(64)
        pad = Signal(range(_LANES))
        lane_mask = Cat(*(self.keep[k].replicate(8) for k in range(_LANES)))
        m.d.sync += [fold.eq(self.valid & self.keep[0]), restart.eq(self.valid & self.first),
                     first.eq(self.first), data.eq(self.data & lane_mask),
                     pad.eq(sum(~self.keep[k] for k in range(1, _LANES)))]

        # stage 2: the loop, a full 8-byte update (from INIT on a frame's first beat)
        run = Signal(32, init=INIT)
        run_pad = Signal(range(_LANES))
        state = Mux(first, Const(INIT, 32), run)
        update = _apply(m, "update", crc_matrix(_LANES), Cat(state, data))
        with m.If(fold):
            m.d.sync += [run.eq(update), run_pad.eq(pad)]
        with m.Elif(restart):
            m.d.sync += [run.eq(INIT), run_pad.eq(0)]

        # stage 3: undo the padding; check the residue moved forward by it
        with m.Switch(run_pad):
            for zeros in range(_LANES):
                with m.Case(zeros):
                    undone = _apply(m, f"undo_{zeros}", unstep_matrix(zeros), run)
                    m.d.sync += [self.crc.eq(undone),
                                 self.residue_ok.eq(run == _step(RESIDUE, bytes(zeros)))]
        m.d.comb += self.value.eq(~self.crc)
        return m
