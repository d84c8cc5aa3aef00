"""Deliver a feed gap to the decision path in order with the records around it.

The MoldUDP64 arbiter declares a gap (MoldUDP64 §5) between packets and
holds the next packet until the gap is taken, but the records of the packet
before it may still be in the ITCH decoder, the book or the decision path.
The reference model handles the gap after every earlier record and before
every later one (``sim/model/strategy/replay.py``), so the gap is taken
only once everything downstream has been ``drained`` for :data:`QUIET`
cycles in a row; it then pulses ``strobe`` for one cycle (the decision
path's ``gap`` input). The wait costs nothing on the hot path: a gap is the
rare case, and no record can pass the arbiter meanwhile.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .feed.layouts import gap_stream

__all__ = ["GapGate", "QUIET"]

#: consecutive drained cycles before a gap is taken: covers the one-cycle hand-offs
#: between the decoder's output register, the book and the decision path
QUIET = 4


class GapGate(wiring.Component):
    """``gap`` events in, one ``strobe`` per event out once ``drained`` held long enough.

    Ports
    -----
    gap : In(gap_stream())
        The arbiter's gap events (:class:`~.feed.layouts.GapEvent`).
    drained : In(1)
        Nothing between the arbiter and the decision path holds a record
        (decoder output empty, book idle, decision path idle).
    strobe : Out(1)
        High for the one cycle a gap event is taken.
    """

    def __init__(self, quiet: int = QUIET):
        if quiet < 1:
            raise ValueError(f"quiet must be at least 1, got {quiet}")
        self._quiet = quiet
        super().__init__({"gap": In(gap_stream()), "drained": In(1), "strobe": Out(1)})

    def elaborate(self, platform):
        m = Module()
        count = Signal(range(self._quiet + 1))
        with m.If(~self.gap.valid | ~self.drained):
            m.d.sync += count.eq(0)
        with m.Elif(count < self._quiet):
            m.d.sync += count.eq(count + 1)
        with m.Else():
            m.d.comb += [self.gap.ready.eq(1), self.strobe.eq(1)]
            m.d.sync += count.eq(0)
        return m
