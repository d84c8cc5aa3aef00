"""The gateware order book: feed records in, top-of-book records out (ITCH 5.0 §5).

Composes the :class:`~.order_table.OrderTable` (reference → order) and the
pipelined :class:`~.levels.PriceLevels` (windows, bitmaps, per-side tops)
with the rules of the model :class:`tick2trade.sim.model.hwbook.HwBookModel`
(its docstring lists them): ``A``/``F`` add, ``E``/``C``/``X`` reduce, ``D``
removes, ``U`` replaces; other records pass. After a record, each slot it
touched (at most two: a duplicate add may hit another symbol) has the
side(s) it touched re-quoted, and a :class:`~.layouts.TopOfBook` is sent
when the slot's bid, ask or exactness changed.

**Pipeline.** Three parts overlap, each on its own memories:

* *table stage* (one record per cycle): the order table is read in the
  cycle a record is accepted; the next cycle decides (hit, duplicate, free
  way, overfill), writes the table and emits the record's
  :func:`~.layouts.side_op` operations, at most one per cycle, into a short
  queue. A replace takes one more cycle (the table is read again for the
  new reference); a record with two or three operations (duplicate add,
  replace) holds the input while they are emitted;
* *level pipeline* (:class:`~.levels.PriceLevels`): one operation per
  cycle; a quote that must read its best level holds the operation behind
  it for one cycle;
* *publish stage*: merges a quoted side into the slot's published top
  (the other side is unchanged: every change of a side is followed by its
  quote within the same record), and writes the top into the output queue
  when it changed.

**Hazards.** The order table's read ports are transparent, so a record's
lookup sees the previous record's write in the same cycle (add then delete
of one reference, replace then execute of the new reference); the level
pipeline forwards its own read-modify-writes (see its docstring); the
publish stage reads and writes the published tops in one cycle. Operations
of one record are ordered so that each (slot, side) sees them in the
model's order and the slots publish in the order the model touches them.
Back-pressure never stalls a half-applied record: an operation enters the
level pipeline only when the output queue has room for every top it may
produce, so a full output queue holds the operation queue and the input.

**Control plane.** ``sub_we`` writes ``sub_locate``/``sub_valid`` into slot
``sub_slot`` (subscriptions change only between flows, with the book
empty); a locate held by several slots maps to the lowest. ``peek_*``
ports read the side states, levels and published tops for the host
through the arrays' own read ports: valid while ``idle``, the side and
level data one cycle after the address, the published top at once.
"""

from amaranth.hdl import Array, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..feed.layouts import FeedRecord, record_stream
from .layouts import (
    BUY,
    COUNTERS,
    SELL,
    BookParams,
    TopOfBook,
    level_entry,
    quote_layout,
    side_op,
    side_state,
    tob_stream,
)
from .levels import PriceLevels
from .order_table import OrderTable

__all__ = ["Book", "quote_layout"]

_A, _F, _E, _C, _X, _D, _U = (ord(c) for c in "AFECXDU")
#: operations a record may still have to emit after its first (replace with a duplicate)
_MAX_PENDING = 2
#: top-of-book records the output queue holds (covers the level pipeline's depth)
_OUT_DEPTH = 8


