"""OUCH 4.2 order entry: every inbound and outbound message and its codes.

Layouts are the spec tables (OUCH 4.2 §3 inbound, §4 outbound) written as
``(name, offset, length, kind)`` rows; :mod:`tick2trade.proto.ouch` builds
the classes and codecs. Orders are named by a 14-byte alphanumeric Order
Token; prices are 4-byte raw ints with 4 implied decimals; Time in Force
is a count of seconds with special values (OUCH 4.2 §1). OUCH 4.2 has no
appendage. Type letters ``U``, ``M`` and ``N`` differ by direction, so
decode with :func:`decode_inbound` or :func:`decode_outbound`.
"""

from __future__ import annotations

import enum

from tick2trade.proto.ouch import (
    ALPHA,
    CHAR,
    NO_APPENDAGE,
    PRICE,
    UINT,
    Direction,
    Message,
    decode_by_type,
    message,
    type_table,
)

VERSION = "4.2"
IN, OUT = Direction.INBOUND, Direction.OUTBOUND

TOKEN_LEN = 14
#: OUCH 4.2 §1: largest limit price, and the market price for a cross order
MAX_PRICE = 0x7735939C
MARKET_PRICE = 0x7FFFFFFF
#: OUCH 4.2 §1 Time in Force special values (seconds otherwise)
TIF_IOC = 0
TIF_MARKET_HOURS = 99998
TIF_SYSTEM_HOURS = 99999
MAX_SHARES = 999_999

_TS = ("timestamp", 1, 8, UINT)
_TOKEN = ("order_token", 9, TOKEN_LEN, ALPHA)


def _m(letter, name, direction, rows, length, doc):
    return message(letter, name, VERSION, direction, rows, length=length,
                   appendage=NO_APPENDAGE, doc=doc)


# --- inbound (OUCH 4.2 §3) ---------------------------------------------------------------------

EnterOrder = _m("O", "EnterOrder", IN, [
    ("order_token", 1, 14, ALPHA),
    ("side", 15, 1, CHAR),
    ("shares", 16, 4, UINT),
    ("stock", 20, 8, ALPHA),
    ("price", 28, 4, PRICE),
    ("time_in_force", 32, 4, UINT),
    ("firm", 36, 4, ALPHA),
    ("display", 40, 1, CHAR),
    ("capacity", 41, 1, CHAR),
    ("intermarket_sweep", 42, 1, CHAR),
    ("minimum_quantity", 43, 4, UINT),
    ("cross_type", 47, 1, CHAR),
    ("customer_type", 48, 1, CHAR),
], 49, "Enter Order `O` (OUCH 4.2 §3.1).")

ReplaceOrder = _m("U", "ReplaceOrder", IN, [
    ("existing_order_token", 1, 14, ALPHA),
    ("replacement_order_token", 15, 14, ALPHA),
    ("shares", 29, 4, UINT),
    ("price", 33, 4, PRICE),
    ("time_in_force", 37, 4, UINT),
    ("display", 41, 1, CHAR),
    ("intermarket_sweep", 42, 1, CHAR),
    ("minimum_quantity", 43, 4, UINT),
], 47, "Replace Order `U` (OUCH 4.2 §3.2).")

CancelOrder = _m("X", "CancelOrder", IN, [
    ("order_token", 1, 14, ALPHA),
    ("shares", 15, 4, UINT),
], 19, "Cancel Order `X` (OUCH 4.2 §3.3); shares is the new intended size, 0 cancels all.")

ModifyOrder = _m("M", "ModifyOrder", IN, [
    ("order_token", 1, 14, ALPHA),
    ("side", 15, 1, CHAR),
    ("shares", 16, 4, UINT),
], 20, "Modify Order `M` (OUCH 4.2 §3.4).")

TradeNow = _m("N", "TradeNow", IN, [
    ("order_token", 1, 14, ALPHA),
], 15, "Trade Now request `N` (OUCH 4.2 §3.5).")

# --- outbound (OUCH 4.2 §4) --------------------------------------------------------------------

SystemEvent = _m("S", "SystemEvent", OUT, [
    _TS,
    ("event_code", 9, 1, CHAR),
], 10, "System Event `S` (OUCH 4.2 §4.1).")

