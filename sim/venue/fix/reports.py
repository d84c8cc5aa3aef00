"""ExecutionReport (35=8) and OrderCancelReject (35=9) for FIX 4.2 and 4.4.

The differences the venue cares about:

* FIX 4.2 carries ExecTransType (20=0, new) and reports fills as ExecType
  1 (partial fill) or 2 (fill); FIX 4.4 drops ExecTransType and reports
  every fill as ExecType F (trade), the OrdStatus telling partial from full.
* OrdRejReason (103): FIX 4.4 has 13 (incorrect quantity) and 99 (other);
  FIX 4.2 stops at 8, so a bad quantity or price is 0 (exchange option)
  with the reason in Text (58).

Everything else (OrderID, ExecID, OrdStatus, LeavesQty, CumQty, AvgPx,
LastShares/LastQty (32), LastPx (31)) has the same tags in both.
"""

from __future__ import annotations

import quickfix as fix

from ..events import RejectReason
from .orders import FixOrder, OrdStatus
from .requests import format_price
from .wire import frame

FIX42 = "FIX.4.2"

#: what an execution report reports (FIX ExecType, before the 4.2/4.4 mapping)
NEW, PARTIAL_FILL, FILL, CANCELED, REPLACED, REJECTED, RESTATED = (
    "new", "partial_fill", "fill", "canceled", "replaced", "rejected", "restated")

_EXEC_TYPE = {
    NEW: fix.ExecType_NEW,
    CANCELED: fix.ExecType_CANCELED,
    REPLACED: fix.ExecType_REPLACED,
    REJECTED: fix.ExecType_REJECTED,
    RESTATED: fix.ExecType_RESTATED,
}
_EXEC_TYPE_42_FILLS = {PARTIAL_FILL: fix.ExecType_PARTIAL_FILL, FILL: fix.ExecType_FILL}

#: engine reject reason → OrdRejReason (103) for (FIX 4.2, FIX 4.4)
ORD_REJ_REASON = {
    RejectReason.INVALID_SYMBOL: ("1", "1"),
    RejectReason.HALTED: ("2", "2"),
    RejectReason.DUPLICATE_ID: ("6", "6"),
    RejectReason.UNKNOWN_ORDER: ("5", "5"),
    RejectReason.INVALID_QUANTITY: ("0", "13"),
    RejectReason.INVALID_PRICE: ("0", "99"),
}
#: a reject with no engine reason (unsupported OrdType, Side, TimeInForce, bad value)
OTHER_REJECT = ("0", "99")

#: engine reject reason → CxlRejReason (102); anything else is 2 (exchange option)
CXL_REJ_REASON = {RejectReason.UNKNOWN_ORDER: fix.CxlRejReason_UNKNOWN_ORDER}
TOO_LATE_TO_CANCEL = fix.CxlRejReason_TOO_LATE_TO_CANCEL
EXCHANGE_OPTION = "2"

CANCEL_REQUEST, REPLACE_REQUEST = (fix.CxlRejResponseTo_ORDER_CANCEL_REQUEST,
                                   fix.CxlRejResponseTo_ORDER_CANCEL_REPLACE_REQUEST)


def _tag(field_type) -> int:
    return field_type().getTag()


#: tag numbers, taken from QuickFIX's field definitions (never typed by hand)
ORDER_ID, CL_ORD_ID, ORIG_CL_ORD_ID, EXEC_ID, EXEC_TRANS_TYPE, EXEC_TYPE = map(
    _tag, (fix.OrderID, fix.ClOrdID, fix.OrigClOrdID, fix.ExecID, fix.ExecTransType,
           fix.ExecType))
ORD_STATUS, ORD_REJ_REASON_TAG, SYMBOL, SIDE, ORD_TYPE, ORDER_QTY, PRICE = map(
    _tag, (fix.OrdStatus, fix.OrdRejReason, fix.Symbol, fix.Side, fix.OrdType, fix.OrderQty,
           fix.Price))
