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

Commands (one at a time: ``start`` when ``busy`` is low; ``done`` pulses in
the last cycle): ``LEVEL`` adds (``add``: +shares, +1 order) or takes
``shares`` off a level (``remove``: and one order), ``LOST`` marks a side
lost, ``QUOTE`` computes both sides' tops of ``slot``.
"""

import enum

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .layouts import BookParams, divide_magic, level_entry, side_state

__all__ = ["PriceLevels", "Command"]


class Command(enum.IntEnum):
    LEVEL = 0
    LOST = 1
    QUOTE = 2


class PriceLevels(wiring.Component):
    """Level arrays, windows and top-of-book computation for every (slot, side)."""

    def __init__(self, params: BookParams):
        self._p = p = params
        side_addr_bits = p.slot_bits + 1
        super().__init__({
            "start": In(1),
            "command": In(2),
            "slot": In(p.slot_bits),
            "ask": In(1),
            "price": In(32),
            "shares": In(32),
            "add": In(1),
            "remove": In(1),
            "busy": Out(1),
            "done": Out(1),
            "bid_px": Out(32), "bid_qty": Out(p.qty_bits), "bid_exact": Out(1),
            "ask_px": Out(32), "ask_qty": Out(p.qty_bits), "ask_exact": Out(1),
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
        s_layout, l_layout = side_state(p), level_entry(p)
        side_depth = 2 << p.slot_bits
        sides = m.submodules.sides = Memory(shape=s_layout, depth=side_depth, init=[])
        levels = m.submodules.levels = Memory(shape=l_layout, depth=side_depth * W, init=[])
        s_wr, l_wr = sides.write_port(), levels.write_port()
        s_rd = sides.read_port(transparent_for=(s_wr,))
        l_rd = levels.read_port(transparent_for=(l_wr,))
        # host peeks use the same read ports while no command runs (one read port per array)
        m.d.comb += [self.peek_side.eq(s_rd.data), self.peek_level.eq(l_rd.data)]
        side = s_layout(s_rd.data)
        level = l_layout(l_rd.data)

        # latched command
        slot, ask = Signal.like(self.slot), Signal()
        price, shares = Signal(32), Signal(32)
        add, remove = Signal(), Signal()
        side_addr = Signal(p.slot_bits + 1)
        m.d.comb += side_addr.eq(Cat(ask, slot))
        s_addr = Signal.like(side_addr)     # held side read address
        l_addr = Signal(len(side_addr) + wb)

        # tick = price // tick, by a multiply (registered), remainder next cycle
        mul, shift = divide_magic(p.tick)
        tick = Signal(p.tick_bits)
        rem = Signal(16)
        m.d.comb += rem.eq((price - tick * p.tick)[:16])
        count_delta = Signal(2)  # +1, -1 or 0 in two's complement

        # window arithmetic on the side as read
        base, bitmap = side.base, side.bitmap
        full = Const((1 << W) - 1, W)
        hi = Signal(p.tick_bits + 1)
        m.d.comb += hi.eq(base + W)
        below, above = Signal(), Signal()
        m.d.comb += [below.eq(tick < base), above.eq(tick >= hi)]
        new_base = Signal(p.tick_bits)
        with m.If(bitmap == 0):
            m.d.comb += new_base.eq(Mux(tick >= W // 2, tick - W // 2, 0))
        with m.Elif(below):
            m.d.comb += new_base.eq(tick)
        with m.Else():
            m.d.comb += new_base.eq(tick - (W - 1))
        down = Signal()
        k = Signal(p.tick_bits)
        m.d.comb += [down.eq(new_base < base),
                     k.eq(Mux(down, base - new_base, new_base - base))]
        k_big = Signal()
        kk = Signal(wb)
        m.d.comb += [k_big.eq(k >= W), kk.eq(k[:wb])]
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

        # new side state (written in SIDE or LEVEL)
        n_side = Signal(s_layout)
        n_index = Signal(wb)   # window index of the tick after any move
        n_base = Signal(p.tick_bits)

        # priority encoders for QUOTE
        hi_bit, lo_bit = Signal(wb), Signal(wb)
        for i in range(W):
            with m.If(bitmap[i]):
                m.d.comb += hi_bit.eq(i)
        for i in reversed(range(W)):
            with m.If(bitmap[i]):
                m.d.comb += lo_bit.eq(i)
        best_tick = Signal(p.tick_bits)
        q_exact = Signal()
        better = Mux(ask, side.low, side.high)
        worse = Mux(ask, side.high, side.low)
        m.d.comb += q_exact.eq(~side.lost & (side.off_grid == 0) & (better == 0)
                               & ((bitmap != 0) | (worse == 0)))
        q_tick = Signal(p.tick_bits)      # registered best tick of the side being quoted
        q_ok = Signal()                   # exact and not empty
        q_px = Signal(32)
        m.d.comb += q_px.eq((q_tick * p.tick)[:32])

        held_side = Signal(s_layout)
        held_index = Signal(wb)
        m.d.comb += [s_rd.addr.eq(s_addr), l_rd.addr.eq(l_addr)]   # defaults, overridden below

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [s_rd.addr.eq(self.peek_side_addr),
                             l_rd.addr.eq(self.peek_level_addr)]
                with m.If(self.start):
                    quote = self.command == Command.QUOTE
                    addr = Cat(self.ask & ~quote, self.slot)
                    m.d.comb += s_rd.addr.eq(addr)
                    m.d.sync += [slot.eq(self.slot), ask.eq(self.ask & ~quote),
                                 price.eq(self.price), shares.eq(self.shares),
                                 add.eq(self.add), remove.eq(self.remove),
                                 count_delta.eq(Mux(self.add, 1, Mux(self.remove, 3, 0))),
                                 tick.eq((self.price * mul) >> shift),
                                 s_addr.eq(addr)]
                    with m.Switch(self.command):
                        with m.Case(Command.LEVEL):
                            m.next = "SIDE"
                        with m.Case(Command.LOST):
                            m.next = "LOST"
                        with m.Case(Command.QUOTE):
                            m.next = "QUOTE_SIDE"
            with m.State("LOST"):
                m.d.comb += [self.busy.eq(1), n_side.eq(side), n_side.lost.eq(1),
                             s_wr.addr.eq(s_addr), s_wr.data.eq(n_side), s_wr.en.eq(1),
                             self.done.eq(1)]
                m.next = "IDLE"
            with m.State("SIDE"):
                m.d.comb += [self.busy.eq(1), n_side.eq(side)]
                inside, was_inside = Signal(), Signal()
                m.d.comb += [was_inside.eq(~below & ~above), inside.eq(was_inside),
                             n_base.eq(base)]
                with m.If(rem != 0):
                    m.d.comb += [n_side.off_grid.eq(side.off_grid + count_delta.as_signed()),
                                 self.ev_off_grid.eq(add)]
                with m.Else():
                    with m.If(add & ~was_inside & can_move):
                        m.d.comb += [n_base.eq(new_base), n_side.base.eq(new_base),
                                     n_side.bitmap.eq(moved), inside.eq(1),
                                     self.ev_shift.eq(1)]
                    with m.If(~inside):
                        m.d.comb += self.ev_out_of_window.eq(add)
                        with m.If(below):
                            m.d.comb += n_side.low.eq(side.low + count_delta.as_signed())
                        with m.Else():
                            m.d.comb += n_side.high.eq(side.high + count_delta.as_signed())
                m.d.comb += n_index.eq((tick - n_base)[:wb])
                with m.If((rem == 0) & inside):
                    # read the level; the side is written with it
                    level_addr = Cat(tick[:wb], side_addr)
                    m.d.comb += l_rd.addr.eq(level_addr)
                    m.d.sync += [l_addr.eq(level_addr), held_side.eq(n_side),
                                 held_index.eq(n_index)]
                    m.next = "LEVEL"
                with m.Else():
                    m.d.comb += [s_wr.addr.eq(s_addr), s_wr.data.eq(n_side), s_wr.en.eq(1),
                                 self.done.eq(1)]
                    m.next = "IDLE"
            with m.State("LEVEL"):
                m.d.comb += self.busy.eq(1)
                new_level = Signal(l_layout)
                new_count = Signal(p.count_bits)
                m.d.comb += [
                    new_count.eq(level.count + count_delta.as_signed()),
                    new_level.shares.eq(Mux(add, level.shares + shares, level.shares - shares)),
                    new_level.count.eq(new_count),
                ]
                out_side = Signal(s_layout)
                m.d.comb += out_side.eq(held_side)
                bit = Const(1, W) << held_index
                with m.If(new_count == 0):
                    m.d.comb += [new_level.eq(0),
                                 out_side.bitmap.eq(held_side.bitmap & ~bit)]
                with m.Else():
                    m.d.comb += out_side.bitmap.eq(held_side.bitmap | bit)
                m.d.comb += [l_wr.addr.eq(l_addr), l_wr.data.eq(new_level), l_wr.en.eq(1),
                             s_wr.addr.eq(s_addr), s_wr.data.eq(out_side), s_wr.en.eq(1),
                             self.done.eq(1)]
                m.next = "IDLE"
            with m.State("QUOTE_SIDE"):
                # the side of ``ask`` is in the read data: its best tick, and read that level
                m.d.comb += self.busy.eq(1)
                m.d.comb += best_tick.eq(base + Mux(ask, lo_bit, hi_bit))
                level_addr = Cat(best_tick[:wb], Cat(ask, slot))
                m.d.comb += l_rd.addr.eq(level_addr)
                m.d.sync += [q_tick.eq(best_tick), q_ok.eq(q_exact & (bitmap != 0)),
                             l_addr.eq(level_addr)]
                with m.If(~ask):
                    m.d.sync += self.bid_exact.eq(q_exact)
                with m.Else():
                    m.d.sync += self.ask_exact.eq(q_exact)
                m.next = "QUOTE_LEVEL"
            with m.State("QUOTE_LEVEL"):
                m.d.comb += self.busy.eq(1)
                with m.If(~ask):
                    m.d.comb += s_rd.addr.eq(Cat(Const(1, 1), slot))
                    m.d.sync += [self.bid_px.eq(Mux(q_ok, q_px, 0)),
                                 self.bid_qty.eq(Mux(q_ok, level.shares, 0)),
                                 ask.eq(1), s_addr.eq(Cat(Const(1, 1), slot))]
                    m.next = "QUOTE_SIDE"
                with m.Else():
                    m.d.sync += [self.ask_px.eq(Mux(q_ok, q_px, 0)),
                                 self.ask_qty.eq(Mux(q_ok, level.shares, 0))]
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"
        return m

