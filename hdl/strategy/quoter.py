"""Quoter (docs/strategy.md, "Quoter").

Keeps one resting buy at ``bid_px - offset`` and one sell at ``ask_px +
offset``: enters a side that is not live, replaces a live side whose target
moved by at least ``requote``, cancels a live side when the symbol cannot be
quoted (a side unknown or empty, spread above ``quoter_max_spread``, kill
switch, or a target outside 1 .. 2**32-1).
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..book.layouts import TopOfBook
from .layouts import Intent, OrderKind, QuoteState, Side, StrategyParams, Tif
from .taker import both_sides, spread_ok

__all__ = ["Quoter", "QUOTER_LATENCY"]


#: cycles from stable inputs to valid intents (targets, then their distance, registered)
QUOTER_LATENCY = 2


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
        t, p = self.tob, self.params
        quoting = Signal()
        m.d.comb += quoting.eq(both_sides(t) & spread_ok(t, p.quoter_max_spread) & ~self.kill)
        sell_sum = Signal(33)
        m.d.comb += sell_sum.eq(t.ask_px + p.offset)
        sides = (
            (self.buy, self.buy_intent, Side.BUY, t.bid_px > p.offset, t.bid_px - p.offset),
            (self.sell, self.sell_intent, Side.SELL, ~sell_sum[32], sell_sum[:32]),
        )
        for q, i, side, in_range, target_value in sides:
            name = side.name.lower()
            # cycle 1: the target; cycle 2: how far the resting order is from it
            target = Signal(32, name=f"target_{name}")
            has_target = Signal(name=f"has_target_{name}")
            m.d.sync += [target.eq(target_value), has_target.eq(quoting & in_range)]
            moved = Signal(name=f"moved_{name}")
            distance = Mux(target >= q.price, target - q.price, q.price - target)[:32]
            m.d.sync += moved.eq(distance >= p.requote)
            m.d.comb += [i.side.eq(side), i.tif.eq(Tif.DAY), i.quoter.eq(1),
                         i.shares.eq(p.quoter_size), i.price.eq(target)]
            with m.If(p.quoter_enabled):
                with m.If(~has_target):
                    m.d.comb += [i.valid.eq(q.live), i.kind.eq(OrderKind.CANCEL),
                                 i.price.eq(q.price), i.shares.eq(0)]
                with m.Elif(~q.live):
                    m.d.comb += [i.valid.eq(1), i.kind.eq(OrderKind.ENTER)]
                with m.Elif(moved):
                    m.d.comb += [i.valid.eq(1), i.kind.eq(OrderKind.REPLACE)]
        return m
