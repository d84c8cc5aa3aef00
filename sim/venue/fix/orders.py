"""FIX order state on the venue: one table of ``(status, event) → status``.

An order changes only through :meth:`FixOrder.apply`; an event the table
does not allow raises :class:`IllegalTransition`. Status values are the
FIX OrdStatus (39) codes, the same in FIX 4.2 and 4.4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum, StrEnum

import quickfix as fix


class OrdStatus(StrEnum):
    """OrdStatus (39) values the venue uses."""

    PENDING_NEW = fix.OrdStatus_PENDING_NEW
    NEW = fix.OrdStatus_NEW
    PARTIALLY_FILLED = fix.OrdStatus_PARTIALLY_FILLED
    FILLED = fix.OrdStatus_FILLED
    CANCELED = fix.OrdStatus_CANCELED
    REJECTED = fix.OrdStatus_REJECTED


class OrderEvent(Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    REPLACE = "replace"
    CANCEL = "cancel"


S, E = OrdStatus, OrderEvent
TRANSITIONS: dict[tuple[OrdStatus, OrderEvent], OrdStatus] = {
    (S.PENDING_NEW, E.ACCEPT): S.NEW,
    (S.PENDING_NEW, E.REJECT): S.REJECTED,
    (S.NEW, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.NEW, E.FILL): S.FILLED,
    (S.NEW, E.REPLACE): S.NEW,
    (S.NEW, E.CANCEL): S.CANCELED,
    (S.PARTIALLY_FILLED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, E.REPLACE): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.CANCEL): S.CANCELED,
}
#: statuses after which nothing can happen to an order
DONE = frozenset({S.FILLED, S.CANCELED, S.REJECTED})


class IllegalTransition(RuntimeError):
    """An order event that its current status does not allow."""


@dataclass
class FixOrder:
    """One FIX order of one session, as its owner sees it.

    Prices are engine integers (4 implied decimals); ``cl_ord_id`` is the
    current ClOrdID (it changes on replace), ``order_id`` never changes.
    """

    order_id: str
    cl_ord_id: str
    symbol: str
    side: str            #: FIX Side (54)
    ord_type: str        #: FIX OrdType (40)
    price: int | None
    order_qty: int
    time_in_force: str | None = None
    orig_cl_ord_id: str | None = None
    status: OrdStatus = OrdStatus.PENDING_NEW
    cum_qty: int = 0
    leaves_qty: int = 0
    notional: int = field(default=0, repr=False)  #: Σ qty × price (engine units)

    def apply(self, event: OrderEvent) -> OrdStatus:
        """Move to the status the table gives for ``event``."""
        try:
            self.status = TRANSITIONS[(self.status, event)]
        except KeyError:
            raise IllegalTransition(f"order {self.cl_ord_id}: {event.value} "
                                    f"not allowed when {self.status.name}") from None
        return self.status

    @property
    def done(self) -> bool:
        return self.status in DONE

    def fill(self, qty: int, price: int, leaves: int) -> OrdStatus:
        """Book an execution of ``qty`` at ``price``; ``leaves`` are still open."""
        self.cum_qty += qty
        self.notional += qty * price
        self.leaves_qty = leaves
        return self.apply(OrderEvent.FILL if leaves == 0 else OrderEvent.PARTIAL_FILL)

    @property
    def avg_px(self) -> Decimal:
        """Average fill price in engine units (0 before the first fill)."""
        return Decimal(self.notional) / self.cum_qty if self.cum_qty else Decimal(0)
