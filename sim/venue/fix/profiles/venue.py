"""The ``venue`` profile: FIX orders into the matching engine.

NewOrderSingle, OrderCancelRequest and OrderCancelReplaceRequest become
``MatchingEngine.submit`` / ``cancel`` / ``replace`` calls; the engine's
events come back as ExecutionReports (New, PartialFill, Fill, Canceled,
Replaced, Rejected) and OrderCancelRejects, in FIX 4.2 or 4.4 form
(``reports.py``). Fills caused by anyone else (the OUCH port, another FIX
session) reach the owner through the engine subscription, the same path
as its own.

Threads: QuickFIX calls :meth:`on_message` on its own thread, which only
copies the request out of the message and posts it to the venue's asyncio
loop (``call_soon_threadsafe``, never waiting). Everything that touches
the engine or order state runs on the loop. Replies go out through
QuickFIX's ``sendToTarget``, which is thread-safe and releases the GIL.

Order identity in the engine: owner ``fix:<session>``, client id = ClOrdID
(it changes on replace); the FIX OrderID is the engine's first order
reference and stays the same across replaces.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from dataclasses import dataclass, field

import quickfix as fix

from ...events import (
    Accepted,
    Canceled,
    CancelReason,
    CancelRejected,
    Executed,
    OrderRequest,
    Rejected,
    RejectReason,
    Replaced,
    ReplaceRejected,
    Side,
    TimeInForce,
)
from .. import reports
from ..dropcopy import FixDropCopy
from ..orders import FixOrder, OrderEvent, OrdStatus
from ..requests import (
    BadValue,
    CancelOrder,
    NewOrder,
    ReplaceOrder,
    read_request,
    to_price,
    to_quantity,
)
from .base import ApplicationProfile

log = logging.getLogger(__name__)

SIDES = {fix.Side_BUY: Side.BUY, fix.Side_SELL: Side.SELL}
ORD_TYPES = (fix.OrdType_MARKET, fix.OrdType_LIMIT)
TIME_IN_FORCE = {None: TimeInForce.DAY, fix.TimeInForce_DAY: TimeInForce.DAY,
                 fix.TimeInForce_IMMEDIATE_OR_CANCEL: TimeInForce.IOC}
CANCEL_TEXT = {CancelReason.IOC: "unfilled quantity of an IOC or market order",
               CancelReason.SELF_MATCH: "self-match prevention",
               CancelReason.SUPERVISORY: "canceled by the venue"}
REJECT_TEXT = {RejectReason.HALTED: "symbol halted",
               RejectReason.INVALID_SYMBOL: "unknown symbol",
               RejectReason.INVALID_QUANTITY: "invalid quantity",
               RejectReason.INVALID_PRICE: "invalid price",
               RejectReason.DUPLICATE_ID: "duplicate ClOrdID",
               RejectReason.UNKNOWN_ORDER: "unknown order"}
UNKNOWN_ORDER_ID = "NONE"


class OrderRefused(Exception):
    """A request refused before it reaches the engine."""

    def __init__(self, text: str, reason: RejectReason | None = None) -> None:
        super().__init__(text)
        self.text, self.reason = text, reason


@dataclass
class FixSession:
    """What the venue knows about one FIX session's orders."""

    owner: str
    begin_string: str
    session_id: fix.SessionID
    orders: dict[str, FixOrder] = field(default_factory=dict)  #: by current ClOrdID
    used_ids: set[str] = field(default_factory=set)            #: every ClOrdID taken


