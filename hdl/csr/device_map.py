"""The device's register map: every block in order, device block first at address 0.

The device block holds ID, map version and build hash at the fixed
addresses of ``tick2trade.proto.control`` (checked here); the other blocks
declare the registers and tables of the decision path, from the layouts of
``hdl/order``, ``hdl/risk`` and ``hdl/strategy``, and of the book
(``hdl/book``: subscriptions and counters). The book block comes last so the
addresses of the older blocks stay where they were.
"""

from __future__ import annotations

from amaranth.hdl import signed
from amaranth.lib import data

from tick2trade.proto import control
from tick2trade.proto.control import BlockType, TableId

from ..book.layouts import COUNTERS as BOOK_COUNTERS
from ..order.registers import ORDER_BLOCK
from ..risk.layouts import COUNTER_WIDTH, COUNTERS, RiskGlobal, RiskParams
from ..strategy.layouts import MAX_SYMBOLS, StrategyParams
from .builder import RegisterMap
from .registers import Access, Block, Register, Table

__all__ = ["BOOK_BLOCK", "DEVICE_BLOCK", "EVENTS_BLOCK", "RISK_BLOCK", "STRATEGY_BLOCK",
           "SUBSCRIPTION_ROW", "device_map"]

DEVICE_BLOCK = Block(
    "device", BlockType.DEVICE, control.MAP_VERSION,
    "Identity of the device; always first, at address 0.",
    registers=(
        Register("id", 32, Access.CONST,
                 "Device ID: family 0x5432 in bits 16–31, DeviceKind (hardware, model, "
                 "RTL simulation) in bits 0–15."),
        Register("map_version", 32, Access.CONST,
                 "Register map version, major in bits 16–31; the host refuses another major."),
        Register("build_hash", 64, Access.CONST, "Build hash (git commit, first 8 bytes)."),
        Register("scratch", 32, Access.RW, "Free for the host (bus tests)."),
    ),
)

RISK_BLOCK = Block(
    "risk", BlockType.RISK, (1, 0),
    "Inline pre-trade risk (hdl/risk, docs/strategy.md \"Inline risk\").",
    registers=(
        Register("global", RiskGlobal, Access.RW,
                 "Settings of the whole risk block; kill is set at power-up.",
                 reset=data.Layout.cast(RiskGlobal).const({"kill": 1}).as_value().value),
        Register("clear_trip", 1, Access.STROBE, "Write 1: clear the latched kill trip."),
        *(Register(f"count_{name}", COUNTER_WIDTH, Access.RO,
                   f"Counter {name!r} (hdl/risk/layouts.py COUNTERS).") for name in COUNTERS),
    ),
    tables=(
        Table("risk", TableId.RISK, RiskParams, MAX_SYMBOLS, "Risk limits of each symbol slot."),
    ),
)

STRATEGY_BLOCK = Block(
    "strategy", BlockType.STRATEGY, (1, 0),
    "Strategy parameters and host-set positions (hdl/strategy, docs/strategy.md).",
    tables=(
        Table("strategy", TableId.STRATEGY, StrategyParams, MAX_SYMBOLS,
              "Taker and quoter parameters of each symbol slot."),
        Table("position", TableId.POSITION, {"position": signed(40)}, MAX_SYMBOLS,
              "Position (signed shares) of each slot, set by the host."),
    ),
)

EVENTS_BLOCK = Block(
    "events", BlockType.EVENTS, (1, 0),
    "Control plane and event channel counters.",
    registers=(
        Register("sent", 32, Access.RO, "Events sent to subscribers."),
        Register("dropped", 32, Access.RO, "Events lost to a full event buffer."),
        Register("errors", 32, Access.RO, "Malformed or refused control datagrams."),
    ),
)

#: a row of table ``subscription``: the Stock Locate (ITCH 5.0 §3.2) a book slot follows
SUBSCRIPTION_ROW = data.StructLayout({"locate": 16, "valid": 1})

BOOK_BLOCK = Block(
    "book", BlockType.BOOK, (1, 0),
    "Order book (hdl/book): symbol subscriptions and event counters.",
    registers=tuple(
        Register(f"count_{name}", 32, Access.RO,
                 f"Counter {name!r} (hdl/book/layouts.py COUNTERS).") for name in BOOK_COUNTERS),
    tables=(
        Table("subscription", TableId.SUBSCRIPTION, SUBSCRIPTION_ROW, MAX_SYMBOLS,
              "The Stock Locate each book slot follows (valid 0 frees the slot); written "
              "between flows, with the book empty. Rows at or above the book's slots are "
              "ignored. A locate held by several slots maps to the lowest."),
    ),
)


def device_map(kind: control.DeviceKind = control.DeviceKind.HARDWARE,
               build_hash: int = 0) -> RegisterMap:
    """The map of one device (``kind`` and ``build_hash`` fill the ID and hash constants)."""
    regmap = (RegisterMap()
              .add(DEVICE_BLOCK, id=control.device_id(kind),
                   map_version=control.version_word(*control.MAP_VERSION),
                   build_hash=build_hash)
              .add(ORDER_BLOCK).add(RISK_BLOCK).add(STRATEGY_BLOCK).add(EVENTS_BLOCK)
              .add(BOOK_BLOCK).build())
    for path, addr in (("device.id", control.ID_ADDR),
                       ("device.map_version", control.MAP_VERSION_ADDR),
                       ("device.build_hash", control.BUILD_HASH_ADDR)):
        assert regmap.register(path).addr == addr, f"{path} moved from 0x{addr:x}"
    return regmap