Accepted = _m("A", "Accepted", OUT, [
    _TS, _TOKEN,
    ("side", 23, 1, CHAR),
    ("shares", 24, 4, UINT),
    ("stock", 28, 8, ALPHA),
    ("price", 36, 4, PRICE),
    ("time_in_force", 40, 4, UINT),
    ("firm", 44, 4, ALPHA),
    ("display", 48, 1, CHAR),
    ("order_reference_number", 49, 8, UINT),
    ("capacity", 57, 1, CHAR),
    ("intermarket_sweep", 58, 1, CHAR),
    ("minimum_quantity", 59, 4, UINT),
    ("cross_type", 63, 1, CHAR),
    ("order_state", 64, 1, CHAR),
    ("bbo_weight_indicator", 65, 1, CHAR),
], 66, "Accepted `A` (OUCH 4.2 §4.2).")

Replaced = _m("U", "Replaced", OUT, [
    _TS,
    ("replacement_order_token", 9, 14, ALPHA),
    ("side", 23, 1, CHAR),
    ("shares", 24, 4, UINT),
    ("stock", 28, 8, ALPHA),
    ("price", 36, 4, PRICE),
    ("time_in_force", 40, 4, UINT),
    ("firm", 44, 4, ALPHA),
    ("display", 48, 1, CHAR),
    ("order_reference_number", 49, 8, UINT),
    ("capacity", 57, 1, CHAR),
    ("intermarket_sweep", 58, 1, CHAR),
    ("minimum_quantity", 59, 4, UINT),
    ("cross_type", 63, 1, CHAR),
    ("order_state", 64, 1, CHAR),
    ("previous_order_token", 65, 14, ALPHA),
    ("bbo_weight_indicator", 79, 1, CHAR),
], 80, "Replaced `U` (OUCH 4.2 §4.3); shares is the live remainder.")

Canceled = _m("C", "Canceled", OUT, [
    _TS, _TOKEN,
    ("decrement_shares", 23, 4, UINT),
    ("reason", 27, 1, CHAR),
], 28, "Canceled `C` (OUCH 4.2 §4.4); decrement_shares removed by this event.")

AiqCancelled = _m("D", "AiqCancelled", OUT, [
    _TS, _TOKEN,
    ("decrement_shares", 23, 4, UINT),
    ("reason", 27, 1, CHAR),
    ("quantity_prevented", 28, 4, UINT),
    ("execution_price", 32, 4, PRICE),
    ("liquidity_flag", 36, 1, CHAR),
], 37, "AIQ Cancelled `D` (OUCH 4.2 §4.5; 37 bytes in the Dec 2018 revision).")

Executed = _m("E", "Executed", OUT, [
    _TS, _TOKEN,
    ("executed_shares", 23, 4, UINT),
    ("execution_price", 27, 4, PRICE),
    ("liquidity_flag", 31, 1, CHAR),
    ("match_number", 32, 8, UINT),
], 40, "Executed `E` (OUCH 4.2 §4.6).")

BrokenTrade = _m("B", "BrokenTrade", OUT, [
    _TS, _TOKEN,
    ("match_number", 23, 8, UINT),
    ("reason", 31, 1, CHAR),
], 32, "Broken Trade `B` (OUCH 4.2 §4.7).")

ExecutedWithReferencePrice = _m("G", "ExecutedWithReferencePrice", OUT, [
    _TS, _TOKEN,
    ("executed_shares", 23, 4, UINT),
    ("execution_price", 27, 4, PRICE),
    ("liquidity_flag", 31, 1, CHAR),
    ("match_number", 32, 8, UINT),
    ("reference_price", 40, 4, PRICE),
    ("reference_price_type", 44, 1, CHAR),
], 45, "Executed with Reference Price `G` (OUCH 4.2 §4.8).")

TradeCorrection = _m("F", "TradeCorrection", OUT, [
    _TS, _TOKEN,
    ("executed_shares", 23, 4, UINT),
    ("execution_price", 27, 4, PRICE),
    ("liquidity_flag", 31, 1, CHAR),
    ("match_number", 32, 8, UINT),
    ("reason", 40, 1, CHAR),
], 41, "Trade Correction `F` (OUCH 4.2 §4.9).")

Rejected = _m("J", "Rejected", OUT, [
    _TS, _TOKEN,
    ("reason", 23, 1, CHAR),
], 24, "Rejected `J` (OUCH 4.2 §4.10); reason letters in RejectReason (§5.9).")

CancelPending = _m("P", "CancelPending", OUT, [
    _TS, _TOKEN,
], 23, "Cancel Pending `P` (OUCH 4.2 §4.11).")

CancelReject = _m("I", "CancelReject", OUT, [
    _TS, _TOKEN,
], 23, "Cancel Reject `I` (OUCH 4.2 §4.12).")

