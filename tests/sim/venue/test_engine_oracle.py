"""The matching engine against a brute-force oracle, under any request sequence.

The oracle keeps resting orders in a plain list and, for every aggressor,
re-sorts all crossing candidates by (price, arrival) — the definition of
price-time priority — instead of keeping price levels. Both must produce
the same trades, cancels and book after every request.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tick2trade.sim.venue.engine import MatchingEngine
from tick2trade.sim.venue.events import (
    MARKET,
    BookAdd,
    BookCancel,
    BookDelete,
    BookExecute,
    BookReplace,
    Canceled,
    Executed,
    OrderRequest,
    Rejected,
    ReplaceRejected,
    SelfMatch,
    Side,
    TimeInForce,
)

SYMBOLS = ("AAA", "BBB")
OWNERS = ("p1", "p2", "p3")


@dataclass
class _O:
    owner: str
    cid: int
    symbol: str
    side: Side
    price: int | None
    leaves: int
    executed: int
    prio: int
    policy: SelfMatch
    tif: TimeInForce


class Oracle:
    """Price-time priority recomputed from a flat list of orders."""

    def __init__(self):
        self.resting: list[_O] = []
        self.halted: set[str] = set()
        self.seq = 0
        self.log: list[tuple] = []     # trades and cancels of the last request

    def _find(self, owner, cid):
        return next((o for o in self.resting if o.owner == owner and o.cid == cid), None)

    def _candidates(self, o: _O):
        def crosses(r):
            if o.price is None:
                return True
            return r.price <= o.price if o.side is Side.BUY else r.price >= o.price
        cands = [r for r in self.resting
                 if r.symbol == o.symbol and r.side is not o.side and crosses(r)]
        sign = 1 if o.side is Side.BUY else -1
        return sorted(cands, key=lambda r: (sign * r.price, r.prio))

    def _aggress(self, o: _O):
        if o.symbol in self.halted:
            return
        while o.leaves:
            cands = self._candidates(o)
            if not cands:
                return
            r = cands[0]
            if r.owner == o.owner and o.policy is not SelfMatch.ALLOW:
                if o.policy in (SelfMatch.CANCEL_RESTING, SelfMatch.CANCEL_BOTH):
                    self.log.append(("cancel", r.owner, r.cid, r.leaves, "Q"))
                    self.resting.remove(r)
                if o.policy in (SelfMatch.CANCEL_NEWEST, SelfMatch.CANCEL_BOTH):
                    self.log.append(("cancel", o.owner, o.cid, o.leaves, "Q"))
                    o.leaves = 0
                    return
                continue
            qty = min(r.leaves, o.leaves)
            r.leaves -= qty
            o.leaves -= qty
            r.executed += qty
            o.executed += qty
            self.log.append(("trade", r.owner, r.cid, o.owner, o.cid, r.price, qty))
            if not r.leaves:
                self.resting.remove(r)

    def _rest_or_expire(self, o: _O):
        if not o.leaves:
            return
        if o.price is None or o.tif is TimeInForce.IOC:
            self.log.append(("cancel", o.owner, o.cid, o.leaves, "I"))
            return
        self.seq += 1
        o.prio = self.seq
        self.resting.append(o)

    def submit(self, owner, cid, symbol, side, qty, price, tif, policy) -> bool:
        self.log = []
        if self._find(owner, cid) or symbol in self.halted:
            return False
        o = _O(owner, cid, symbol, side, price, qty, 0, 0, policy, tif)
        self._aggress(o)
        self._rest_or_expire(o)
        return True

    def cancel(self, owner, cid, remaining):
        self.log = []
        o = self._find(owner, cid)
        if o is None or remaining >= o.leaves:
            return
        self.log.append(("cancel", owner, cid, o.leaves - remaining, "U"))
        o.leaves = remaining
        if not o.leaves:
            self.resting.remove(o)

    def replace(self, owner, cid, new_cid, qty, price, policy) -> bool:
        self.log = []
        o = self._find(owner, cid)
        if o is None or o.symbol in self.halted or (new_cid != cid and self._find(owner, new_cid)):
            return False
        new_leaves = qty - o.executed
        if new_leaves <= 0:
            self.log.append(("cancel", owner, cid, o.leaves, "U"))
            self.resting.remove(o)
            return True
        o.cid = new_cid
        if price == o.price and new_leaves <= o.leaves:
            o.leaves = new_leaves
            return True
        self.resting.remove(o)
        o.price, o.leaves, o.policy = price, new_leaves, policy
        self._aggress(o)
        self._rest_or_expire(o)
        return True

    def book(self, symbol, side):
        orders = [o for o in self.resting if o.symbol == symbol and o.side is side]
        sign = -1 if side is Side.BUY else 1
        return [(o.owner, o.cid, o.price, o.leaves)
                for o in sorted(orders, key=lambda o: (sign * o.price, o.prio))]


class ItchBook:
    """A book rebuilt only from the engine's book events, the way an ITCH reader would."""

    def __init__(self):
        self.orders: dict[int, list] = {}     # ref → [symbol, side, price, qty, arrival]
        self.arrival = 0

    def apply(self, events) -> None:
        for ev in events:
            if isinstance(ev, BookAdd):
                assert ev.order_ref not in self.orders
                self.arrival += 1
                self.orders[ev.order_ref] = [ev.symbol, ev.side, ev.price, ev.qty, self.arrival]
            elif isinstance(ev, BookExecute | BookCancel):
                entry = self.orders[ev.order_ref]
                entry[3] -= ev.qty
                assert entry[3] == ev.remaining >= 0
                if not entry[3]:
                    del self.orders[ev.order_ref]
            elif isinstance(ev, BookDelete):
                del self.orders[ev.order_ref]
            elif isinstance(ev, BookReplace):
                symbol, side, *_ = self.orders.pop(ev.old_order_ref)
                self.arrival += 1
                self.orders[ev.order_ref] = [symbol, side, ev.price, ev.qty, self.arrival]

    def book(self, symbol, side):
        rows = [(ref, o) for ref, o in self.orders.items() if o[0] == symbol and o[1] is side]
        sign = -1 if side is Side.BUY else 1
        return [(ref, o[2], o[3]) for ref, o in sorted(rows, key=lambda r: (sign * r[1][2],
                                                                              r[1][4]))]


