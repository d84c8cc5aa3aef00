"""Prebuilt OUCH 4.2 / 5.0 order templates: constant bytes plus the fields filled in place.

The encoder emits one complete SoupBinTCP Unsequenced Data packet per order
(SoupBinTCP §2.8: 2-byte length, ``U``, then the OUCH message), so the TCP
framer carries payload bytes unchanged and host-queued packets (heartbeats,
host cancels) share the same byte stream. Every offset comes from the
``FIELDS`` tables of :mod:`tick2trade.proto.ouch42` / ``ouch50`` (OUCH 4.2
§3.1–§3.3, OUCH 5.0 §4.1); the template bytes are encoded by the same proto
classes with placeholder values, then the request's fields overwrite them.

Order numbers: the request carries a 32-bit order number (``token``); the
wire number is ``ref_base + token`` (mod 2**32), ``ref_base`` a register so
the device's numbers stay above any the host has used. OUCH 5.0 sends it as
UserRefNum (OUCH 5.0 §4.1); OUCH 4.2 sends the 14-byte token ``prefix`` (6
characters) followed by the number in 8 upper-case hex digits (OUCH 4.2
§1: alphanumeric, unique for the day). OUCH 5.0 ClOrdID carries the same
14-character text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from tick2trade.proto import ouch42, ouch50, soupbintcp

from ..strategy.layouts import OrderKind

__all__ = ["SOUP_HEADER_LEN", "TOKEN_DIGITS", "TOKEN_PREFIX_LEN", "Fill", "OuchTemplate",
           "Plan", "plan", "symbol_word", "token_text"]

#: SoupBinTCP §2.8 header before the OUCH message: length prefix and packet type
SOUP_HEADER_LEN = soupbintcp.LENGTH_PREFIX_LEN + len(soupbintcp.UnsequencedData.TYPE)
#: hex digits of the order number at the end of a 14-byte token / ClOrdID
TOKEN_DIGITS = 8
TOKEN_PREFIX_LEN = ouch42.TOKEN_LEN - TOKEN_DIGITS

#: OUCH 4.2 §1 and OUCH 5.0 §6.2 Time in Force codes, by ``Tif`` value (DAY, IOC)
TIF_CODES = {"4.2": (ouch42.TIF_MARKET_HOURS, ouch42.TIF_IOC), "5.0": (ord("0"), ord("3"))}


def symbol_word(symbol: str) -> int:
    """A ``SymbolRow.symbol`` value: 8 ASCII bytes right-padded with spaces, first in bits 0–7."""
    raw = symbol.encode("ascii")
    if len(raw) > 8:
        raise ValueError(f"symbol {symbol!r} is longer than 8 characters")
    return int.from_bytes(raw.ljust(8, b" "), "little")


def token_text(prefix: str, number: int) -> str:
    """The 14-character token / ClOrdID of order ``number`` (module docstring)."""
    return prefix + f"{number & 0xFFFF_FFFF:0{TOKEN_DIGITS}X}"


@dataclass(frozen=True)
class OuchTemplate:
    """Session-constant values of every order (elaboration-time parameters).

    ``version`` is ``"4.2"`` or ``"5.0"``; ``firm`` is OUCH 4.2's Firm (blank:
    the account's default); the single-character codes are OUCH 4.2 §5 /
    OUCH 5.0 §6 values.
    """

    version: str = "5.0"
    token_prefix: str = "T2T000"
    firm: str = ""
    display: str = "Y"
    capacity: str = "P"
    intermarket_sweep: str = "N"
    cross_type: str = "N"
    customer_type: str = "R"

    def __post_init__(self):
        if self.version not in TIF_CODES:
            raise ValueError(f"OUCH version must be 4.2 or 5.0, not {self.version!r}")
        if len(self.token_prefix) != TOKEN_PREFIX_LEN or not self.token_prefix.isalnum() \
                or not self.token_prefix.isascii():
            raise ValueError(f"token_prefix must be {TOKEN_PREFIX_LEN} ASCII letters/digits, "
                             f"not {self.token_prefix!r} (OUCH 4.2 §1 token)")

    @property
    def classes(self) -> dict[OrderKind, type]:
        mod = ouch42 if self.version == "4.2" else ouch50
        return {OrderKind.ENTER: mod.EnterOrder, OrderKind.REPLACE: mod.ReplaceOrder,
                OrderKind.CANCEL: mod.CancelOrder}

    def tif_code(self, tif: int) -> int:
        return TIF_CODES[self.version][tif]


class Fill(NamedTuple):
    """One field the encoder writes: packet offset, length and the request value it takes."""

    offset: int
    length: int
    source: str


class Plan(NamedTuple):
    """Template packet of one message kind and the fields to fill in it."""

    template: bytes
    fills: tuple[Fill, ...]


#: request value each wire field takes, by (version, message field name); ``*_text`` is the
#: 8 hex digits ending the token, ``*_num`` the 32-bit order number
_SOURCES = {
    "4.2": {"order_token": "token_text", "existing_order_token": "orig_token_text",
            "replacement_order_token": "token_text", "side": "side", "shares": "shares",
            "stock": "symbol", "price": "price", "time_in_force": "tif"},
    "5.0": {"user_ref_num": "token_num", "orig_user_ref_num": "orig_token_num",
            "side": "side", "quantity": "shares", "symbol": "symbol", "price": "price",
            "time_in_force": "tif", "cl_ord_id": "token_text"},
}


def _placeholder(template: OuchTemplate, name: str, kind: str):
    consts = {"firm": template.firm, "display": template.display,
              "capacity": template.capacity, "intermarket_sweep": template.intermarket_sweep,
              "cross_type": template.cross_type, "customer_type": template.customer_type}
    if name in consts:
        return consts[name]
    if name in ("order_token", "existing_order_token", "replacement_order_token", "cl_ord_id"):
        return token_text(template.token_prefix, 0)
    if name in ("side", "time_in_force") and kind == "char":
        return "B" if name == "side" else "0"
    return "" if kind == "alpha" else ("B" if kind == "char" else 0)


def plan(template: OuchTemplate, kind: OrderKind) -> Plan:
    """The prebuilt packet of ``kind`` and its fills, from the proto ``FIELDS`` table."""
    cls = template.classes[kind]
    values = {f.name: _placeholder(template, f.name, f.kind) for f in cls._DATA}
    if cls.APPENDAGE == "always":
        values["appendage"] = ()
    message = cls(**values).encode()
    packet = soupbintcp.UnsequencedData(message).encode()
    assert len(packet) == SOUP_HEADER_LEN + len(message)
    sources = _SOURCES[template.version]
    fills = []
    for f in cls.FIELDS:
        source = sources.get(f.name)
        if source is None:
            continue
        offset, length = SOUP_HEADER_LEN + f.offset, f.length
        if source.endswith("_text"):  # the prefix stays from the template
            offset, length = offset + TOKEN_PREFIX_LEN, TOKEN_DIGITS
        fills.append(Fill(offset, length, source))
    return Plan(packet, tuple(fills))
