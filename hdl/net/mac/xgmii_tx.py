"""XGMII MAC transmitter: start column, padding, FCS, terminate, minimum inter-packet gap.

IEEE 802.3 §46.2/§46.3 (XGMII; this MAC starts every frame in lane 0 with
``/S/`` + six preamble bytes + SFD, one whole column, so each frame beat maps
onto one data column), §4.2.3.3 (frames under 60 bytes are padded with zeros
to 60 before the FCS), §3.2.9 (FCS, :class:`~..crc.Crc32`), §4.4.2 (at
least 12 bytes of inter-packet gap, the terminate character included; no
deficit idle count, so a gap is 12 to 19 bytes).

A beat is taken (padded, masked) into a register and, in the same cycle,
into the pipelined CRC (:attr:`~..crc.Crc32.LATENCY` = 3 cycles); it passes
two more registers and is sent as a column the cycle after, so the FCS is
known when the last data column goes out; it fills the lanes after the data
and may spill into one more column. The next frame's first beat is taken
while the previous frame's FCS tail goes out, so frames at line rate keep
the minimum gap; after idle the first column leaves 3 cycles after the
frame's first beat was taken. XGMII
cannot pause inside a frame: :class:`XgmiiTxCore` needs a frame's beats back
to back, and if one is late it ends the frame with error characters (``/E/``,
§46.3.2.1) and counts an underrun; :class:`XgmiiTx` puts a store-and-forward
:class:`~.tx_buffer.TxFrameBuffer` in front so any source works (frames
longer than ``max_frame`` are dropped there and counted).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tick2trade.proto.net import ETH_MIN_FRAME, FCS_LEN

from ...layouts import beat_stream
from ..crc import Crc32
from ..lanes import keep_of
from .tx_buffer import TxFrameBuffer
from .xgmii import ERROR, IDLE, LANES, PREAMBLE, SFD, START, TERMINATE, XgmiiSignature

__all__ = ["MIN_IPG", "XgmiiTx", "XgmiiTxCore"]

#: minimum inter-packet gap in bytes, the terminate character included (IEEE 802.3 §4.4.2)
MIN_IPG = 12
#: a minimum frame before its FCS: 7 whole beats and 4 bytes of an eighth
_MIN_BEATS = -(-ETH_MIN_FRAME // LANES)
_MIN_TAIL = ETH_MIN_FRAME - (_MIN_BEATS - 1) * LANES


def _column(lanes):
    """(data, ctrl) of a column from 8 (byte, is_control) pairs, lane 0 first."""
    return Cat(*(b for b, _ in lanes)), Cat(*(Const(int(k), 1) for _, k in lanes))


def _ctrl(char):
    return (Const(char, 8), True)


_IDLE_COLUMN = _column([_ctrl(IDLE)] * LANES)
_START_COLUMN = _column([_ctrl(START)] + [(Const(PREAMBLE, 8), False)] * 6
                        + [(Const(SFD, 8), False)])
_ERROR_COLUMN = _column([_ctrl(ERROR)] * LANES)


class XgmiiTxCore(wiring.Component):
    """Ports
    -----
    i : In(beat_stream())
        Frames (destination MAC first, no FCS), beats back to back within a frame.
    xgmii : Out(XgmiiSignature())
        Transmit columns, one per cycle.
    frames, underruns : Out(32)
        Frames sent whole; frames cut because a beat came late (their rest is dropped).
    """

    def __init__(self):
        super().__init__({"i": In(beat_stream()), "xgmii": Out(XgmiiSignature()),
                          "frames": Out(32), "underruns": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = crc = Crc32()
        beat = self.i.payload

        col_data = Signal(8 * LANES, init=int.from_bytes(bytes([IDLE] * LANES), "little"))
        col_ctrl = Signal(LANES, init=(1 << LANES) - 1)
        m.d.comb += [self.xgmii.data.eq(col_data), self.xgmii.ctrl.eq(col_ctrl)]

        def send(column):
            m.d.sync += [col_data.eq(column[0]), col_ctrl.eq(column[1])]

        # three beats in flight: ``nxt`` (taken, padded, masked; folded into the CRC as it is
        # taken), ``mid``, and ``cur`` (sent as the next column)
        nxt = Signal(64)
        nxt_keep = Signal(LANES)
        nxt_end, nxt_valid = Signal(), Signal()
        mid = Signal(64)
        mid_keep = Signal(LANES)
        mid_end, mid_valid = Signal(), Signal()
        cur = Signal(64)
        cur_keep = Signal(LANES)
        cur_end = Signal()                # the frame's last column of data
        took_last = Signal()              # the frame's last input beat was taken: pad from here
        took_end = Signal()               # ... and its last padded beat: take nothing more
        beats = Signal(range(_MIN_BEATS + 1))   # beats taken into ``nxt``, saturating
        fcs = Signal(32)
        tail_n = Signal(range(FCS_LEN + 1))   # FCS bytes left for the tail column
        gap = Signal(range(MIN_IPG + 1), init=MIN_IPG)    # gap bytes so far, saturating

        def take(data, keep, last, first):
            """Beat number ``k`` into ``nxt``, padding a short frame.

            Beats before the last are full, so a frame that ends in beat ``k < 7``
            is padded with whole zero beats up to beat 7, which carries 4 bytes
            (60 = 7 × 8 + 4) unless the frame's own bytes reach further.
            """
            k = 0 if first else beats
            early = last & (k < _MIN_BEATS - 1)
            short = last & (k == _MIN_BEATS - 1) & ~keep[_MIN_TAIL - 1]
            mask = Cat(*(Mux(keep[lane], Const(0xFF, 8), 0) for lane in range(LANES)))
            masked = data & mask
            padded = Mux(early, 0xFF, Mux(short, keep_of(_MIN_TAIL), keep))
            m.d.comb += [crc.valid.eq(1), crc.first.eq(first), crc.data.eq(masked),
                         crc.keep.eq(padded)]
            m.d.sync += [nxt.eq(masked), nxt_keep.eq(padded), nxt_end.eq(last & ~early),
                         took_last.eq(last), took_end.eq(last & ~early),
                         nxt_valid.eq(1), beats.eq(Mux(k == _MIN_BEATS, k, k + 1))]

        def take_next():
            """The frame's next beat into ``nxt`` (padding once its last input beat is in)."""
            with m.If(took_end):
                pass
            with m.Elif(took_last):
                take(Const(0, 64), Const(0, LANES), 1, first=0)        # padding
            with m.Elif(self.i.valid):
                m.d.comb += self.i.ready.eq(1)
                take(beat.data, beat.keep, beat.last, first=0)

        def advance():
            """``mid`` becomes ``cur``, ``nxt`` becomes ``mid``; take the beat after ``nxt``.

            Beats follow each other without a hole: once ``nxt`` is empty mid-frame, nothing
            more is taken and the frame underruns when the hole reaches ``mid``.
            """
            m.d.sync += [cur.eq(mid), cur_keep.eq(mid_keep), cur_end.eq(mid_end),
                         mid.eq(nxt), mid_keep.eq(nxt_keep), mid_end.eq(nxt_end),
                         mid_valid.eq(nxt_valid), nxt_valid.eq(0)]
            with m.If(nxt_valid):
                take_next()

        cur_bytes = [cur[8 * k:8 * k + 8] for k in range(LANES)]
        idle_more = gap.eq(Mux(gap + LANES >= MIN_IPG, MIN_IPG, gap + LANES))

        with m.FSM():
            with m.State("IDLE"):
                send(_IDLE_COLUMN)
                m.d.sync += idle_more
                with m.If(self.i.valid):
                    m.d.comb += self.i.ready.eq(1)
                    take(beat.data, beat.keep, beat.last, first=1)
                    m.next = "PRIME"
            with m.State("PRIME"):           # the first beat moves to ``mid`` and waits for the gap
                with m.If(~mid_valid):
                    send(_IDLE_COLUMN)
                    m.d.sync += idle_more
                    advance()
                with m.Elif(gap == MIN_IPG):
                    send(_START_COLUMN)
                    advance()
                    m.next = "DATA"
                with m.Else():
                    send(_IDLE_COLUMN)
                    m.d.sync += idle_more
                    with m.If(~nxt_valid):
                        take_next()
            with m.State("DATA"):
                with m.If(~cur_end):
                    send(_column([(b, False) for b in cur_bytes]))
                    with m.If(mid_valid):
                        advance()
                    with m.Else():
                        m.next = "UNDERRUN"
                with m.Else():
                    fcs_bytes = [crc.value[8 * j:8 * j + 8] for j in range(FCS_LEN)]
                    m.d.sync += fcs.eq(crc.value)
                    with m.Switch(cur_keep):
                        for n in range(1, LANES + 1):
                            with m.Case(keep_of(n)):
                                lanes = [(cur_bytes[k], False) for k in range(n)]
                                lanes += [(f, False) for f in fcs_bytes[:LANES - n]]
                                if n + FCS_LEN < LANES:
                                    lanes.append(_ctrl(TERMINATE))
                                lanes += [_ctrl(IDLE)] * (LANES - len(lanes))
                                send(_column(lanes))
                                if n + FCS_LEN < LANES:
                                    m.d.sync += [gap.eq(LANES - n - FCS_LEN),
                                                 self.frames.eq(self.frames + 1)]
                                    m.next = "IDLE"
                                else:
                                    m.d.sync += tail_n.eq(n + FCS_LEN - LANES)
                                    m.next = "TAIL"
            with m.State("TAIL"):
                with m.Switch(tail_n):
                    for t in range(FCS_LEN + 1):
                        with m.Case(t):
                            lanes = [(fcs[8 * j:8 * j + 8], False)
                                     for j in range(FCS_LEN - t, FCS_LEN)]
                            lanes += [_ctrl(TERMINATE)] + [_ctrl(IDLE)] * (LANES - 1 - t)
                            send(_column(lanes))
                            m.d.sync += gap.eq(LANES - t)
                m.d.sync += self.frames.eq(self.frames + 1)
                # the next frame's first beat may come in now (the FCS is in ``fcs``)
                with m.If(self.i.valid):
                    m.d.comb += self.i.ready.eq(1)
                    take(beat.data, beat.keep, beat.last, first=1)
                    m.next = "PRIME"
                with m.Else():
                    m.next = "IDLE"
            with m.State("UNDERRUN"):
                # the beat did not come: cut the frame (/E/ then /T/), drop the rest of it
                send(_ERROR_COLUMN)
                m.d.sync += self.underruns.eq(self.underruns + 1)
                m.next = "CUT"
            with m.State("CUT"):
                send(_column([_ctrl(TERMINATE)] + [_ctrl(IDLE)] * (LANES - 1)))
                m.d.sync += gap.eq(LANES)
                m.next = "DROP"
            with m.State("DROP"):
                send(_IDLE_COLUMN)
                m.d.sync += idle_more
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid & beat.last):
                    m.next = "IDLE"
        return m


