"""Gateware inline pre-trade risk (docs/strategy.md, "Inline risk")."""
