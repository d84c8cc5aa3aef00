"""Gateware order book: order table, price levels, top of book (ITCH 5.0 §5)."""
