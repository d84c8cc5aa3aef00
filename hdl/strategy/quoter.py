"""Quoter (docs/strategy.md, "Quoter").

Keeps one resting buy at ``bid_px - offset`` and one sell at ``ask_px +
offset``: enters a side that is not live, replaces a live side whose target
moved by at least ``requote``, cancels a live side when the symbol cannot be
quoted (a side unknown or empty, spread above ``quoter_max_spread``, kill
switch, or a target outside 1 .. 2**32-1).
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..book.layouts import TopOfBook
from .layouts import Intent, OrderKind, QuoteState, Side, StrategyParams, Tif
from .taker import both_sides

__all__ = ["Quoter", "QUOTER_LATENCY"]


#: cycles from stable inputs to valid intents, one carry chain per cycle: the targets and
#: the spread limit; whether to quote and both distances to the resting order; the requote
#: compares
QUOTER_LATENCY = 3


class Quoter(wiring.Component):
    """The quoter's buy and sell orders for the record on ``tob``.

    Inputs must stay stable for :data:`QUOTER_LATENCY` cycles; the intents
    are then valid (``valid`` low: no order for that side).
    """

    tob: In(TopOfBook)
    params: In(StrategyParams)
    buy: In(QuoteState)
    sell: In(QuoteState)
    kill: In(1)
    buy_intent: Out(Intent)
    sell_intent: Out(Intent)

    def elaborate(self, platform):
        m = Module()
        t, p, buy, sell = self.tob, self.params, self.buy, self.sell
        # cycle 1: the spread limit (``spread_ok`` as a sum, then a compare) and the targets
        spread_limit = Signal(33)
        both = Signal()
        m.d.sync += [spread_limit.eq(t.bid_px + p.quoter_max_spread), both.eq(both_sides(t))]
        quoting = both & (t.ask_px <= spread_limit) & ~self.kill
        sell_sum = Signal(33)
        m.d.comb += sell_sum.eq(t.ask_px + p.offset)
        sides = (
            (buy, self.buy_intent, Side.BUY, t.bid_px > p.offset, t.bid_px - p.offset),
            (sell, self.sell_intent, Side.SELL, ~sell_sum[32], sell_sum[:32]),
        )
        for q, i, side, in_range, target_value in sides:
            name = side.name.lower()
            target = Signal(32, name=f"target_{name}")
            in_range_r = Signal(name=f"in_range_{name}")
            m.d.sync += [target.eq(target_value), in_range_r.eq(in_range)]
            # cycle 2: quote or not; the resting order's distance both ways (signed)
            has_target = Signal(name=f"has_target_{name}")
            up = Signal(signed(33), name=f"up_{name}")
            down = Signal(signed(33), name=f"down_{name}")
            m.d.sync += [has_target.eq(quoting & in_range_r),
                         up.eq(target - q.price), down.eq(q.price - target)]
            # cycle 3: moved by at least ``requote`` (the non-negative distance is abs)
            moved = Signal(name=f"moved_{name}")
            has_target_3 = Signal(name=f"has_target_{name}_3")
            m.d.sync += [moved.eq(Mux(up[32], down[:32] >= p.requote, up[:32] >= p.requote)),
                         has_target_3.eq(has_target)]
            m.d.comb += [i.side.eq(side), i.tif.eq(Tif.DAY), i.quoter.eq(1),
                         i.shares.eq(p.quoter_size), i.price.eq(target)]
            with m.If(p.quoter_enabled):
                with m.If(~has_target_3):
                    m.d.comb += [i.valid.eq(q.live), i.kind.eq(OrderKind.CANCEL),
                                 i.price.eq(q.price), i.shares.eq(0)]
                with m.Elif(~q.live):
                    m.d.comb += [i.valid.eq(1), i.kind.eq(OrderKind.ENTER)]
                with m.Elif(moved):
                    m.d.comb += [i.valid.eq(1), i.kind.eq(OrderKind.REPLACE)]
        return m
