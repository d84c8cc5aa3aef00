"""Bit-exact model of the gateware inline risk check (docs/strategy.md, "Inline risk")."""
