"""Requests, events and reason codes of the matching engine.

The vocabulary shared by the engine (``engine.py``) and everything that
listens to it: order ports, drop copy, FIX acceptor and the ITCH publisher.
Events are slotted dataclasses that consumers must treat as read-only (not
``frozen``: a frozen dataclass costs several times more to build, and the
engine builds two to four per order message).
Book events map one to one onto ITCH 5.0 messages (``ITCH 5.0 §1.3``,
``§1.4``); reason letters are the OUCH ones (``OUCH 5.0 §6.5``).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from enum import StrEnum

#: owner of externally supplied (replayed) liquidity
MARKET = "market"


class Side(StrEnum):
    """Book side; the OUCH/ITCH letter (``ITCH 5.0 §1.3.1``)."""

    BUY = "B"
    SELL = "S"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class TimeInForce(StrEnum):
    """DAY rests until cancelled; IOC cancels whatever does not trade at once."""

    DAY = "DAY"
    IOC = "IOC"


class SelfMatch(StrEnum):
    """Self-match prevention policy, chosen by the aggressing order."""

    CANCEL_NEWEST = "cancel_newest"
    CANCEL_RESTING = "cancel_resting"
    CANCEL_BOTH = "cancel_both"
    ALLOW = "allow"


class RejectReason(StrEnum):
    """Why a request was refused; ports map these to their wire codes."""

    HALTED = "halted"
    INVALID_SYMBOL = "invalid_symbol"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_PRICE = "invalid_price"
    DUPLICATE_ID = "duplicate_id"
    UNKNOWN_ORDER = "unknown_order"
    INVALID_SIDE = "invalid_side"
    INVALID_TIME_IN_FORCE = "invalid_time_in_force"


class CancelReason(StrEnum):
    """Why shares left the book (``OUCH 5.0 §6.5`` letters in ``.ouch``)."""

    USER = "U"
    IOC = "I"
    SELF_MATCH = "Q"
    SUPERVISORY = "S"
    EXTERNAL = "Z"  #: shares removed by the replayed market (external liquidity)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order. ``price=None`` is a market order; ``stp_key`` defaults to owner."""

    owner: str
    client_id: Hashable
    symbol: str
    side: Side
    qty: int
    price: int | None
    tif: TimeInForce = TimeInForce.DAY
    displayed: bool = True
    self_match: SelfMatch = SelfMatch.CANCEL_NEWEST
    stp_key: Hashable = None
    attribution: str | None = None  #: MPID for ITCH ``F``; None gives ITCH ``A``


# ----------------------------------------------------------------- events


@dataclass(slots=True)
class Accepted:
    ts: int
    owner: str
    client_id: Hashable
    order_ref: int
    symbol: str
    side: Side
    qty: int
    price: int | None
    tif: TimeInForce
    displayed: bool


@dataclass(slots=True)
class Rejected:
    ts: int
    owner: str
    client_id: Hashable
    symbol: str
    reason: RejectReason


@dataclass(slots=True)
class Fill:
    """One side of a trade; ``remaining`` is that order's open shares after it."""

    owner: str
    client_id: Hashable
    order_ref: int
    side: Side
    remaining: int
    liquidity: str  #: ``OUCH 5.0 §6.7``: A added, J hidden added, R removed
    displayed: bool


@dataclass(slots=True)
class Executed:
    ts: int
    symbol: str
    match_number: int
    price: int
    qty: int
    passive: Fill
    aggressor: Fill


@dataclass(slots=True)
class Canceled:
    """``qty`` shares left the order; ``remaining`` are still open (0 = gone)."""

    ts: int
    owner: str
    client_id: Hashable
    order_ref: int
    symbol: str
    qty: int
    remaining: int
    reason: CancelReason


@dataclass(slots=True)
class Replaced:
    """The order ``old_client_id`` is now ``client_id``; ``qty`` = open shares."""

    ts: int
    owner: str
    old_client_id: Hashable
    client_id: Hashable
    old_order_ref: int
    order_ref: int
    symbol: str
    side: Side
    qty: int
    price: int
    tif: TimeInForce
    priority_kept: bool


@dataclass(slots=True)
class CancelRejected:
    ts: int
    owner: str
    client_id: Hashable
    reason: RejectReason


@dataclass(slots=True)
class ReplaceRejected:
    ts: int
    owner: str
    client_id: Hashable
    new_client_id: Hashable
    reason: RejectReason


@dataclass(slots=True)
class BookAdd:
    """ITCH 5.0 §1.3.1 Add Order (``F`` when ``attribution`` is set)."""

    ts: int
    symbol: str
    order_ref: int
    side: Side
    qty: int
    price: int
    attribution: str | None


@dataclass(slots=True)
class BookExecute:
    """ITCH 5.0 §1.4.1 Order Executed; ``remaining=0`` removes the order."""

    ts: int
    symbol: str
    order_ref: int
    qty: int
    match_number: int
    price: int
    remaining: int


@dataclass(slots=True)
class BookCancel:
    """ITCH 5.0 §1.4.3 Order Cancel (partial; the order stays)."""

    ts: int
    symbol: str
    order_ref: int
    qty: int
    remaining: int


@dataclass(slots=True)
class BookDelete:
    """ITCH 5.0 §1.4.4 Order Delete."""

    ts: int
    symbol: str
    order_ref: int


@dataclass(slots=True)
class BookReplace:
    """ITCH 5.0 §1.4.5 Order Replace (new reference, back of the queue)."""

    ts: int
    symbol: str
    old_order_ref: int
    order_ref: int
    qty: int
    price: int


@dataclass(slots=True)
class HaltChanged:
    """ITCH 5.0 §1.2.4 Stock Trading Action (``H`` halted, ``T`` trading)."""

    ts: int
    symbol: str
    halted: bool


Event = (Accepted | Rejected | Executed | Canceled | Replaced | CancelRejected
         | ReplaceRejected | BookAdd | BookExecute | BookCancel | BookDelete | BookReplace
         | HaltChanged)
