"""Imbalance taker, in Python (docs/strategy.md, "Imbalance taker")."""

from __future__ import annotations

from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif

from .intent import Intent, SymbolState

__all__ = ["taker_intent", "both_sides", "spread_ok"]


def both_sides(tob) -> bool:
    """Both sides known (``*_exact``) and non-empty."""
    return bool(tob.bid_exact and tob.ask_exact and tob.bid_qty and tob.ask_qty)


def spread_ok(tob, max_spread: int) -> bool:
    """``ask_px - bid_px <= max_spread`` (a crossed book has a negative spread)."""
    return tob.ask_px - tob.bid_px <= max_spread


def taker_intent(tob, p, state: SymbolState) -> Intent | None:
    """The taker's IOC order for this record, if any; records the trigger in ``state``."""
    if not (p.taker_enabled and both_sides(tob) and spread_ok(tob, p.taker_max_spread)):
        return None
    if state.fired and tob.ts < state.last_trigger_ts + p.cooldown_ns:
        return None
    total = tob.bid_qty + tob.ask_qty
    if tob.bid_qty * p.den > p.num * total:
        side, price = Side.BUY, tob.ask_px
    elif tob.ask_qty * p.den > p.num * total:
        side, price = Side.SELL, tob.bid_px
    else:
        return None
    state.fired, state.last_trigger_ts = 1, tob.ts
    return Intent(OrderKind.ENTER, side, Tif.IOC, price, p.taker_size, quoter=False)
