"""The inline risk rules, one function each, in check order (docs/strategy.md, "Inline risk").

Each rule answers "does this order fail me?" for an Enter or Replace;
Cancels are never checked. First failure wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from tick2trade.hdl.risk.layouts import Reason
from tick2trade.hdl.strategy.layouts import OrderKind, Side

from ..strategy.intent import Intent, SymbolState

__all__ = ["Context", "RULES", "first_failure", "open_shares", "notional"]


@dataclass(frozen=True)
class Context:
    """What the rules see besides the order: limits, the symbol's state and the globals."""

    params: object          # the slot's risk row (RiskParams fields)
    state: SymbolState
    mid: int                # (bid_px + ask_px) // 2 of the triggering record
    ts: int                 # ITCH time of the triggering record
    killed: bool            # host kill switch or tripped latch
    gross: int              # price × shares summed over open (resting) orders
    max_gross_notional: int
    rate_orders: int
    rate_window_ns: int
    window_open: bool       # a rate window started ...
    window_end: int         # ... and ends at this ITCH time (its start + rate_window_ns)
    window_count: int       # orders sent in it


def notional(price: int, shares: int) -> int:
    return price * shares


def open_shares(i: Intent, s: SymbolState) -> int:
    """Resting shares on the order's side, without the order a Replace replaces."""
    q = s.quote(i.side)
    return q.shares if q.live and i.kind != OrderKind.REPLACE else 0


def replaced_notional(i: Intent, s: SymbolState) -> int:
    q = s.quote(i.side)
    return notional(q.price, q.shares) if i.kind == OrderKind.REPLACE else 0


def new_window(c: Context) -> bool:
    """The order opens a new rate window (none yet, or the last one is over)."""
    return not c.window_open or c.ts >= c.window_end


def kill(i, c):
    return c.killed


def disabled(i, c):
    return not c.params.enabled


def max_shares(i, c):
    return i.shares > c.params.max_order_shares


def fat_finger(i, c):
    return abs(i.price - c.mid) > c.params.fat_finger_band


def max_notional(i, c):
    return notional(i.price, i.shares) > c.params.max_order_notional


def position(i, c):
    held = c.state.position if i.side == Side.BUY else -c.state.position
    return held + open_shares(i, c.state) + i.shares > c.params.max_position


def gross_notional(i, c):
    gross = c.gross - replaced_notional(i, c.state) + notional(i.price, i.shares)
    return gross > c.max_gross_notional


def rate(i, c):
    count = 0 if new_window(c) else c.window_count
    return count >= c.rate_orders


def self_trade(i, c):
    other = c.state.sell if i.side == Side.BUY else c.state.buy
    if not other.live:
        return False
    return i.price >= other.price if i.side == Side.BUY else i.price <= other.price


#: (reason, rule) in check order
RULES = (
    (Reason.KILL, kill), (Reason.DISABLED, disabled), (Reason.MAX_SHARES, max_shares),
    (Reason.FAT_FINGER, fat_finger), (Reason.MAX_NOTIONAL, max_notional),
    (Reason.POSITION, position), (Reason.GROSS_NOTIONAL, gross_notional), (Reason.RATE, rate),
    (Reason.SELF_TRADE, self_trade),
)
assert [r.value for r, _ in RULES] == list(range(1, len(Reason)))


def first_failure(i: Intent, c: Context) -> Reason:
    """The first rule the order fails, or ``Reason.SENT``; Cancels always pass."""
    if i.kind == OrderKind.CANCEL:
        return Reason.SENT
    for reason, rule in RULES:
        if rule(i, c):
            return reason
    return Reason.SENT
