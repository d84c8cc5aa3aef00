"""The decision path: top of book → strategy → inline risk → order requests (docs/strategy.md).

One record at a time, each to completion, so every decision sees the
state the previous one left (the model :class:`~tick2trade.sim.model.
strategy.decision.DecisionModel` does the same). Per record: find the
symbol's slot by locate, read its parameter and state rows, run the taker
(pipelined products) and the quoter, then check each wanted order in turn
(taker, quoter buy, quoter sell) through :class:`~tick2trade.hdl.risk.risk.
InlineRisk` and hand it out on ``orders`` with its verdict; finally write
the state row back. A passed order costs a fixed number of cycles
(:data:`FIRST_ORDER_CYCLES`, :data:`NEXT_ORDER_CYCLES`) while ``orders`` is
ready.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from ..book.layouts import TopOfBook, tob_stream
from ..csr.ports import table_write_signature
from ..layouts import TIMESTAMP_WIDTH
from ..risk.layouts import COUNTER_WIDTH, COUNTERS, Reason, RiskGlobal, RiskParams
from ..risk.risk import RISK_LATENCY, InlineRisk
from .layouts import (
    MAX_SYMBOLS,
    SLOT_WIDTH,
    Executed,
    Intent,
    OrderKind,
    QuoteState,
    Side,
    StrategyParams,
    SymbolState,
    executed_stream,
    order_stream,
)
from .quoter import QUOTER_LATENCY, Quoter
from .taker import TAKER_LATENCY, ImbalanceTaker

__all__ = ["DecisionPath", "POSITION_SHAPE", "FIRST_ORDER_CYCLES", "NEXT_ORDER_CYCLES",
           "IDLE_RECORD_CYCLES", "UNSUBSCRIBED_RECORD_CYCLES"]

assert QUOTER_LATENCY <= TAKER_LATENCY - 1  # both decide in the same window (DECIDE)

#: a slot's position, signed shares (the ``position`` field of ``SymbolState``)
POSITION_SHAPE = SymbolState.as_shape()["position"].shape

#: accept cycle of a record → its first order on ``orders`` (``valid`` high), in cycles:
#: lookup, read, fetch, load (the products start), decide, next, risk, emit
FIRST_ORDER_CYCLES = 5 + TAKER_LATENCY + 1 + RISK_LATENCY
#: one order's hand-off → the next order of the same record
NEXT_ORDER_CYCLES = 1 + RISK_LATENCY + 1
#: a record of a subscribed symbol that causes no order: accept → ready again
IDLE_RECORD_CYCLES = 5 + TAKER_LATENCY + 2
#: a record of a locate no slot holds: accept → ready again
UNSUBSCRIBED_RECORD_CYCLES = 3


def lowest_set(bits):
    """``(any, index)`` of the lowest set bit of ``bits``: a tree, log2 levels of muxes."""
    n = len(bits)
    if n == 1:
        return bits[0], Const(0, 1)
    half = 1 << ((n - 1).bit_length() - 1)  # the largest power of two below n
    lo_any, lo_index = lowest_set(bits[:half])
    hi_any, hi_index = lowest_set(bits[half:])
    return lo_any | hi_any, Mux(lo_any, lo_index, hi_index | half)


class DecisionPath(wiring.Component):
    """Strategy and inline risk for ``symbols`` slots.

    Ports
    -----
    tob : In(tob_stream())
        Top-of-book records of the book.
    orders : Out(order_stream())
        Every order decision with its verdict (``reason``); the encoder sends
        those with ``Reason.SENT`` and the event stream reports the others.
    executed : In(executed_stream())
        Executions of our orders: the slot's position moves.
    strategy_table, risk_table : In(table_write_signature(...))
        Table write ports (``en``, ``addr`` = slot, ``data`` = row); a strategy
        row also sets the slot's locate (``valid``, ``locate``). Rows at or
        above ``symbols`` are ignored.
    position_table : In(table_write_signature(POSITION_SHAPE, ...))
        Host sets a slot's position; applied between records (a second
        write before it is applied replaces the first).
    glob : In(RiskGlobal)
        Global risk settings (registers).
    gap, clear_trip :
        Feed-gap strobe (trips the kill switch when ``kill_on_gap``), and
        clearing of the tripped kill switch.
    tripped, counters : Out
        The tripped kill switch and the risk counters (:data:`COUNTERS`).
    idle : Out(1)
        Nothing in flight and no position write pending.
    now : In(TIMESTAMP_WIDTH)
        The free-running cycle counter, for the stage stamps.
    """

    def __init__(self, symbols: int = 64):
        if not 1 <= symbols <= MAX_SYMBOLS:
            raise ValueError(f"symbols must be 1..{MAX_SYMBOLS}, got {symbols}")
        self.symbols = symbols
        super().__init__({
            "tob": In(tob_stream()),
            "orders": Out(order_stream()),
            "executed": In(executed_stream()),
            "strategy_table": In(table_write_signature(StrategyParams, MAX_SYMBOLS)),
            "risk_table": In(table_write_signature(RiskParams, MAX_SYMBOLS)),
            "position_table": In(table_write_signature(POSITION_SHAPE, MAX_SYMBOLS)),
            "glob": In(RiskGlobal),
            "gap": In(1), "clear_trip": In(1),
            "tripped": Out(1), "idle": Out(1),
            "counters": Out(data.ArrayLayout(COUNTER_WIDTH, len(COUNTERS))),
            "now": In(TIMESTAMP_WIDTH),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.symbols

        # ---------------------------------------------------------------- tables
        m.submodules.strategy_mem = strategy_mem = memory.Memory(
            shape=StrategyParams, depth=n, init=[])
        m.submodules.risk_mem = risk_mem = memory.Memory(shape=RiskParams, depth=n, init=[])
        m.submodules.state_mem = state_mem = memory.Memory(shape=SymbolState, depth=n, init=[])
        sw, sr = strategy_mem.write_port(), strategy_mem.read_port()
        rw, rr = risk_mem.write_port(), risk_mem.read_port()
        stw, str_ = state_mem.write_port(), state_mem.read_port()
        for table, port in ((self.strategy_table, sw), (self.risk_table, rw)):
            m.d.comb += [port.en.eq(table.en & (table.addr < n)), port.addr.eq(table.addr),
                         port.data.eq(table.data)]

        # locate of each slot, in registers for the one-cycle lookup
        tag_valid = Array(Signal(name=f"tag_valid_{i}") for i in range(n))
        tag_locate = Array(Signal(16, name=f"tag_locate_{i}") for i in range(n))
        with m.If(self.strategy_table.en & (self.strategy_table.addr < n)):
            m.d.sync += [tag_valid[self.strategy_table.addr].eq(self.strategy_table.data.valid),
                         tag_locate[self.strategy_table.addr].eq(self.strategy_table.data.locate)]
        # the locate of the input about to be accepted (an execution goes first) is compared
        # with every slot as it is accepted; the next cycle encodes the lowest matching slot
        key = Signal(16)
        m.d.comb += key.eq(Mux(self.executed.valid, self.executed.payload.locate,
                               self.tob.payload.locate))
        hits = Signal(n)
        match_hit, match_slot = lowest_set(hits)

        # pending host position write
        pos_pending, pos_addr = Signal(), Signal(SLOT_WIDTH)
        pos_data = Signal(self.position_table.data.shape())

        # ---------------------------------------------------------------- working registers
        t = Signal(TopOfBook)
        ex = Signal(Executed)
        slot, hit = Signal(SLOT_WIDTH), Signal()
        sp = Signal(StrategyParams)
        rp = Signal(RiskParams)
        risk_params = Signal(RiskParams)  # ``rp`` copied away from the block RAM (in DECIDE)
        st = Signal(SymbolState)
        total = Signal(57)
        mid = Signal(32)
        intents = [Signal(Intent, name=f"intent_{i}") for i in range(3)]
        cur = Signal(Intent)
        stamp_tob, stamp_strategy = Signal(TIMESTAMP_WIDTH), Signal(TIMESTAMP_WIDTH)
        # a block RAM output is slow (4.3 ns clock to out on ECP5): every row goes straight
        # into a register of its own, every cycle (``sp_row``, ``rp_row``, ``row``; FETCH),
        # and from there into the working registers (LOAD). ``slot`` holds while a record is
        # decided, so the rows hold from FETCH on, unless the host rewrites them: the taker's
        # products sample ``sp_row`` once, in LOAD, with the working registers
        m.d.comb += [sr.addr.eq(slot), rr.addr.eq(slot), str_.addr.eq(slot),
                     stw.addr.eq(slot), stw.data.eq(st)]
        sp_row, rp_row, row = Signal(StrategyParams), Signal(RiskParams), Signal(SymbolState)
        m.d.sync += [sp_row.eq(sr.data), rp_row.eq(rr.data), row.eq(str_.data)]

        # ---------------------------------------------------------------- blocks
        m.submodules.risk = risk = InlineRisk()
        m.submodules.taker = taker = ImbalanceTaker()
        m.submodules.quoter = quoter = Quoter()
        m.d.comb += [
            taker.tob.eq(t), taker.params.eq(sp), taker.total.eq(total),
            taker.operands.eq(sp_row),
            taker.fired.eq(st.fired), taker.last_trigger_ts.eq(st.last_trigger_ts),
            quoter.tob.eq(t), quoter.params.eq(sp), quoter.buy.eq(st.buy),
            quoter.sell.eq(st.sell), quoter.kill.eq(self.glob.kill | risk.tripped),
            risk.order.eq(cur), risk.params.eq(risk_params), risk.state.eq(st),
            risk.glob.eq(self.glob),
            risk.mid.eq(mid), risk.ts.eq(t.ts), risk.gap.eq(self.gap),
            risk.clear_trip.eq(self.clear_trip),
            self.tripped.eq(risk.tripped), self.counters.eq(risk.counters),
        ]

        own = Signal(QuoteState)  # the resting quote on the checked order's side, registered
        m.d.comb += risk.own.eq(own)
        sent = risk.reason == Reason.SENT
        o = self.orders.payload
        m.d.comb += [
            o.kind.eq(cur.kind), o.side.eq(cur.side), o.tif.eq(cur.tif),
            o.reason.eq(risk.reason), o.slot.eq(slot), o.locate.eq(t.locate),
            o.price.eq(cur.price), o.shares.eq(cur.shares),
            o.trigger_ts.eq(t.ts), o.trigger_seq.eq(t.seq), o.trigger_hw_ts.eq(t.hw_ts),
            o.stamp_tob.eq(stamp_tob), o.stamp_strategy.eq(stamp_strategy),
            o.stamp_risk.eq(self.now),
        ]
        with m.If(sent):
            with m.Switch(cur.kind):
                with m.Case(OrderKind.CANCEL):
                    m.d.comb += o.token.eq(own.token)
                with m.Case(OrderKind.REPLACE):
                    m.d.comb += [o.token.eq(risk.token), o.orig_token.eq(own.token)]
                with m.Default():
                    m.d.comb += o.token.eq(risk.token)

        # ---------------------------------------------------------------- sequencer
        wait = Signal(range(max(TAKER_LATENCY, RISK_LATENCY) + 1))
        # ``st`` takes ``row`` in the cycle after FETCH, EXEC_LOAD and POSITION_LOAD, told by a
        # register (its ~280 flip-flops' select then starts from one flip-flop); the states
        # below override single fields after it
        st_load = Signal()
        m.d.sync += st_load.eq(0)
        with m.If(st_load):
            m.d.sync += st.eq(row)
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(~pos_pending)
                with m.If(pos_pending):
                    m.d.sync += [slot.eq(pos_addr), hit.eq(pos_addr < n)]
                    m.next = "POSITION_READ"
                with m.Elif(self.executed.valid):
                    m.d.comb += self.executed.ready.eq(1)
                    m.d.sync += ex.eq(self.executed.payload)
                    m.d.sync += hits.eq(Cat(tag_valid[i] & (tag_locate[i] == key)
                                            for i in range(n)))
                    m.next = "EXEC_LOOKUP"
                with m.Elif(self.tob.valid):
                    m.d.comb += self.tob.ready.eq(1)
                    m.d.sync += [t.eq(self.tob.payload), stamp_tob.eq(self.now)]
                    m.d.sync += hits.eq(Cat(tag_valid[i] & (tag_locate[i] == key)
                                            for i in range(n)))
                    m.next = "LOOKUP"
            with m.State("POSITION_READ"):
                with m.If(hit):
                    m.next = "POSITION_LOAD"
                with m.Else():
                    m.d.sync += pos_pending.eq(0)
                    m.next = "IDLE"
            with m.State("POSITION_LOAD"):  # the row arrives (registered in ``row``)
                m.d.sync += st_load.eq(1)
                m.next = "POSITION_WRITE"
            with m.State("POSITION_WRITE"):
                m.d.sync += [st.position.eq(pos_data), pos_pending.eq(0)]
                m.next = "WRITE_BACK"
            with m.State("EXEC_LOOKUP"):
                m.d.sync += [slot.eq(match_slot), hit.eq(match_hit)]
                m.next = "EXEC_READ"
            with m.State("EXEC_READ"):
                m.next = "EXEC_LOAD"
                with m.If(~hit):
                    m.next = "IDLE"
            with m.State("EXEC_LOAD"):  # the row arrives (registered in ``row``)
                m.d.sync += st_load.eq(1)
                m.next = "EXEC_WRITE"
            with m.State("EXEC_WRITE"):
                with m.If(ex.side == Side.BUY):
                    m.d.sync += st.position.eq(row.position + ex.shares)
                with m.Else():
                    m.d.sync += st.position.eq(row.position - ex.shares)
                m.next = "WRITE_BACK"
            with m.State("LOOKUP"):
                m.d.sync += [slot.eq(match_slot), hit.eq(match_hit)]
                m.next = "READ"
            with m.State("READ"):
                m.d.sync += total.eq(t.bid_qty + t.ask_qty)
                m.next = "FETCH"
                with m.If(~hit):
                    m.next = "IDLE"
            with m.State("FETCH"):  # the rows arrive (registered in ``*_row``)
                m.d.sync += st_load.eq(1)
                m.next = "LOAD"
            with m.State("LOAD"):  # st takes ``row`` (``st_load``); the products start
                m.d.sync += [sp.eq(sp_row), rp.eq(rp_row),
                             mid.eq((t.bid_px + t.ask_px) >> 1), wait.eq(TAKER_LATENCY - 1)]
                m.next = "DECIDE"
            with m.State("DECIDE"):
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == TAKER_LATENCY - 1):
                    m.d.sync += risk_params.eq(rp)
                with m.If(wait == 0):
                    m.d.sync += [intents[0].eq(taker.intent), intents[1].eq(quoter.buy_intent),
                                 intents[2].eq(quoter.sell_intent), stamp_strategy.eq(self.now)]
                    with m.If(taker.intent.valid):
                        m.d.sync += [st.fired.eq(1), st.last_trigger_ts.eq(t.ts)]
                    m.next = "NEXT"
            with m.State("NEXT"):
                with m.If(intents[0].valid):
                    m.d.sync += [cur.eq(intents[0]), intents[0].valid.eq(0),
                                 own.eq(Mux(intents[0].side == Side.SELL, st.sell, st.buy))]
                    m.next = "CHECK"
                with m.Elif(intents[1].valid):
                    m.d.sync += [cur.eq(intents[1]), intents[1].valid.eq(0), own.eq(st.buy)]
                    m.next = "CHECK"
                with m.Elif(intents[2].valid):
                    m.d.sync += [cur.eq(intents[2]), intents[2].valid.eq(0), own.eq(st.sell)]
                    m.next = "CHECK"
                with m.Else():
                    m.next = "WRITE_BACK"
                m.d.sync += wait.eq(RISK_LATENCY - 1)
            with m.State("CHECK"):
                m.d.comb += risk.start.eq(wait == RISK_LATENCY - 1)
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == 0):
                    m.next = "EMIT"
            with m.State("EMIT"):
                m.d.comb += self.orders.valid.eq(1)
                with m.If(self.orders.ready):
                    m.next = "NEXT"
            with m.State("WRITE_BACK"):  # the state table is only ever written from ``st``
                m.d.comb += stw.en.eq(1)
                m.next = "IDLE"

        # the state moves the cycle after an order is handed off (NEXT, where ``cur`` and the
        # risk verdict still hold it): the hand-off strobe reaches the ~700 flip-flops it
        # enables from a register. The next check starts two cycles after the hand-off, and
        # NEXT picks the resting quote of the other side, so both see the moved state.
        committed = Signal()
        m.d.sync += committed.eq(self.orders.valid & self.orders.ready)
        m.d.comb += risk.commit.eq(committed)
        with m.If(committed & sent & cur.quoter):
            rest = Signal(QuoteState)
            with m.If(cur.kind != OrderKind.CANCEL):
                m.d.comb += [rest.live.eq(1), rest.token.eq(risk.token),
                             rest.price.eq(cur.price), rest.shares.eq(cur.shares)]
            with m.If(cur.side == Side.BUY):
                m.d.sync += st.buy.eq(rest)
            with m.Else():
                m.d.sync += st.sell.eq(rest)

        # a host position write waits for the sequencer (applied from IDLE)
        with m.If(self.position_table.en):
            m.d.sync += [pos_pending.eq(1), pos_addr.eq(self.position_table.addr),
                         pos_data.eq(self.position_table.data)]
        return m