def engine_log(events) -> list[tuple]:
    out = []
    for ev in events:
        if isinstance(ev, Executed):
            out.append(("trade", ev.passive.owner, ev.passive.client_id, ev.aggressor.owner,
                        ev.aggressor.client_id, ev.price, ev.qty))
        elif isinstance(ev, Canceled):
            out.append(("cancel", ev.owner, ev.client_id, ev.qty, ev.reason.value))
    return out


def engine_book(engine, symbol, side):
    return [(o.owner, o.client_id, o.price, o.leaves)
            for level in engine.depth(symbol, side) for o in level.orders]


prices = st.integers(min_value=97, max_value=103)
qtys = st.integers(min_value=1, max_value=40)
policies = st.sampled_from(list(SelfMatch))


class EngineVsOracle(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.engine = MatchingEngine(SYMBOLS, clock=lambda: 0)
        self.oracle = Oracle()
        self.itch = ItchBook()
        self.engine.subscribe(self.itch.apply)
        self.next_cid = 1
        self.cids: list[tuple[str, int]] = []

    def _pick(self, data):
        """Mostly a live order, sometimes any id ever used (dead or unknown)."""
        live = [(o.owner, o.client_id) for o in self.engine.orders()]
        if live and data.draw(st.integers(0, 3)):
            return data.draw(st.sampled_from(live))
        return data.draw(st.sampled_from(self.cids))

    def _check(self, events):
        assert engine_log(events) == self.oracle.log

    @rule(owner=st.sampled_from(OWNERS), symbol=st.sampled_from(SYMBOLS),
          side=st.sampled_from(list(Side)), qty=qtys,
          price=st.one_of(prices, prices, prices, st.none()),
          tif=st.sampled_from(list(TimeInForce)), policy=policies,
          displayed=st.sampled_from([True, True, True, False]))
    def submit(self, owner, symbol, side, qty, price, tif, policy, displayed):
        cid = self.next_cid
        self.next_cid += 1
        events = self.engine.submit(OrderRequest(owner, cid, symbol, side, qty, price, tif,
                                                 displayed=displayed, self_match=policy))
        ok = self.oracle.submit(owner, cid, symbol, side, qty, price, tif, policy)
        assert isinstance(events[0], Rejected) != ok
        self._check(events)
        self.cids.append((owner, cid))

    @precondition(lambda self: self.cids)
    @rule(data=st.data(), remaining=st.integers(min_value=0, max_value=30))
    def cancel(self, data, remaining):
        owner, cid = self._pick(data)
        events = self.engine.cancel(owner, cid, remaining)
        self.oracle.cancel(owner, cid, remaining)
        self._check(events)

    @precondition(lambda self: self.cids)
    @rule(data=st.data(), qty=st.integers(min_value=1, max_value=60), price=prices,
          same_price=st.booleans(), policy=policies)
    def replace(self, data, qty, price, same_price, policy):
        owner, cid = self._pick(data)
        new_cid = self.next_cid
        self.next_cid += 1
        view = self.engine.order(owner, cid)
        if view is not None:
            if same_price:
                price = view.price
            # the policy of a replacement is the order's own; keep the oracle in step
            policy = self.oracle._find(owner, cid).policy
        events = self.engine.replace(owner, cid, new_cid, qty, price)
        ok = self.oracle.replace(owner, cid, new_cid, qty, price, policy)
        assert (bool(events) and isinstance(events[0], ReplaceRejected)) != ok
        self._check(events)
        self.cids.append((owner, new_cid))

    @rule(symbol=st.sampled_from(SYMBOLS), side=st.sampled_from(list(Side)), qty=qtys,
          price=prices)
    def add_external(self, symbol, side, qty, price):
        """Replayed liquidity that does not cross (a crossing one is a replay's own business)."""
        best = self.engine.best(symbol, side.opposite)
        if best is not None and (price >= best if side is Side.BUY else price <= best):
            return
        ref = 1_000_000 + self.next_cid
        self.next_cid += 1
        assert engine_log(self.engine.add_external(ref, symbol, side, qty, price)) == []
        self.oracle.seq += 1
        self.oracle.resting.append(_O(MARKET, ref, symbol, side, price, qty, 0, self.oracle.seq,
                                      SelfMatch.CANCEL_NEWEST, TimeInForce.DAY))

    @precondition(lambda self: any(o.owner == MARKET for o in self.oracle.resting))
    @rule(data=st.data(), qty=st.integers(min_value=1, max_value=50), delete=st.booleans())
    def shrink_external(self, data, qty, delete):
        o = data.draw(st.sampled_from([o for o in self.oracle.resting if o.owner == MARKET]))
        events = (self.engine.delete_external(o.cid) if delete
                  else self.engine.cancel_external(o.cid, qty))
        taken = o.leaves if delete else min(qty, o.leaves)
        o.leaves -= taken
        if not o.leaves:
            self.oracle.resting.remove(o)
        assert engine_log(events) == [("cancel", MARKET, o.cid, taken, "Z")]

    @rule(symbol=st.sampled_from(SYMBOLS), halted=st.booleans())
    def halt(self, symbol, halted):
        self.engine.halt(symbol, halted)
        (self.oracle.halted.add if halted else self.oracle.halted.discard)(symbol)

    @invariant()
    def same_book_never_crossed(self):
        for symbol in SYMBOLS:
            for side in Side:
                assert engine_book(self.engine, symbol, side) == self.oracle.book(symbol, side)
                shown = [(o.order_ref, o.price, o.leaves)
                         for level in self.engine.depth(symbol, side) for o in level.orders
                         if o.displayed]
                assert self.itch.book(symbol, side) == shown     # book events tell the truth
            bid, ask = self.engine.best(symbol, Side.BUY), self.engine.best(symbol, Side.SELL)
            assert bid is None or ask is None or bid < ask


EngineVsOracle.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestEngineVsOracle = EngineVsOracle.TestCase
