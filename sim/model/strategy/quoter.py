"""Quoter, in Python (docs/strategy.md, "Quoter")."""

from __future__ import annotations

from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif

from .intent import BOTH_SIDES, Intent, SymbolState
from .taker import both_sides, spread_ok

__all__ = ["quoter_intents", "quote_target"]

_PRICE_LIMIT = 1 << 32


def quote_target(tob, p, side: Side) -> int | None:
    """``bid_px - offset`` / ``ask_px + offset``; None when that leaves 1 .. 2**32-1."""
    if side == Side.BUY:
        return tob.bid_px - p.offset if tob.bid_px > p.offset else None
    target = tob.ask_px + p.offset
    return target if target < _PRICE_LIMIT else None


def quoter_intents(tob, p, state: SymbolState, kill: bool) -> list[Intent]:
    """The quoter's orders for this record: buy side first, then sell."""
    if not p.quoter_enabled:
        return []
    quoting = both_sides(tob) and spread_ok(tob, p.quoter_max_spread) and not kill
    intents = []
    for side in BOTH_SIDES:
        q = state.quote(side)
        target = quote_target(tob, p, side) if quoting else None
        if target is None:
            if q.live:
                intents.append(Intent(OrderKind.CANCEL, side, Tif.DAY, q.price, 0, quoter=True))
        elif not q.live:
            intents.append(Intent(OrderKind.ENTER, side, Tif.DAY, target, p.quoter_size, True))
        elif abs(target - q.price) >= p.requote:
            intents.append(Intent(OrderKind.REPLACE, side, Tif.DAY, target, p.quoter_size, True))
    return intents