class Book(wiring.Component):
    """Order table + price levels + top-of-book publisher, pipelined (module docstring)."""

    def __init__(self, params: BookParams | None = None):
        self._p = p = params or BookParams()
        members = {
            "i": In(record_stream()),
            "o": Out(tob_stream()),
            "sub_we": In(1),
            "sub_slot": In(p.slot_bits),
            "sub_locate": In(16),
            "sub_valid": In(1),
            "idle": Out(1),
            "peek_side_addr": In(p.slot_bits + 1),
            "peek_side": Out(side_state(p)),
            "peek_level_addr": In(p.slot_bits + 1 + p.window_bits),
            "peek_level": Out(level_entry(p)),
            "peek_tob_addr": In(p.slot_bits),
            "peek_tob": Out(quote_layout(p)),
        }
        members.update({name: Out(p.counter_bits) for name in COUNTERS})
        super().__init__(members)

    @property
    def params(self) -> BookParams:
        return self._p

    def elaborate(self, platform):
        p, m = self._p, Module()
        op_layout = side_op(p)
        table = m.submodules.table = OrderTable(p)
        lv = m.submodules.levels = PriceLevels(p, room_bits=_OUT_DEPTH.bit_length())
        ops = m.submodules.ops = SyncFIFO(width=op_layout.size, depth=4)
        tops = m.submodules.tops = SyncFIFO(width=TopOfBook.as_shape().size, depth=_OUT_DEPTH)
        m.d.comb += [lv.peek_side_addr.eq(self.peek_side_addr),
                     self.peek_side.eq(lv.peek_side),
                     lv.peek_level_addr.eq(self.peek_level_addr),
                     self.peek_level.eq(lv.peek_level),
                     lv.i.valid.eq(ops.r_rdy), lv.i.payload.eq(ops.r_data),
                     ops.r_en.eq(lv.i.ready),
                     lv.room.eq(_OUT_DEPTH - tops.level),
                     self.o.valid.eq(tops.r_rdy), self.o.payload.eq(tops.r_data),
                     tops.r_en.eq(self.o.ready)]

        def count(name):
            return getattr(self, name).eq(getattr(self, name) + 1)

        for name, ev in (("off_grid", lv.ev_off_grid), ("out_of_window", lv.ev_out_of_window),
                         ("shifts", lv.ev_shift)):
            with m.If(ev):
                m.d.sync += count(name)

        # subscriptions: a CAM of locates
        sub_locate = Array(Signal(16, name=f"sub_locate{i}") for i in range(p.symbols))
        sub_valid = Array(Signal(name=f"sub_valid{i}") for i in range(p.symbols))
        with m.If(self.sub_we):
            m.d.sync += [sub_locate[self.sub_slot].eq(self.sub_locate),
                         sub_valid[self.sub_slot].eq(self.sub_valid)]
        in_rec = FeedRecord(self.i.payload)
        cam_hit, cam_slot = Signal(), Signal(p.slot_bits)
        for i in reversed(range(p.symbols)):
            with m.If(sub_valid[i] & (sub_locate[i] == in_rec.locate)):
                m.d.comb += [cam_hit.eq(1), cam_slot.eq(i)]

        # ------------------------------------------------------------ table stage
        r_valid, rec = Signal(), Signal(FeedRecord)      # the record being decided
        r_slot, r_sub = Signal(p.slot_bits), Signal()
        u_op = Signal(op_layout)                          # a replace's removal, for its 2nd cycle
        pend = [Signal(op_layout, name=f"pend{k}") for k in range(_MAX_PENDING)]
        pend_n = Signal(range(_MAX_PENDING + 1))
        d_op = [Signal(op_layout, name=f"d_op{k}") for k in range(_MAX_PENDING + 1)]
        d_n = Signal(range(_MAX_PENDING + 2))             # operations decided this cycle
        go = Signal()      # the decision takes effect: the queue has room for its first op
        s1_done = Signal()
        m.d.comb += go.eq(ops.w_rdy)
        e = table.entry
        t = rec.type

        def level_op(sig, slot, ask, price, shares, add=0, remove=0, lost=0):
            m.d.comb += [sig.slot.eq(slot), sig.ask.eq(ask), sig.price.eq(price),
                         sig.shares.eq(shares), sig.add.eq(add), sig.remove.eq(remove),
                         sig.lost.eq(lost), sig.ts.eq(rec.ts), sig.seq.eq(rec.seq),
                         sig.hw_ts.eq(rec.hw_ts)]
            return sig

        removal = level_op(Signal(op_layout, name="removal"), e.slot, e.ask, e.price, e.shares,
                           remove=1)

        def add_ops(slot, sub, ask, price, shares, first=None):
            """An add (ITCH 5.0 §3.11) into ``d_op``, ``d_n``; ``first``: a replace's removal."""
            second = Signal(op_layout, name="second")
            has_second = Signal(name="has_second")
            level_op(second, slot, ask, price, shares, add=1)
            with m.If(table.hit):
                m.d.sync += count("duplicates")
                m.d.comb += table.clear.eq(1)
            with m.If(shares == 0):
                m.d.sync += count("zero_shares")
            with m.Elif(~sub):
                m.d.sync += count("unsubscribed")
            with m.Elif(~table.free):
                m.d.sync += [count("collisions")]
                m.d.comb += [has_second.eq(1), second.lost.eq(1)]
            with m.Else():
                m.d.comb += [has_second.eq(1),
                             table.we.eq(1), table.w_bank.eq(table.free_bank),
                             table.w_way.eq(table.free_way),
                             table.w_entry.valid.eq(1), table.w_entry.tag.eq(table.tag),
                             table.w_entry.slot.eq(slot), table.w_entry.ask.eq(ask),
                             table.w_entry.price.eq(price), table.w_entry.shares.eq(shares)]
            same_slot = e.slot == slot
            same_side = same_slot & (e.ask == ask)
            m.d.comb += [second.quote.eq(1), second.publish.eq(1)]
            if first is None:
                # [duplicate's removal] [add or lost]: slots publish in that order
                with m.If(table.hit & has_second):
                    m.d.comb += [d_n.eq(2), d_op[0].eq(removal), d_op[1].eq(second),
                                 d_op[0].quote.eq(~same_side), d_op[0].publish.eq(~same_slot)]
                with m.Elif(table.hit):
                    m.d.comb += [d_n.eq(1), d_op[0].eq(removal),
                                 d_op[0].quote.eq(1), d_op[0].publish.eq(1)]
                with m.Elif(has_second):
                    m.d.comb += [d_n.eq(1), d_op[0].eq(second)]
                return
            # replace: the old order's removal (slot, side) first; the new order has the
            # same (slot, side); a duplicate's removal goes where the model's order allows
            # it: before the add on the same side, after it on another side (so the
            # replaced slot, touched first, also publishes first)
            with m.If(table.hit & same_side):
                m.d.comb += [d_op[0].eq(first), d_op[1].eq(removal),
                             d_op[1].quote.eq(~has_second), d_op[1].publish.eq(~has_second)]
                with m.If(has_second):
                    m.d.comb += [d_n.eq(3), d_op[2].eq(second)]
                with m.Else():
                    m.d.comb += d_n.eq(2)
            with m.Elif(table.hit):
                m.d.comb += [d_op[0].eq(first), d_op[0].quote.eq(~has_second),
                             d_op[0].publish.eq(~has_second & ~same_slot)]
                with m.If(has_second):
                    m.d.comb += [d_n.eq(3), d_op[1].eq(second), d_op[1].publish.eq(~same_slot),
                                 d_op[2].eq(removal), d_op[2].quote.eq(1),
                                 d_op[2].publish.eq(1)]
                with m.Else():
                    m.d.comb += [d_n.eq(2), d_op[1].eq(removal), d_op[1].quote.eq(1),
                                 d_op[1].publish.eq(1)]
            with m.Else():
                m.d.comb += [d_op[0].eq(first), d_op[0].quote.eq(~has_second),
                             d_op[0].publish.eq(~has_second)]
                with m.If(has_second):
                    m.d.comb += [d_n.eq(2), d_op[1].eq(second)]
                with m.Else():
                    m.d.comb += d_n.eq(1)

        is_add = (t == _A) | (t == _F)
        is_mod = (t == _E) | (t == _C) | (t == _X) | (t == _D)
        with m.FSM():
            with m.State("RUN"):
                m.d.comb += [s1_done.eq(go & ~((t == _U) & table.hit)),
                             self.i.ready.eq(~r_valid | s1_done)]
                with m.If(r_valid & go):
                    with m.If(is_add | is_mod | (t == _U)):
                        m.d.sync += count("records")
                    with m.If(is_add & (rec.side != BUY) & (rec.side != SELL)):
                        m.d.sync += count("bad_side")
                    with m.Elif(is_add):
                        add_ops(r_slot, r_sub, rec.side == SELL, rec.price, rec.shares)
                    with m.Elif((is_mod | (t == _U)) & ~table.hit):
                        m.d.sync += count("misses")
                    with m.Elif(is_mod):
                        whole = (t == _D) | (rec.shares >= e.shares)
                        with m.If((t != _D) & (rec.shares > e.shares)):
                            m.d.sync += count("overfills")
                        m.d.comb += [table.we.eq(1), table.w_bank.eq(table.hit_bank),
                                     table.w_way.eq(table.hit_way), table.w_entry.eq(e),
                                     table.w_entry.shares.eq(e.shares - rec.shares),
                                     table.w_entry.valid.eq(~whole),
                                     d_n.eq(1), d_op[0].eq(removal),
                                     d_op[0].shares.eq(Mux(whole, e.shares, rec.shares)),
                                     d_op[0].remove.eq(whole),
                                     d_op[0].quote.eq(1), d_op[0].publish.eq(1)]
                    with m.Elif(t == _U):
                        # remove the old order now; read the table for the new reference
                        m.d.comb += [table.clear.eq(1), table.lookup.eq(1),
                                     table.ref.eq(rec.new_ref)]
                        m.d.sync += u_op.eq(removal)
                        m.next = "REPLACE"
                    with m.If(d_n > 1):
                        m.next = "EMIT"
            with m.State("REPLACE"):
                m.d.comb += [s1_done.eq(go), self.i.ready.eq(go)]
                with m.If(go):
                    add_ops(u_op.slot, Const(1, 1), u_op.ask, rec.price, rec.shares, first=u_op)
                    m.next = "RUN"
                    with m.If(d_n > 1):
                        m.next = "EMIT"
            with m.State("EMIT"):
                m.d.comb += [ops.w_en.eq(1), ops.w_data.eq(pend[0])]
                with m.If(ops.w_rdy):
                    m.d.sync += [pend[k].eq(pend[k + 1]) for k in range(_MAX_PENDING - 1)]
                    m.d.sync += pend_n.eq(pend_n - 1)
                    with m.If(pend_n == 1):
                        m.next = "RUN"
        # the decided operations: the first into the queue now, the others one per cycle
        with m.If(d_n != 0):
            m.d.comb += [ops.w_en.eq(1), ops.w_data.eq(d_op[0])]
        with m.If(d_n > 1):
            m.d.sync += [pend[k].eq(d_op[k + 1]) for k in range(_MAX_PENDING)]
            m.d.sync += pend_n.eq(d_n - 1)
        accept = self.i.valid & self.i.ready
        with m.If(accept):
            m.d.comb += [table.lookup.eq(1), table.ref.eq(in_rec.ref)]
            m.d.sync += [r_valid.eq(1), rec.eq(in_rec), r_slot.eq(cam_slot), r_sub.eq(cam_hit)]
        with m.Elif(s1_done):
            m.d.sync += r_valid.eq(0)

        # ---------------------------------------------------------- publish stage
        q_layout = quote_layout(p)
        empty = {"bid_px": 0, "bid_qty": 0, "ask_px": 0, "ask_qty": 0, "bid_exact": 1,
                 "ask_exact": 1}
        pub = m.submodules.published = Memory(shape=q_layout, depth=1 << p.slot_bits,
                                              init=[empty] * (1 << p.slot_bits))
        pub_wr = pub.write_port()
        pub_rd = pub.read_port(domain="comb")
        sq = lv.o.p
        m.d.comb += [pub_rd.addr.eq(Mux(lv.o.valid, sq.slot, self.peek_tob_addr)),
                     self.peek_tob.eq(pub_rd.data)]
        # a slot's quote waiting for its other side (a record that touched both)
        p_valid, p_slot, p_quote = Signal(), Signal(p.slot_bits), Signal(q_layout)
        new = Signal(q_layout)
        m.d.comb += new.eq(Mux(p_valid & (p_slot == sq.slot), p_quote.as_value(),
                               pub_rd.data.as_value()))
        with m.If(sq.ask):
            m.d.comb += [new.ask_px.eq(sq.px), new.ask_qty.eq(sq.qty), new.ask_exact.eq(sq.exact)]
        with m.Else():
            m.d.comb += [new.bid_px.eq(sq.px), new.bid_qty.eq(sq.qty), new.bid_exact.eq(sq.exact)]
        top = Signal(TopOfBook)
        m.d.comb += [top.locate.eq(sub_locate[sq.slot]), top.bid_px.eq(new.bid_px),
                     top.bid_qty.eq(new.bid_qty), top.ask_px.eq(new.ask_px),
                     top.ask_qty.eq(new.ask_qty), top.bid_exact.eq(new.bid_exact),
                     top.ask_exact.eq(new.ask_exact), top.ts.eq(sq.ts), top.seq.eq(sq.seq),
                     top.hw_ts.eq(sq.hw_ts), tops.w_data.eq(top)]
        with m.If(lv.o.valid & sq.publish):
            m.d.sync += p_valid.eq(0)
            with m.If(new.as_value() != pub_rd.data.as_value()):
                m.d.comb += [tops.w_en.eq(1), pub_wr.addr.eq(sq.slot), pub_wr.data.eq(new),
                             pub_wr.en.eq(1)]
                m.d.sync += count("tob")
        with m.Elif(lv.o.valid):
            m.d.sync += [p_valid.eq(1), p_slot.eq(sq.slot), p_quote.eq(new)]

        m.d.comb += self.idle.eq(~r_valid & (pend_n == 0) & ~ops.r_rdy & ~lv.busy
                                 & ~tops.r_rdy & ~p_valid)
        return m
