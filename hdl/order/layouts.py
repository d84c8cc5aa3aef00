"""Encoder-side layouts: the per-symbol row it reads and the report of every request."""

from amaranth.lib import data, stream

from ..layouts import TIMESTAMP_WIDTH
from ..strategy.layouts import OrderRequest

__all__ = ["SymbolRow", "OrderReport", "report_stream"]


class SymbolRow(data.Struct):
    """Row of table ``symbols`` (one per symbol slot), written by the host.

    ``symbol`` is the Stock Directory name (ITCH 5.0 §1.2.1 Stock, OUCH 4.2
    Stock / OUCH 5.0 Symbol), 8 ASCII bytes right-padded with spaces, first
    character in bits 0–7 (wire order). The host learns it from the feed's
    ``R`` records and writes it with the subscription, so the hot path never
    waits on the directory.
    """

    symbol: 64


class OrderReport(data.Struct):
    """One request the encoder consumed, for the event channel.

    Sent orders are reported when their first payload byte leaves
    (``stamp_encoder`` is then), rejects when accepted. ``number`` is the
    wire order number (``ref_base + token``).
    """

    request: OrderRequest
    number: 32
    stamp_encoder: TIMESTAMP_WIDTH


def report_stream():
    return stream.Signature(OrderReport, always_ready=True)
