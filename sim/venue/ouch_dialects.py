"""OUCH 4.2 and OUCH 5.0 seen through one neutral vocabulary.

The order port (``ouch_port.py``) is written once; a *dialect* turns a
decoded inbound message into a neutral request (:class:`Enter`,
:class:`Replace`, :class:`Cancel`, :class:`Modify`, :class:`Query`,
:class:`MassCancel`, :class:`EntrySwitch`) and builds the version's
outbound messages from neutral facts. Field layouts and codes come from
``tick2trade.proto.ouch42`` / ``ouch50``; nothing is redefined here.

Differences the dialects absorb:

* order identity — OUCH 4.2 §3: a 14-byte token, unique for the day;
  OUCH 5.0 §1: a u32 UserRefNum, strictly increasing per port (a lower or
  repeated one is ignored as a retransmission);
* prices — 4 bytes (OUCH 4.2 §1) or 8 bytes (OUCH 5.0 §1), both with 4
  implied decimals; ``0x7FFFFFFF`` (and in 5.0 also $200,000.0000) is a
  market order;
* time in force — seconds with special values (OUCH 4.2 §1: 0 = IOC) or a
  letter (OUCH 5.0 §6.2: ``3`` = IOC); everything else lives for the day;
* reject reasons — letters (OUCH 4.2 §5.9) or u16 codes (OUCH 5.0 §6.6);
* appendage — OUCH 5.0 §2 only; unsupported options (MinQty, MaxFloor,
  pegs, ...) are refused with their reason code, unknown tags skipped.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

from tick2trade.proto import ouch42, ouch50
from tick2trade.proto.errors import ProtocolError
from tick2trade.sim.venue.events import TimeInForce


class Refusal(enum.Enum):
    """Why an Enter (or Replace) is refused, before each version's code."""

    INVALID_SIDE = "side"
    INVALID_QUANTITY = "quantity"
    INVALID_SYMBOL = "symbol"
    INVALID_PRICE = "price"
    INVALID_DISPLAY = "display"
    INVALID_TIF = "time in force"
    INVALID_CROSS = "cross type"
    ISO_NOT_ALLOWED = "intermarket sweep"
    INVALID_MIN_QTY = "minimum quantity"
    INVALID_PEG = "price type"
    INVALID_MAX_FLOOR = "max floor"
    INVALID_OPTION = "option"
    HALTED = "halted"
    ENTRY_DISABLED = "order entry disabled"


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """What the venue echoes about an order (raw wire values of the version)."""

    ref: Any               # token (4.2) or UserRefNum (5.0)
    side: str
    symbol: str
    price: int             # as entered (market price kept)
    tif: Any               # seconds (4.2) or letter (5.0)
    display: str
    capacity: str
    iso: str
    cross: str
    cl_ord_id: str = ""    # 5.0
    firm: str = ""         # 4.2 field / 5.0 Firm option
    min_qty: int = 0
    customer_type: str = " "
    appendage: tuple = ()  # 5.0 options echoed in Accepted


@dataclass(frozen=True, slots=True)
class Enter:
    info: OrderInfo
    qty: int
    market: bool
    engine_tif: TimeInForce | None
    refusal: Refusal | None


@dataclass(frozen=True, slots=True)
class Replace:
    orig: Any
    info: OrderInfo        # of the replacement (side/symbol/... filled in by the port)
    qty: int
    engine_tif: TimeInForce | None
    refusal: Refusal | None


@dataclass(frozen=True, slots=True)
class Cancel:
    ref: Any
    qty: int
    appendage: bool        # the request carried an Appendage Length (OUCH 5.0 §2)


@dataclass(frozen=True, slots=True)
class Modify:
    ref: Any
    side: str
    qty: int
    appendage: bool


@dataclass(frozen=True, slots=True)
class Query:
    appendage: bool


@dataclass(frozen=True, slots=True)
class MassCancel:
    ref: int
    firm: str
    symbol: str            # "" = every symbol


