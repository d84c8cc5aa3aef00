"""The strategy and risk config file (TOML), validated into frozen typed configs.

Keys, ranges and meaning: docs/strategy.md, "Config file". Every value is an
integer (prices in raw ITCH Price(4) units, times in ns of ITCH time); an
unknown key or an out-of-range value is a :class:`DecisionConfigError`
naming the key. :func:`tables` turns a config into the rows of the gateware
tables (:class:`~tick2trade.hdl.strategy.layouts.StrategyParams`,
:class:`~tick2trade.hdl.risk.layouts.RiskParams`,
:class:`~tick2trade.hdl.risk.layouts.RiskGlobal`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from tick2trade.host.configfile import describe, read_toml

__all__ = ["DecisionConfig", "DecisionConfigError", "TakerConfig", "QuoterConfig",
           "RiskConfig", "SymbolsConfig", "load_decision_config", "parse_decision_config",
           "tables"]


def _range(lo: int, hi: int):
    return Annotated[StrictInt, Field(ge=lo, le=hi)]


_FLAG = _range(0, 1)
_U16, _U32, _U48, _U64 = (_range(0, (1 << n) - 1) for n in (16, 32, 48, 64))
#: OUCH 5.0 §4.1 Quantity: 1 to 999,999
_SHARES = _range(1, 999_999)


class DecisionConfigError(ValueError):
    """A strategy/risk config that cannot be read or does not validate."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TakerConfig(_Frozen):
    """``[taker]``: the imbalance taker (docs/strategy.md, "Imbalance taker")."""

    enabled: _FLAG = 1
    num: _U16 = 2
    den: _range(1, (1 << 16) - 1) = 3
    max_spread: _U32 = 500
    size: _SHARES = 100
    cooldown_ns: _U48 = 1_000_000


class QuoterConfig(_Frozen):
    """``[quoter]``: the quoter (docs/strategy.md, "Quoter")."""

    enabled: _FLAG = 0
    offset: _U32 = 100
    requote: _range(1, (1 << 32) - 1) = 100
    size: _SHARES = 100
    max_spread: _U32 = 1_000


class RiskConfig(_Frozen):
    """``[risk]``: limits of the inline risk check (docs/strategy.md, "Inline risk")."""

    max_order_shares: _U32 = 1_000
    max_order_notional: _U64 = 10_000_000_000
    fat_finger_band: _U32 = 100_000
    max_position: _range(0, (1 << 39) - 1) = 10_000
    max_gross_notional: _U64 = 100_000_000_000
    rate_orders: _U16 = 100
    rate_window_ns: _range(1, (1 << 48) - 1) = 1_000_000_000
    kill: _FLAG = 0
    kill_on_gap: _FLAG = 0


class SymbolsConfig(_Frozen):
    """``[symbols]``: ``subscribe`` lists ITCH symbols; empty picks the default."""

    subscribe: list[Annotated[StrictStr, Field(min_length=1, max_length=8)]] = []


class DecisionConfig(_Frozen):
    taker: TakerConfig = TakerConfig()
    quoter: QuoterConfig = QuoterConfig()
    risk: RiskConfig = RiskConfig()
    symbols: SymbolsConfig = SymbolsConfig()



def parse_decision_config(data: dict, source: str = "config") -> DecisionConfig:
    """Validate a TOML-shaped dict; errors name the offending key."""
    try:
        return DecisionConfig.model_validate(data)
    except ValidationError as error:
        raise DecisionConfigError(f"{source}: {describe(error)}") from None


def load_decision_config(path: str | Path | None) -> DecisionConfig:
    """Read ``path`` (TOML); ``None`` gives the defaults."""
    if path is None:
        return DecisionConfig()
    return parse_decision_config(read_toml(path, DecisionConfigError), str(path))


def tables(config: DecisionConfig, locates) -> tuple[list[dict], list[dict], dict]:
    """Rows for slots ``0 .. len(locates)-1`` (strategy, risk) and the global risk settings."""
    t, q, r = config.taker, config.quoter, config.risk
    strategy = [dict(valid=1, locate=loc, taker_enabled=t.enabled, quoter_enabled=q.enabled,
                     num=t.num, den=t.den, taker_max_spread=t.max_spread, taker_size=t.size,
                     cooldown_ns=t.cooldown_ns, offset=q.offset, requote=q.requote,
                     quoter_size=q.size, quoter_max_spread=q.max_spread) for loc in locates]
    risk = [dict(enabled=1, max_order_shares=r.max_order_shares,
                 max_order_notional=r.max_order_notional, fat_finger_band=r.fat_finger_band,
                 max_position=r.max_position) for _ in locates]
    glob = dict(kill=r.kill, kill_on_gap=r.kill_on_gap, max_gross_notional=r.max_gross_notional,
                rate_orders=r.rate_orders, rate_window_ns=r.rate_window_ns)
    return strategy, risk, glob
