"""The event packer: order reports, feed gaps and counter snapshots into EVENTS datagrams.

``proto/control`` EVENTS: each datagram carries ``seq`` u32, ``count`` u16 and
its events (``type`` u8, ``length`` u8, body). The packer's rule, shared
with the model (:class:`tick2trade.sim.model.control.EventSequencer`):

* an event is *taken* if the subscriber's mask has its type's bit; every
  taken event gets the next sequence number (from 0 at power-up), in the
  order taken — within one cycle: the order report, then the gap, then the
  counters snapshot;
* each event goes alone in one EVENTS datagram (``count`` 1), so the bytes
  never depend on timing;
* the inputs never wait: a taken event that finds its queue full is dropped
  and counted (``dropped``), and its sequence number is skipped, so the host
  sees the hole (``host/device`` counts ``events_lost``).

Order events (``ORDER_SENT`` / ``ORDER_REJECTED``) come from the encoder's
``OrderReport`` (``hdl/order/layouts.py``) with the per-stage stamps of the
request (trigger frame, top of book, strategy, risk) and the encoder's
first-byte stamp; a reject has no number and no encoder stamp, a sent
REPLACE carries the replaced order's number ``ref_base + orig_token``. Gap
events come from a tap on the MoldUDP64 arbiter's ``gap`` stream (MoldUDP64
§4: expected = first missing, received = first + count), stamped with
``now``. Counter snapshots (``addr`` and ``counters`` words) are taken on
``snapshot`` or every ``period`` cycles, the words sampled the cycle after.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from tick2trade.proto import control as c

from ..feed.layouts import GapEvent
from ..layouts import BYTES_PER_BEAT, TIMESTAMP_WIDTH, beat_stream
from ..net.lanes import keep_of
from ..order.layouts import report_stream
from ..risk.layouts import Reason
from ..strategy.layouts import OrderKind

__all__ = ["EventPacker", "MAX_COUNTERS", "gap_tap_stream"]

ORDER_BODY = c.OrderEvent._BODY.size
GAP_BODY = c.Gap._BODY.size
#: the datagram's bytes before an event body: header, seq, count, type, length
PREFIX = c.HEADER.size + 4 + 2 + 1 + 1
#: most words in one counters event (its body length is a u8: 4 + 4 × 60 bytes)
MAX_COUNTERS = 60


def gap_tap_stream():
    """The arbiter's ``gap`` stream as watched: ``valid`` = its ``valid & ready``."""
    return stream.Signature(GapEvent, always_ready=True)


def _be(value, n: int) -> list:
    """``value`` (zero-extended) as ``n`` big-endian bytes (first on the wire first)."""
    bits = Value.cast(value).as_unsigned()
    bits = Cat(bits, Const(0, max(0, 8 * n - len(bits))))
    return [bits[8 * (n - 1 - i):8 * (n - i)] for i in range(n)]


def _before(a, b):
    """Sequence number ``a`` comes before ``b`` (serial arithmetic, 32 bits)."""
    return (a - b)[31]


