"""Order requests read out of FIX application messages.

:func:`read_request` runs on QuickFIX's thread and copies the fields the
venue needs into a frozen dataclass (QuickFIX's message object does not
outlive the callback), reading the message text once (``wire.py``); the
values stay text until :func:`to_quantity` and
:func:`to_price` convert them on the venue's loop, where a bad value becomes
an order reject. Messages: NewOrderSingle (35=D), OrderCancelRequest
(35=F) and OrderCancelReplaceRequest (35=G), the same tags in FIX 4.2 and
4.4.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import quickfix as fix

from tick2trade.proto.ouch50 import MAX_PRICE, MAX_QUANTITY

from .profiles.base import UnsupportedMessage
from .wire import first_values

#: engine prices carry 4 implied decimals (OUCH 5.0 §1, ITCH 5.0 §1)
PRICE_SCALE = 10_000


class BadValue(ValueError):
    """A field value the venue cannot trade on (the order is rejected)."""


@dataclass(frozen=True, slots=True)
class NewOrder:
    """NewOrderSingle (35=D)."""

    cl_ord_id: str
    symbol: str
    side: str
    ord_type: str
    order_qty: str | None
    price: str | None
    time_in_force: str | None
    poss_resend: bool


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """OrderCancelRequest (35=F)."""

    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    side: str


@dataclass(frozen=True, slots=True)
class ReplaceOrder:
    """OrderCancelReplaceRequest (35=G)."""

    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    side: str
    ord_type: str
    order_qty: str | None
    price: str | None
    time_in_force: str | None


Request = NewOrder | CancelOrder | ReplaceOrder


def _tag(field_type) -> int:
    return field_type().getTag()


#: tag numbers, taken from QuickFIX's field definitions
MSG_TYPE, POSS_RESEND, CL_ORD_ID, ORIG_CL_ORD_ID, SYMBOL, SIDE = map(
    _tag, (fix.MsgType, fix.PossResend, fix.ClOrdID, fix.OrigClOrdID, fix.Symbol, fix.Side))
ORD_TYPE, ORDER_QTY, PRICE, TIME_IN_FORCE = map(
    _tag, (fix.OrdType, fix.OrderQty, fix.Price, fix.TimeInForce))


def read_request(message: fix.Message) -> Request:
    """The order request in ``message``; :class:`UnsupportedMessage` for other types."""
    values = first_values(message.toString())
    get = values.get
    kind = get(MSG_TYPE)
    if kind == fix.MsgType_NewOrderSingle:
        return NewOrder(get(CL_ORD_ID), get(SYMBOL), get(SIDE), get(ORD_TYPE), get(ORDER_QTY),
                        get(PRICE), get(TIME_IN_FORCE), get(POSS_RESEND) == "Y")
    if kind == fix.MsgType_OrderCancelRequest:
        return CancelOrder(get(CL_ORD_ID), get(ORIG_CL_ORD_ID), get(SYMBOL), get(SIDE))
    if kind == fix.MsgType_OrderCancelReplaceRequest:
        return ReplaceOrder(get(CL_ORD_ID), get(ORIG_CL_ORD_ID), get(SYMBOL), get(SIDE),
                            get(ORD_TYPE), get(ORDER_QTY), get(PRICE), get(TIME_IN_FORCE))
    raise UnsupportedMessage(kind)


def _decimal(text: str | None, what: str) -> Decimal:
    if text is None:
        raise BadValue(f"{what} missing")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadValue(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise BadValue(f"{what} {text!r} is not a number")
    return value


def to_quantity(text: str | None) -> int:
    """OrderQty (38) as whole shares, 1 to 999,999 (the venue's OUCH 5.0 limit)."""
    value = _decimal(text, "OrderQty")
    if value <= 0 or value != value.to_integral_value():
        raise BadValue(f"OrderQty {text} must be a positive whole number of shares")
    if value > MAX_QUANTITY:
        raise BadValue(f"OrderQty {text} is above the venue's {MAX_QUANTITY} shares")
    return int(value)


def to_price(text: str | None) -> int:
    """Price (44) in engine units: positive, at most 4 decimals, up to 199,999.99."""
    value = _decimal(text, "Price") * PRICE_SCALE
    if value <= 0 or value != value.to_integral_value():
        raise BadValue(f"Price {text} must be positive with at most 4 decimals")
    if value > MAX_PRICE:
        raise BadValue(f"Price {text} is above the venue's {format_price(MAX_PRICE)}")
    return int(value)


def format_price(value: int | Decimal) -> str:
    """Engine units → FIX price text (``1505000`` → ``150.5``)."""
    text = format((Decimal(value) / PRICE_SCALE).quantize(Decimal("0.000001")).normalize(), "f")
    return text
