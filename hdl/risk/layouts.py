"""Risk parameters, global risk settings, reject reasons and counters, defined once.

Shared by the gateware (``hdl/risk``), its model (``sim/model/risk``), the
event stream and the register map (``hdl/csr``). Rules: docs/strategy.md,
"Inline risk".
"""

from amaranth.lib import data, enum

__all__ = ["Reason", "REASON_NAMES", "RiskParams", "RiskGlobal", "COUNTERS", "COUNTER_WIDTH"]


class Reason(enum.Enum, shape=4):
    """Verdict of the inline risk check (docs/strategy.md, "Inline risk"): first failure wins.

    ``SENT`` (0) means the order passed and goes to the encoder; every other
    value is the first rule it failed, in this (check) order.
    """

    SENT = 0
    KILL = 1
    DISABLED = 2
    MAX_SHARES = 3
    FAT_FINGER = 4
    MAX_NOTIONAL = 5
    POSITION = 6
    GROSS_NOTIONAL = 7
    RATE = 8
    SELF_TRADE = 9


#: ``verdict`` strings of ``t2t replay --orders-out`` (docs/strategy.md), by ``Reason`` value
REASON_NAMES = {
    Reason.SENT: "sent", Reason.KILL: "kill", Reason.DISABLED: "disabled",
    Reason.MAX_SHARES: "max_shares", Reason.FAT_FINGER: "fat_finger",
    Reason.MAX_NOTIONAL: "max_notional", Reason.POSITION: "position",
    Reason.GROSS_NOTIONAL: "gross_notional", Reason.RATE: "rate",
    Reason.SELF_TRADE: "self_trade",
}


class RiskParams(data.Struct):
    """Risk limits of one symbol slot (table ``risk``, one row per slot).

    ``enabled``: orders for the symbol may be sent. Limits: shares per order,
    notional per order (price × shares, Price(4) units), fat-finger band
    (largest |price − mid|), position (largest |position| counting the worst
    case of open orders).
    """

    enabled: 1
    max_order_shares: 32
    max_order_notional: 64
    fat_finger_band: 32
    max_position: 40


class RiskGlobal(data.Struct):
    """Settings of the whole risk block (one register set).

    ``kill``: the host kill switch; ``kill_on_gap``: a feed gap trips the
    latched kill switch (cleared by ``clear_trip``, a strobe beside it).
    ``max_gross_notional``: limit of the sum of price × shares of all open
    orders; ``rate_orders`` orders per ``rate_window_ns`` of feed time.
    """

    kill: 1
    kill_on_gap: 1
    max_gross_notional: 64
    rate_orders: 16
    rate_window_ns: 48


#: width of every risk counter
COUNTER_WIDTH = 32

#: the risk block's counters, in this order on its ``counters`` port: orders sent,
#: then one reject counter per reason (``Reason`` value order), then kill trips
COUNTERS = (("sent",) + tuple(REASON_NAMES[r] for r in Reason if r is not Reason.SENT)
            + ("kill_trips",))
