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
        read_beat = Beat(fifo.r_data)
        read_last = self.o.valid & self.o.ready & read_beat.last
        m.d.comb += [fifo.w_data.eq(self.i.payload), fifo.w_en.eq(self.i.valid),
                     self.i.ready.eq(fifo.w_rdy),
                     self.o.payload.eq(fifo.r_data),
                     self.o.valid.eq(fifo.r_rdy & ((complete != 0) | streaming | ~fifo.w_rdy)),
                     fifo.r_en.eq(self.o.valid & self.o.ready)]
        m.d.sync += complete.eq(complete + written_last - read_last)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += streaming.eq(~read_beat.last)
        return m
