"""Buffer between a stream that cannot stall (the XGMII receiver) and one that can.

XGMII RX cannot be back-pressured. Beats go through a FIFO; when it is full a
beat is lost, and so is the rest of its frame. If part of the frame was
already written, one closing beat ``last=1, error=1, keep=0`` is written as
soon as there is room, so downstream sees the frame end in error and discards
it; beats that arrive before the closing beat is written are dropped with
their frames. Each lost or cut frame is counted once in ``overflows``.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from ...layouts import MacBeat
from .stats import COUNTER_WIDTH

__all__ = ["OverflowGuard"]


class OverflowGuard(wiring.Component):
    """Ports: ``i`` (always ready), ``o`` (back-pressured), ``overflows`` (counter)."""

    def __init__(self, depth: int = 32, layout=MacBeat):
        self.depth = depth
        self.layout = data.Layout.cast(layout)
        super().__init__({
            "i": In(stream.Signature(layout, always_ready=True)),
            "o": Out(stream.Signature(layout)),
            "overflows": Out(COUNTER_WIDTH),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=self.layout.size, depth=self.depth)
        beat = self.i.payload
        dropping = Signal()        # the rest of the current input frame is discarded
        close_pending = Signal()   # a closing beat is owed to downstream
        closing = Signal(self.layout)
        m.d.comb += [closing.last.eq(1), closing.error.eq(1)]
        drop_this = dropping & ~beat.first
        # the write data depends on a register only (timing: not on the FIFO's room)
        m.d.comb += fifo.w_data.eq(Mux(close_pending, closing, beat))

        with m.If(close_pending):
            m.d.comb += fifo.w_en.eq(1)
            with m.If(fifo.w_rdy):
                m.d.sync += close_pending.eq(0)
            with m.If(self.i.valid):
                m.d.sync += dropping.eq(~beat.last)
                with m.If(beat.first):
                    m.d.sync += self.overflows.eq(self.overflows + 1)
        with m.Elif(self.i.valid):
            with m.If(drop_this):
                m.d.sync += dropping.eq(~beat.last)
            with m.Elif(fifo.w_rdy):
                m.d.comb += fifo.w_en.eq(1)
                m.d.sync += dropping.eq(0)
            with m.Else():
                m.d.sync += [
                    self.overflows.eq(self.overflows + 1),
                    dropping.eq(~beat.last),
                    close_pending.eq(~beat.first),
                ]
        m.d.comb += [
            self.o.valid.eq(fifo.r_rdy),
            self.o.payload.eq(fifo.r_data),
            fifo.r_en.eq(self.o.ready),
        ]
        return m
