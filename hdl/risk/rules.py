"""The inline risk rules, one function each, in check order (docs/strategy.md, "Inline risk").

Each function returns the 1-bit "this Enter/Replace fails the rule" from the
checked order ``o`` (:class:`~tick2trade.hdl.strategy.layouts.Intent`) and
the context ``c`` (:class:`RuleContext`) the risk block builds; the
products come from its pipelined multipliers. Cancels are never checked.
"""

from dataclasses import dataclass

from amaranth.hdl import Mux, Value

from ..strategy.layouts import OrderKind, Side
from .layouts import Reason

__all__ = ["RuleContext", "RULES"]


@dataclass
class RuleContext:
    """Values the rules read: the slot's limits and state, the globals, and products."""

    params: Value          # RiskParams of the slot
    glob: Value            # RiskGlobal
    state: Value           # SymbolState of the slot
    mid: Value             # (bid_px + ask_px) // 2 of the triggering record
    killed: Value          # host kill switch or tripped latch
    gross: Value           # price × shares over all resting orders
    notional: Value        # price × shares of the order
    replaced: Value        # price × shares of the order a Replace replaces (else 0)
    new_window: Value      # the order would open a new rate window
    window_count: Value    # orders sent in the current rate window


def kill(o, c):
    return c.killed


def disabled(o, c):
    return ~c.params.enabled


def max_shares(o, c):
    return o.shares > c.params.max_order_shares


def fat_finger(o, c):
    distance = Mux(o.price >= c.mid, o.price - c.mid, c.mid - o.price)
    return distance > c.params.fat_finger_band


def max_notional(o, c):
    return c.notional > c.params.max_order_notional


def position(o, c):
    held = Mux(o.side == Side.BUY, c.state.position, -c.state.position)
    q_live = Mux(o.side == Side.BUY, c.state.buy.live, c.state.sell.live)
    q_shares = Mux(o.side == Side.BUY, c.state.buy.shares, c.state.sell.shares)
    open_shares = Mux(q_live & (o.kind != OrderKind.REPLACE), q_shares, 0)
    return (held + open_shares + o.shares) > c.params.max_position


def gross_notional(o, c):
    return (c.gross - c.replaced + c.notional) > c.glob.max_gross_notional


def rate(o, c):
    return Mux(c.new_window, 0, c.window_count) >= c.glob.rate_orders


def self_trade(o, c):
    buy, sell = c.state.buy, c.state.sell
    return Mux(o.side == Side.BUY, sell.live & (o.price >= sell.price),
               buy.live & (o.price <= buy.price))


#: (reason, rule) in check order; the model's ``sim/model/risk/rules.py`` has the same list
RULES = (
    (Reason.KILL, kill), (Reason.DISABLED, disabled), (Reason.MAX_SHARES, max_shares),
    (Reason.FAT_FINGER, fat_finger), (Reason.MAX_NOTIONAL, max_notional),
    (Reason.POSITION, position), (Reason.GROSS_NOTIONAL, gross_notional), (Reason.RATE, rate),
    (Reason.SELF_TRADE, self_trade),
)
assert [r.value for r, _ in RULES] == list(range(1, len(Reason)))
