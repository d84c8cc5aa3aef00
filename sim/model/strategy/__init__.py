"""Bit-exact model of the gateware strategy and decision path (docs/strategy.md)."""
