"""Gateware strategy: imbalance taker and quoter (docs/strategy.md)."""
