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

#: cycles from the products' operand sample (``operands``) to a valid ``intent``: the
#: products, then their compares; the other inputs are presented a cycle after the sample
TAKER_LATENCY = MULTIPLY_LATENCY + 1
assert TAKER_LATENCY - 1 >= 2  # the arming: sums, then compares


def both_sides(tob):
    """Both sides known (``*_exact``) and non-empty."""
    return tob.bid_exact & tob.ask_exact & tob.bid_qty.any() & tob.ask_qty.any()


def spread_ok(tob, max_spread):
    """``ask_px - bid_px <= max_spread``, without a subtraction that could go negative."""
    return tob.ask_px <= tob.bid_px + max_spread


class ImbalanceTaker(wiring.Component):
    """The taker's decision for the record on ``tob``.

    The three products (:class:`PipelinedMultiplier`, their 72-bit compares
    registered in a cycle of their own) start a cycle ahead of the rest:
    their operand registers sample ``tob``, ``total`` (the registered
    ``bid_qty + ask_qty``) and the ``den``/``num`` of ``operands`` (the
    slot's row as it arrives from block RAM) in cycle 0, while the working
    registers load. From cycle 1 the other inputs (``params``, ``fired``/
    ``last_trigger_ts``: the slot's cooldown state) must stay stable;
    ``intent`` is valid :data:`TAKER_LATENCY` cycles after the sample
    (``intent.valid`` low: no order). The arming sums take cycle 1, their
    compares cycle 2 (one carry chain per cycle).
    """

    tob: In(TopOfBook)
    params: In(StrategyParams)
    operands: In(StrategyParams)
    total: In(57)
    fired: In(1)
    last_trigger_ts: In(48)
    intent: Out(Intent)

    def elaborate(self, platform):
        m = Module()
        t, p = self.tob, self.params
        m.submodules.bid_den = bid_den = PipelinedMultiplier(56, 16)
        m.submodules.ask_den = ask_den = PipelinedMultiplier(56, 16)
        m.submodules.num_total = num_total = PipelinedMultiplier(57, 16)
        # the multipliers register their operands themselves (cycle 0)
        q = self.operands
        m.d.comb += [bid_den.a.eq(t.bid_qty), bid_den.b.eq(q.den),
                     ask_den.a.eq(t.ask_qty), ask_den.b.eq(q.den),
                     num_total.a.eq(self.total), num_total.b.eq(q.num)]
        # while the products are computed: the sums in cycle 1, the compares in cycle 2
        cooldown_end = Signal(49)
        spread_limit = Signal(33)
        m.d.sync += [cooldown_end.eq(self.last_trigger_ts + p.cooldown_ns),
                     spread_limit.eq(t.bid_px + p.taker_max_spread)]
        armed = Signal()
        m.d.sync += armed.eq(p.taker_enabled & both_sides(t) & (t.ask_px <= spread_limit)
                             & (~self.fired | (t.ts >= cooldown_end)))
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
