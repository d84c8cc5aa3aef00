"""OUCH 5.0 order entry: every inbound and outbound message, options and codes.

Layouts are the spec tables (OUCH 5.0 §4.1 inbound, §4.2 outbound) written as
``(name, offset, length, kind)`` rows; :mod:`tick2trade.proto.ouch` builds
the classes and codecs from them. Type letters overlap between directions
(OUCH 5.0 §1), so decode with :func:`decode_inbound` (client → venue, in
SoupBinTCP ``U`` packets) or :func:`decode_outbound` (venue → client, in
``S`` packets).

Every message's ``appendage`` is a tuple of :class:`TagValue` (OUCH 5.0 §2);
messages whose appendage is optional in the 2024 revision have
``appendage=None`` when the Appendage Length is absent. Option values are
decoded on demand with :func:`option_value` / :func:`get_option` (OUCH 5.0
§5); unknown tags are kept as raw bytes.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import NamedTuple

from tick2trade.proto.errors import FieldError
from tick2trade.proto.ouch import (
    ALPHA,
    ALWAYS,
    APPENDAGE_LENGTH,
    CHAR,
    OPTIONAL,
    PRICE,
    UINT,
    Direction,
    Message,
    TagValue,
    decode_by_type,
    message,
    type_table,
)

VERSION = "5.0"
IN, OUT = Direction.INBOUND, Direction.OUTBOUND

#: OUCH 5.0 §1: largest limit price, and the price of a market order in a cross
MAX_PRICE = 0x7735939C
MARKET_PRICE = 0x7FFFFFFF
MAX_QUANTITY = 999_999

_TS = ("timestamp", 1, 8, UINT)
_REF = ("user_ref_num", 9, 4, UINT)


def _m(letter, name, direction, rows, length, appendage, doc):
    return message(letter, name, VERSION, direction, rows, length=length, appendage=appendage,
                   doc=doc)


# --- inbound (OUCH 5.0 §4.1) -------------------------------------------------------------------

EnterOrder = _m("O", "EnterOrder", IN, [
    ("user_ref_num", 1, 4, UINT),
    ("side", 5, 1, CHAR),
    ("quantity", 6, 4, UINT),
    ("symbol", 10, 8, ALPHA),
    ("price", 18, 8, PRICE),
    ("time_in_force", 26, 1, CHAR),
    ("display", 27, 1, CHAR),
    ("capacity", 28, 1, CHAR),
    ("intermarket_sweep", 29, 1, CHAR),
    ("cross_type", 30, 1, CHAR),
    ("cl_ord_id", 31, 14, ALPHA),
    ("appendage_length", 45, 2, APPENDAGE_LENGTH),
], 47, ALWAYS, "Enter Order `O` (OUCH 5.0 §4.1).")

ReplaceOrder = _m("U", "ReplaceOrder", IN, [
    ("orig_user_ref_num", 1, 4, UINT),
    ("user_ref_num", 5, 4, UINT),
    ("quantity", 9, 4, UINT),
    ("price", 13, 8, PRICE),
    ("time_in_force", 21, 1, CHAR),
    ("display", 22, 1, CHAR),
    ("intermarket_sweep", 23, 1, CHAR),
    ("cl_ord_id", 24, 14, ALPHA),
    ("appendage_length", 38, 2, APPENDAGE_LENGTH),
], 40, ALWAYS, "Replace Order Request `U` (OUCH 5.0 §4.1).")

CancelOrder = _m("X", "CancelOrder", IN, [
    ("user_ref_num", 1, 4, UINT),
    ("quantity", 5, 4, UINT),
], 9, OPTIONAL, "Cancel Order Request `X` (OUCH 5.0 §4.1); quantity 0 cancels all.")

ModifyOrder = _m("M", "ModifyOrder", IN, [
    ("user_ref_num", 1, 4, UINT),
    ("side", 5, 1, CHAR),
    ("quantity", 6, 4, UINT),
], 10, OPTIONAL, "Modify Order Request `M` (OUCH 5.0 §4.1).")

MassCancel = _m("C", "MassCancel", IN, [
    ("user_ref_num", 1, 4, UINT),
    ("firm", 5, 4, ALPHA),
    ("symbol", 9, 8, ALPHA),
    ("appendage_length", 17, 2, APPENDAGE_LENGTH),
], 19, ALWAYS, "Mass Cancel Request `C` (OUCH 5.0 §4.1, 2024).")

DisableOrderEntry = _m("D", "DisableOrderEntry", IN, [
    ("user_ref_num", 1, 4, UINT),
    ("firm", 5, 4, ALPHA),
    ("appendage_length", 9, 2, APPENDAGE_LENGTH),
], 11, ALWAYS, "Disable Order Entry Request `D` (OUCH 5.0 §4.1, 2024).")

EnableOrderEntry = _m("E", "EnableOrderEntry", IN, [
    ("user_ref_num", 1, 4, UINT),
    ("firm", 5, 4, ALPHA),
    ("appendage_length", 9, 2, APPENDAGE_LENGTH),
], 11, ALWAYS, "Enable Order Entry Request `E` (OUCH 5.0 §4.1, 2024).")

AccountQuery = _m("Q", "AccountQuery", IN, [
], 1, OPTIONAL, "Account Query Request `Q` (OUCH 5.0 §4.1).")

# --- outbound (OUCH 5.0 §4.2) ------------------------------------------------------------------

SystemEvent = _m("S", "SystemEvent", OUT, [
    _TS,
    ("event_code", 9, 1, CHAR),
], 10, "none", "System Event `S` (OUCH 5.0 §4.2).")

OrderAccepted = _m("A", "OrderAccepted", OUT, [
    _TS, _REF,
    ("side", 13, 1, CHAR),
    ("quantity", 14, 4, UINT),
    ("symbol", 18, 8, ALPHA),
    ("price", 26, 8, PRICE),
    ("time_in_force", 34, 1, CHAR),
    ("display", 35, 1, CHAR),
    ("order_reference_number", 36, 8, UINT),
    ("capacity", 44, 1, CHAR),
    ("intermarket_sweep", 45, 1, CHAR),
    ("cross_type", 46, 1, CHAR),
    ("order_state", 47, 1, CHAR),
    ("cl_ord_id", 48, 14, ALPHA),
    ("appendage_length", 62, 2, APPENDAGE_LENGTH),
], 64, ALWAYS, "Order Accepted `A` (OUCH 5.0 §4.2).")

OrderReplaced = _m("U", "OrderReplaced", OUT, [
    _TS,
    ("orig_user_ref_num", 9, 4, UINT),
    ("user_ref_num", 13, 4, UINT),
    ("side", 17, 1, CHAR),
    ("quantity", 18, 4, UINT),
    ("symbol", 22, 8, ALPHA),
    ("price", 30, 8, PRICE),
    ("time_in_force", 38, 1, CHAR),
    ("display", 39, 1, CHAR),
    ("order_reference_number", 40, 8, UINT),
    ("capacity", 48, 1, CHAR),
    ("intermarket_sweep", 49, 1, CHAR),
    ("cross_type", 50, 1, CHAR),
    ("order_state", 51, 1, CHAR),
    ("cl_ord_id", 52, 14, ALPHA),
    ("appendage_length", 66, 2, APPENDAGE_LENGTH),
], 68, ALWAYS, "Order Replaced `U` (OUCH 5.0 §4.2).")

OrderCanceled = _m("C", "OrderCanceled", OUT, [
    _TS, _REF,
    ("quantity", 13, 4, UINT),
    ("reason", 17, 1, CHAR),
], 18, OPTIONAL, "Order Canceled `C` (OUCH 5.0 §4.2); quantity removed by this event.")

AiqCanceled = _m("D", "AiqCanceled", OUT, [
    _TS, _REF,
    ("decrement_shares", 13, 4, UINT),
    ("reason", 17, 1, CHAR),
    ("quantity_prevented", 18, 4, UINT),
    ("execution_price", 22, 8, PRICE),
    ("liquidity_flag", 30, 1, CHAR),
    ("aiq_strategy", 31, 1, CHAR),
], 32, OPTIONAL, "AIQ Canceled `D` (OUCH 5.0 §4.2).")

OrderExecuted = _m("E", "OrderExecuted", OUT, [
    _TS, _REF,
    ("quantity", 13, 4, UINT),
    ("price", 17, 8, PRICE),
    ("liquidity_flag", 25, 1, CHAR),
    ("match_number", 26, 8, UINT),
    ("appendage_length", 34, 2, APPENDAGE_LENGTH),
], 36, ALWAYS, "Order Executed `E` (OUCH 5.0 §4.2).")

BrokenTrade = _m("B", "BrokenTrade", OUT, [
    _TS, _REF,
    ("match_number", 13, 8, UINT),
    ("reason", 21, 1, CHAR),
    ("cl_ord_id", 22, 14, ALPHA),
], 36, OPTIONAL, "Broken Trade `B` (OUCH 5.0 §4.2).")

Rejected = _m("J", "Rejected", OUT, [
    _TS, _REF,
    ("reason", 13, 2, UINT),
    ("cl_ord_id", 15, 14, ALPHA),
], 29, OPTIONAL, "Rejected `J` (OUCH 5.0 §4.2); reason is a numeric RejectReason (§6.6).")

CancelPending = _m("P", "CancelPending", OUT, [
    _TS, _REF,
], 13, OPTIONAL, "Cancel Pending `P` (OUCH 5.0 §4.2).")

CancelReject = _m("I", "CancelReject", OUT, [
    _TS, _REF,
], 13, OPTIONAL, "Cancel Reject `I` (OUCH 5.0 §4.2).")

OrderPriorityUpdate = _m("T", "OrderPriorityUpdate", OUT, [
    _TS, _REF,
    ("price", 13, 8, PRICE),
    ("display", 21, 1, CHAR),
    ("order_reference_number", 22, 8, UINT),
], 30, OPTIONAL, "Order Priority Update `T` (OUCH 5.0 §4.2).")

OrderModified = _m("M", "OrderModified", OUT, [
    _TS, _REF,
    ("side", 13, 1, CHAR),
    ("quantity", 14, 4, UINT),
], 18, OPTIONAL, "Order Modified `M` (OUCH 5.0 §4.2).")

OrderRestated = _m("R", "OrderRestated", OUT, [
    _TS, _REF,
    ("reason", 13, 1, CHAR),
    ("appendage_length", 14, 2, APPENDAGE_LENGTH),
], 16, ALWAYS, "Order Restated `R` (OUCH 5.0 §4.2).")

MassCancelResponse = _m("X", "MassCancelResponse", OUT, [
    _TS, _REF,
    ("firm", 13, 4, ALPHA),
    ("symbol", 17, 8, ALPHA),
    ("appendage_length", 25, 2, APPENDAGE_LENGTH),
], 27, ALWAYS, "Mass Cancel Response `X` (OUCH 5.0 §4.2, 2024).")

DisableOrderEntryResponse = _m("G", "DisableOrderEntryResponse", OUT, [
    _TS, _REF,
    ("firm", 13, 4, ALPHA),
    ("appendage_length", 17, 2, APPENDAGE_LENGTH),
], 19, ALWAYS, "Disable Order Entry Response `G` (OUCH 5.0 §4.2, 2024).")

EnableOrderEntryResponse = _m("K", "EnableOrderEntryResponse", OUT, [
    _TS, _REF,
    ("firm", 13, 4, ALPHA),
    ("appendage_length", 17, 2, APPENDAGE_LENGTH),
], 19, ALWAYS, "Enable Order Entry Response `K` (OUCH 5.0 §4.2, 2024).")

AccountQueryResponse = _m("Q", "AccountQueryResponse", OUT, [
    _TS,
    ("next_user_ref_num", 9, 4, UINT),
], 13, OPTIONAL, "Account Query Response `Q` (OUCH 5.0 §4.2).")

INBOUND = type_table([EnterOrder, ReplaceOrder, CancelOrder, ModifyOrder, MassCancel,
                      DisableOrderEntry, EnableOrderEntry, AccountQuery])
OUTBOUND = type_table([SystemEvent, OrderAccepted, OrderReplaced, OrderCanceled, AiqCanceled,
                       OrderExecuted, BrokenTrade, Rejected, CancelPending, CancelReject,
                       OrderPriorityUpdate, OrderModified, OrderRestated, MassCancelResponse,
                       DisableOrderEntryResponse, EnableOrderEntryResponse,
                       AccountQueryResponse])
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


# --- options (OUCH 5.0 §5, Appendix B) ---------------------------------------------------------

class OptionTag(enum.IntEnum):
    SECONDARY_ORD_REF_NUM = 1
    FIRM = 2
    MIN_QTY = 3
    CUSTOMER_TYPE = 4
    MAX_FLOOR = 5
    PRICE_TYPE = 6
    PEG_OFFSET = 7
    DISCRETION_PRICE = 9
    DISCRETION_PRICE_TYPE = 10
    DISCRETION_PEG_OFFSET = 11
    POST_ONLY = 12
    RANDOM_RESERVES = 13
    ROUTE = 14
    EXPIRE_TIME = 15
    TRADE_NOW = 16
    HANDLE_INST = 17
    BBO_WEIGHT_INDICATOR = 18
    DISPLAY_QUANTITY = 22
    DISPLAY_PRICE = 23
    GROUP_ID = 24
    SHARES_LOCATED = 25
    LOCATE_BROKER = 26
    SIDE = 27
    USER_REF_IDX = 28


class OptionSpec(NamedTuple):
    """Value size and kind of one option (OUCH 5.0 §5): uint, int (signed), price, alpha, char."""

    size: int
    kind: str


OPTIONS: dict[int, OptionSpec] = {
    OptionTag.SECONDARY_ORD_REF_NUM: OptionSpec(8, "uint"),
    OptionTag.FIRM: OptionSpec(4, "alpha"),
    OptionTag.MIN_QTY: OptionSpec(4, "uint"),
    OptionTag.CUSTOMER_TYPE: OptionSpec(1, "char"),
    OptionTag.MAX_FLOOR: OptionSpec(4, "uint"),
    OptionTag.PRICE_TYPE: OptionSpec(1, "char"),
    OptionTag.PEG_OFFSET: OptionSpec(4, "int"),
    OptionTag.DISCRETION_PRICE: OptionSpec(8, "price"),
    OptionTag.DISCRETION_PRICE_TYPE: OptionSpec(1, "char"),
    OptionTag.DISCRETION_PEG_OFFSET: OptionSpec(4, "int"),
    OptionTag.POST_ONLY: OptionSpec(1, "char"),
    OptionTag.RANDOM_RESERVES: OptionSpec(4, "uint"),
    OptionTag.ROUTE: OptionSpec(4, "alpha"),
    OptionTag.EXPIRE_TIME: OptionSpec(4, "uint"),
    OptionTag.TRADE_NOW: OptionSpec(1, "char"),
    OptionTag.HANDLE_INST: OptionSpec(1, "char"),
    OptionTag.BBO_WEIGHT_INDICATOR: OptionSpec(1, "char"),
    OptionTag.DISPLAY_QUANTITY: OptionSpec(4, "uint"),
    OptionTag.DISPLAY_PRICE: OptionSpec(8, "price"),
    OptionTag.GROUP_ID: OptionSpec(2, "uint"),
    OptionTag.SHARES_LOCATED: OptionSpec(1, "char"),
    OptionTag.LOCATE_BROKER: OptionSpec(4, "alpha"),
    OptionTag.SIDE: OptionSpec(1, "char"),
    OptionTag.USER_REF_IDX: OptionSpec(1, "uint"),
}


def option_value(element: TagValue) -> int | str | bytes:
    """The typed value of one TagValue; raw bytes for a tag the spec does not define."""
    spec = OPTIONS.get(element.tag)
    if spec is None:
        return element.value
    if len(element.value) != spec.size:
        name = OptionTag(element.tag).name
        raise FieldError(f"OUCH 5.0 §5: option {element.tag} ({name}) needs {spec.size} value "
                         f"bytes, got {len(element.value)}")
    if spec.kind in ("uint", "price"):
        return int.from_bytes(element.value, "big")
    if spec.kind == "int":
        return int.from_bytes(element.value, "big", signed=True)
    text = element.value.decode("latin-1")
    return text.rstrip(" ") if spec.kind == "alpha" else text


def make_option(tag: int, value: int | str | bytes) -> TagValue:
    """Build a TagValue from a typed value (OUCH 5.0 §5); bytes pass through unchanged."""
    if isinstance(value, bytes):
        return TagValue(int(tag), value)
    spec = OPTIONS.get(tag)
    if spec is None:
        raise FieldError(f"OUCH 5.0 §5: option tag {tag} is not defined; give raw bytes")
    try:
        if spec.kind in ("alpha", "char"):
            raw = value.encode("latin-1")
            if len(raw) > spec.size or (spec.kind == "char" and len(raw) != 1):
                raise ValueError
            raw = raw.ljust(spec.size, b" ")
        else:
            raw = int(value).to_bytes(spec.size, "big", signed=spec.kind == "int")
    except (ValueError, OverflowError, AttributeError, TypeError):
        raise FieldError(f"OUCH 5.0 §5: {value!r} does not fit option {OptionTag(tag).name} "
                         f"({spec.size} bytes {spec.kind})") from None
    return TagValue(int(tag), raw)


def get_option(msg: Message, tag: int, default=None):
    """Typed value of the first option ``tag`` in ``msg.appendage``, or ``default``."""
    for element in getattr(msg, "appendage", None) or ():
        if element.tag == tag:
            return option_value(element)
    return default


def options(msg: Message) -> dict[int, int | str | bytes]:
    """Every option of ``msg`` as {tag: typed value} (last one wins on a repeated tag)."""
    return {e.tag: option_value(e) for e in getattr(msg, "appendage", None) or ()}


# --- codes (OUCH 5.0 §6) -----------------------------------------------------------------------

class Side(enum.StrEnum):
    BUY = "B"
    SELL = "S"
    SELL_SHORT = "T"
    SELL_SHORT_EXEMPT = "E"


class TimeInForce(enum.StrEnum):
    DAY = "0"
    IOC = "3"
    GTX = "5"
    GTT = "6"
    AFTER_HOURS = "E"


class CrossType(enum.StrEnum):
    CONTINUOUS = "N"
    OPENING = "O"
    CLOSING = "C"
    HALT_IPO = "H"
    SUPPLEMENTAL = "S"
    RETAIL = "R"
    EXTENDED_LIFE = "E"
    AFTER_HOURS_CLOSE = "A"


class Display(enum.StrEnum):
    VISIBLE = "Y"
    HIDDEN = "N"
    ATTRIBUTABLE = "A"
    CONFORMANT = "Z"


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


class BrokenTradeReason(enum.StrEnum):
    ERRONEOUS = "E"
    CONSENT = "C"
    SUPERVISORY = "S"
    EXTERNAL = "X"


class RestatedReason(enum.StrEnum):
    REFRESH = "R"
    PRICE_UPDATE = "P"


class CancelReason(enum.StrEnum):
    """OUCH 5.0 §6.5 (Appendix C)."""

    REGULATORY = "D"
    CLOSED = "E"
    POST_ONLY_NMS = "F"
    POST_ONLY_DISPLAYED = "G"
    HALTED = "H"
    IOC = "I"
    MARKET_COLLARS = "K"
    SELF_MATCH_PREVENTION = "Q"
    SUPERVISORY = "S"
    TIME_IN_FORCE = "T"
    USER_REQUESTED = "U"
    OPEN_PROTECTION = "X"
    SYSTEM = "Z"
    DLCR_EXCEEDS_SHARES = "e"


class RejectReason(enum.IntEnum):
    """OUCH 5.0 §6.6 (Appendix D); 0x0024 is the 2024 meaning (2023: order type restricted)."""

    QUOTE_UNAVAILABLE = 0x01
    DESTINATION_CLOSED = 0x02
    INVALID_DISPLAY = 0x03
    INVALID_MAX_FLOOR = 0x04
    INVALID_PEG_TYPE = 0x05
    FAT_FINGER = 0x06
    HALTED = 0x07
    ISO_NOT_ALLOWED = 0x08
    INVALID_SIDE = 0x09
    PROCESSING_ERROR = 0x0A
    CANCEL_PENDING = 0x0B
    FIRM_NOT_AUTHORIZED = 0x0C
    INVALID_MIN_QUANTITY = 0x0D
    NO_CLOSING_REFERENCE_PRICE = 0x0E
    OTHER = 0x0F
    CANCEL_NOT_ALLOWED = 0x10
    PEGGING_NOT_ALLOWED = 0x11
    CROSSED_MARKET = 0x12
    INVALID_QUANTITY = 0x13
    INVALID_CROSS_ORDER = 0x14
    REPLACE_NOT_ALLOWED = 0x15
    ROUTING_NOT_ALLOWED = 0x16
    INVALID_SYMBOL = 0x17
    TEST = 0x18
    LATE_LOC_TOO_AGGRESSIVE = 0x19
    RETAIL_NOT_ALLOWED = 0x1A
    INVALID_MIDPOINT_POST_ONLY_PRICE = 0x1B
    INVALID_DESTINATION = 0x1C
    INVALID_PRICE = 0x1D
    SHARES_EXCEED_THRESHOLD = 0x1E
    EXCEEDS_MAX_NOTIONAL = 0x1F
    RISK_AGGREGATE_EXPOSURE = 0x20
    RISK_MARKET_IMPACT = 0x21
    RISK_RESTRICTED_STOCK = 0x22
    RISK_SHORT_SELL_RESTRICTED = 0x23
    RISK_ISO_NOT_ALLOWED = 0x24
    RISK_EXCEEDS_ADV_LIMIT = 0x25
    RISK_FAT_FINGER = 0x26
    RISK_LOCATE_REQUIRED = 0x27
    RISK_SYMBOL_MESSAGE_RATE = 0x28
    RISK_PORT_MESSAGE_RATE = 0x29
    RISK_DUPLICATE_MESSAGE_RATE = 0x2A
    RISK_SHORT_SELL_NOT_ALLOWED = 0x2B
    RISK_MARKET_ORDER_NOT_ALLOWED = 0x2C
    RISK_PRE_MARKET_NOT_ALLOWED = 0x2D
    RISK_POST_MARKET_NOT_ALLOWED = 0x2E
    RISK_SHORT_SELL_EXEMPT_NOT_ALLOWED = 0x2F
    RISK_SINGLE_ORDER_NOTIONAL = 0x30
    RISK_MAX_QUANTITY = 0x31
    REG_SHO_STATE_NOT_AVAILABLE = 0x32


class LiquidityFlag(enum.StrEnum):
    """OUCH 5.0 §6.7 (Appendix E)."""

    ADDED = "A"
    CLOSING_CROSS = "C"
    RETAIL_ADDED_DISPLAYED = "e"
    HALT_IPO_CROSS = "H"
    AFTER_HOURS_CLOSING_CROSS = "i"
    NON_DISPLAYED_ADDED = "J"
    RPI_PROVIDES = "j"
    MIDPOINT_ADDED = "k"
    HALT_CROSS = "K"
    CLOSING_CROSS_IMBALANCE = "L"
    OPENING_CROSS_IMBALANCE = "M"
    MIDPOINT_REMOVED = "m"
    PASSIVE_MIDPOINT = "N"
    MIDPOINT_EXTENDED_LIFE = "n"
    OPENING_CROSS = "O"
    REMOVED_PRICE_IMPROVING_NON_DISPLAYED = "p"
    RMO_REMOVES_NON_RPI_MIDPOINT = "q"
    REMOVED = "R"
    RETAIL_REMOVES_RPI = "r"
    RETAIL_REMOVES_PRICE_IMPROVING = "t"
    RESERVE_ADDED_NON_DISPLAYED = "u"
    SUPPLEMENTAL = "0"
    DISPLAYED_IMPROVES_NBBO = "7"
    DISPLAYED_SETS_QBBO = "8"
    RPI_NO_RPII = "1"


def price_to_raw(price: float | str) -> int:
    """Dollars → raw price with 4 implied decimals (OUCH 5.0 §1), rounded to the nearest unit."""
    return int((Decimal(str(price)) * 10000).to_integral_value())


__all__ = [
    "INBOUND", "MARKET_PRICE", "MAX_PRICE", "MESSAGES", "OPTIONS", "OUTBOUND",
    "AccountQuery", "AccountQueryResponse", "AiqCanceled", "BrokenTrade", "BrokenTradeReason",
    "CancelOrder", "CancelPending", "CancelReason", "CancelReject", "Capacity", "CrossType",
    "DisableOrderEntry", "DisableOrderEntryResponse", "Display", "EnableOrderEntry",
    "EnableOrderEntryResponse", "EnterOrder", "EventCode", "LiquidityFlag", "MassCancel",
    "MassCancelResponse", "ModifyOrder", "OptionSpec", "OptionTag", "OrderAccepted",
    "OrderCanceled", "OrderExecuted", "OrderModified", "OrderPriorityUpdate", "OrderReplaced",
    "OrderRestated", "OrderState", "RejectReason", "Rejected", "ReplaceOrder", "RestatedReason",
    "Side", "SystemEvent", "TagValue", "TimeInForce", "decode", "decode_inbound",
    "decode_outbound", "encode", "get_option", "make_option", "option_value", "options",
    "price_to_raw",
]
