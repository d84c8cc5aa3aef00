"""XGMII MAC receiver: preamble/SFD, FCS check and strip, length and control checks.

IEEE 802.3 §46.3 (XGMII, start in lane 0 or 4, terminate in any lane), §3.2
(frame: preamble, SFD, destination MAC ... FCS), §3.2.9 (FCS), §4.2.4.2.2
(minimum frame 64 bytes). Cut-through: beats are forwarded as they arrive,
one column behind the wire (the FCS may straddle two columns); ``error`` on
the ``last`` beat says the frame is bad (FCS, runt, giant, control error).
Runts that end before any beat went out are dropped without output. Each
frame is counted once in :class:`~.stats.MacRxStats`.

Timing: the CRC is pipelined (:attr:`~..crc.Crc32.LATENCY` cycles), so the
beats pass through a short delay line and the FCS verdict joins the last
beat at its end; every decision reads registers.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import TIMESTAMP_WIDTH, MacBeat, mac_stream
from ..crc import Crc32
from ..lanes import keep_of
from .lane_align import AlignedColumn, LaneAligner
from .overflow import OverflowGuard
from .stats import MacRxStats
from .xgmii import LANES, XgmiiSignature

__all__ = ["MIN_FRAME", "XgmiiRx", "XgmiiRxCore"]

#: shortest legal frame, FCS included (IEEE 802.3 §4.4.2)
MIN_FRAME = 64
#: default longest frame, FCS included: 1518 + an 802.1Q tag
DEFAULT_MAX_FRAME = 1522
FCS_BYTES = 4


class XgmiiRxCore(wiring.Component):
    """The receiver proper, on aligned, decoded columns; its output cannot stall.

    Frame length is tracked as ``room`` (bytes left before a giant) and the
    number of data columns (a frame under 8 data columns before its
    terminate is under 64 bytes), so each decision reads registers. A frame's
    last beat is formed the cycle after its terminate column, then waits
    ``Crc32.LATENCY - 1`` cycles in a delay line (with every other beat) for
    the CRC's verdict (two cycles more than a one-cycle CRC would take).
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME):
        self.max_frame = max_frame
        super().__init__({
            "xgmii": In(AlignedColumn()),
            "timestamp": In(TIMESTAMP_WIDTH),
            "o": Out(stream.Signature(MacBeat, always_ready=True)),
            "stats": Out(MacRxStats()),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = crc = Crc32()
        col = self.xgmii
        d = col.data
        n = col.ctrl_lane

        in_frame = Signal()
        first_col = Signal()            # next data column is the frame's first
        cols = Signal(range(MIN_FRAME // LANES + 1))   # data columns so far, saturating
        room = Signal(range(-2 * LANES, self.max_frame + 1))   # max_frame - bytes so far
        room_lt8 = Signal()             # room < 8: one more data column makes a giant
        giant = Signal()
        emitted = Signal()              # a beat of this frame went out
        pend = Signal(64)               # the newest column, held until the FCS is located
        pend_valid = Signal()
        stamp = Signal(TIMESTAMP_WIDTH)
        fin = Signal()                  # emit ``pend`` as the last beat next cycle
        fin_keep = Signal(range(LANES + 1))
        fin_runt = Signal()
        fin_giant = Signal()
        fin_ctrl = Signal()

        # beats formed here wait in a delay line for the CRC (``fcs``: the FCS verdict goes on
        # this beat; ``count``: and it decides between ``frames`` and ``crc_errors``)
        formed = data.StructLayout({"valid": 1, "beat": MacBeat, "fcs": 1, "count": 1})
        line = [Signal(formed, name=f"line{k}") for k in range(Crc32.LATENCY - 1)]
        head = line[0]
        out = head.beat
        # every beat carries ``pend`` and ``stamp``: load them each cycle (no enable fanout)
        m.d.sync += [head.valid.eq(0), head.fcs.eq(0), head.count.eq(0), out.data.eq(pend),
                     out.timestamp.eq(stamp)]
        for older, newer in zip(line[1:], line, strict=False):
            m.d.sync += older.eq(newer)
        tail = line[-1]
        bad_fcs = tail.fcs & ~crc.residue_ok
        m.d.sync += [self.o.valid.eq(tail.valid), self.o.payload.eq(tail.beat),
                     self.o.payload.error.eq(tail.beat.error | bad_fcs)]

        def emit(keep, last=0, error=0):
            m.d.sync += [
                head.valid.eq(1), out.keep.eq(keep),
                out.first.eq(~emitted), out.last.eq(last), out.error.eq(error), emitted.eq(1),
            ]

        def bump(name):
            counter = getattr(self.stats, name)
            m.d.sync += counter.eq(counter + 1)

        # The frame's verdict from the CRC, as its last beat leaves the delay line.
        with m.If(tail.count):
            with m.If(bad_fcs):
                bump("crc_errors")
            with m.Else():
                bump("frames")

        # Finish the frame whose terminate column came last cycle (the FCS verdict follows).
        with m.If(fin):
            emit(keep_of(fin_keep), last=1, error=fin_runt | fin_giant | fin_ctrl)
            m.d.sync += [fin.eq(0), pend_valid.eq(0), head.fcs.eq(1),
                         head.count.eq(~(fin_ctrl | fin_giant | fin_runt))]
            with m.If(fin_ctrl):
                bump("ctrl_errors")
            with m.Elif(fin_giant):
                bump("giants")
            with m.Elif(fin_runt):
                bump("runts")

        m.d.comb += [crc.data.eq(d), crc.first.eq(first_col)]
        with m.If(col.start):
            with m.If(in_frame):
                # a new start before the terminate: close the cut frame in error
                bump("ctrl_errors")
                with m.If(pend_valid):
                    emit(0xFF, last=1, error=1)
            m.d.sync += [in_frame.eq(col.preamble_ok), first_col.eq(1), cols.eq(0),
                         room.eq(self.max_frame), room_lt8.eq(self.max_frame < LANES),
                         giant.eq(0), emitted.eq(0), pend_valid.eq(0),
                         stamp.eq(self.timestamp)]
            with m.If(~col.preamble_ok):
                bump("ctrl_errors")
        with m.Elif(in_frame):
            with m.If(n == LANES):
                m.d.comb += [crc.valid.eq(1), crc.keep.eq(0xFF)]
                m.d.sync += [first_col.eq(0), cols.eq(Mux(cols[-1], cols, cols + 1)),
                             room.eq(room - LANES), room_lt8.eq(room < 2 * LANES)]
                with m.If(giant | room_lt8):
                    m.d.sync += giant.eq(1)   # keep counting, stop forwarding
                with m.Else():
                    with m.If(pend_valid):
                        emit(0xFF)
                    m.d.sync += [pend.eq(d), pend_valid.eq(1)]
            with m.Elif(col.terminate):
                m.d.comb += [crc.valid.eq(1), crc.keep.eq(keep_of(n))]
                runt = ~cols[-1]            # fewer than 8 data columns: under 64 bytes
                too_long = giant | (room_lt8 & (n > room[0:3]))
                m.d.sync += [in_frame.eq(0), first_col.eq(0), fin_runt.eq(runt),
                             fin_giant.eq(too_long), fin_ctrl.eq(0)]
                with m.If(n > FCS_BYTES):
                    # the terminate column still carries n-4 frame bytes (forwarded unless
                    # the frame is already a giant; one that becomes a giant here is
                    # flagged on its last beat)
                    with m.If(pend_valid & ~giant):
                        emit(0xFF)
                    with m.If(~giant):
                        m.d.sync += pend.eq(d)
                    m.d.sync += [fin_keep.eq(n - FCS_BYTES), pend_valid.eq(1)]
                    went_out = emitted | (pend_valid & ~giant)
                with m.Else():
                    m.d.sync += fin_keep.eq(n + LANES - FCS_BYTES)
                    went_out = emitted
                with m.If(runt & ~went_out):
                    bump("runts")           # nothing forwarded yet: drop silently
                    m.d.sync += pend_valid.eq(0)
                with m.Else():
                    m.d.sync += fin.eq(1)
            with m.Else():
                # /E/ or another control character inside the frame
                m.d.sync += [in_frame.eq(0), first_col.eq(0)]
                with m.If(pend_valid):
                    m.d.sync += [fin.eq(1), fin_keep.eq(LANES), fin_ctrl.eq(1)]
                with m.Else():
                    bump("ctrl_errors")
        return m


class XgmiiRx(wiring.Component):
    """XGMII MAC receiver with lane-4 alignment and an output buffer.

    Ports
    -----
    xgmii : In(XgmiiSignature)
        The PHY's receive columns, one per cycle (never stalls).
    timestamp : In(64)
        Free-running cycle counter (:class:`~tick2trade.hdl.timestamp.Timestamp`),
        sampled at the start column of each frame.
    o : Out(mac_stream())
        Frames, destination MAC first, FCS stripped; ``error`` on ``last``.
        If ``o`` stalls long enough to fill the buffer, frames are cut and
        counted in ``stats.overflows`` (see :mod:`.overflow`).
    stats : Out(MacRxStats)
        Frame counters by outcome.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, buffer_depth: int = 32):
        self.max_frame = max_frame
        self.buffer_depth = buffer_depth
        super().__init__({
            "xgmii": In(XgmiiSignature()),
            "timestamp": In(TIMESTAMP_WIDTH),
            "o": Out(mac_stream()),
            "stats": Out(MacRxStats()),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.align = align = LaneAligner()
        m.submodules.core = core = XgmiiRxCore(self.max_frame)
        m.submodules.guard = guard = OverflowGuard(self.buffer_depth)
        m.d.comb += [align.i.data.eq(self.xgmii.data), align.i.ctrl.eq(self.xgmii.ctrl),
                     core.timestamp.eq(self.timestamp)]
        wiring.connect(m, align.o, core.xgmii)
        wiring.connect(m, core.o, guard.i)
        wiring.connect(m, guard.o, wiring.flipped(self.o))
        for name in MacRxStats().members:
            if name != "overflows":
                m.d.comb += getattr(self.stats, name).eq(getattr(core.stats, name))
        m.d.comb += self.stats.overflows.eq(guard.overflows)
        return m