TIME_IN_FORCE, LAST_QTY, LAST_PX, LEAVES_QTY, CUM_QTY, AVG_PX, TEXT = map(
    _tag, (fix.TimeInForce, fix.LastShares, fix.LastPx, fix.LeavesQty, fix.CumQty, fix.AvgPx,
           fix.Text))
CXL_REJ_RESPONSE_TO, CXL_REJ_REASON, ACCOUNT = map(
    _tag, (fix.CxlRejResponseTo, fix.CxlRejReason, fix.Account))


def _message(begin_string: str, msg_type: str, values: list[tuple[int, str]]) -> fix.Message:
    """One QuickFIX message from its body fields (QuickFIX orders them by tag; None: left out)."""
    text = frame(begin_string,
                 [(35, msg_type)] + [(tag, str(v)) for tag, v in values if v is not None])
    return fix.Message(text, False)


def exec_type(begin_string: str, kind: str) -> str:
    """The ExecType (150) code of ``kind`` in this FIX version."""
    if kind in (PARTIAL_FILL, FILL):
        return _EXEC_TYPE_42_FILLS[kind] if begin_string == FIX42 else fix.ExecType_TRADE
    return _EXEC_TYPE[kind]


def ord_rej_reason(begin_string: str, reason: RejectReason | None) -> str:
    pair = ORD_REJ_REASON.get(reason, OTHER_REJECT) if reason is not None else OTHER_REJECT
    return pair[0] if begin_string == FIX42 else pair[1]


def execution_report(begin_string: str, order: FixOrder, kind: str, exec_id: str, *,
                     last_qty: int | None = None, last_px: int | None = None,
                     ord_rej: str | None = None, text: str | None = None,
                     cl_ord_id: str | None = None, orig_cl_ord_id: str | None = None,
                     account: str | None = None) -> fix.Message:
    """An ExecutionReport for ``order`` in its current state."""
    status = order.status
    values = [(ORDER_ID, order.order_id), (CL_ORD_ID, cl_ord_id or order.cl_ord_id),
              (EXEC_ID, exec_id), (EXEC_TYPE, exec_type(begin_string, kind)),
              (ORD_STATUS, status.value), (SYMBOL, order.symbol), (SIDE, order.side),
              (ORD_TYPE, order.ord_type), (CUM_QTY, str(order.cum_qty)),
              (AVG_PX, format_price(order.avg_px))]
    if orig_cl_ord_id:
        values.append((ORIG_CL_ORD_ID, orig_cl_ord_id))
    if begin_string == FIX42:
        values.append((EXEC_TRANS_TYPE, fix.ExecTransType_NEW))
    if ord_rej is not None:
        values.append((ORD_REJ_REASON_TAG, ord_rej))
    if order.order_qty:
        values.append((ORDER_QTY, str(order.order_qty)))
    if order.price is not None:
        values.append((PRICE, format_price(order.price)))
    if order.time_in_force is not None:
        values.append((TIME_IN_FORCE, order.time_in_force))
    if last_qty is not None:
        values += [(LAST_QTY, str(last_qty)), (LAST_PX, format_price(last_px))]
    leaves = 0 if status in (OrdStatus.CANCELED, OrdStatus.REJECTED) else order.leaves_qty
    values.append((LEAVES_QTY, str(leaves)))
    if text:
        values.append((TEXT, text))
    if account:
        values.append((ACCOUNT, account))
    return _message(begin_string, fix.MsgType_ExecutionReport, values)


def order_cancel_reject(begin_string: str, *, order_id: str, cl_ord_id: str,
                        orig_cl_ord_id: str, ord_status: str, response_to: str,
                        reason: str, text: str) -> fix.Message:
    """An OrderCancelReject answering a cancel (``CANCEL_REQUEST``) or a replace."""
    return _message(begin_string, fix.MsgType_OrderCancelReject, [
        (ORDER_ID, order_id), (CL_ORD_ID, cl_ord_id), (ORIG_CL_ORD_ID, orig_cl_ord_id),
        (ORD_STATUS, ord_status), (CXL_REJ_RESPONSE_TO, response_to),
        (CXL_REJ_REASON, reason), (TEXT, text)])
