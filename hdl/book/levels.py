"""Price levels per subscribed symbol and side, over a sliding window of ticks (ITCH 5.0 §5).

Each (slot, side) has a window of ``W = 2**window_bits`` consecutive ticks
(tick = price // ``tick``) starting at ``base``: a level array of
(shares, orders) in block RAM, addressed by ``tick mod W``, and a ``W``-bit
bitmap of the ticks that hold orders, so the best level is a priority
encoder away (highest set bit for bids, lowest for asks) however many
levels the side has: when the best empties, the next best is known.

**Window moves.** An add outside the window moves it to hold the new tick
when that loses nothing: the ticks leaving the window are empty (bitmap
bits zero) and no live order counted outside lies in the ticks entering it
(``low`` counts orders below the window, ``high`` above). An empty window
re-centres on the tick. Entries of empty levels are always zero, so a
move never touches the level array.

**Bound and what cannot be represented.** An add that cannot be placed
(outside and the move would lose a level) is counted below/above the
window (``out_of_window``); a price that is not a multiple of the tick is
counted in ``off_grid``. A side's top is **exact** when nothing better
than the window is live (``high`` for bids, ``low`` for asks, ``off_grid``
zero, not ``lost``) and either the window has a level or nothing is below
it; otherwise the top is published as inexact, price and size zero. So
the top is exact as long as every live order of the side lies within ``W``
ticks of the best one (``W × tick`` in price) and on the tick grid.

**Pipeline.** :func:`~.layouts.side_op` operations enter through ``i``, one
per cycle, and are applied in order:

1. an operation is registered on entry (stage 0), ``tick = price // tick``
   by a multiply into stage 1, which reads the side state and the level of
   ``tick mod W`` (each array has one read port, registered) and computes
   what the window arithmetic needs of the tick alone;
2. window arithmetic, new level and bitmap; both written back;
3. for a ``quote`` operation: the best tick from the new bitmap; its size
   is the level just written when that is the best, else read from the
   array (the same read port);
4. the side's top, registered on ``o``.

*Hazards.* The read-modify-write of stages 1–2 takes one read cycle, so
the side array's read port is transparent to its write port and the level
read takes the level written in the same cycle from a one-deep bypass: an
operation on the same side or level right behind another sees its result.
The quote read of stage 3 is *not* bypassed: it must see the level array
as the quoted operation left it, not the write of the operation behind it
in stage 2. A stage-3 read takes the read port from stage 1, whose
operation waits there one cycle and reads again (behind it stage 2 is then
empty, so the one-deep bypass still covers every write it could miss): a
quote that does not find its size in the level just written costs one
cycle. The consumer's buffer space is ``room``: an operation enters only
when every ``publish`` operation already in the pipeline, and it, will
find room.

Host peeks (``peek_side_addr``/``peek_level_addr``) use the same read
ports when no operation needs them (the data follows one cycle after the
address; read while the book is idle).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .layouts import BookParams, divide_magic, level_entry, side_op, side_quote, side_state

__all__ = ["PriceLevels"]


class PriceLevels(wiring.Component):
    """Level arrays, windows and per-side top of book for every (slot, side), pipelined."""

    def __init__(self, params: BookParams, room_bits: int = 4):
        self._p = p = params
        side_addr_bits = p.slot_bits + 1
        super().__init__({
            "i": In(stream.Signature(side_op(p))),
            "room": In(room_bits),
            "o": Out(stream.Signature(side_quote(p), always_ready=True)),
            "busy": Out(1),
            "ev_off_grid": Out(1),
            "ev_out_of_window": Out(1),
            "ev_shift": Out(1),
            "peek_side_addr": In(side_addr_bits),
            "peek_side": Out(side_state(p)),
            "peek_level_addr": In(side_addr_bits + p.window_bits),
            "peek_level": Out(level_entry(p)),
        })

    def elaborate(self, platform):
        p, m = self._p, Module()
        W, wb = p.window, p.window_bits
        s_layout, l_layout, op_layout = side_state(p), level_entry(p), side_op(p)
        side_depth = 2 << p.slot_bits
        sides = m.submodules.sides = Memory(shape=s_layout, depth=side_depth, init=[])
        levels = m.submodules.levels = Memory(shape=l_layout, depth=side_depth * W, init=[])
        s_wr, l_wr = sides.write_port(), levels.write_port()
        s_rd = sides.read_port(transparent_for=(s_wr,))
        l_rd = levels.read_port()
        m.d.comb += [self.peek_side.eq(s_rd.data), self.peek_level.eq(l_rd.data)]
        mul, shift = divide_magic(p.tick)

        # ---- stage 0: the operation, registered on entry; its tick by a multiply
        v0, op0 = Signal(), Signal(op_layout)
        v1, op1, tick1 = Signal(), Signal(op_layout), Signal(p.tick_bits)
        v2, op2, tick2, off2 = Signal(), Signal(op_layout), Signal(p.tick_bits), Signal()
        v3, op3, side3 = Signal(), Signal(op_layout), Signal(s_layout)
        v4, op4 = Signal(), Signal(op_layout)
        in_flight = Signal(range(7))   # publish operations that will need room
        m.d.comb += in_flight.eq((v0 & op0.publish) + (v1 & op1.publish) + (v2 & op2.publish)
                                 + (v3 & op3.publish) + (v4 & op4.publish)
                                 + (self.o.valid & self.o.p.publish))
        # a quote that reads the level array in stage 3 takes the read port from
        # stage 1, whose operation waits there one cycle (and reads again)
        quote_read, hold = Signal(), Signal()
        m.d.comb += [hold.eq(v1 & quote_read),
                     self.i.ready.eq(~hold & (in_flight < self.room)),
                     self.busy.eq(v0 | v1 | v2 | v3 | v4 | self.o.valid)]
        with m.If(~hold):
            m.d.sync += [v0.eq(self.i.valid & self.i.ready), op0.eq(self.i.payload),
                         v1.eq(v0), op1.eq(op0), tick1.eq((op0.price * mul) >> shift)]

        # ---- stage 1: issue the reads; what the window arithmetic needs of the tick alone
        side_addr1 = Cat(op1.ask, op1.slot)
        level_addr1 = Cat(tick1[:wb], side_addr1)
        m.d.comb += [s_rd.addr.eq(Mux(v1, side_addr1, self.peek_side_addr)),
                     l_rd.addr.eq(Mux(v1, level_addr1, self.peek_level_addr))]
        level_addr2 = Signal.like(level_addr1)
        # where an empty window re-centres, the base that puts the tick on top of the
        # window, and the tick's index in the re-centred window
        base_empty2, base_top2 = Signal(p.tick_bits), Signal(p.tick_bits)
        index_empty2 = Signal(wb)
        m.d.sync += [v2.eq(v1 & ~hold), op2.eq(op1), tick2.eq(tick1),
                     level_addr2.eq(level_addr1),
                     off2.eq((op1.price - tick1 * p.tick)[:16] != 0),
                     base_empty2.eq(Mux(tick1 >= W // 2, tick1 - W // 2, 0)),
                     index_empty2.eq(Mux(tick1 >= W // 2, W // 2, tick1[:wb])),
                     base_top2.eq(tick1 - (W - 1))]

        # ---- stage 2: window arithmetic and the level's read-modify-write
        side = s_layout(s_rd.data)
        bypass_en, bypass_addr = Signal(), Signal.like(level_addr1)
        bypass_data = Signal(l_layout)
        m.d.sync += [bypass_en.eq(l_wr.en), bypass_addr.eq(l_wr.addr), bypass_data.eq(l_wr.data)]
        level = Signal(l_layout)
        m.d.comb += level.eq(Mux(bypass_en & (bypass_addr == level_addr2), bypass_data,
                                 l_rd.data))
        tick = tick2
        add, remove = op2.add, op2.remove
        count_delta = Signal(2)  # +1, -1 or 0 in two's complement
        m.d.comb += count_delta.eq(Mux(add, 1, Mux(remove, 3, 0)))
        base, bitmap = side.base, side.bitmap
        full = Const((1 << W) - 1, W)
        n = p.tick_bits
        # every difference with the base in parallel (one carry chain deep); the top
        # bit of an n+1-bit difference of n-bit numbers is its sign
        d, d_empty = Signal(n + 1), Signal(n + 1)
        back, back_empty, up_top = Signal(n + 1), Signal(n + 1), Signal(n + 1)
        m.d.comb += [d.eq(tick - base), back.eq(base - tick),
                     d_empty.eq(base_empty2 - base), back_empty.eq(base - base_empty2),
                     up_top.eq(base_top2 - base)]
        below, above, empty = Signal(), Signal(), Signal()
        m.d.comb += [below.eq(d[n]), above.eq(~d[n] & (d[wb:n] != 0)), empty.eq(bitmap == 0)]
        # the move that would hold the tick: to the re-centred base (empty window),
        # down to the tick (below), or up to put it on top (above); k ticks
        down = Signal()
        k = Signal(n)
        new_base, moved_index = Signal(n), Signal(wb)
        with m.If(empty):
            m.d.comb += [down.eq(d_empty[n]), k.eq(Mux(d_empty[n], back_empty, d_empty)),
                         new_base.eq(base_empty2), moved_index.eq(index_empty2)]
        with m.Elif(below):
            m.d.comb += [down.eq(1), k.eq(back), new_base.eq(tick), moved_index.eq(0)]
        with m.Else():
            m.d.comb += [down.eq(0), k.eq(up_top), new_base.eq(base_top2),
                         moved_index.eq(W - 1)]
        k_big = Signal()
        kk = Signal(wb)
        m.d.comb += [k_big.eq(k[wb:] != 0), kk.eq(k[:wb])]
        leaving = Signal(W)
        moved = Signal(W)
        with m.If(k_big):
            m.d.comb += [leaving.eq(full), moved.eq(0)]
        with m.Elif(down):
            m.d.comb += [leaving.eq(~(full >> kk) & full), moved.eq((bitmap << kk)[:W])]
        with m.Else():
            m.d.comb += [leaving.eq(~(full << kk)[:W] & full), moved.eq(bitmap >> kk)]
        can_move = Signal()
        m.d.comb += can_move.eq(((bitmap & leaving) == 0)
                                & Mux(down, side.low == 0, side.high == 0))

        n_side = Signal(s_layout)      # after the window arithmetic
        out_side = Signal(s_layout)    # after the level write too
        inside, was_inside, shifted = Signal(), Signal(), Signal()
        m.d.comb += [n_side.eq(side), was_inside.eq(~below & ~above), inside.eq(was_inside)]
        level_op = v2 & ~op2.lost
        with m.If(op2.lost):
            m.d.comb += n_side.lost.eq(1)
        with m.Elif(off2):
            m.d.comb += [n_side.off_grid.eq(side.off_grid + count_delta.as_signed()),
                         self.ev_off_grid.eq(level_op & add)]
        with m.Else():
            with m.If(add & ~was_inside & can_move):
                m.d.comb += [shifted.eq(1), n_side.base.eq(new_base),
                             n_side.bitmap.eq(moved), inside.eq(1),
                             self.ev_shift.eq(level_op)]
            with m.If(~inside):
                m.d.comb += self.ev_out_of_window.eq(level_op & add)
                with m.If(below):
                    m.d.comb += n_side.low.eq(side.low + count_delta.as_signed())
                with m.Else():
                    m.d.comb += n_side.high.eq(side.high + count_delta.as_signed())
        index = Signal(wb)
        m.d.comb += index.eq(Mux(shifted, moved_index, d[:wb]))   # tick - base after the move
        new_level = Signal(l_layout)
        new_count = Signal(p.count_bits)
        m.d.comb += [
            new_count.eq(level.count + count_delta.as_signed()),
            new_level.shares.eq(Mux(add, level.shares + op2.shares, level.shares - op2.shares)),
            new_level.count.eq(new_count),
            out_side.eq(n_side),
        ]
        bit = Const(1, W) << index
        write_level = level_op & ~off2 & inside
        with m.If(write_level):
            with m.If(new_count == 0):
                m.d.comb += [new_level.eq(0), out_side.bitmap.eq(n_side.bitmap & ~bit)]
            with m.Else():
                m.d.comb += out_side.bitmap.eq(n_side.bitmap | bit)
        m.d.comb += [s_wr.addr.eq(Cat(op2.ask, op2.slot)), s_wr.data.eq(out_side),
                     s_wr.en.eq(v2),
                     l_wr.addr.eq(level_addr2), l_wr.data.eq(new_level),
                     l_wr.en.eq(write_level)]
        # the level written, for a quote whose best level it is (no read then)
        index3, wrote3, shares3 = Signal(wb), Signal(), Signal(p.qty_bits)
        m.d.sync += [v3.eq(v2), op3.eq(op2), side3.eq(out_side), index3.eq(index),
                     wrote3.eq(write_level & (new_count != 0)), shares3.eq(new_level.shares)]

        # ---- stage 3: best tick of the quoted side, read its level
        bm = side3.bitmap
        ask3 = op3.ask
        hi_bit, lo_bit = Signal(wb), Signal(wb)
        for i in range(W):
            with m.If(bm[i]):
                m.d.comb += hi_bit.eq(i)
        for i in reversed(range(W)):
            with m.If(bm[i]):
                m.d.comb += lo_bit.eq(i)
        better = Mux(ask3, side3.low, side3.high)
        worse = Mux(ask3, side3.high, side3.low)
        exact = Signal()
        m.d.comb += exact.eq(~side3.lost & (side3.off_grid == 0) & (better == 0)
                             & ((bm != 0) | (worse == 0)))
        best_tick, best_index = Signal(p.tick_bits), Signal(wb)
        written_best = Signal()
        m.d.comb += [best_index.eq(Mux(ask3, lo_bit, hi_bit)),
                     best_tick.eq(side3.base + best_index),
                     written_best.eq(wrote3 & (best_index == index3)),
                     quote_read.eq(v3 & op3.quote & exact & (bm != 0) & ~written_best)]
        with m.If(quote_read):
            m.d.comb += l_rd.addr.eq(Cat(best_tick[:wb], ask3, op3.slot))
        tick4, ok4, exact4 = Signal(p.tick_bits), Signal(), Signal()
        fwd4, fwd_shares4 = Signal(), Signal(p.qty_bits)
        m.d.sync += [v4.eq(v3 & op3.quote), op4.eq(op3), tick4.eq(best_tick),
                     ok4.eq(exact & (bm != 0)), exact4.eq(exact),
                     fwd4.eq(written_best), fwd_shares4.eq(shares3)]

        # ---- stage 4: the side's top, registered out
        q_level = l_layout(l_rd.data)
        o = self.o.p
        m.d.sync += [self.o.valid.eq(v4), o.slot.eq(op4.slot), o.ask.eq(op4.ask),
                     o.px.eq(Mux(ok4, (tick4 * p.tick)[:32], 0)),
                     o.qty.eq(Mux(ok4, Mux(fwd4, fwd_shares4, q_level.shares), 0)),
                     o.exact.eq(exact4),
                     o.publish.eq(op4.publish), o.ts.eq(op4.ts), o.seq.eq(op4.seq),
                     o.hw_ts.eq(op4.hw_ts)]
        return m
