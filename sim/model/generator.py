"""Seeded synthetic ITCH 5.0 order flow for tests and benchmarks (``t2t gen``).

The flow looks like a Nasdaq day cut around the open (ITCH 5.0 §3, §4.1):

* System Event ``O`` (start of messages), a Stock Directory ``R`` per symbol
  (locates 1..K, in order), a Stock Trading Action ``H`` with state ``T`` per
  symbol (the pre-open spin, ITCH 5.0 §3.3), System Events ``S`` and ``Q``;
* then order flow: ``A``/``F`` adds, ``E``/``C`` executions, ``X`` partial
  cancels, ``D`` deletes and ``U`` replaces, every one naming an order that is
  live at that moment; now and then a symbol is paused and resumed (``H``);
* then System Events ``M``, ``E`` and ``C`` (end of messages).

Prices sit a few ticks either side of a per-symbol mid that random-walks on
the one-cent grid (Price(4), 100 = $0.01), bids below and asks above it.
As on Nasdaq's displayed book, a side never reaches the other: a new or
replaced bid is kept at least a tick below the best ask, and an ask a tick
above the best bid (redrawn a few ticks behind it when the mid has walked
through the other side), so the book is never locked or crossed. Sizes are
mostly round lots. Some symbols are much busier than others.
Timestamps and order references only rise, as Nasdaq's do; match numbers
rise too. The live book is held near a target size, so long flows stay
balanced. The same seed and parameters always give the same bytes.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass

from tick2trade.proto import itch
from tick2trade.sim.model import itch_fast as fast

#: 09:30:00 ET in ns since midnight: the flow starts at the open (ITCH 5.0 §1)
MARKET_OPEN_NS = 34_200 * 10**9
M32 = 0xFFFF_FFFF
#: well-known tickers used first, then generated ones
_TICKERS = ("AAPL MSFT NVDA AMZN META GOOGL GOOG TSLA AVGO COST NFLX AMD PEP ADBE CSCO TMUS "
            "INTC QCOM TXN AMGN INTU ISRG CMCSA HON AMAT BKNG SBUX VRTX GILD MDLZ ADP REGN "
            "ADI LRCX PANW MU KLAC SNPS CDNS MELI PYPL ASML ABNB MAR CSX ORLY MNST CTAS FTNT "
            "NXPI PCAR WDAY ROP CPRT MRVL DXCM KDP PAYX AEP ODFL ROST IDXX FAST KHC CHTR EA "
            "BIIB EXC XEL VRSK CSGP GEHC DDOG TTD ZS TEAM ON CRWD MCHP ANSS CTSH BKR FANG "
            "LULU DLTR WBD ILMN WBA SIRI SPY QQQ IWM XLF IVOO RETL SQQQ TQQQ SOXL").split()
#: order-flow mix (per mille) when the live book is at its target size
_MIX = (("A", 430), ("F", 20), ("D", 330), ("U", 90), ("E", 60), ("C", 10), ("X", 60))
#: flow message kinds as small ints: adds first, then the ones that name a live order
_KINDS = "AFDUECX"
_A, _F, _D, _U, _E, _C, _X = range(len(_KINDS))
#: the share sizes orders are drawn from (mostly round lots)
_SIZES = (100,) * 12 + (200,) * 5 + (300, 300, 400, 500, 500, 1000, 1000, 2000, 5000,
                                      1, 10, 25, 50, 75, 150, 250)
_MPIDS = ("NSDQ", "GSCO", "MSCO", "UBSS", "JPMS", "CDRG", "VIRT", "SUSQ")


@dataclass(frozen=True)
class FlowConfig:
    """Parameters of one synthetic flow."""

    messages: int
    symbols: int = 100
    seed: int = 0
    #: live orders the flow keeps the book near, per symbol
    orders_per_symbol: int = 200
    #: mean time between two order-flow messages, ns
    mean_gap_ns: int = 2_000
    #: one message in this many is a pause or resume (``H``)
    halt_every: int = 200_000

    def __post_init__(self):
        if not 1 <= self.symbols <= 65_535:
            raise ValueError(f"symbols must be 1..65535 (a u16 locate), got {self.symbols}")
        if self.messages < preamble_length(self.symbols) + len(_CLOSE_EVENTS):
            raise ValueError(f"{self.messages} messages cannot hold the start-of-day "
                             f"messages for {self.symbols} symbols plus the closing events; "
                             f"need at least {preamble_length(self.symbols) + 3}")


_CLOSE_EVENTS = (("M", 57_600), ("E", 72_000), ("C", 72_300))  # seconds since midnight


def preamble_length(symbols: int) -> int:
    """Messages before the order flow: S ``O``, R and H per symbol, S ``S`` and ``Q``."""
    return 1 + 2 * symbols + 2


def tickers(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct, realistic symbols (well-known first, then 2-5 random letters)."""
    names = list(_TICKERS[:count])
    seen = set(names)
    while len(names) < count:
        name = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(2, 5)))
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


