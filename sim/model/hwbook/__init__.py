"""Bit-exact model of the gateware order book (``hdl/book``)."""

from .model import HwBookModel, SideState, TobRecord

__all__ = ["HwBookModel", "SideState", "TobRecord"]