class VenueProfile(ApplicationProfile):
    """Orders from FIX sessions into a :class:`MatchingEngine` (see module docstring)."""

    name = "venue"

    def __init__(self, engine, loop: asyncio.AbstractEventLoop, config=None) -> None:
        super().__init__()
        self._engine, self._loop = engine, loop
        self._sessions: dict[str, FixSession] = {}
        self._exec_ids = itertools.count(1)
        self._new: dict[tuple[str, str], FixOrder] = {}           # in flight, by (owner, ClOrdID)
        self._cancel: dict[tuple[str, str], CancelOrder] = {}     # by (owner, OrigClOrdID)
        self._replace: dict[tuple[str, str], tuple[ReplaceOrder, int]] = {}
        self.stats: Counter[str] = Counter()
        self._unsubscribe = engine.subscribe(self._on_events)
        self.drop_copy: FixDropCopy | None = None
        if config is not None and config.drop_copy_target_comp_id is not None:
            targets = [fix.SessionID(s.begin_string, config.sender_comp_id, s.target_comp_id)
                       for s in config.sessions
                       if s.target_comp_id == config.drop_copy_target_comp_id]
            self.drop_copy = FixDropCopy(engine, targets, self._send_quietly)

    def close(self) -> None:
        self._unsubscribe()
        if self.drop_copy is not None:
            self.drop_copy.close()

    # ------------------------------------------------------- QuickFIX thread

    def on_message(self, message: fix.Message, session: fix.SessionID) -> None:
        request = read_request(message)
        self._loop.call_soon_threadsafe(self._handle, session.toString(), request)

    # ------------------------------------------------------------ loop thread

    def _session(self, name: str) -> FixSession:
        """The session named ``BeginString:Sender->Target`` (QuickFIX's SessionID text)."""
        owner = f"fix:{name}"
        session = self._sessions.get(owner)
        if session is None:
            begin_string, _, route = name.partition(":")
            sender, _, target = route.partition("->")
            session = FixSession(owner, begin_string,
                                 fix.SessionID(begin_string, sender, target))
            self._sessions[owner] = session
        return session

    def _handle(self, name: str, request) -> None:
        session = self._session(name)
        self.stats["requests"] += 1
        try:
            if isinstance(request, NewOrder):
                self._new_order(session, request)
            elif isinstance(request, CancelOrder):
                self._cancel_order(session, request)
            else:
                self._replace_order(session, request)
        except Exception:
            self.stats["errors"] += 1
            log.exception("FIX venue profile failed on %r", request)

    def _send(self, session: FixSession, message: fix.Message) -> None:
        try:
            if not self.send(message, session.session_id):
                self.stats["not_sent"] += 1
        except fix.SessionNotFound:
            self.stats["not_sent"] += 1

    def _send_quietly(self, message: fix.Message, session: fix.SessionID) -> bool:
        try:
            return self.send(message, session)
        except fix.SessionNotFound:
            return False

    def _exec_id(self) -> str:
        return f"X{next(self._exec_ids)}"

    def _report(self, session: FixSession, order: FixOrder, kind: str, **extra) -> None:
        self.stats[f"er_{kind}"] += 1
        self._send(session, reports.execution_report(session.begin_string, order, kind,
                                                     self._exec_id(), **extra))

    # -------------------------------------------------------------- requests

    def _new_order(self, session: FixSession, req: NewOrder) -> None:
        if req.poss_resend and req.cl_ord_id in session.used_ids:
            self.stats["poss_resend_dropped"] += 1
            return
        order = FixOrder(UNKNOWN_ORDER_ID, req.cl_ord_id, req.symbol, req.side, req.ord_type,
                         None, 0, req.time_in_force)
        try:
            if req.symbol is None:  # optional in FIX 4.4's Instrument component
                raise OrderRefused("Symbol missing", RejectReason.INVALID_SYMBOL)
            side, tif = self._side(req.side), self._tif(req.time_in_force)
            order.order_qty = self._qty(req.order_qty)
            if req.ord_type == fix.OrdType_LIMIT:
                order.price = self._price(req.price)
            elif req.ord_type != fix.OrdType_MARKET:
                raise OrderRefused(f"unsupported OrdType {req.ord_type}")
            if req.cl_ord_id in session.used_ids:
                raise OrderRefused("duplicate ClOrdID", RejectReason.DUPLICATE_ID)
        except OrderRefused as refused:
            order.apply(OrderEvent.REJECT)
            self._report(session, order, reports.REJECTED, text=refused.text,
                         ord_rej=reports.ord_rej_reason(session.begin_string, refused.reason))
            return
        session.used_ids.add(req.cl_ord_id)
        self._new[(session.owner, req.cl_ord_id)] = order
        try:
            self._engine.submit(OrderRequest(session.owner, req.cl_ord_id, req.symbol, side,
                                             order.order_qty, order.price, tif))
        finally:
            self._new.pop((session.owner, req.cl_ord_id), None)

    def _cancel_order(self, session: FixSession, req: CancelOrder) -> None:
        order = self._live_order(session, req.orig_cl_ord_id, req.cl_ord_id,
                                 reports.CANCEL_REQUEST)
        if order is None:
            return
        key = (session.owner, order.cl_ord_id)
        self._cancel[key] = req
        try:
            self._engine.cancel(*key)
        finally:
            self._cancel.pop(key, None)

    def _replace_order(self, session: FixSession, req: ReplaceOrder) -> None:
        order = self._live_order(session, req.orig_cl_ord_id, req.cl_ord_id,
                                 reports.REPLACE_REQUEST)
        if order is None:
            return
        try:
            if req.cl_ord_id != order.cl_ord_id and req.cl_ord_id in session.used_ids:
                raise OrderRefused("duplicate ClOrdID")
            if req.symbol not in (None, order.symbol) or req.side != order.side:
                raise OrderRefused("Symbol and Side cannot be replaced")
            if req.ord_type != fix.OrdType_LIMIT or order.ord_type != fix.OrdType_LIMIT:
                raise OrderRefused("only limit orders can be replaced")
            qty = self._qty(req.order_qty)
            price = self._price(req.price) if req.price is not None else order.price
            tif = self._tif(req.time_in_force) if req.time_in_force is not None else None
            if qty < order.cum_qty:
                raise OrderRefused(f"OrderQty {qty} is below CumQty {order.cum_qty}")
        except OrderRefused as refused:
            self._cancel_reject(session, req.cl_ord_id, req.orig_cl_ord_id, order,
                                reports.REPLACE_REQUEST, reports.EXCHANGE_OPTION, refused.text)
            return
        key = (session.owner, order.cl_ord_id)
        self._replace[key] = (req, qty)
        try:
            self._engine.replace(*key, req.cl_ord_id, qty, price, tif)
        finally:
            self._replace.pop(key, None)

    def _live_order(self, session: FixSession, orig: str, cl_ord_id: str,
                    response_to: str) -> FixOrder | None:
        """The open order ``orig``; otherwise answer with an OrderCancelReject."""
        order = session.orders.get(orig)
        if order is not None and not order.done:
            return order
        if order is None:
            self._cancel_reject(session, cl_ord_id, orig, None, response_to,
                                fix.CxlRejReason_UNKNOWN_ORDER, "unknown order")
        else:
            self._cancel_reject(session, cl_ord_id, orig, order, response_to,
                                reports.TOO_LATE_TO_CANCEL, f"order is {order.status.name}")
        return None

    def _cancel_reject(self, session: FixSession, cl_ord_id: str, orig: str,
                       order: FixOrder | None, response_to: str, reason: str,
                       text: str) -> None:
        self.stats["cancel_rejects"] += 1
        self._send(session, reports.order_cancel_reject(
            session.begin_string,
            order_id=order.order_id if order else UNKNOWN_ORDER_ID,
            cl_ord_id=cl_ord_id, orig_cl_ord_id=orig,
            ord_status=(order.status if order else OrdStatus.REJECTED).value,
            response_to=response_to, reason=reason, text=text))

    @staticmethod
    def _side(text: str) -> Side:
        if text not in SIDES:
            raise OrderRefused(f"unsupported Side {text}")
        return SIDES[text]

    @staticmethod
    def _tif(text: str | None) -> TimeInForce:
        if text not in TIME_IN_FORCE:
            raise OrderRefused(f"unsupported TimeInForce {text}")
        return TIME_IN_FORCE[text]

    @staticmethod
    def _qty(text: str | None) -> int:
        try:
            return to_quantity(text)
        except BadValue as exc:
            raise OrderRefused(str(exc), RejectReason.INVALID_QUANTITY) from None

    @staticmethod
    def _price(text: str | None) -> int:
        try:
            return to_price(text)
        except BadValue as exc:
            raise OrderRefused(str(exc), RejectReason.INVALID_PRICE) from None

    # ---------------------------------------------------------------- events

    def _on_events(self, events: list) -> None:
        for event in events:
            try:
                self._on_event(event)
            except Exception:
                self.stats["errors"] += 1
                log.exception("FIX venue profile failed on %r", event)

    def _on_event(self, event) -> None:
        if isinstance(event, Executed):
            for fill in (event.passive, event.aggressor):
                self._on_fill(event, fill)
            return
        session = self._sessions.get(getattr(event, "owner", None))
        if session is None:
            return
        if isinstance(event, Accepted):
            self._on_accepted(session, self._new.get((session.owner, event.client_id)), event)
        elif isinstance(event, Rejected):
            self._on_rejected(session, self._new.get((session.owner, event.client_id)), event)
        elif isinstance(event, Replaced):
            self._on_replaced(session, event)
        elif isinstance(event, Canceled):
            self._on_canceled(session, event)
        elif isinstance(event, CancelRejected | ReplaceRejected):
            self._on_cancel_rejected(session, event)

    def _on_accepted(self, session: FixSession, order: FixOrder | None, event) -> None:
        if order is None:
            return
        order.order_id = str(event.order_ref)
        order.leaves_qty = event.qty
        order.apply(OrderEvent.ACCEPT)
        session.orders[order.cl_ord_id] = order
        self._report(session, order, reports.NEW)

    def _on_rejected(self, session: FixSession, order: FixOrder | None, event) -> None:
        if order is None:
            return
        if event.reason is not RejectReason.DUPLICATE_ID:
            session.used_ids.discard(order.cl_ord_id)
        order.apply(OrderEvent.REJECT)
        self._report(session, order, reports.REJECTED, text=REJECT_TEXT[event.reason],
                     ord_rej=reports.ord_rej_reason(session.begin_string, event.reason))

    def _on_fill(self, event: Executed, fill) -> None:
        session = self._sessions.get(fill.owner)
        order = session.orders.get(fill.client_id) if session else None
        if order is None:
            return
        order.fill(event.qty, event.price, fill.remaining)
        kind = reports.FILL if order.status is OrdStatus.FILLED else reports.PARTIAL_FILL
        self._report(session, order, kind, last_qty=event.qty, last_px=event.price)

    def _on_replaced(self, session: FixSession, event: Replaced) -> None:
        order = session.orders.pop(event.old_client_id, None)
        pending = self._replace.get((session.owner, event.old_client_id))
        if order is None:
            return
        order.orig_cl_ord_id, order.cl_ord_id = event.old_client_id, event.client_id
        order.order_qty = pending[1] if pending else order.cum_qty + event.qty
        order.price, order.leaves_qty = event.price, event.qty
        order.time_in_force = {TimeInForce.IOC: fix.TimeInForce_IMMEDIATE_OR_CANCEL}.get(
            event.tif, order.time_in_force)
        order.apply(OrderEvent.REPLACE)
        session.orders[order.cl_ord_id] = order
        session.used_ids.add(order.cl_ord_id)
        self._report(session, order, reports.REPLACED, orig_cl_ord_id=order.orig_cl_ord_id)

    def _on_canceled(self, session: FixSession, event: Canceled) -> None:
        order = session.orders.get(event.client_id)
        if order is None:
            return
        replace = self._replace.get((session.owner, event.client_id))
        if replace is not None:  # replaced down to what has executed: the order is done
            req, qty = replace
            session.orders.pop(order.cl_ord_id)
            order.orig_cl_ord_id, order.cl_ord_id = order.cl_ord_id, req.cl_ord_id
            order.order_qty, order.leaves_qty = qty, 0
            session.orders[order.cl_ord_id] = order
            session.used_ids.add(order.cl_ord_id)
            order.apply(OrderEvent.FILL)
            self._report(session, order, reports.REPLACED, orig_cl_ord_id=order.orig_cl_ord_id)
            return
        if event.remaining:  # reduced, still open
            order.leaves_qty = event.remaining
            order.order_qty = order.cum_qty + event.remaining
            self._report(session, order, reports.RESTATED, text=CANCEL_TEXT.get(event.reason))
            return
        order.leaves_qty = 0
        order.apply(OrderEvent.CANCEL)
        cancel = self._cancel.get((session.owner, event.client_id))
        if cancel is not None:
            self._report(session, order, reports.CANCELED, cl_ord_id=cancel.cl_ord_id,
                         orig_cl_ord_id=order.cl_ord_id)
        else:
            self._report(session, order, reports.CANCELED, text=CANCEL_TEXT.get(event.reason))

    def _on_cancel_rejected(self, session: FixSession, event) -> None:
        order = session.orders.get(event.client_id)
        if isinstance(event, CancelRejected):
            req = self._cancel.get((session.owner, event.client_id))
            response_to = reports.CANCEL_REQUEST
        else:
            pending = self._replace.get((session.owner, event.client_id))
            req = pending[0] if pending else None
            response_to = reports.REPLACE_REQUEST
        if req is None:
            return
        reason = reports.CXL_REJ_REASON.get(event.reason, reports.EXCHANGE_OPTION)
        self._cancel_reject(session, req.cl_ord_id, req.orig_cl_ord_id, order, response_to,
                            reason, REJECT_TEXT[event.reason])