@dataclass(frozen=True, slots=True)
class EntrySwitch:
    ref: int
    firm: str
    enable: bool


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed request the venue does not act on (e.g. OUCH 4.2 Trade Now)."""

    name: str


SIDES = frozenset("BSTE")


class Ouch50Dialect:
    """OUCH 5.0 (``tick2trade.proto.ouch50``)."""

    version = "5.0"
    proto = ouch50
    increasing_refs = True
    MARKET_PRICES = frozenset({ouch50.MARKET_PRICE, 2_000_000_000})
    DISPLAYS = {"Y": True, "A": True, "N": False}
    CODES = {
        Refusal.INVALID_SIDE: ouch50.RejectReason.INVALID_SIDE,
        Refusal.INVALID_QUANTITY: ouch50.RejectReason.INVALID_QUANTITY,
        Refusal.INVALID_SYMBOL: ouch50.RejectReason.INVALID_SYMBOL,
        Refusal.INVALID_PRICE: ouch50.RejectReason.INVALID_PRICE,
        Refusal.INVALID_DISPLAY: ouch50.RejectReason.INVALID_DISPLAY,
        Refusal.INVALID_TIF: ouch50.RejectReason.OTHER,
        Refusal.INVALID_CROSS: ouch50.RejectReason.INVALID_CROSS_ORDER,
        Refusal.ISO_NOT_ALLOWED: ouch50.RejectReason.ISO_NOT_ALLOWED,
        Refusal.INVALID_MIN_QTY: ouch50.RejectReason.INVALID_MIN_QUANTITY,
        Refusal.INVALID_PEG: ouch50.RejectReason.INVALID_PEG_TYPE,
        Refusal.INVALID_MAX_FLOOR: ouch50.RejectReason.INVALID_MAX_FLOOR,
        Refusal.INVALID_OPTION: ouch50.RejectReason.OTHER,
        Refusal.HALTED: ouch50.RejectReason.HALTED,
        Refusal.ENTRY_DISABLED: ouch50.RejectReason.OTHER,
    }

    # ------------------------------------------------------------ inbound

    def decode(self, payload: bytes):
        return ouch50.decode_inbound(payload)

    @staticmethod
    def _tif(code: str) -> TimeInForce | None:
        """OUCH 5.0 §6.2: ``3`` IOC; Day/GTX/GTT/after-hours all live for the day here."""
        if code == ouch50.TimeInForce.IOC:
            return TimeInForce.IOC
        return TimeInForce.DAY if code in ("0", "5", "6", "E") else None

    @staticmethod
    def _option_refusal(msg) -> tuple[Refusal | None, str]:
        """Check the appendage options this venue does not implement (OUCH 5.0 §5)."""
        try:
            opts = ouch50.options(msg)
        except ProtocolError:
            return Refusal.INVALID_OPTION, ""
        firm = opts.get(ouch50.OptionTag.FIRM, "")
        if opts.get(ouch50.OptionTag.MIN_QTY, 0):
            return Refusal.INVALID_MIN_QTY, firm
        if opts.get(ouch50.OptionTag.MAX_FLOOR, 0) or opts.get(ouch50.OptionTag.RANDOM_RESERVES,
                                                               0):
            return Refusal.INVALID_MAX_FLOOR, firm
        if opts.get(ouch50.OptionTag.PRICE_TYPE, "L") != "L":
            return Refusal.INVALID_PEG, firm
        return None, firm

    def _price_refusal(self, price: int) -> tuple[bool, Refusal | None]:
        if price in self.MARKET_PRICES:
            return True, None
        if not 0 < price <= ouch50.MAX_PRICE:
            return False, Refusal.INVALID_PRICE
        return False, None

    def parse(self, msg) -> Any:
        if isinstance(msg, ouch50.EnterOrder):
            refusal, firm = self._option_refusal(msg)
            market, price_refusal = self._price_refusal(msg.price)
            tif = self._tif(msg.time_in_force)
            refusal = (_first_refusal(
                (msg.side not in SIDES, Refusal.INVALID_SIDE),
                (not 0 < msg.quantity <= ouch50.MAX_QUANTITY, Refusal.INVALID_QUANTITY),
                (price_refusal is not None, Refusal.INVALID_PRICE),
                (tif is None, Refusal.INVALID_TIF),
                (msg.display not in self.DISPLAYS, Refusal.INVALID_DISPLAY),
                (msg.intermarket_sweep not in ("Y", "N"), Refusal.ISO_NOT_ALLOWED),
                (msg.cross_type != "N", Refusal.INVALID_CROSS),
            ) or refusal)
            capacity = msg.capacity if msg.capacity in "APR" else "O"
            info = OrderInfo(msg.user_ref_num, msg.side, msg.symbol, msg.price,
                             msg.time_in_force, msg.display, capacity, msg.intermarket_sweep,
                             msg.cross_type, msg.cl_ord_id, firm, 0, " ", msg.appendage)
            return Enter(info, msg.quantity, market, tif, refusal)
        if isinstance(msg, ouch50.ReplaceOrder):
            refusal, _ = self._option_refusal(msg)
            market, price_refusal = self._price_refusal(msg.price)
            tif = self._tif(msg.time_in_force)
            refusal = (_first_refusal(
                (not 0 < msg.quantity <= ouch50.MAX_QUANTITY, Refusal.INVALID_QUANTITY),
                (market or price_refusal is not None, Refusal.INVALID_PRICE),
                (tif is None, Refusal.INVALID_TIF),
                (msg.display not in self.DISPLAYS, Refusal.INVALID_DISPLAY),
                (msg.intermarket_sweep not in ("Y", "N"), Refusal.ISO_NOT_ALLOWED),
            ) or refusal)
            info = OrderInfo(msg.user_ref_num, "", "", msg.price, msg.time_in_force,
                             msg.display, "", msg.intermarket_sweep, "", msg.cl_ord_id,
                             appendage=msg.appendage)
            return Replace(msg.orig_user_ref_num, info, msg.quantity, tif, refusal)
        if isinstance(msg, ouch50.CancelOrder):
            return Cancel(msg.user_ref_num, msg.quantity, msg.appendage is not None)
        if isinstance(msg, ouch50.ModifyOrder):
            return Modify(msg.user_ref_num, msg.side, msg.quantity, msg.appendage is not None)
        if isinstance(msg, ouch50.AccountQuery):
            return Query(msg.appendage is not None)
        if isinstance(msg, ouch50.MassCancel):
            return MassCancel(msg.user_ref_num, msg.firm, msg.symbol)
        if isinstance(msg, ouch50.DisableOrderEntry | ouch50.EnableOrderEntry):
            return EntrySwitch(msg.user_ref_num, msg.firm,
                               isinstance(msg, ouch50.EnableOrderEntry))
        return Ignored(type(msg).__name__)

    def merge_replace(self, old: OrderInfo, new: OrderInfo) -> OrderInfo:
        """The replacement keeps the original's side, symbol, capacity, cross type, firm."""
        appendage = new.appendage or old.appendage
        return replace(new, side=old.side, symbol=old.symbol, capacity=old.capacity,
                       cross=old.cross, firm=old.firm, appendage=appendage)

    # ----------------------------------------------------------- outbound

    def system_event(self, ts: int, code: str) -> bytes:
        return ouch50.SystemEvent(ts, code).encode()

    def accepted(self, ts: int, info: OrderInfo, qty: int, order_ref: int) -> bytes:
        return ouch50.OrderAccepted(
            ts, info.ref, info.side, qty, info.symbol, info.price, info.tif, info.display,
            order_ref, info.capacity, info.iso, info.cross, ouch50.OrderState.LIVE,
            info.cl_ord_id, info.appendage).encode()

    def replaced(self, ts: int, old_ref, info: OrderInfo, qty: int, order_ref: int) -> bytes:
        return ouch50.OrderReplaced(
            ts, old_ref, info.ref, info.side, qty, info.symbol, info.price, info.tif,
            info.display, order_ref, info.capacity, info.iso, info.cross,
            ouch50.OrderState.LIVE, info.cl_ord_id, info.appendage).encode()

    def canceled(self, ts: int, ref, qty: int, reason: str, appendage: bool) -> bytes:
        return ouch50.OrderCanceled(ts, ref, qty, reason, () if appendage else None).encode()

    def executed(self, ts: int, ref, qty: int, price: int, liquidity: str,
                 match_number: int) -> bytes:
        return ouch50.OrderExecuted(ts, ref, qty, price, liquidity, match_number).encode()

    def rejected(self, ts: int, info: OrderInfo, refusal: Refusal) -> bytes:
        return ouch50.Rejected(ts, info.ref, int(self.CODES[refusal]), info.cl_ord_id).encode()

    def modified(self, ts: int, ref, side: str, qty: int, appendage: bool) -> bytes:
        return ouch50.OrderModified(ts, ref, side, qty, () if appendage else None).encode()

    def query_response(self, ts: int, next_ref: int, appendage: bool) -> bytes:
        return ouch50.AccountQueryResponse(ts, next_ref, () if appendage else None).encode()

    def mass_cancel_response(self, ts: int, req: MassCancel) -> bytes:
        return ouch50.MassCancelResponse(ts, req.ref, req.firm, req.symbol).encode()

    def entry_switch_response(self, ts: int, req: EntrySwitch) -> bytes:
        cls = (ouch50.EnableOrderEntryResponse if req.enable
               else ouch50.DisableOrderEntryResponse)
        return cls(ts, req.ref, req.firm).encode()

    def decode_outbound(self, payload: bytes):
        return ouch50.decode_outbound(payload)


