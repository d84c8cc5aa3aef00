"""The feed layer, composed: UDP payloads of one or two lines → ITCH records.

``MoldIngress`` per line (MoldUDP64 §2 checks, packet buffer) →
``MoldArbiter`` (MoldUDP64 §5 sequencing, A/B arbitration) →
``ItchDecoder`` (ITCH 5.0 §3 records). Only composes; see each block.
``cut_through`` (default off) selects the ingress mode that streams a
packet to the decoder while it arrives (``docs/feed.md``).
"""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..layouts import udp_stream
from . import arbiter, itch, moldudp64
from .arbiter import MoldArbiter
from .itch import ItchDecoder
from .layouts import SESSION_LEN, gap_stream, record_stream
from .moldudp64 import MoldIngress

__all__ = ["FeedLayer", "FeedStats", "LINES"]

#: line names, in input order (A/B arbitration, MoldUDP64 §5)
LINES = ("a", "b")


class FeedStats(wiring.Signature):
    """Every counter and status of the feed layer (``Out`` = the layer's view).

    ``<line>_<name>`` for the ingress counters of each line, then the
    arbiter's and the decoder's counters under their own names.
    """

    def __init__(self, lines: int = 1):
        members = {}
        for line in LINES[:lines]:
            members.update({f"{line}_{name}": Out(32) for name in moldudp64.COUNTERS})
        members.update({name: Out(32) for name in arbiter.COUNTERS + itch.COUNTERS})
        members.update({"missing": Out(64), "expected": Out(64),
                        "session": Out(8 * SESSION_LEN), "synced": Out(1), "ended": Out(1)})
        super().__init__(members)


class FeedLayer(wiring.Component):
    """``UdpBeat`` streams in (``a``, and ``b`` with two lines), records out."""

    def __init__(self, *, lines: int = 1, depth: int = 512, info_depth: int = 32,
                 timeout: int = 4096, cut_through: bool = False):
        self._lines = lines
        self._ingress = dict(depth=depth, info_depth=info_depth, cut_through=cut_through)
        self._timeout = timeout
        self._cut_through = cut_through
        members = {line: In(udp_stream()) for line in LINES[:lines]}
        members.update({
            "o": Out(record_stream()),
            "gap": Out(gap_stream()),
            "seq_check": In(1, init=1),
            "timeout": In(32, init=timeout),
            "stats": Out(FeedStats(lines)),
        })
        if lines == 2:
            members["b_enable"] = In(1, init=1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.arbiter = arb = MoldArbiter(lines=self._lines, timeout=self._timeout,
                                                 cut_through=self._cut_through)
        m.submodules.decoder = dec = ItchDecoder()
        for line in LINES[:self._lines]:
            m.submodules[f"ingress_{line}"] = ing = MoldIngress(**self._ingress)
            wiring.connect(m, wiring.flipped(getattr(self, line)), ing.i)
            wiring.connect(m, ing.o, getattr(arb, line))
            for name in moldudp64.COUNTERS:
                m.d.comb += getattr(self.stats, f"{line}_{name}").eq(getattr(ing, name))
        wiring.connect(m, arb.o, dec.i)
        wiring.connect(m, dec.o, wiring.flipped(self.o))
        wiring.connect(m, arb.gap, wiring.flipped(self.gap))
        m.d.comb += [arb.seq_check.eq(self.seq_check), arb.timeout.eq(self.timeout)]
        if self._lines == 2:
            m.d.comb += arb.b_enable.eq(self.b_enable)
        for name in arbiter.COUNTERS + ("missing", "expected", "session", "synced", "ended"):
            m.d.comb += getattr(self.stats, name).eq(getattr(arb, name))
        for name in itch.COUNTERS:
            m.d.comb += getattr(self.stats, name).eq(getattr(dec, name))
        return m
