"""MoldUDP64 sequencing and A/B line arbitration.

Takes the packet queues of one or two :class:`MoldIngress` blocks (lines A
and B carrying the same stream) and forwards each new message exactly once,
in sequence order, as a :class:`~.layouts.MoldBeat` stream tagged with the
packet's first sequence number and how many leading blocks are old
(MoldUDP64 §2, §5). The policy, shared with the reference model
:class:`tick2trade.sim.model.feed.arbiter.MoldArbiterModel`:

* one decision per cycle on the two queue heads, line A first;
* ``seq_check`` low, or a data packet with sequence number 0 (sequence
  numbers start at 1, so 0 marks unsequenced data such as anonymised
  captures): delivered whole in arrival order, counted ``unsequenced``;
* not yet synchronised, or a different session (all 10 bytes compared):
  the packet's session and sequence number are adopted — the first packet
  of a session sets the expected number (``session_changes`` counts
  adoptions after the first; the book must then resynchronise);
* data wholly before the expected number: duplicate (the other line's copy,
  or a late retransmission) dropped in one cycle; partly before: overlap,
  old blocks skipped by the decoder; heartbeats and end of session
  (MoldUDP64 §2.3, §2.4) counted, ``ended`` set by the latter;
* a packet after the expected number waits (the other line may still bring
  the missing messages: first copy wins, seamless when either line loses
  packets). A gap is declared — a :class:`~.layouts.GapEvent` (first,
  count) on the ``gap`` stream, which the decision waits for — when both
  heads are ahead, when only one line is in use, or after ``timeout``
  cycles of waiting; the expected number then jumps to the lowest waiting
  sequence number.

Cut-through (``cut_through=True``, with cut-through ingresses): the
decision is the same, taken on the header while the packet still arrives;
the packet streams until its ``last`` beat or its ingress's ``abort``. An
abort (the packet died after ``done`` of its blocks went out, see
:class:`~.moldudp64.MoldIngress`) is counted ``cut_short`` and sets the
expected number to ``seq + max(done, skip)``, so it covers only messages
actually delivered: the rest are taken from the other line's copy if it
comes (an overlap, first copy wins: while one line's packet streams, the
other line's copy waits and is then a duplicate or the remainder), or
become a gap event (first, count) by the rules above when the next packet
or heartbeat is ahead — never a silent hole. Unsequenced packets leave the
expected number alone. The model's outcome is the gateware's when the
line that carries a packet first is the one whose copy is taken.

Configuration inputs: ``seq_check``, ``b_enable`` (two-line build only),
``timeout``. Status and counters are outputs for the CSR bank.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tick2trade.proto.moldudp64 import END_OF_SESSION, HEARTBEAT

from .layouts import SESSION_LEN, gap_stream, mold_stream, packet_port

__all__ = ["MoldArbiter", "COUNTERS"]

#: the arbiter's event counters (names shared with the model)
COUNTERS = ("delivered", "duplicates", "overlaps", "gaps", "heartbeats", "end_of_session",
            "session_changes", "unsequenced", "cut_short")


class MoldArbiter(wiring.Component):
    """Sequence MoldUDP64 packets from one or two lines (MoldUDP64 §5)."""

    def __init__(self, *, lines: int = 2, timeout: int = 4096, cut_through: bool = False):
        if lines not in (1, 2):
            raise ValueError(f"lines must be 1 or 2, got {lines}")
        self._lines = lines
        self._cut_through = cut_through
        members = {"a": In(packet_port(cut_through=cut_through))}
        if lines == 2:
            members["b"] = In(packet_port(cut_through=cut_through))
            members["b_enable"] = In(1, init=1)
        members.update({
            "o": Out(mold_stream()),
            "gap": Out(gap_stream()),
            "seq_check": In(1, init=1),
            "timeout": In(32, init=timeout),
            "expected": Out(64),
            "session": Out(8 * SESSION_LEN),
            "synced": Out(1),
            "ended": Out(1),
            "missing": Out(64),
        })
        members.update({name: Out(32) for name in COUNTERS})
        super().__init__(members)

    def _classify(self, m, port, enabled):
        """Decode the head of one line's queue into decision terms."""
        info = port.info.payload
        h = {}
        h["valid"] = port.info.valid & enabled
        is_data = (info.count != HEARTBEAT) & (info.count != END_OF_SESSION)
        unseq = ~self.seq_check | (is_data & (info.seq == 0))
        resync = ~unseq & (~self.synced | (info.session != self.session))
        end = Signal(64)
        m.d.comb += end.eq(info.seq + info.count)
        h.update(
            info=info, is_data=is_data, unseq=unseq, resync=resync, end=end,
            old=is_data & (end <= self.expected),
            ahead=~unseq & ~resync & (info.seq > self.expected),
        )
        h["actionable"] = h["valid"] & ~h["ahead"]
        return h

    def _act(self, m, port, h, line, streaming, cur_line, attrs):
        """The one action of this cycle, on the head ``h`` of ``port``."""
        info = h["info"]

        def pop(take):
            m.d.comb += [port.info.ready.eq(1), port.take.eq(take)]

        def count(name):
            counter = getattr(self, name)
            m.d.sync += counter.eq(counter + 1)

        def control():
            with m.If(info.count == HEARTBEAT):
                count("heartbeats")
            with m.Else():
                count("end_of_session")
                m.d.sync += self.ended.eq(1)

        def deliver(skip):
            pop(1)
            count("delivered")
            m.d.sync += [streaming.eq(1), cur_line.eq(line), attrs["seq"].eq(info.seq),
                         attrs["skip"].eq(skip), attrs["line"].eq(info.line),
                         attrs["timestamp"].eq(info.timestamp), attrs["sequenced"].eq(~h["unseq"])]

        with m.If(h["unseq"]):
            with m.If(h["is_data"]):
                deliver(0)
                count("unsequenced")
            with m.Else():
                pop(0)
                control()
        with m.Elif(h["resync"]):
            m.d.sync += [self.session.eq(info.session), self.expected.eq(info.seq),
                         self.synced.eq(1), self.ended.eq(0)]
            with m.If(self.synced):
                count("session_changes")
        with m.Elif(~h["is_data"]):
            pop(0)
            control()
        with m.Elif(h["old"]):
            pop(0)
            count("duplicates")
        with m.Else():
            skip = Signal(16)
            m.d.comb += skip.eq(self.expected - info.seq)
            deliver(skip)
            with m.If(skip != 0):
                count("overlaps")
            m.d.sync += self.expected.eq(h["end"])

    def _abort(self, m, port, streaming, attrs):
        """A taken cut-through packet died: ``expected`` covers only its whole blocks."""
        abort = port.abort
        m.d.comb += abort.ready.eq(1)
        with m.If(abort.valid):
            done = abort.payload.done
            m.d.sync += [streaming.eq(0), self.cut_short.eq(self.cut_short + 1)]
            with m.If(attrs["sequenced"]):
                m.d.sync += self.expected.eq(
                    attrs["seq"] + Mux(done > attrs["skip"], done, attrs["skip"]))

    def elaborate(self, platform):
        m = Module()
        ports = [self.a] + ([self.b] if self._lines == 2 else [])
        b_on = self.b_enable if self._lines == 2 else 0
        heads = [self._classify(m, self.a, 1)]
        if self._lines == 2:
            heads.append(self._classify(m, self.b, b_on))

        streaming = Signal()
        cur_line = Signal()
        attrs = {"seq": Signal(64), "skip": Signal(16), "line": Signal(), "sequenced": Signal(),
                 "timestamp": Signal.like(self.o.payload.timestamp)}
        timer = Signal(32)

        # ---- forward the chosen packet -------------------------------------
        with m.If(streaming):
            for index, port in enumerate(ports):
                with m.If(cur_line == index):
                    beat = port.beats.payload
                    m.d.comb += [
                        self.o.valid.eq(port.beats.valid),
                        port.beats.ready.eq(self.o.ready),
                        self.o.payload.data.eq(beat.data),
                        self.o.payload.keep.eq(beat.keep),
                        self.o.payload.first.eq(beat.first),
                        self.o.payload.last.eq(beat.last),
                    ]
                    with m.If(port.beats.valid & self.o.ready & beat.last):
                        m.d.sync += streaming.eq(0)
                    if self._cut_through:
                        self._abort(m, port, streaming, attrs)
        m.d.comb += [self.o.payload.seq.eq(attrs["seq"]), self.o.payload.skip.eq(attrs["skip"]),
                     self.o.payload.line.eq(attrs["line"]),
                     self.o.payload.timestamp.eq(attrs["timestamp"])]

        # ---- a disabled line B is drained and ignored ----------------------
        if self._lines == 2:
            with m.If(~self.b_enable & ~(streaming & (cur_line == 1))):
                m.d.comb += [self.b.info.ready.eq(1), self.b.take.eq(0)]

        # ---- one decision per cycle ----------------------------------------
        waiting = [h["valid"] & h["ahead"] for h in heads]
        any_ahead = waiting[0] if len(waiting) == 1 else waiting[0] | waiting[1]
        if len(heads) == 2:
            both = waiting[0] & waiting[1]
            single = ~self.b_enable
            lowest = Mux(both,
                         Mux(heads[0]["info"].seq < heads[1]["info"].seq,
                             heads[0]["info"].seq, heads[1]["info"].seq),
                         Mux(waiting[0], heads[0]["info"].seq, heads[1]["info"].seq))
        else:
            both, single, lowest = 0, 1, heads[0]["info"].seq
        gap_now = any_ahead & (single | both | (timer >= self.timeout))
        gap_count = Signal(64)
        m.d.comb += [gap_count.eq(lowest - self.expected),
                     self.gap.payload.first.eq(self.expected),
                     self.gap.payload.count.eq(gap_count)]

        with m.If(~streaming):
            with m.If(heads[0]["actionable"]):
                self._act(m, self.a, heads[0], 0, streaming, cur_line, attrs)
                m.d.sync += timer.eq(0)
            if len(heads) == 2:
                with m.Elif(heads[1]["actionable"]):
                    self._act(m, self.b, heads[1], 1, streaming, cur_line, attrs)
                    m.d.sync += timer.eq(0)
            with m.Elif(gap_now):
                m.d.comb += self.gap.valid.eq(1)
                with m.If(self.gap.ready):
                    m.d.sync += [self.expected.eq(lowest), self.gaps.eq(self.gaps + 1),
                                 self.missing.eq(self.missing + gap_count), timer.eq(0)]
            with m.Elif(any_ahead):
                m.d.sync += timer.eq(timer + 1)
            with m.Else():
                m.d.sync += timer.eq(0)
        return m