class Ouch42Dialect:
    """OUCH 4.2 (``tick2trade.proto.ouch42``)."""

    version = "4.2"
    proto = ouch42
    increasing_refs = False
    MARKET_PRICES = frozenset({ouch42.MARKET_PRICE})
    #: OUCH 4.2 §5.2: the display types this venue implements (others are refused)
    DISPLAYS = {"Y": True, "A": True, "N": False}
    CODES = {
        Refusal.INVALID_SIDE: ouch42.RejectReason.OTHER,
        Refusal.INVALID_QUANTITY: ouch42.RejectReason.SHARES_EXCEED_SAFETY,
        Refusal.INVALID_SYMBOL: ouch42.RejectReason.INVALID_STOCK,
        Refusal.INVALID_PRICE: ouch42.RejectReason.INVALID_PRICE,
        Refusal.INVALID_DISPLAY: ouch42.RejectReason.INVALID_DISPLAY,
        Refusal.INVALID_TIF: ouch42.RejectReason.OTHER,
        Refusal.INVALID_CROSS: ouch42.RejectReason.NOT_ALLOWED_IN_CROSS,
        Refusal.ISO_NOT_ALLOWED: ouch42.RejectReason.PRM_ISO,
        Refusal.INVALID_MIN_QTY: ouch42.RejectReason.INVALID_MINIMUM_QUANTITY,
        Refusal.INVALID_PEG: ouch42.RejectReason.INVALID_DISPLAY,
        Refusal.INVALID_MAX_FLOOR: ouch42.RejectReason.OTHER,
        Refusal.INVALID_OPTION: ouch42.RejectReason.OTHER,
        Refusal.HALTED: ouch42.RejectReason.HALTED,
        Refusal.ENTRY_DISABLED: ouch42.RejectReason.PRM_REJECT_ALL,
    }

    def decode(self, payload: bytes):
        return ouch42.decode_inbound(payload)

    @staticmethod
    def _tif(seconds: int) -> TimeInForce:
        """OUCH 4.2 §1: 0 = IOC; any other value lives for the day here (no expiry)."""
        return TimeInForce.IOC if seconds == ouch42.TIF_IOC else TimeInForce.DAY

    def _price(self, price: int) -> tuple[bool, bool]:
        """(market, valid) for a 4-byte price."""
        if price in self.MARKET_PRICES:
            return True, True
        return False, 0 < price <= ouch42.MAX_PRICE

    def parse(self, msg) -> Any:
        if isinstance(msg, ouch42.EnterOrder):
            market, price_ok = self._price(msg.price)
            refusal = _first_refusal(
                (msg.side not in SIDES, Refusal.INVALID_SIDE),
                (not 0 < msg.shares <= ouch42.MAX_SHARES, Refusal.INVALID_QUANTITY),
                (not price_ok, Refusal.INVALID_PRICE),
                (msg.display not in self.DISPLAYS, Refusal.INVALID_DISPLAY),
                (msg.intermarket_sweep not in ("Y", "N", "y"), Refusal.ISO_NOT_ALLOWED),
                (msg.minimum_quantity != 0, Refusal.INVALID_MIN_QTY),
                (msg.cross_type != "N", Refusal.INVALID_CROSS),
            )
            capacity = msg.capacity if msg.capacity in "APR" else "O"
            info = OrderInfo(msg.order_token, msg.side, msg.stock, msg.price, msg.time_in_force,
                             msg.display, capacity, msg.intermarket_sweep, msg.cross_type,
                             firm=msg.firm, min_qty=msg.minimum_quantity,
                             customer_type=msg.customer_type)
            return Enter(info, msg.shares, market, self._tif(msg.time_in_force), refusal)
        if isinstance(msg, ouch42.ReplaceOrder):
            market, price_ok = self._price(msg.price)
            refusal = _first_refusal(
                (not 0 < msg.shares <= ouch42.MAX_SHARES, Refusal.INVALID_QUANTITY),
                (market or not price_ok, Refusal.INVALID_PRICE),
                (msg.display not in self.DISPLAYS, Refusal.INVALID_DISPLAY),
                (msg.intermarket_sweep not in ("Y", "N", "y"), Refusal.ISO_NOT_ALLOWED),
                (msg.minimum_quantity != 0, Refusal.INVALID_MIN_QTY),
            )
            info = OrderInfo(msg.replacement_order_token, "", "", msg.price, msg.time_in_force,
                             msg.display, "", msg.intermarket_sweep, "",
                             min_qty=msg.minimum_quantity)
            return Replace(msg.existing_order_token, info, msg.shares,
                           self._tif(msg.time_in_force), refusal)
        if isinstance(msg, ouch42.CancelOrder):
            return Cancel(msg.order_token, msg.shares, False)
        if isinstance(msg, ouch42.ModifyOrder):
            return Modify(msg.order_token, msg.side, msg.shares, False)
        return Ignored(type(msg).__name__)

    def merge_replace(self, old: OrderInfo, new: OrderInfo) -> OrderInfo:
        return replace(new, side=old.side, symbol=old.symbol, capacity=old.capacity,
                       cross=old.cross, firm=old.firm, customer_type=old.customer_type)

    def system_event(self, ts: int, code: str) -> bytes:
        return ouch42.SystemEvent(ts, code).encode()

    def accepted(self, ts: int, info: OrderInfo, qty: int, order_ref: int) -> bytes:
        return ouch42.Accepted(
            ts, info.ref, info.side, qty, info.symbol, info.price, info.tif, info.firm,
            info.display, order_ref, info.capacity, info.iso, info.min_qty, info.cross,
            ouch42.OrderState.LIVE, " ").encode()

    def replaced(self, ts: int, old_ref, info: OrderInfo, qty: int, order_ref: int) -> bytes:
        return ouch42.Replaced(
            ts, info.ref, info.side, qty, info.symbol, info.price, info.tif, info.firm,
            info.display, order_ref, info.capacity, info.iso, info.min_qty, info.cross,
            ouch42.OrderState.LIVE, old_ref, " ").encode()

    def canceled(self, ts: int, ref, qty: int, reason: str, appendage: bool) -> bytes:
        return ouch42.Canceled(ts, ref, qty, reason).encode()

    def executed(self, ts: int, ref, qty: int, price: int, liquidity: str,
                 match_number: int) -> bytes:
        return ouch42.Executed(ts, ref, qty, price, liquidity, match_number).encode()

    def rejected(self, ts: int, info: OrderInfo, refusal: Refusal) -> bytes:
        return ouch42.Rejected(ts, info.ref, self.CODES[refusal].value).encode()

    def modified(self, ts: int, ref, side: str, qty: int, appendage: bool) -> bytes:
        return ouch42.OrderModified(ts, ref, side, qty).encode()

    def decode_outbound(self, payload: bytes):
        return ouch42.decode_outbound(payload)


def _first_refusal(*checks: tuple[bool, Refusal]) -> Refusal | None:
    return next((refusal for failed, refusal in checks if failed), None)


DIALECTS = {"4.2": Ouch42Dialect(), "5.0": Ouch50Dialect()}
