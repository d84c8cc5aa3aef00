"""Inline pre-trade risk: every order passes it, first failure wins (docs/strategy.md).

Composes the rules of :mod:`.rules` and keeps the global risk state: the
tripped kill switch, the gross open notional, the rate window, the next
order token and the counters (:data:`~.layouts.COUNTERS`).
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..strategy.layouts import Intent, OrderKind, Side, SymbolState
from ..strategy.multiply import MULTIPLY_LATENCY, PipelinedMultiplier
from .layouts import COUNTER_WIDTH, COUNTERS, REASON_NAMES, Reason, RiskGlobal, RiskParams
from .rules import RULES, RuleContext

__all__ = ["InlineRisk", "RISK_LATENCY", "GROSS_WIDTH", "TOKEN_WIDTH"]

#: cycles from ``start`` (operands stable) to ``done``
RISK_LATENCY = MULTIPLY_LATENCY + 1
GROSS_WIDTH = 72
TOKEN_WIDTH = 32


class InlineRisk(wiring.Component):
    """Checks the order on ``order`` against the slot's ``params`` and ``state``.

    Protocol: the caller holds ``order``/``params``/``state``/``mid``/``ts``
    stable from the cycle it raises ``start`` (one cycle); ``done`` rises
    :data:`RISK_LATENCY` cycles later with ``reason`` (``Reason.SENT`` or the
    first failure) and, for a sent Enter/Replace, ``token``. The caller pulses
    ``commit`` when the decision has left; the state moves then (gross
    notional, rate window, token, counters). ``gap`` trips the kill switch when
    ``glob.kill_on_gap``; ``clear_trip`` clears it.
    """

    order: In(Intent)
    params: In(RiskParams)
    state: In(SymbolState)
    glob: In(RiskGlobal)
    mid: In(32)
    ts: In(48)
    start: In(1)
    done: Out(1)
    reason: Out(Reason)
    token: Out(TOKEN_WIDTH)
    commit: In(1)
    gap: In(1)
    clear_trip: In(1)
    tripped: Out(1)
    counters: Out(data.ArrayLayout(COUNTER_WIDTH, len(COUNTERS)))

    def elaborate(self, platform):
        m = Module()
        o, st = self.order, self.state
        own = Signal(st.buy.shape())
        m.d.comb += own.eq(Mux(o.side == Side.BUY, st.buy, st.sell))

        m.submodules.new = new = PipelinedMultiplier(32, 32)
        m.submodules.old = old = PipelinedMultiplier(32, 32)
        m.d.comb += [new.a.eq(o.price), new.b.eq(o.shares), old.a.eq(own.price),
                     old.b.eq(own.shares)]

        gross = Signal(GROSS_WIDTH)
        window_open, window_start = Signal(), Signal(48)
        window_count = Signal(16)
        next_token = Signal(TOKEN_WIDTH, init=1)
        new_window = Signal()
        m.d.comb += new_window.eq(~window_open
                                  | (self.ts >= window_start + self.glob.rate_window_ns))

        ctx = RuleContext(
            params=self.params, glob=self.glob, state=st, mid=self.mid,
            killed=self.glob.kill | self.tripped, gross=gross, notional=new.product,
            replaced=Mux(o.kind == OrderKind.REPLACE, old.product, 0),
            new_window=new_window, window_count=window_count)

        # the verdict, registered when the products are ready
        busy = Signal(RISK_LATENCY)
        m.d.sync += busy.eq(Cat(self.start, busy[:-1]))
        m.d.comb += self.done.eq(busy[-1])
        reason = Signal(Reason)
        with m.If(o.kind == OrderKind.CANCEL):
            m.d.comb += reason.eq(Reason.SENT)
        with m.Else():
            m.d.comb += reason.eq(Reason.SENT)
            for r, rule in reversed(RULES):
                with m.If(rule(o, ctx)):
                    m.d.comb += reason.eq(r)
        with m.If(busy[-2]):
            m.d.sync += self.reason.eq(reason)
        m.d.comb += self.token.eq(next_token)

        # state moves when the decision has left
        sent = self.reason == Reason.SENT
        counters = self.counters
        with m.If(self.commit):
            for r, name in REASON_NAMES.items():
                with m.If(self.reason == r):
                    i = COUNTERS.index(name)
                    m.d.sync += counters[i].eq(counters[i] + 1)
            with m.If(sent & (o.kind != OrderKind.CANCEL)):
                m.d.sync += next_token.eq(next_token + 1)
                with m.If(new_window):
                    m.d.sync += [window_open.eq(1), window_start.eq(self.ts),
                                 window_count.eq(1)]
                with m.Else():
                    m.d.sync += window_count.eq(window_count + 1)
            with m.If(sent & o.quoter):
                was = Mux(own.live, old.product, 0)
                now = Mux(o.kind == OrderKind.CANCEL, 0, new.product)
                m.d.sync += gross.eq(gross - was + now)

        with m.If(self.clear_trip):
            m.d.sync += self.tripped.eq(0)
        with m.Elif(self.gap & self.glob.kill_on_gap & ~self.tripped):
            kills = COUNTERS.index("kill_trips")
            m.d.sync += [self.tripped.eq(1), counters[kills].eq(counters[kills] + 1)]
        return m

