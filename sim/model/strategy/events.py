"""Inputs of the decision path besides top-of-book records, and a model runner over them."""

from __future__ import annotations

from dataclasses import dataclass

from tick2trade.hdl.strategy.layouts import Side

from .decision import Decision, DecisionModel

__all__ = ["Gap", "Exec", "SetPosition", "ClearTrip", "run_model"]


@dataclass(frozen=True)
class Gap:
    """A feed gap (signalled once everything before it is decided)."""


@dataclass(frozen=True)
class ClearTrip:
    """The host clears the tripped kill switch."""


@dataclass(frozen=True)
class Exec:
    """An OUCH Executed of one of our orders."""

    locate: int
    side: Side
    shares: int
    price: int = 0


@dataclass(frozen=True)
class SetPosition:
    """The host writes a slot's position."""

    slot: int
    position: int


def run_model(model: DecisionModel, events) -> list[Decision]:
    """Every decision of ``events`` (records and the inputs above), in order."""
    out = []
    for ev in events:
        if isinstance(ev, Gap):
            model.gap()
        elif isinstance(ev, ClearTrip):
            model.clear_trip()
        elif isinstance(ev, Exec):
            model.executed(ev.locate, ev.side, ev.shares, ev.price)
        elif isinstance(ev, SetPosition):
            model.set_position(ev.slot, ev.position)
        else:
            out += model.on_tob(ev)
    return out
