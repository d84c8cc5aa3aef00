"""FIX drop copy: every execution in the engine, reported to one counterparty.

When ``fix.drop_copy_target_comp_id`` names a configured session, every
trade (whoever owns the orders: FIX sessions, OUCH ports, the replayed
market) is sent to it as two ExecutionReports, one per side, with Account
(1) naming the order's owner. The copy keeps its own ledger of every order
it has seen (order quantity from Accepted/Replaced, CumQty and AvgPx from
the trades) so the reports carry the same LeavesQty/CumQty/AvgPx an owner
would see. Orders it never saw accepted (replayed liquidity) start at their
first trade.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import quickfix as fix

from ..events import Accepted, Canceled, Executed, Replaced, Side
from . import reports
from .orders import FixOrder, OrderEvent, OrdStatus

FIX_SIDE = {Side.BUY: fix.Side_BUY, Side.SELL: fix.Side_SELL}


class FixDropCopy:
    """Engine subscriber that copies executions to the drop-copy sessions."""

    def __init__(self, engine, sessions: list[fix.SessionID],
                 send: Callable[[fix.Message, fix.SessionID], bool]) -> None:
        self._sessions = [(s, s.getBeginString().getValue()) for s in sessions]
        self._send = send
        self._orders: dict[tuple[str, Hashable], FixOrder] = {}
        self.sent = 0
        self._unsubscribe = engine.subscribe(self._on_events)

    def close(self) -> None:
        self._unsubscribe()

    def _on_events(self, events: list) -> None:
        for event in events:
            if isinstance(event, Accepted):
                order = FixOrder(str(event.order_ref), str(event.client_id), event.symbol,
                                 FIX_SIDE[event.side],
                                 fix.OrdType_MARKET if event.price is None
                                 else fix.OrdType_LIMIT, event.price, event.qty)
                order.leaves_qty = event.qty
                order.apply(OrderEvent.ACCEPT)
                self._orders[(event.owner, event.client_id)] = order
            elif isinstance(event, Replaced):
                order = self._orders.pop((event.owner, event.old_client_id), None)
                if order is not None:
                    order.cl_ord_id, order.price = str(event.client_id), event.price
                    order.order_qty, order.leaves_qty = order.cum_qty + event.qty, event.qty
                    self._orders[(event.owner, event.client_id)] = order
            elif isinstance(event, Canceled) and event.remaining == 0:
                self._orders.pop((event.owner, event.client_id), None)
            elif isinstance(event, Executed):
                for fill in (event.passive, event.aggressor):
                    self._copy(event, fill)

    def _copy(self, event: Executed, fill) -> None:
        key = (fill.owner, fill.client_id)
        order = self._orders.get(key)
        if order is None:  # never seen accepted (replayed liquidity): starts here
            order = FixOrder(str(fill.order_ref), str(fill.client_id), event.symbol,
                             FIX_SIDE[fill.side], fix.OrdType_LIMIT, None,
                             event.qty + fill.remaining, status=OrdStatus.NEW)
            self._orders[key] = order
        order.fill(event.qty, event.price, fill.remaining)
        if order.done:
            del self._orders[key]
        kind = reports.FILL if order.status is OrdStatus.FILLED else reports.PARTIAL_FILL
        exec_id = f"D{event.match_number}{fill.side.value}"
        for session, begin_string in self._sessions:
            message = reports.execution_report(begin_string, order, kind, exec_id,
                                               last_qty=event.qty, last_px=event.price,
                                               account=fill.owner)
            if self._send(message, session):
                self.sent += 1