class XgmiiTx(wiring.Component):
    """XGMII MAC TX with a store-and-forward buffer (any source: gaps allowed).

    Ports
    -----
    i : In(beat_stream())
        Frames without FCS (padded here if short); may arrive with idle gaps.
    xgmii : Out(XgmiiSignature())
        Transmit columns to the PHY, one per cycle.
    frames, underruns : Out(32)
        See :class:`XgmiiTxCore`.
    oversized : Out(32)
        Frames longer than ``max_frame`` bytes (FCS excluded), dropped.
    """

    def __init__(self, buffer_depth: int = 512, max_frame: int = 1518):
        self.buffer_depth, self.max_frame = buffer_depth, max_frame
        super().__init__({"i": In(beat_stream()), "xgmii": Out(XgmiiSignature()),
                          "frames": Out(32), "underruns": Out(32), "oversized": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.buffer = buffer = TxFrameBuffer(self.buffer_depth, self.max_frame)
        m.submodules.core = core = XgmiiTxCore()
        wiring.connect(m, wiring.flipped(self.i), buffer.i)
        wiring.connect(m, buffer.o, core.i)
        wiring.connect(m, core.xgmii, wiring.flipped(self.xgmii))
        m.d.comb += [self.frames.eq(core.frames), self.underruns.eq(core.underruns),
                     self.oversized.eq(buffer.oversized)]
        return m
