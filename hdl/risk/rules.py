"""The inline risk rules, one function each, in check order (docs/strategy.md, "Inline risk").

Each function returns the 1-bit "this Enter/Replace fails the rule" from the
checked order ``o`` (:class:`~tick2trade.hdl.strategy.layouts.Intent`) and
the values ``c`` (:class:`RuleContext`) that :class:`~tick2trade.hdl.risk.risk.InlineRisk`
prepares over its pipeline, so that every rule is one compare in one cycle.
Cancels are never checked.
"""

from dataclasses import dataclass

from amaranth.hdl import Mux, Value

from ..strategy.layouts import Side
from ..strategy.multiply import multiply_latency
from .layouts import Reason

__all__ = ["RuleContext", "RULES"]


@dataclass
class RuleContext:
    """Values the rules read (each a register of the risk pipeline, or a port)."""

    params: Value          # RiskParams of the slot
    glob: Value            # RiskGlobal
    state: Value           # SymbolState of the slot
    killed: Value          # host kill switch or tripped latch
    distance: Value        # abs(price - mid), mid = (bid_px + ask_px) // 2 of the record
    notional: Value        # price × shares of the order
    slack_buy: Value       # max_position - (open shares of the side + shares), signed
    slack_sell: Value      # (open shares of the side + shares) - max_position, signed
    room: Value            # max_gross_notional - gross + replaced notional, signed
    new_window: Value      # the order would open a new rate window
    window_count: Value    # orders sent in the current rate window


def kill(o, c):
    return c.killed


def disabled(o, c):
    return ~c.params.enabled


def max_shares(o, c):
    return o.shares > c.params.max_order_shares


def fat_finger(o, c):
    return c.distance > c.params.fat_finger_band


def max_notional(o, c):
    return c.notional > c.params.max_order_notional


def position(o, c):
    """BUY: ``position + open + shares > max`` ⇔ ``position > slack_buy``; SELL mirrored."""
    return Mux(o.side == Side.BUY, c.state.position > c.slack_buy,
               c.state.position < c.slack_sell)


def gross_notional(o, c):
    """``gross - replaced + notional > max_gross`` ⇔ ``notional > room``."""
    return c.notional > c.room


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

#: cycles to the risk check's products (price × shares of the order and of the replaced
#: one): their operands are the checked order's registers, straight into the DSPs
PRODUCT_STAGE = multiply_latency(input_registers=False)

#: the stage (cycles after the order is presented) at which each rule's inputs are ready:
#: the notional is a product, the room under the gross limit a sum of a product
RULE_STAGE = {Reason.KILL: 0, Reason.DISABLED: 0, Reason.MAX_SHARES: 0, Reason.SELF_TRADE: 0,
              Reason.FAT_FINGER: 1, Reason.RATE: 1, Reason.POSITION: 2,
              Reason.MAX_NOTIONAL: PRODUCT_STAGE, Reason.GROSS_NOTIONAL: PRODUCT_STAGE + 1}
