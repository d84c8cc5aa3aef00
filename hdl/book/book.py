"""The gateware order book: feed records in, top-of-book records out (ITCH 5.0 §5).

Composes the :class:`~.order_table.OrderTable` (reference → order) and
:class:`~.levels.PriceLevels` (windows, bitmaps, tops) under one controller
that applies one :class:`~tick2trade.hdl.feed.layouts.FeedRecord` at a
time, with the rules of the model
:class:`tick2trade.sim.model.hwbook.HwBookModel` (its docstring lists them):
``A``/``F`` add, ``E``/``C``/``X`` reduce, ``D`` removes, ``U`` replaces;
``R``/``H`` pass in one cycle. After a record, each slot it touched (at most
two: a duplicate add may hit another symbol) is quoted and a
:class:`~.layouts.TopOfBook` is sent when its bid, ask or exactness
changed.

**Hazards.** Records are applied strictly one after another: a record's
table and level writes complete before the next record's reads are issued
(``i.ready`` is low meanwhile), so back-to-back records on the same order
or level always see each other's effect; the price is latency per record,
not correctness (see ``docs/performance.md``).

**Control plane.** ``sub_we`` writes ``sub_locate``/``sub_valid`` into slot
``sub_slot`` (subscriptions change only between flows, with the book
empty); a locate held by several slots maps to the lowest. ``peek_*``
ports read the side states, levels and published tops for the host.
"""

from amaranth.hdl import Array, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..feed.layouts import FeedRecord, record_stream
from .layouts import COUNTERS, SELL, BookParams, level_entry, side_state, tob_stream
from .levels import Command, PriceLevels
from .order_table import OrderTable

__all__ = ["Book", "quote_layout"]


def quote_layout(p: BookParams):
    from amaranth.lib import data
    return data.StructLayout({"bid_px": 32, "bid_qty": p.qty_bits, "ask_px": 32,
                              "ask_qty": p.qty_bits, "bid_exact": 1, "ask_exact": 1})


def _type(code: str) -> int:
    return ord(code)


