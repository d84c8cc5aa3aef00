"""The decision path in Python: strategy, inline risk, state (docs/strategy.md).

:class:`DecisionModel` is the bit-exact model of
:class:`~tick2trade.hdl.strategy.decision.DecisionPath`: the same tables, the
same orders and rejects in the same order with the same fields. Records are
handled one at a time, each to completion (taker, then quoter buy, then
quoter sell), exactly like the gateware.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace

from tick2trade.hdl.risk.layouts import COUNTERS, REASON_NAMES, Reason
from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif

from ..risk.rules import Context, first_failure, new_window, notional
from .intent import Intent, Quote, SymbolState
from .quoter import quoter_intents
from .taker import taker_intent

__all__ = ["Decision", "DecisionModel", "TOKEN_WIDTH"]

TOKEN_WIDTH = 32
_POSITION_BITS = 40


@dataclass(frozen=True)
class Decision:
    """One :class:`~tick2trade.hdl.strategy.layouts.OrderRequest` without cycle stamps."""

    kind: OrderKind
    side: Side
    tif: Tif
    reason: Reason
    slot: int
    locate: int
    price: int
    shares: int
    token: int
    orig_token: int
    trigger_ts: int
    trigger_seq: int
    trigger_hw_ts: int

    def json(self) -> dict:
        """The ``t2t replay --orders-out`` line (docs/strategy.md, "Replay output")."""
        sent = self.reason == Reason.SENT
        return {"seq": self.trigger_seq, "locate": self.locate, "side": chr(self.side.value),
                "shares": self.shares, "price": self.price,
                "tif": "3" if self.tif == Tif.IOC else "0",
                "token": self.token if sent else None, "verdict": REASON_NAMES[self.reason],
                "trigger_ts": self.trigger_ts}


def _row(fields: dict) -> SimpleNamespace:
    return SimpleNamespace(**fields)


class DecisionModel:
    """Tables, state and the record-by-record decision of the gateware decision path.

    Tables are written with the field names of the layouts:
    ``write_strategy(slot, **StrategyParams fields)``,
    ``write_risk(slot, **RiskParams fields)``, ``set_globals(**RiskGlobal fields)``.
    """

    def __init__(self, symbols: int = 64):
        self.symbols = symbols
        self.strategy = [None] * symbols
        self.risk = [_row(dict(enabled=0, max_order_shares=0, max_order_notional=0,
                               fat_finger_band=0, max_position=0)) for _ in range(symbols)]
        self.state = [SymbolState() for _ in range(symbols)]
        self.globals = _row(dict(kill=0, kill_on_gap=0, max_gross_notional=0, rate_orders=0,
                                 rate_window_ns=1))
        self.tripped = False
        self.gross = 0
        self.window_open, self.window_end, self.window_count = False, 0, 0
        self.next_token = 1
        self.counters = Counter(dict.fromkeys(COUNTERS, 0))

    # ------------------------------------------------------------- control

    def write_strategy(self, slot: int, **fields) -> None:
        self._check_slot(slot)
        self.strategy[slot] = _row(fields) if fields.get("valid") else None

    def write_risk(self, slot: int, **fields) -> None:
        self._check_slot(slot)
        self.risk[slot] = _row(fields)

    def set_globals(self, **fields) -> None:
        self.globals = _row(fields)

    def set_position(self, slot: int, position: int) -> None:
        """The host sets a slot's position (table ``position``)."""
        self._check_slot(slot)
        self.state[slot].position = _wrap_signed(position)

    def executed(self, locate: int, side: Side, shares: int, price: int = 0) -> None:
        """An OUCH Executed for one of our orders: buys add to the position, sells subtract."""
        slot = self.slot_of(locate)
        if slot is not None:
            st = self.state[slot]
            st.position = _wrap_signed(st.position + (shares if side == Side.BUY else -shares))

    def gap(self) -> None:
        """A feed gap: trips the kill switch when ``kill_on_gap`` is set."""
        if self.globals.kill_on_gap and not self.tripped:
            self.tripped = True
            self.counters["kill_trips"] += 1

    def clear_trip(self) -> None:
        self.tripped = False

    def slot_of(self, locate: int) -> int | None:
        """The lowest valid strategy row for ``locate`` (the gateware's priority encoder)."""
        for slot, row in enumerate(self.strategy):
            if row is not None and row.locate == locate:
                return slot
        return None

    # ------------------------------------------------------------- records

    def on_tob(self, tob) -> list[Decision]:
        """All orders and rejects one top-of-book record causes, in gateware order."""
        slot = self.slot_of(tob.locate)
        if slot is None:
            return []
        p, st = self.strategy[slot], self.state[slot]
        killed = bool(self.globals.kill) or self.tripped
        intents = []
        taker = taker_intent(tob, p, st)
        if taker is not None:
            intents.append(taker)
        intents += quoter_intents(tob, p, st, killed)
        return [self._check(i, tob, slot) for i in intents]

    def _check(self, i: Intent, tob, slot: int) -> Decision:
        st, g = self.state[slot], self.globals
        ctx = Context(params=self.risk[slot], state=st, mid=(tob.bid_px + tob.ask_px) // 2,
                      ts=tob.ts, killed=bool(g.kill) or self.tripped, gross=self.gross,
                      max_gross_notional=g.max_gross_notional, rate_orders=g.rate_orders,
                      rate_window_ns=g.rate_window_ns, window_open=self.window_open,
                      window_end=self.window_end, window_count=self.window_count)
        reason = first_failure(i, ctx)
        q = st.quote(i.side)
        token = orig = 0
        if i.kind == OrderKind.CANCEL:
            token = q.token
        elif i.kind == OrderKind.REPLACE:
            orig = q.token
        if reason == Reason.SENT:
            self.counters["sent"] += 1
            if i.kind != OrderKind.CANCEL:
                token = self._take_token()
                if new_window(ctx):
                    self.window_open, self.window_count = True, 0
                    self.window_end = tob.ts + self.globals.rate_window_ns
                self.window_count += 1
            if i.quoter:
                self._rest(st, i, token)
        else:
            self.counters[REASON_NAMES[reason]] += 1
            token = orig = 0
        return Decision(kind=i.kind, side=i.side, tif=i.tif, reason=reason, slot=slot,
                        locate=tob.locate, price=i.price, shares=i.shares, token=token,
                        orig_token=orig, trigger_ts=tob.ts, trigger_seq=tob.seq,
                        trigger_hw_ts=tob.hw_ts)

    def _rest(self, st: SymbolState, i: Intent, token: int) -> None:
        """A sent quoter order is accepted at once (no venue): it rests, moves or leaves."""
        q = st.quote(i.side)
        if q.live:
            self.gross -= notional(q.price, q.shares)
        new = (Quote(1, token, i.price, i.shares) if i.kind != OrderKind.CANCEL else Quote())
        if new.live:
            self.gross += notional(new.price, new.shares)
        if i.side == Side.BUY:
            st.buy = new
        else:
            st.sell = new

    def _take_token(self) -> int:
        token = self.next_token
        self.next_token = (token + 1) & ((1 << TOKEN_WIDTH) - 1)
        return token

    def _check_slot(self, slot: int) -> None:
        if not 0 <= slot < self.symbols:
            raise ValueError(f"slot {slot} out of range 0..{self.symbols - 1}")


def _wrap_signed(value: int) -> int:
    value &= (1 << _POSITION_BITS) - 1
    return value - (1 << _POSITION_BITS) if value >> (_POSITION_BITS - 1) else value

