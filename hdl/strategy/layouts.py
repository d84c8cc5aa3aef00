"""Order requests, per-symbol strategy parameters and strategy state, defined once.

Shared by the gateware (``hdl/strategy``, ``hdl/risk``), the OUCH encoder
(``hdl/order``, which consumes :class:`OrderRequest`), the bit-exact model
(``sim/model/strategy``) and the register map (``hdl/csr``). The behaviour
is specified in ``docs/strategy.md``.
"""

from amaranth.hdl import signed
from amaranth.lib import data, enum, stream

from ..layouts import TIMESTAMP_WIDTH
from ..risk.layouts import Reason

__all__ = ["SLOT_WIDTH", "MAX_SYMBOLS", "Side", "Tif", "OrderKind", "OrderRequest",
           "StrategyParams", "QuoteState", "SymbolState", "Executed", "order_stream",
           "executed_stream", "Intent"]

#: width of a symbol slot number (the row of every per-symbol table)
SLOT_WIDTH = 8
MAX_SYMBOLS = 1 << SLOT_WIDTH


class Side(enum.Enum, shape=8):
    """Order side as its ASCII code (OUCH 5.0 §6.1, OUCH 4.2 Buy/Sell Indicator)."""

    BUY = ord("B")
    SELL = ord("S")


class Tif(enum.Enum, shape=1):
    """Time in force; the encoder writes OUCH 5.0 §6.2 ``0``/``3`` or OUCH 4.2 99998/0."""

    DAY = 0
    IOC = 1


class OrderKind(enum.Enum, shape=2):
    """What the encoder builds: Enter (OUCH 5.0 §4.1 ``O``), Replace (``U``), Cancel (``X``)."""

    ENTER = 0
    REPLACE = 1
    CANCEL = 2


class OrderRequest(data.Struct):
    """One order decision of the strategy after the inline risk check.

    ``reason`` is :attr:`Reason.SENT` for an order to encode and send, else
    the reject reason (the request is reported as an event, never sent).
    ``slot`` is the symbol's table row (the encoder's symbol template);
    ``token`` the order's number (OUCH 5.0 UserRefNum / OUCH 4.2 token), new
    for ENTER and REPLACE, the live order's for CANCEL, 0 on a reject;
    ``orig_token`` the replaced order's (REPLACE only). ``shares`` is 0 for
    CANCEL (cancel all remaining), ``price`` the cancelled order's.
    ``trigger_*`` are the top-of-book record's (ITCH ts, MoldUDP64 seq,
    cycle stamp at start of its frame); ``stamp_*`` the free-running cycle
    counter when the record entered the decision path, when the strategy
    decided and when the risk check finished.
    """

    kind: OrderKind
    side: Side
    tif: Tif
    reason: Reason
    slot: SLOT_WIDTH
    locate: 16
    price: 32
    shares: 32
    token: 32
    orig_token: 32
    trigger_ts: 48
    trigger_seq: 64
    trigger_hw_ts: TIMESTAMP_WIDTH
    stamp_tob: TIMESTAMP_WIDTH
    stamp_strategy: TIMESTAMP_WIDTH
    stamp_risk: TIMESTAMP_WIDTH


class StrategyParams(data.Struct):
    """Strategy parameters of one symbol slot (table ``strategy``, one row per slot).

    ``valid`` marks the row in use for ``locate``. Taker: ``num``/``den``
    imbalance ratio, ``taker_max_spread``, ``taker_size``, ``cooldown_ns``.
    Quoter: ``offset``, ``requote``, ``quoter_size``, ``quoter_max_spread``.
    Prices in raw ITCH Price(4) units.
    """

    valid: 1
    locate: 16
    taker_enabled: 1
    quoter_enabled: 1
    num: 16
    den: 16
    taker_max_spread: 32
    taker_size: 32
    cooldown_ns: 48
    offset: 32
    requote: 32
    quoter_size: 32
    quoter_max_spread: 32


class QuoteState(data.Struct):
    """One resting quoter order (one side of one symbol): live, its token, price, shares."""

    live: 1
    token: 32
    price: 32
    shares: 32


class SymbolState(data.Struct):
    """Decision state of one symbol slot: taker cooldown, resting quotes, position.

    ``fired``/``last_trigger_ts``: the taker triggered before, at that ITCH
    time. ``position`` is signed shares (buys add). The host may overwrite
    ``position`` (table ``position``); OUCH Executed updates it inline.
    """

    fired: 1
    last_trigger_ts: 48
    buy: QuoteState
    sell: QuoteState
    position: signed(40)


def order_stream():
    return stream.Signature(OrderRequest)


class Executed(data.Struct):
    """An execution of one of our orders (OUCH 5.0 §4.2 ``E`` / OUCH 4.2 ``E``), by symbol.

    From the order session (host or TCP RX path): ``side`` is our order's
    side; buys add ``shares`` to the slot's position, sells subtract.
    """

    locate: 16
    side: Side
    shares: 32
    price: 32


def executed_stream():
    return stream.Signature(Executed)


class Intent(data.Struct):
    """An order the strategy wants, before the risk check (``quoter``: a quoter order)."""

    valid: 1
    kind: OrderKind
    side: Side
    tif: Tif
    quoter: 1
    price: 32
    shares: 32
