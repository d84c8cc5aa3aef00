"""Store-and-forward frame buffer in front of the MAC TX: a frame leaves only when it is whole.

XGMII cannot pause inside a frame (IEEE 802.3 §46.3.1), so a source that may
leave idle gaps between the beats of a frame is buffered here; a frame is
offered to the MAC once its last beat is in. A frame longer than the buffer
cannot wait for its end: when the buffer is full and holds no whole frame,
it starts anyway (cut-through), and if the source then falls behind, the MAC
aborts the frame and counts an underrun. It never waits forever.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from ...layouts import Beat, beat_stream

__all__ = ["TxFrameBuffer"]


class TxFrameBuffer(wiring.Component):
    """Ports
    -----
    i : In(beat_stream())
        Frames, gaps allowed.
    o : Out(beat_stream())
        The same frames, each one offered once it is complete (beats back to back).
    """

    def __init__(self, depth: int = 256):
        self.depth = depth
        super().__init__({"i": In(beat_stream()), "o": Out(beat_stream())})

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=Beat.as_shape().size, depth=self.depth)
        complete = Signal(range(self.depth + 1))      # whole frames inside
        streaming = Signal()                          # a frame's first beat has left
        written_last = self.i.valid & self.i.ready & self.i.payload.last
        head = Beat(fifo.r_data)
        offer = fifo.r_rdy & ((complete != 0) | streaming | ~fifo.w_rdy)
        take = Signal()
        read_last = take & head.last
        m.d.comb += [fifo.w_data.eq(self.i.payload), fifo.w_en.eq(self.i.valid),
                     self.i.ready.eq(fifo.w_rdy), fifo.r_en.eq(take)]
        m.d.sync += complete.eq(complete + written_last - read_last)
        with m.If(take):
            m.d.sync += streaming.eq(~head.last)

        # output register with a skid slot: the memory's slow clock-to-out ends in a flip-flop
        skid_valid = Signal()
        skid = Signal(Beat)
        m.d.comb += take.eq(offer & ~skid_valid)
        out_free = ~self.o.valid | self.o.ready
        with m.If(out_free):
            with m.If(skid_valid):
                m.d.sync += [self.o.payload.eq(skid), self.o.valid.eq(1), skid_valid.eq(0)]
            with m.Elif(take):
                m.d.sync += [self.o.payload.eq(head), self.o.valid.eq(1)]
            with m.Else():
                m.d.sync += self.o.valid.eq(0)
        with m.Elif(take):
            m.d.sync += [skid.eq(head), skid_valid.eq(1)]
        return m