class FlowGenerator:
    """Produce one seeded flow as ``(timestamp_ns, raw message)`` pairs."""

    def __init__(self, config: FlowConfig):
        self.config = config
        self.rng = random.Random(config.seed)
        self.symbols = tickers(config.symbols, self.rng)
        # per locate (index 0 unused): mid price and whether it is paused
        self.mid = [0] + [100 * self.rng.randint(500, 50_000) for _ in self.symbols]
        self.paused = [False] * (config.symbols + 1)
        # activity skew: a table of locates drawn with Zipf-like weights
        weights = [1 / (rank ** 0.8) for rank in range(1, config.symbols + 1)]
        self.busy = self.rng.choices(range(1, config.symbols + 1), weights, k=4096)
        self.orders: dict[int, list] = {}   # ref → [locate, side, price, shares, index]
        # per locate, live orders per price: bids and asks (keeps the book uncrossed)
        self.levels = {66: [{} for _ in range(config.symbols + 1)],
                       83: [{} for _ in range(config.symbols + 1)]}
        self.live: list[int] = []           # live refs, for O(1) random picks
        self.next_ref = 1000 + self.rng.randint(0, 10_000)
        self.next_match = 1 + self.rng.randint(0, 10_000)
        self.ts = MARKET_OPEN_NS

    # -------------------------------------------------------------- messages

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        cfg = self.config
        yield from self._preamble()
        flow = cfg.messages - preamble_length(cfg.symbols) - len(_CLOSE_EVENTS)
        yield from self._flow(flow)
        for code, second in _CLOSE_EVENTS:
            ts = max(self.ts + 1, second * 10**9)
            self.ts = ts
            yield ts, itch.encode(itch.SystemEvent(stock_locate=0, tracking_number=0,
                                                   timestamp=ts, event_code=code))

    def _preamble(self) -> Iterator[tuple[int, bytes]]:
        ts = 3 * 3600 * 10**9  # 03:00 ET, start of messages
        yield ts, self._system_event(ts, "O")
        for locate, stock in enumerate(self.symbols, 1):
            ts += 1_000
            yield ts, itch.encode(itch.StockDirectory(
                stock_locate=locate, tracking_number=0, timestamp=ts, stock=stock,
                market_category="Q", financial_status_indicator="N", round_lot_size=100,
                round_lots_only="N", issue_classification="C", issue_sub_type="Z",
                authenticity="P", short_sale_threshold_indicator="N", ipo_flag="N",
                luld_reference_price_tier="1", etp_flag="N", etp_leverage_factor=0,
                inverse_indicator="N"))
        for locate in range(1, len(self.symbols) + 1):
            ts += 1_000
            yield ts, self._trading_action(ts, locate, "T")
        yield 4 * 3600 * 10**9, self._system_event(4 * 3600 * 10**9, "S")
        yield MARKET_OPEN_NS, self._system_event(MARKET_OPEN_NS, "Q")

    def _system_event(self, ts: int, code: str) -> bytes:
        return itch.encode(itch.SystemEvent(stock_locate=0, tracking_number=0, timestamp=ts,
                                            event_code=code))

    def _trading_action(self, ts: int, locate: int, state: str) -> bytes:
        reason = "" if state == "T" else "LUDP"
        return itch.encode(itch.StockTradingAction(
            stock_locate=locate, tracking_number=0, timestamp=ts,
            stock=self.symbols[locate - 1], trading_state=state, reserved=" ",
            reason=reason))

    def _flow(self, count: int) -> Iterator[tuple[int, bytes]]:
        cfg, rng = self.config, self.rng
        rnd = rng.random
        target = cfg.orders_per_symbol * cfg.symbols
        # precomputed draws, indexed by a uniform random number (keeps the loop cheap)
        mix = _mix_table()
        gaps = [1 + int(rng.expovariate(1 / cfg.mean_gap_ns)) for _ in range(4096)]
        ticks = [100 * (1 + int(rng.expovariate(1 / 3))) for _ in range(1024)]
        orders, live, drop = self.orders, self.live, self._drop
        inside, rest, leave = self._inside, self._rest, self._leave
        pack_a, pack_f = fast.packer("A"), fast.packer("F")
        pack_e, pack_c, pack_x = fast.packer("E"), fast.packer("C"), fast.packer("X")
        pack_d, pack_u = fast.packer("D"), fast.packer("U")
        sizes, busy, mid = _SIZES, self.busy, self.mid
        n_sizes = len(sizes)
        stocks = [b""] + [s.encode().ljust(8) for s in self.symbols]
        mpids = [m.encode() for m in _MPIDS]
        until_halt = cfg.halt_every
        ts, next_ref, next_match = self.ts, self.next_ref, self.next_match
        for _ in range(count):
            ts += gaps[int(rnd() * 4096)]
            hi, lo = ts >> 32, ts & M32
            until_halt -= 1
            if not until_halt:
                until_halt = cfg.halt_every
                yield ts, self._toggle_pause(ts)
                continue
            n_live = len(live)
            kind = mix[int(rnd() * 1000)] if n_live > 1 else _A
            if kind >= _D:
                if n_live < target >> 1 and rnd() < 0.5:
                    kind = _A
            elif n_live > target and rnd() < 0.5:
                kind = _D
            if kind <= _F:
                locate = busy[int(rnd() * 4096)]
                m = mid[locate]
                if rnd() < 0.02:  # the mid walks one tick
                    m = mid[locate] = max(200, m + (100 if rnd() < 0.5 else -100))
                ref = next_ref
                next_ref += 1 + int(rnd() * 4)
                shares = sizes[int(rnd() * n_sizes)]
                if rnd() < 0.5:
                    side, price = 66, m - ticks[int(rnd() * 1024)]  # B
                else:
                    side, price = 83, m + ticks[int(rnd() * 1024)]  # S
                price = inside(locate, side, price, ticks[int(rnd() * 1024)])
                if not price:  # no room below the best ask: the add joins the asks
                    side = 83
                    price = inside(locate, side, m + ticks[int(rnd() * 1024)], 100)
                orders[ref] = [locate, side, price, shares, n_live]
                rest(locate, side, price)
                live.append(ref)
                if kind == _A:
                    yield ts, pack_a(locate, 0, hi, lo, ref, side, shares, stocks[locate], price)
                else:
                    yield ts, pack_f(locate, 0, hi, lo, ref, side, shares, stocks[locate], price,
                                     mpids[int(rnd() * 8)])
                continue
            ref = live[int(rnd() * n_live)]
            o = orders[ref]
            locate, side, price, shares = o[0], o[1], o[2], o[3]
            if kind == _X and shares < 2:
                kind = _D
            if kind == _D:
                last = live.pop()  # drop ref: swap the last live order into its slot
                if last != ref:
                    live[o[4]] = last
                    orders[last][4] = o[4]
                del orders[ref]
                leave(locate, side, price)
                yield ts, pack_d(locate, 0, hi, lo, ref)
            elif kind == _U:
                new_ref = next_ref
                next_ref += 1 + int(rnd() * 4)
                m = mid[locate]
                drop(ref)
                leave(locate, side, price)
                new_price = inside(locate, side, m - ticks[int(rnd() * 1024)] if side == 66 else
                                   m + ticks[int(rnd() * 1024)], ticks[int(rnd() * 1024)])
                if not new_price:  # no room below the best ask: stay at the lowest tick
                    new_price = 100
                new_shares = sizes[int(rnd() * n_sizes)]
                orders[new_ref] = [locate, side, new_price, new_shares, len(live)]
                rest(locate, side, new_price)
                live.append(new_ref)
                yield ts, pack_u(locate, 0, hi, lo, ref, new_ref, new_shares, new_price)
            elif kind == _X:
                cancelled = 1 + int(rnd() * (shares - 1))
                o[3] = shares - cancelled
                yield ts, pack_x(locate, 0, hi, lo, ref, cancelled)
            else:  # E or C: a fill, often of the whole order
                executed = shares if rnd() < 0.6 else 1 + int(rnd() * shares)
                if executed >= shares:
                    executed = shares
                    drop(ref)
                    leave(locate, side, price)
                else:
                    o[3] = shares - executed
                match = next_match
                next_match += 1 + int(rnd() * 3)
                if kind == _E:
                    yield ts, pack_e(locate, 0, hi, lo, ref, executed, match)
                else:
                    printable = 89 if rnd() < 0.9 else 78  # Y / N
                    yield ts, pack_c(locate, 0, hi, lo, ref, executed, match, printable, price)
        self.ts, self.next_ref, self.next_match = ts, next_ref, next_match

    def _inside(self, locate: int, side: int, price: int, behind: int) -> int:
        """``price``, or ``behind`` away from the other side's best if it would reach it.

        0 when a bid has no room below the best ask.
        """
        if side == 66:
            asks = self.levels[83][locate]
            if asks:
                best = min(asks)
                if price >= best:
                    price = best - behind
            return price if price >= 100 else 0
        bids = self.levels[66][locate]
        if bids:
            best = max(bids)
            if price <= best:
                price = best + behind
        return price

    def _rest(self, locate: int, side: int, price: int) -> None:
        levels = self.levels[side][locate]
        levels[price] = levels.get(price, 0) + 1

    def _leave(self, locate: int, side: int, price: int) -> None:
        levels = self.levels[side][locate]
        left = levels[price] - 1
        if left:
            levels[price] = left
        else:
            del levels[price]

    def _drop(self, ref: int) -> None:
        """Remove a live order from the pick list in O(1) (swap with the last)."""
        o = self.orders.pop(ref)
        live, index = self.live, o[4]
        last = live.pop()
        if last != ref:
            live[index] = last
            self.orders[last][4] = index

    def _toggle_pause(self, ts: int) -> bytes:
        locate = self.busy[int(self.rng.random() * 4096)]
        self.paused[locate] = not self.paused[locate]
        return self._trading_action(ts, locate, "P" if self.paused[locate] else "T")


def _mix_table() -> list[int]:
    table: list[int] = []
    for kind, per_mille in _MIX:
        table += [_KINDS.index(kind)] * per_mille
    assert len(table) == 1000
    return table


def generate(messages: int, symbols: int = 100, seed: int = 0, **options) -> Iterator[bytes]:
    """Raw ITCH messages of a seeded synthetic flow (see :class:`FlowConfig`)."""
    for _ts, message in FlowGenerator(FlowConfig(messages, symbols, seed, **options)):
        yield message
