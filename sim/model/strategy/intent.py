"""An order the strategy wants, before the risk check (docs/strategy.md)."""

from __future__ import annotations

from dataclasses import dataclass

from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif

__all__ = ["Intent", "Quote", "SymbolState", "BOTH_SIDES"]

BOTH_SIDES = (Side.BUY, Side.SELL)


@dataclass(frozen=True)
class Intent:
    """``kind``/``side``/``tif``/``price``/``shares`` of one order; ``quote`` names the
    quoter order it enters, replaces or cancels (None for the taker)."""

    kind: OrderKind
    side: Side
    tif: Tif
    price: int
    shares: int
    quoter: bool


@dataclass
class Quote:
    """One resting quoter order (:class:`~tick2trade.hdl.strategy.layouts.QuoteState`)."""

    live: int = 0
    token: int = 0
    price: int = 0
    shares: int = 0


@dataclass
class SymbolState:
    """Per-slot decision state (:class:`~tick2trade.hdl.strategy.layouts.SymbolState`)."""

    fired: int = 0
    last_trigger_ts: int = 0
    buy: Quote = None
    sell: Quote = None
    position: int = 0

    def __post_init__(self):
        self.buy = self.buy or Quote()
        self.sell = self.sell or Quote()

    def quote(self, side: Side) -> Quote:
        return self.buy if side == Side.BUY else self.sell
