"""Store-and-forward frame buffer in front of the MAC TX: a frame leaves only when it is whole.

XGMII cannot pause inside a frame (IEEE 802.3 §46.3.1), so a source that may
leave idle gaps between the beats of a frame is buffered here; a frame is
offered to the MAC once its last beat is in, then back to back. Each frame's
beat count goes into a small queue beside the data, so the read side knows
where a frame ends from a counter, never from the memory's (slow) output. A
frame longer than ``max_frame`` is cut at that length, then drained unsent and
counted in ``oversized``: nothing waits forever.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO, SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from ...layouts import BYTES_PER_BEAT, Beat, beat_stream

__all__ = ["TxFrameBuffer"]

#: frames the length queue holds (more wait upstream)
LENGTH_QUEUE = 16


class TxFrameBuffer(wiring.Component):
    """Ports
    -----
    i : In(beat_stream())
        Frames, gaps allowed.
    o : Out(beat_stream())
        The same frames, each one offered once it is complete (beats back to back).
    oversized : Out(32)
        Frames longer than ``max_frame`` bytes, dropped.
    """

    def __init__(self, depth: int = 512, max_frame: int = 1522):
        self.max_beats = -(-max_frame // BYTES_PER_BEAT)
        if depth <= self.max_beats:
            raise ValueError(f"a {depth}-beat buffer cannot hold a {max_frame}-byte frame")
        self.depth = depth
        super().__init__({"i": In(beat_stream()), "o": Out(beat_stream()), "oversized": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=Beat.as_shape().size, depth=self.depth)
        count_bits = (self.max_beats + 1).bit_length()
        m.submodules.lengths = lengths = SyncFIFO(width=count_bits + 1, depth=LENGTH_QUEUE)

        # --- write: beats into the memory, each frame's length (and whether it was cut) beside --
        count = Signal(count_bits)
        cut = Signal()
        fits = count < self.max_beats
        beat = self.i.payload
        m.d.comb += self.i.ready.eq(fifo.w_rdy & lengths.w_rdy)
        with m.If(self.i.valid & self.i.ready):
            m.d.comb += [fifo.w_data.eq(beat), fifo.w_en.eq(fits)]
            m.d.sync += [count.eq(count + fits), cut.eq(cut | ~fits)]
            with m.If(beat.last):
                m.d.comb += [lengths.w_en.eq(1),
                             lengths.w_data.eq(Cat((count + fits)[:count_bits], cut | ~fits))]
                m.d.sync += [count.eq(0), cut.eq(0)]

        # --- read: a frame counted down; a cut frame drained unsent --------------------------
        remaining = Signal(count_bits)
        final = Signal()                  # remaining == 1
        drain = Signal()
        take = Signal()
        skid_valid = Signal()
        with m.If((remaining == 0) & lengths.r_rdy):
            m.d.comb += lengths.r_en.eq(1)
            length, was_cut = lengths.r_data[:count_bits], lengths.r_data[count_bits]
            m.d.sync += [remaining.eq(length), final.eq(length == 1), drain.eq(was_cut)]
            with m.If(was_cut):
                m.d.sync += self.oversized.eq(self.oversized + 1)
        with m.If(take):
            m.d.sync += [remaining.eq(remaining - 1), final.eq(remaining == 2)]

        # the memory's slow clock-to-out ends in a flip-flop with no logic before it (``pipe``,
        # refilled as it is taken); then an output register with a skid slot
        pipe = Signal(Beat)
        pipe_valid = Signal()
        pipe_free = ~pipe_valid | take
        m.d.comb += fifo.r_en.eq(pipe_free)
        with m.If(pipe_free):
            m.d.sync += [pipe.eq(fifo.r_data), pipe_valid.eq(fifo.r_rdy)]
        head = Signal(Beat)
        m.d.comb += [head.eq(pipe), head.last.eq(final)]
        skid = Signal(Beat)
        out_free = ~self.o.valid | self.o.ready
        ready_for = Mux(drain, 1, ~skid_valid)
        m.d.comb += take.eq((remaining != 0) & pipe_valid & ready_for)
        with m.If(out_free):
            with m.If(skid_valid):
                m.d.sync += [self.o.payload.eq(skid), self.o.valid.eq(1), skid_valid.eq(0)]
            with m.Elif(take & ~drain):
                m.d.sync += [self.o.payload.eq(head), self.o.valid.eq(1)]
            with m.Else():
                m.d.sync += self.o.valid.eq(0)
        with m.Elif(take & ~drain):
            m.d.sync += [skid.eq(head), skid_valid.eq(1)]
        return m
