"""CRC-32 of the Ethernet FCS over 64-bit beats, one beat per cycle (IEEE 802.3 §3.2.9).

The CRC is the reflected CRC-32 (polynomial 0x04C11DB7, reflected 0xEDB88320,
initial value all ones) that ``zlib.crc32`` computes. Running it over a frame
*and* its FCS leaves the constant residue :data:`RESIDUE` in the register, so
the MAC checks a frame without locating its FCS bytes.
"""

from functools import cache

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tick2trade.proto.net import FCS_RESIDUE

__all__ = ["INIT", "POLY_REFLECTED", "RESIDUE", "Crc32", "crc_matrix"]

POLY_REFLECTED = 0xEDB88320
INIT = 0xFFFFFFFF
#: register value after a good frame plus its FCS (``~zlib.crc32(frame + fcs)``)
RESIDUE = FCS_RESIDUE ^ 0xFFFFFFFF


def _step(state: int, data: bytes) -> int:
    """Bytewise reflected CRC register update, without inversion (linear over GF(2))."""
    for byte in data:
        state ^= byte
        for _ in range(8):
            state = (state >> 1) ^ (POLY_REFLECTED if state & 1 else 0)
    return state


@cache
def crc_matrix(nbytes: int) -> tuple[tuple[int, ...], ...]:
    """For each of the 32 next-state bits, the input bits it XORs.

    Input bit ``j < 32`` is register bit ``j``; ``32 + 8*lane + b`` is data bit
    ``b`` of byte ``lane``.
    """
    columns = []
    for j in range(32):
        columns.append(_step(1 << j, bytes(nbytes)))
    for j in range(8 * nbytes):
        columns.append(_step(0, (1 << j).to_bytes(nbytes, "little")))
    return tuple(tuple(j for j, col in enumerate(columns) if (col >> i) & 1) for i in range(32))


class Crc32(wiring.Component):
    """Registered CRC-32 over up to 8 bytes per cycle.

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
        The register after the last folded beat (not inverted).
    value : Out(32)
        ``~crc``: equal to ``zlib.crc32`` of the bytes folded since ``first``.
    residue_ok : Out(1)
        ``crc == RESIDUE``: the bytes folded since ``first`` end with a good FCS.
    """

    valid: In(1)
    first: In(1)
    data: In(64)
    keep: In(8)
    crc: Out(32, init=INIT)
    value: Out(32)
    residue_ok: Out(1)

    def elaborate(self, platform):
        m = Module()
        state = Mux(self.first, Const(INIT, 32), self.crc)
        inputs = Cat(state, self.data)
        nexts = []
        for nbytes in range(1, 9):
            nxt = Signal(32, name=f"next_{nbytes}")
            m.d.comb += nxt.eq(Cat(*((inputs & sum(1 << j for j in taps)).xor()
                                    for taps in crc_matrix(nbytes))))
            nexts.append(nxt)
        with m.If(self.valid):
            with m.Switch(self.keep):
                for nbytes in range(1, 9):
                    with m.Case((1 << nbytes) - 1):
                        m.d.sync += self.crc.eq(nexts[nbytes - 1])
                with m.Default():
                    with m.If(self.first):
                        m.d.sync += self.crc.eq(INIT)
        m.d.comb += [self.value.eq(~self.crc), self.residue_ok.eq(self.crc == RESIDUE)]
        return m