class Book(wiring.Component):
    """Order table + price levels + top-of-book publisher."""

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
        table = m.submodules.table = OrderTable(p)
        lv = m.submodules.levels = PriceLevels(p)
        m.d.comb += [lv.peek_side_addr.eq(self.peek_side_addr),
                     self.peek_side.eq(lv.peek_side),
                     lv.peek_level_addr.eq(self.peek_level_addr),
                     self.peek_level.eq(lv.peek_level)]
        for name, ev in (("off_grid", lv.ev_off_grid), ("out_of_window", lv.ev_out_of_window),
                         ("shifts", lv.ev_shift)):
            with m.If(ev):
                m.d.sync += getattr(self, name).eq(getattr(self, name) + 1)

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

        # published tops, one per slot (reset: both sides empty and exact)
        q_layout = quote_layout(p)
        empty = {"bid_px": 0, "bid_qty": 0, "ask_px": 0, "ask_qty": 0, "bid_exact": 1,
                 "ask_exact": 1}
        pub = m.submodules.published = Memory(shape=q_layout, depth=1 << p.slot_bits,
                                              init=[empty] * (1 << p.slot_bits))
        pub_wr = pub.write_port()
        pub_rd = pub.read_port(domain="comb")
        m.d.comb += self.peek_tob.eq(pub_rd.data)   # host peeks share the read port while idle

        # the record being applied
        rec = Signal(FeedRecord)
        slot, sub = Signal(p.slot_bits), Signal()
        # the pending add: reference, slot, side, price, shares
        a_ref, a_slot, a_sub, a_ask = Signal(64), Signal(p.slot_bits), Signal(), Signal()
        a_price, a_shares = Signal(32), Signal(32)
        # touched slots, in order
        t0, t1 = Signal(p.slot_bits), Signal(p.slot_bits)
        t0_valid, t1_valid = Signal(), Signal()
        ret = Signal(2)  # where WAIT_LEVELS returns: 0 FINISH, 1 ADD_CHECK, 2 REPLACE_ADD
        RET_FINISH, RET_ADD_CHECK, RET_REPLACE = 0, 1, 2

        def touch(s):
            return [
                t0_valid.eq(1),
                t0.eq(Mux(t0_valid, t0, s)),
                t1_valid.eq(t1_valid | (t0_valid & (t0 != s))),
                t1.eq(Mux(t0_valid & (t0 != s) & ~t1_valid, s, t1)),
            ]

        def count(name):
            return getattr(self, name).eq(getattr(self, name) + 1)

        def level_op(s, ask, price, shares, add, remove):
            return [lv.start.eq(1), lv.command.eq(Command.LEVEL), lv.slot.eq(s),
                    lv.ask.eq(ask), lv.price.eq(price), lv.shares.eq(shares),
                    lv.add.eq(add), lv.remove.eq(remove)]

        e = table.entry
        q_slot = Signal(p.slot_bits)  # the slot being quoted
        quote = Signal(q_layout)
        m.d.comb += [quote.bid_px.eq(lv.bid_px), quote.bid_qty.eq(lv.bid_qty),
                     quote.ask_px.eq(lv.ask_px), quote.ask_qty.eq(lv.ask_qty),
                     quote.bid_exact.eq(lv.bid_exact), quote.ask_exact.eq(lv.ask_exact),
                     pub_rd.addr.eq(q_slot)]
        out = self.o.payload
        m.d.comb += [out.locate.eq(sub_locate[q_slot]), out.bid_px.eq(quote.bid_px),
                     out.bid_qty.eq(quote.bid_qty), out.ask_px.eq(quote.ask_px),
                     out.ask_qty.eq(quote.ask_qty), out.bid_exact.eq(quote.bid_exact),
                     out.ask_exact.eq(quote.ask_exact), out.ts.eq(rec.ts), out.seq.eq(rec.seq),
                     out.hw_ts.eq(rec.hw_ts)]

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [self.i.ready.eq(1), self.idle.eq(1),
                             pub_rd.addr.eq(self.peek_tob_addr)]
                with m.If(self.i.valid):
                    t = in_rec.type
                    m.d.sync += [rec.eq(in_rec), slot.eq(cam_slot), sub.eq(cam_hit),
                                 t0_valid.eq(0), t1_valid.eq(0),
                                 a_ref.eq(in_rec.ref), a_slot.eq(cam_slot), a_sub.eq(cam_hit),
                                 a_ask.eq(in_rec.side == SELL), a_price.eq(in_rec.price),
                                 a_shares.eq(in_rec.shares)]
                    is_add = (t == _type("A")) | (t == _type("F"))
                    is_mod = ((t == _type("E")) | (t == _type("C")) | (t == _type("X"))
                              | (t == _type("D")) | (t == _type("U")))
                    good_side = (in_rec.side == ord("B")) | (in_rec.side == SELL)
                    with m.If(is_add | is_mod):
                        m.d.sync += count("records")
                    with m.If(is_add & ~good_side):
                        m.d.sync += count("bad_side")
                    with m.Elif(is_add):
                        m.d.comb += [table.lookup.eq(1), table.ref.eq(in_rec.ref)]
                        m.next = "ADD_CHECK"
                    with m.Elif(is_mod):
                        m.d.comb += [table.lookup.eq(1), table.ref.eq(in_rec.ref)]
                        m.next = "MODIFY"
            with m.State("MODIFY"):
                t = rec.type
                with m.If(~table.hit):
                    m.d.sync += count("misses")
                    m.next = "FINISH"
                with m.Else():
                    whole = (t == _type("D")) | (t == _type("U")) | (rec.shares >= e.shares)
                    over = (t != _type("D")) & (t != _type("U")) & (rec.shares > e.shares)
                    with m.If(over):
                        m.d.sync += count("overfills")
                    new_entry = Signal.like(table.w_entry)
                    m.d.comb += [new_entry.eq(e),
                                 new_entry.shares.eq(e.shares - rec.shares),
                                 table.we.eq(1), table.w_bank.eq(table.hit_bank),
                                 table.w_way.eq(table.hit_way), table.w_entry.eq(new_entry)]
                    with m.If(whole):
                        m.d.comb += new_entry.valid.eq(0)
                    m.d.comb += level_op(e.slot, e.ask, e.price,
                                         Mux(whole, e.shares, rec.shares), 0, whole)
                    m.d.sync += touch(e.slot)
                    m.d.sync += [a_ref.eq(rec.new_ref), a_slot.eq(e.slot), a_sub.eq(1),
                                 a_ask.eq(e.ask), a_price.eq(rec.price),
                                 a_shares.eq(rec.shares),
                                 ret.eq(Mux(t == _type("U"), RET_REPLACE, RET_FINISH))]
                    m.next = "WAIT_LEVELS"
            with m.State("REPLACE_ADD"):
                m.d.comb += [table.lookup.eq(1), table.ref.eq(a_ref)]
                m.next = "ADD_CHECK"
            with m.State("ADD_CHECK"):
                with m.If(table.hit):
                    # duplicate: remove the live order, then check again
                    m.d.sync += [count("duplicates"), *touch(e.slot), ret.eq(RET_ADD_CHECK)]
                    m.d.comb += [table.we.eq(1), table.w_bank.eq(table.hit_bank),
                                 table.w_way.eq(table.hit_way), table.w_entry.eq(0)]
                    m.d.comb += level_op(e.slot, e.ask, e.price, e.shares, 0, 1)
                    m.next = "WAIT_LEVELS"
                with m.Elif(a_shares == 0):
                    m.d.sync += count("zero_shares")
                    m.next = "FINISH"
                with m.Elif(~a_sub):
                    m.d.sync += count("unsubscribed")
                    m.next = "FINISH"
                with m.Elif(~table.free):
                    m.d.sync += [count("collisions"), *touch(a_slot), ret.eq(RET_FINISH)]
                    m.d.comb += [lv.start.eq(1), lv.command.eq(Command.LOST),
                                 lv.slot.eq(a_slot), lv.ask.eq(a_ask)]
                    m.next = "WAIT_LEVELS"
                with m.Else():
                    new_entry = Signal.like(table.w_entry)
                    m.d.comb += [new_entry.valid.eq(1), new_entry.tag.eq(table.tag),
                                 new_entry.slot.eq(a_slot), new_entry.ask.eq(a_ask),
                                 new_entry.price.eq(a_price), new_entry.shares.eq(a_shares),
                                 table.we.eq(1), table.w_bank.eq(table.free_bank),
                                 table.w_way.eq(table.free_way), table.w_entry.eq(new_entry)]
                    m.d.comb += level_op(a_slot, a_ask, a_price, a_shares, 1, 0)
                    m.d.sync += [*touch(a_slot), ret.eq(RET_FINISH)]
                    m.next = "WAIT_LEVELS"
            with m.State("WAIT_LEVELS"):
                with m.If(lv.done):
                    with m.Switch(ret):
                        with m.Case(RET_FINISH):
                            m.next = "FINISH"
                        with m.Case(RET_ADD_CHECK):
                            m.next = "ADD_CHECK"
                        with m.Case(RET_REPLACE):
                            m.next = "REPLACE_ADD"
            with m.State("FINISH"):
                with m.If(t0_valid):
                    m.d.comb += [lv.start.eq(1), lv.command.eq(Command.QUOTE), lv.slot.eq(t0)]
                    m.d.sync += [q_slot.eq(t0), t0_valid.eq(0)]
                    m.next = "QUOTE"
                with m.Elif(t1_valid):
                    m.d.comb += [lv.start.eq(1), lv.command.eq(Command.QUOTE), lv.slot.eq(t1)]
                    m.d.sync += [q_slot.eq(t1), t1_valid.eq(0)]
                    m.next = "QUOTE"
                with m.Else():
                    m.next = "IDLE"
            with m.State("QUOTE"):
                with m.If(lv.done):
                    m.next = "PUBLISH"
            with m.State("PUBLISH"):
                with m.If(quote.as_value() == pub_rd.data.as_value()):
                    m.next = "FINISH"
                with m.Else():
                    m.d.comb += self.o.valid.eq(1)
                    with m.If(self.o.ready):
                        m.d.comb += [pub_wr.addr.eq(q_slot), pub_wr.data.eq(quote),
                                     pub_wr.en.eq(1)]
                        m.d.sync += count("tob")
                        m.next = "FINISH"
        return m