OrderPriorityUpdate = _m("T", "OrderPriorityUpdate", OUT, [
    _TS, _TOKEN,
    ("price", 23, 4, PRICE),
    ("display", 27, 1, CHAR),
    ("order_reference_number", 28, 8, UINT),
], 36, "Order Priority Update `T` (OUCH 4.2 §4.13).")

OrderModified = _m("M", "OrderModified", OUT, [
    _TS, _TOKEN,
    ("side", 23, 1, CHAR),
    ("shares", 24, 4, UINT),
], 28, "Order Modified `M` (OUCH 4.2 §4.14).")

TradeNowOutbound = _m("N", "TradeNowOutbound", OUT, [
    _TS, _TOKEN,
], 23, "Trade Now `N`, outbound (OUCH 4.2 §4.15).")

INBOUND = type_table([EnterOrder, ReplaceOrder, CancelOrder, ModifyOrder, TradeNow])
OUTBOUND = type_table([SystemEvent, Accepted, Replaced, Canceled, AiqCancelled, Executed,
                       BrokenTrade, ExecutedWithReferencePrice, TradeCorrection, Rejected,
                       CancelPending, CancelReject, OrderPriorityUpdate, OrderModified,
                       TradeNowOutbound])
MESSAGES: tuple[type[Message], ...] = (*INBOUND.values(), *OUTBOUND.values())


def decode_inbound(buf: bytes) -> Message:
    """Decode one client → venue message (the payload of a SoupBinTCP ``U`` packet)."""
    return decode_by_type(INBOUND, buf, VERSION, IN)


def decode_outbound(buf: bytes) -> Message:
    """Decode one venue → client message (the payload of a SoupBinTCP ``S`` packet)."""
    return decode_by_type(OUTBOUND, buf, VERSION, OUT)


def decode(buf: bytes, direction: Direction) -> Message:
    return decode_inbound(buf) if direction is IN else decode_outbound(buf)


def encode(msg: Message) -> bytes:
    return msg.encode()


# --- codes (OUCH 4.2 §5) -----------------------------------------------------------------------

class Side(enum.StrEnum):
    BUY = "B"
    SELL = "S"
    SELL_SHORT = "T"
    SELL_SHORT_EXEMPT = "E"


class Display(enum.StrEnum):
    """OUCH 4.2 §5.2."""

    ATTRIBUTABLE = "A"
    ANONYMOUS = "Y"
    NON_DISPLAY = "N"
    POST_ONLY = "P"
    IMBALANCE_ONLY = "I"
    MIDPOINT_PEG = "M"
    MIDPOINT_PEG_POST_ONLY = "W"
    POST_ONLY_ATTRIBUTABLE = "L"
    RETAIL_TYPE_1 = "O"
    RETAIL_TYPE_2 = "T"
    RETAIL_PRICE_IMPROVEMENT = "Q"
    MIDPOINT_PEG_TRADE_NOW = "m"
    NON_DISPLAY_TRADE_NOW = "n"
    CONFORMANT = "Z"


class CrossType(enum.StrEnum):
    NO_CROSS = "N"
    OPENING = "O"
    CLOSING = "C"
    HALT_IPO = "H"
    SUPPLEMENTAL = "S"
    RETAIL = "R"
    EXTENDED_LIFE = "E"


class Capacity(enum.StrEnum):
    AGENCY = "A"
    PRINCIPAL = "P"
    RISKLESS = "R"
    OTHER = "O"


class OrderState(enum.StrEnum):
    LIVE = "L"
    DEAD = "D"


class EventCode(enum.StrEnum):
    START_OF_DAY = "S"
    END_OF_DAY = "E"


class BboWeightIndicator(enum.StrEnum):
    """OUCH 4.2 §5.6."""

    UP_TO_0_2_PCT = "0"
    UP_TO_1_PCT = "1"
    UP_TO_2_PCT = "2"
    OVER_2_PCT = "3"
    UNSPECIFIED = " "
    SETS_QBBO = "S"
    IMPROVES_NBBO = "N"


class CancelReason(enum.StrEnum):
    """OUCH 4.2 §5.7; be ready for any capital letter."""

    USER_REQUESTED = "U"
    IOC = "I"
    TIME_IN_FORCE = "T"
    SUPERVISORY = "S"
    REGULATORY = "D"
    SELF_MATCH_PREVENTION = "Q"
    SYSTEM = "Z"
    CROSS_CANCELLED = "C"
    MARKET_COLLARS = "K"
    HALTED = "H"
    OPEN_PROTECTION = "X"
    CLOSED = "E"
    POST_ONLY_NMS = "F"
    POST_ONLY_DISPLAYED = "G"


