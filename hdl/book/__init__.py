"""Gateware order book: order table, price levels, top of book (ITCH 5.0 §5)."""

from .book import Book
from .layouts import COUNTERS, BookParams, TopOfBook
from .levels import PriceLevels
from .order_table import OrderTable

__all__ = ["Book", "BookParams", "COUNTERS", "OrderTable", "PriceLevels", "TopOfBook"]
