"""Inline pre-trade risk: every order passes it, first failure wins (docs/strategy.md).

Composes the rules of :mod:`.rules` and keeps the global risk state: the
tripped kill switch, the gross open notional, the rate window, the next
order token and the counters (:data:`~.layouts.COUNTERS`).

The check is a fixed pipeline of :data:`RISK_LATENCY` cycles, one carry
chain per cycle (ECP5 at 156.25 MHz): sums and differences first, the
products (two pipelined 32×32 multipliers, :data:`~.rules.PRODUCT_STAGE`
cycles in), each rule's fail bit registered, then the first-failure priority into
``reason``.
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..strategy.layouts import Intent, OrderKind, QuoteState, SymbolState
from ..strategy.multiply import PipelinedMultiplier
from .layouts import COUNTER_WIDTH, COUNTERS, REASON_NAMES, Reason, RiskGlobal, RiskParams
from .rules import PRODUCT_STAGE, RULE_STAGE, RULES, RuleContext

__all__ = ["InlineRisk", "RISK_LATENCY", "GROSS_WIDTH", "TOKEN_WIDTH"]

#: cycles from ``start`` (operands stable) to ``done``: the last rule's inputs are ready
#: one cycle after the products, its fail bit is registered, then the priority is registered
RISK_LATENCY = max(RULE_STAGE.values()) + 2
GROSS_WIDTH = 72
TOKEN_WIDTH = 32
assert max(RULE_STAGE.values()) == PRODUCT_STAGE + 1


def _signed(value):
    """``value`` (unsigned) as a signed value one bit wider: differences keep their sign."""
    return Cat(value, 0).as_signed()


class InlineRisk(wiring.Component):
    """Checks the order on ``order`` against the slot's ``params`` and ``state``.

    ``own`` is the slot's resting quote on the order's side (from a register:
    it feeds a multiplier). Protocol: the caller holds ``order``/``own``/
    ``params``/``state``/``mid``/``ts``
    stable from the cycle it raises ``start`` (one cycle) until it pulses
    ``commit``; ``done`` rises :data:`RISK_LATENCY` cycles after ``start``
    with ``reason`` (``Reason.SENT`` or the first failure) and, for a sent
    Enter/Replace, ``token``. ``commit`` moves the state (gross notional,
    rate window, token, counters). ``gap`` trips the kill switch when
    ``glob.kill_on_gap``; ``clear_trip`` clears it.
    """

    order: In(Intent)
    own: In(QuoteState)
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
        o, st, p, g, own = self.order, self.state, self.params, self.glob, self.own

        m.submodules.new = new = PipelinedMultiplier(32, 32, input_registers=False)
        m.submodules.old = old = PipelinedMultiplier(32, 32, input_registers=False)
        assert new.latency == PRODUCT_STAGE
        m.d.comb += [new.a.eq(o.price), new.b.eq(o.shares), old.a.eq(own.price),
                     old.b.eq(own.shares)]

        gross = Signal(GROSS_WIDTH)
        window_open, window_end = Signal(), Signal(49)
        window_count = Signal(16)
        next_token = Signal(TOKEN_WIDTH, init=1)

        # stage 0 → 1: sums and differences of the operands
        load = Signal(34)           # open shares of the side (not a replaced order) + shares
        distance = Signal(33)
        headroom = Signal(signed(GROSS_WIDTH + 2))   # max_gross - gross
        new_window = Signal()
        early = {r: Signal(name=f"fail_{REASON_NAMES[r]}") for r in RULE_STAGE}
        open_shares = Mux(own.live & (o.kind != OrderKind.REPLACE), own.shares, 0)
        m.d.sync += [
            load.eq(open_shares + o.shares),
            distance.eq(Mux(o.price >= self.mid, o.price - self.mid, self.mid - o.price)),
            headroom.eq(_signed(g.max_gross_notional) - _signed(gross)),
            new_window.eq(~window_open | (self.ts >= window_end)),
        ]
        # stage 1 → 2
        slack_buy = Signal(signed(42))
        slack_sell = Signal(signed(42))
        m.d.sync += [slack_buy.eq(_signed(p.max_position) - _signed(load)),
                     slack_sell.eq(_signed(load) - _signed(p.max_position))]
        # products ready (PRODUCT_STAGE) → the room and the gross without the old order
        room = Signal(signed(GROSS_WIDTH + 3))
        gross_base = Signal(GROSS_WIDTH)
        m.d.sync += [room.eq(headroom + Mux(o.kind == OrderKind.REPLACE, old.product, 0)),
                     gross_base.eq(gross - Mux(own.live, old.product, 0))]
        # then the gross after this order, should it be sent (a quoter order)
        gross_next = Signal(GROSS_WIDTH)
        m.d.sync += gross_next.eq(gross_base + Mux(o.kind == OrderKind.CANCEL, 0, new.product))

        ctx = RuleContext(
            params=p, glob=g, state=st, killed=g.kill | self.tripped, distance=distance,
            notional=new.product, slack_buy=slack_buy, slack_sell=slack_sell, room=room,
            new_window=new_window, window_count=window_count)
        for r, rule in RULES:
            m.d.sync += early[r].eq(rule(o, ctx))

        # the verdict: first failure, registered; Cancels always pass
        reason = Signal(Reason)
        m.d.comb += reason.eq(Reason.SENT)
        with m.If(o.kind != OrderKind.CANCEL):
            for r, _ in reversed(RULES):
                with m.If(early[r]):
                    m.d.comb += reason.eq(r)
        m.d.sync += self.reason.eq(reason)
        # what a commit moves, registered with the verdict (the commit strobe then enables
        # the state registers through one gate): a new token and a rate slot, the gross
        takes_token, moves_gross = Signal(), Signal()
        m.d.sync += [takes_token.eq((reason == Reason.SENT) & (o.kind != OrderKind.CANCEL)),
                     moves_gross.eq((reason == Reason.SENT) & o.quoter)]
        busy = Signal(RISK_LATENCY)
        m.d.sync += busy.eq(Cat(self.start, busy[:-1]))
        m.d.comb += [self.done.eq(busy[-1]), self.token.eq(next_token)]

        # state moves when the decision has left
        counters = self.counters
        with m.If(self.commit):
            for r, name in REASON_NAMES.items():
                with m.If(self.reason == r):
                    i = COUNTERS.index(name)
                    m.d.sync += counters[i].eq(counters[i] + 1)
            with m.If(takes_token):
                m.d.sync += next_token.eq(next_token + 1)
                with m.If(new_window):
                    m.d.sync += [window_open.eq(1), window_end.eq(self.ts + g.rate_window_ns),
                                 window_count.eq(1)]
                with m.Else():
                    m.d.sync += window_count.eq(window_count + 1)
            with m.If(moves_gross):
                m.d.sync += gross.eq(gross_next)

        with m.If(self.clear_trip):
            m.d.sync += self.tripped.eq(0)
        with m.Elif(self.gap & g.kill_on_gap & ~self.tripped):
            kills = COUNTERS.index("kill_trips")
            m.d.sync += [self.tripped.eq(1), counters[kills].eq(counters[kills] + 1)]
        return m