class BrokenTradeReason(enum.StrEnum):
    ERRONEOUS = "E"
    CONSENT = "C"
    SUPERVISORY = "S"
    EXTERNAL = "X"


class RejectReason(enum.StrEnum):
    """OUCH 4.2 §5.9, including the PRM (pre-trade risk) codes; be ready for any letter."""

    TEST_MODE = "T"
    HALTED = "H"
    SHARES_EXCEED_SAFETY = "Z"
    INVALID_STOCK = "S"
    INVALID_DISPLAY = "D"
    CLOSED = "C"
    CLEARING_TYPE_NOT_AUTHORIZED = "L"
    OUTSIDE_CLEARING_TIMES = "M"
    NOT_ALLOWED_IN_CROSS = "R"
    INVALID_PRICE = "X"
    INVALID_MINIMUM_QUANTITY = "N"
    OTHER = "O"
    INVALID_MIDPOINT_POST_ONLY_PRICE = "W"
    NO_REFERENCE_PRICE = "o"
    MIDPOINT_PEG_CROSSED = "q"
    LOC_TOO_AGGRESSIVE = "u"
    PRM_REJECT_ALL = "a"
    PRM_EASY_TO_BORROW = "b"
    PRM_RESTRICTED_SYMBOL = "c"
    PRM_ISO = "d"
    PRM_ODD_LOT = "e"
    PRM_MIDPOINT = "f"
    PRM_PRE_MARKET = "g"
    PRM_POST_MARKET = "h"
    PRM_SHORT_SALE = "i"
    PRM_ON_OPEN = "j"
    PRM_ON_CLOSE = "k"
    PRM_TWO_SIDED_QUOTE = "l"
    PRM_SHARE_LIMIT = "m"
    PRM_DOLLAR_LIMIT = "n"


class LiquidityFlag(enum.StrEnum):
    """OUCH 4.2 §5.8."""

    ADDED = "A"
    REMOVED = "R"
    OPENING_CROSS = "O"
    OPENING_CROSS_IMBALANCE = "M"
    CLOSING_CROSS = "C"
    CLOSING_CROSS_IMBALANCE = "L"
    HALT_IPO_CROSS = "H"
    HALT_CROSS = "K"
    NON_DISPLAYED_ADDED = "J"
    ADDED_POST_ONLY = "W"
    MIDPOINT_REMOVED = "m"
    MIDPOINT_ADDED = "k"
    SUPPLEMENTAL = "0"
    DISPLAYED_IMPROVES_NBBO = "7"
    DISPLAYED_SETS_QBBO = "8"
    RETAIL_REMOVED = "d"
    RETAIL_ADDED_DISPLAYED = "e"
    RETAIL_ADDED_NON_DISPLAYED = "f"
    RPI_PROVIDES = "j"
    RETAIL_REMOVES_RPI = "r"
    RETAIL_REMOVES_PRICE_IMPROVING = "t"
    GROUP_A_ADDED_DISPLAYED = "4"
    GROUP_A_ADDED_NON_DISPLAYED = "5"
    GROUP_A_REMOVED = "6"
    GROUP_A_MIDPOINT_ADDED = "g"
    MIDPOINT_EXTENDED_LIFE = "n"


__all__ = [
    "INBOUND", "MARKET_PRICE", "MAX_PRICE", "MESSAGES", "OUTBOUND", "TIF_IOC",
    "TIF_MARKET_HOURS", "TIF_SYSTEM_HOURS", "TOKEN_LEN",
    "Accepted", "AiqCancelled", "BboWeightIndicator", "BrokenTrade", "BrokenTradeReason",
    "CancelOrder", "CancelPending", "CancelReason", "CancelReject", "Canceled", "Capacity",
    "CrossType", "Display", "EnterOrder", "EventCode", "Executed", "ExecutedWithReferencePrice",
    "LiquidityFlag", "ModifyOrder", "OrderModified", "OrderPriorityUpdate", "OrderState",
    "RejectReason", "Rejected", "ReplaceOrder", "Replaced", "Side", "SystemEvent",
    "TradeCorrection", "TradeNow", "TradeNowOutbound", "decode", "decode_inbound",
    "decode_outbound", "encode",
]
