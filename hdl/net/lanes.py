"""Byte-lane helpers for the 64-bit datapath (``hdl/layouts.py``: lane 0 first)."""

from amaranth.hdl import Cat

from ..layouts import BYTES_PER_BEAT

__all__ = ["keep_of"]


def keep_of(nbytes):
    """``keep`` with lanes ``0 .. nbytes-1`` set (``nbytes`` in 0..8, a value or int)."""
    if isinstance(nbytes, int):
        return (1 << nbytes) - 1
    # a thermometer code: one small comparison per lane, no carry chain
    return Cat(*(nbytes > lane for lane in range(BYTES_PER_BEAT)))
