"""Model of :class:`tick2trade.hdl.order.OuchEncoder`, built on the proto message classes.

Independent of the gateware's template: it encodes each message with
:mod:`tick2trade.proto.ouch42` / ``ouch50`` (OUCH 4.2 §3.1–§3.3, OUCH 5.0
§4.1) and frames it as a SoupBinTCP §2.8 Unsequenced Data packet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tick2trade.hdl.order.template import OuchTemplate, token_text
from tick2trade.hdl.risk.layouts import Reason
from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif
from tick2trade.proto import soupbintcp

__all__ = ["OuchEncoderModel", "Request"]


@dataclass(frozen=True)
class Request:
    """The values of one :class:`~tick2trade.hdl.strategy.layouts.OrderRequest`."""

    kind: OrderKind = OrderKind.ENTER
    side: Side = Side.BUY
    tif: Tif = Tif.IOC
    reason: Reason = Reason.SENT
    slot: int = 0
    locate: int = 0
    price: int = 0
    shares: int = 0
    token: int = 0
    orig_token: int = 0
    trigger_ts: int = 0
    trigger_seq: int = 0
    trigger_hw_ts: int = 0
    stamp_tob: int = 0
    stamp_strategy: int = 0
    stamp_risk: int = 0

    def payload(self) -> dict:
        """As a value for ``ctx.set`` on an ``OrderRequest`` stream payload."""
        return asdict(self)


class OuchEncoderModel:
    """Request → SoupBinTCP packet bytes (``None`` for a reject), with the symbol table."""

    def __init__(self, template: OuchTemplate | None = None, ref_base: int = 0):
        self.template = template or OuchTemplate()
        self.ref_base = ref_base
        self.symbols: dict[int, str] = {}
        self.sent = 0
        self.rejected = 0

    def set_symbol(self, slot: int, symbol: str) -> None:
        self.symbols[slot] = symbol

    def number(self, token: int) -> int:
        return (self.ref_base + token) & 0xFFFF_FFFF

    def encode(self, req: Request) -> bytes | None:
        if Reason(req.reason) is not Reason.SENT:
            self.rejected += 1
            return None
        self.sent += 1
        t = self.template
        cls = t.classes[OrderKind(req.kind)]
        tif = t.tif_code(Tif(req.tif).value)
        side = chr(Side(req.side).value)
        num, orig = self.number(req.token), self.number(req.orig_token)
        text, orig_text = token_text(t.token_prefix, num), token_text(t.token_prefix, orig)
        symbol = self.symbols.get(req.slot, "")
        kind = OrderKind(req.kind)
        if t.version == "4.2":
            if kind is OrderKind.ENTER:
                msg = cls(order_token=text, side=side, shares=req.shares, stock=symbol,
                          price=req.price, time_in_force=tif, firm=t.firm, display=t.display,
                          capacity=t.capacity, intermarket_sweep=t.intermarket_sweep,
                          minimum_quantity=0, cross_type=t.cross_type,
                          customer_type=t.customer_type)
            elif kind is OrderKind.REPLACE:
                msg = cls(existing_order_token=orig_text, replacement_order_token=text,
                          shares=req.shares, price=req.price, time_in_force=tif,
                          display=t.display, intermarket_sweep=t.intermarket_sweep,
                          minimum_quantity=0)
            else:
                msg = cls(order_token=text, shares=req.shares)
        elif kind is OrderKind.ENTER:
            msg = cls(user_ref_num=num, side=side, quantity=req.shares, symbol=symbol,
                      price=req.price, time_in_force=chr(tif), display=t.display,
                      capacity=t.capacity, intermarket_sweep=t.intermarket_sweep,
                      cross_type=t.cross_type, cl_ord_id=text)
        elif kind is OrderKind.REPLACE:
            msg = cls(orig_user_ref_num=orig, user_ref_num=num, quantity=req.shares,
                      price=req.price, time_in_force=chr(tif), display=t.display,
                      intermarket_sweep=t.intermarket_sweep, cl_ord_id=text)
        else:
            msg = cls(user_ref_num=num, quantity=req.shares)
        return soupbintcp.UnsequencedData(msg.encode()).encode()