class EventPacker(wiring.Component):
    """Ports
    -----
    orders : In(report_stream())
        The encoder's reports (always ready).
    gap : In(gap_tap_stream())
        Gaps declared by the MoldUDP64 arbiter (a tap: never stalls it).
    counters : In(ArrayLayout(32, n)), snapshot : In(1), period : In(32)
        Counter words for the snapshot; a strobe asking for one; cycles between
        automatic snapshots (0: none). Only when built with ``counters > 0``.
    now : In(64)
        Free-running cycle counter (gap stamps).
    ref_base : In(32)
        The encoder's ``order.ref_base`` register (numbers of replaced orders).
    mask : In(32)
        ``ControlPlane.mask``: event types the subscriber takes (0: none).
    o : Out(beat_stream())
        EVENTS datagrams, to :class:`~.link.ControlLink` ``events``.
    sent, dropped : Out(32)
        Events sent; events taken but lost to a full queue (the ``events.sent`` and
        ``events.dropped`` registers).
    """

    def __init__(self, *, line: int = 0, counters: int = 0, counters_addr: int = 0,
                 order_depth: int = 4, gap_depth: int = 2):
        if not 0 <= counters <= MAX_COUNTERS:
            raise ValueError(f"counters must be 0..{MAX_COUNTERS}, got {counters}")
        self.line, self.n_counters, self.counters_addr = line, counters, counters_addr
        self.order_depth, self.gap_depth = order_depth, gap_depth
        members = {
            "orders": In(report_stream()), "gap": In(gap_tap_stream()),
            "now": In(TIMESTAMP_WIDTH), "ref_base": In(32), "mask": In(32),
            "o": Out(beat_stream()), "sent": Out(32), "dropped": Out(32),
        }
        if counters:
            members.update(counters=In(data.ArrayLayout(32, counters)), snapshot=In(1),
                           period=In(32))
        super().__init__(members)

    def _order_body(self, report):
        """OUCH-side fields of ``report`` as the ORDER_SENT/REJECTED body (``OrderEvent``)."""
        r = report.request
        sent = r.reason == Reason.SENT
        replace = r.kind == OrderKind.REPLACE
        number = Mux(sent, report.number, 0)
        orig = Mux(sent & replace, (self.ref_base + r.orig_token)[:32], 0)
        fields = [(r.kind, 1), (r.side, 1), (r.tif, 1), (r.reason, 1), (r.slot, 1),
                  (r.locate, 2), (r.price, 4), (r.shares, 4), (number, 4), (orig, 4),
                  (r.trigger_ts, 8), (r.trigger_seq, 8), (r.trigger_hw_ts, 8),
                  (r.stamp_tob, 8), (r.stamp_strategy, 8), (r.stamp_risk, 8),
                  (Mux(sent, report.stamp_encoder, 0), 8)]
        body = Cat(*(b for value, n in fields for b in _be(value, n)))
        assert len(body) == 8 * ORDER_BODY
        return body

    def _gap_body(self, gap):
        body = Cat(*_be(Const(self.line, 8), 1), *_be(gap.first, 8),
                   *_be((gap.first + gap.count)[:64], 8), *_be(self.now, 8))
        assert len(body) == 8 * GAP_BODY
        return body

    def elaborate(self, platform):
        m = Module()
        mask = self.mask
        n_words = self.n_counters
        counters_body = 4 + 4 * n_words
        max_body = max(ORDER_BODY, GAP_BODY, counters_body if n_words else 0)

        m.submodules.order_q = order_q = SyncFIFO(width=32 + 8 * ORDER_BODY,
                                                  depth=self.order_depth)
        m.submodules.gap_q = gap_q = SyncFIFO(width=32 + 8 * GAP_BODY, depth=self.gap_depth)

        # --- intake: number what the mask takes, queue it or count it lost ---------------------
        seq = Signal(32)
        report = self.orders.payload
        order_type = Mux(report.request.reason == Reason.SENT, c.EventType.ORDER_SENT,
                         c.EventType.ORDER_REJECTED)
        take_o = self.orders.valid & mask.bit_select(order_type, 1)
        take_g = self.gap.valid & mask[c.EventType.GAP]
        take_c = Signal()
        seq_g = seq + take_o
        seq_c = seq_g + take_g
        m.d.sync += seq.eq(seq_c + take_c)
        m.d.comb += [order_q.w_data.eq(Cat(seq, self._order_body(report))),
                     order_q.w_en.eq(take_o),
                     gap_q.w_data.eq(Cat(seq_g[:32], self._gap_body(self.gap.payload))),
                     gap_q.w_en.eq(take_g)]
        lost_o = take_o & ~order_q.w_rdy
        lost_g = take_g & ~gap_q.w_rdy
        lost_c = Signal()
        m.d.sync += self.dropped.eq(self.dropped + lost_o + lost_g + lost_c)

        cnt_full = Signal()
        cnt_seq = Signal(32)
        cnt_words = Signal(32 * max(1, n_words))
        if n_words:
            want = Signal()                  # a snapshot was asked for
            timer = Signal(32)
            with m.If(want):
                m.d.sync += want.eq(0)
                m.d.comb += take_c.eq(mask[c.EventType.COUNTERS])
            m.d.sync += timer.eq(timer + 1)
            with m.If((self.period != 0) & (timer + 1 >= self.period)):
                m.d.sync += [want.eq(1), timer.eq(0)]
            with m.If(self.snapshot):
                m.d.sync += want.eq(1)
            with m.If(take_c):
                with m.If(cnt_full):
                    m.d.comb += lost_c.eq(1)
                with m.Else():
                    m.d.sync += [cnt_full.eq(1), cnt_seq.eq(seq_c),
                                 cnt_words.eq(self.counters.as_value())]

        # --- serializer: the oldest waiting event, one EVENTS datagram -------------------------
        # the heads and their order are registered (PREP), then one is picked (CHOOSE): only the
        # serializer pops, so the heads it saw are still there
        so, sg = order_q.r_data[:32], gap_q.r_data[:32]
        has_o, has_g, has_c = Signal(), Signal(), Signal()
        o_before_g, o_before_c, g_before_c = Signal(), Signal(), Signal()
        m.d.sync += [has_o.eq(order_q.r_rdy), has_g.eq(gap_q.r_rdy), has_c.eq(cnt_full),
                     o_before_g.eq(_before(so, sg)), o_before_c.eq(_before(so, cnt_seq)),
                     g_before_c.eq(_before(sg, cnt_seq))]
        pick_o = has_o & (~has_g | o_before_g) & (~has_c | o_before_c)
        pick_g = ~pick_o & has_g & (~has_c | g_before_c)
        pick_c = ~pick_o & ~pick_g & has_c

        cur_seq = Signal(32)
        cur_type = Signal(8)
        cur_len = Signal(8)
        cur_body = Signal(8 * max_body)
        index = Signal(range(-(-(PREFIX + max_body) // BYTES_PER_BEAT) + 1))
        last_index = Signal.like(index)
        last_keep = Signal(8)

        def load(seq_value, etype, body, length):
            total = PREFIX + length
            m.d.sync += [cur_seq.eq(seq_value), cur_type.eq(etype), cur_len.eq(length),
                         cur_body.eq(body), index.eq(0),
                         last_index.eq((total - 1) // BYTES_PER_BEAT),
                         last_keep.eq(keep_of(total % BYTES_PER_BEAT or BYTES_PER_BEAT))]

        datagram = Cat(*_be(Const(c.MAGIC, 16), 2), Const(c.PROTOCOL_VERSION, 8),
                       Const(c.Opcode.EVENTS, 8), Const(0, 16),
                       *_be((cur_len + 8)[:16], 2),               # seq, count, type, length
                       *_be(cur_seq, 4), *_be(Const(1, 16), 2), cur_type, cur_len, cur_body)
        pad = -len(datagram) % 64
        datagram = Cat(datagram, Const(0, pad))

        with m.FSM():
            with m.State("PREP"):
                m.next = "CHOOSE"
            with m.State("CHOOSE"):
                m.next = "PREP"
                with m.If(pick_o):
                    reason = order_q.r_data[32 + 8 * 3:32 + 8 * 4]
                    load(so, Mux(reason == Reason.SENT.value, c.EventType.ORDER_SENT,
                                 c.EventType.ORDER_REJECTED), order_q.r_data[32:], ORDER_BODY)
                    m.d.comb += order_q.r_en.eq(1)
                    m.next = "SEND"
                with m.Elif(pick_g):
                    load(sg, c.EventType.GAP, gap_q.r_data[32:], GAP_BODY)
                    m.d.comb += gap_q.r_en.eq(1)
                    m.next = "SEND"
                with m.Elif(pick_c):
                    words = [cnt_words[32 * i:32 * (i + 1)] for i in range(n_words)]
                    load(cnt_seq, c.EventType.COUNTERS,
                         Cat(*_be(Const(self.counters_addr, 32), 4),
                             *(b for w in words for b in _be(w, 4))), counters_body)
                    m.d.sync += cnt_full.eq(0)
                    m.next = "SEND"
            with m.State("SEND"):
                last = index == last_index
                m.d.comb += [self.o.valid.eq(1),
                             self.o.payload.data.eq(datagram.word_select(index, 64)),
                             self.o.payload.keep.eq(Mux(last, last_keep, 0xFF)),
                             self.o.payload.first.eq(index == 0),
                             self.o.payload.last.eq(last)]
                with m.If(self.o.ready):
                    m.d.sync += index.eq(index + 1)
                    with m.If(last):
                        m.d.sync += self.sent.eq(self.sent + 1)
                        m.next = "PREP"
        return m
