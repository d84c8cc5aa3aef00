"""Imbalance taker (docs/strategy.md, "Imbalance taker").

On a record of an enabled symbol with both sides known and non-empty and
``ask_px - bid_px <= taker_max_spread``, outside the cooldown: BUY
``taker_size`` at ``ask_px`` when ``bid_qty * den > num * (bid_qty + ask_qty)``,
else SELL at ``bid_px`` when ``ask_qty * den > num * (bid_qty + ask_qty)``; IOC.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..book.layouts import TopOfBook
from .layouts import Intent, OrderKind, Side, StrategyParams, Tif
from .multiply import MULTIPLY_LATENCY, PipelinedMultiplier

__all__ = ["ImbalanceTaker", "TAKER_LATENCY", "both_sides", "spread_ok"]

#: cycles from stable inputs to a valid ``intent``: the products, then their compares
TAKER_LATENCY = MULTIPLY_LATENCY + 1
assert TAKER_LATENCY >= 3  # the arming: input copies, sums, compares


def both_sides(tob):
    """Both sides known (``*_exact``) and non-empty."""
    return tob.bid_exact & tob.ask_exact & tob.bid_qty.any() & tob.ask_qty.any()


def spread_ok(tob, max_spread):
    """``ask_px - bid_px <= max_spread``, without a subtraction that could go negative."""
    return tob.ask_px <= tob.bid_px + max_spread


class ImbalanceTaker(wiring.Component):
    """The taker's decision for the record on ``tob``.

    Inputs must stay stable for :data:`TAKER_LATENCY` cycles; ``intent`` is
    then valid (``intent.valid`` low: no order). ``fired``/``last_trigger_ts``
    are the slot's cooldown state. The parameters and the cooldown state come
    from registers loaded straight from block RAM, so the first cycle only
    copies them (and the multiplier operands); the arming sums follow in the
    second cycle and their compares in the third. The three products are
    pipelined (:class:`PipelinedMultiplier`) and their 72-bit compares
    registered in a cycle of their own; ``total`` must be the registered
    ``bid_qty + ask_qty``.
    """

    tob: In(TopOfBook)
    params: In(StrategyParams)
    total: In(57)
    fired: In(1)
    last_trigger_ts: In(48)
    intent: Out(Intent)

    def elaborate(self, platform):
        m = Module()
        t = self.tob
        # cycle 1: copies of the block-RAM-fed inputs
        p, fired, last_trigger_ts = Signal(StrategyParams), Signal(), Signal(48)
        m.d.sync += [p.eq(self.params), fired.eq(self.fired),
                     last_trigger_ts.eq(self.last_trigger_ts)]
        m.submodules.bid_den = bid_den = PipelinedMultiplier(56, 16)
        m.submodules.ask_den = ask_den = PipelinedMultiplier(56, 16)
        m.submodules.num_total = num_total = PipelinedMultiplier(57, 16)
        # the multipliers copy their operands themselves
        m.d.comb += [bid_den.a.eq(t.bid_qty), bid_den.b.eq(self.params.den),
                     ask_den.a.eq(t.ask_qty), ask_den.b.eq(self.params.den),
                     num_total.a.eq(self.total), num_total.b.eq(self.params.num)]
        # while the products are computed: the sums in the second cycle, the compares in the
        # third (one carry chain per cycle)
        cooldown_end = Signal(49)
        spread_limit = Signal(33)
        m.d.sync += [cooldown_end.eq(last_trigger_ts + p.cooldown_ns),
                     spread_limit.eq(t.bid_px + p.taker_max_spread)]
        armed = Signal()
        m.d.sync += armed.eq(p.taker_enabled & both_sides(t) & (t.ask_px <= spread_limit)
                             & (~fired | (t.ts >= cooldown_end)))
        buy, sell = Signal(), Signal()
        m.d.sync += [buy.eq(bid_den.product > num_total.product),
                     sell.eq(ask_den.product > num_total.product)]
        i = self.intent
        m.d.comb += [i.kind.eq(OrderKind.ENTER), i.tif.eq(Tif.IOC), i.quoter.eq(0),
                     i.shares.eq(p.taker_size), i.valid.eq(armed & (buy | sell))]
        with m.If(buy):
            m.d.comb += [i.side.eq(Side.BUY), i.price.eq(t.ask_px)]
        with m.Else():
            m.d.comb += [i.side.eq(Side.SELL), i.price.eq(t.bid_px)]
        return m
