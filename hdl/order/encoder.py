"""OUCH 4.2 / 5.0 order encoder: request in, SoupBinTCP ``U`` packet beats out.

OUCH 4.2 §3.1–§3.3 and OUCH 5.0 §4.1 Enter / Replace / Cancel, each a
prebuilt template (:mod:`.template`) with the request's fields written in
place; output framing SoupBinTCP §2.8 (module docstring of ``template``).
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..csr.ports import table_write_signature
from ..layouts import BYTES_PER_BEAT, TIMESTAMP_WIDTH, beat_stream
from ..risk.layouts import Reason
from ..strategy.layouts import MAX_SYMBOLS, OrderKind, OrderRequest, Tif, order_stream
from .layouts import SymbolRow, report_stream
from .template import OuchTemplate, plan, symbol_word
from .token import as_bytes, hex_text, wire_number

__all__ = ["OuchEncoder"]


class OuchEncoder(wiring.Component):
    """Builds one SoupBinTCP-framed OUCH message per sent request.

    Ports
    -----
    requests : In(order_stream())
        Risk-checked order requests; a request whose ``reason`` is not
        ``SENT`` is consumed and reported, never encoded.
    packets : Out(beat_stream())
        Packet bytes, lane 0 first; ``first``/``last``/``keep`` as in
        :class:`~tick2trade.hdl.layouts.Beat`.
    reports : Out(report_stream())
        One report per consumed request (always ready).
    symbols : In(table_write_signature(SymbolRow, MAX_SYMBOLS))
        Host writes of the per-slot symbol table (CSR table ``symbols``).
    ref_base : In(32)
        Added to every request's order number (CSR ``order.ref_base``).
    now : In(TIMESTAMP_WIDTH)
        The free-running cycle counter.
    sent_count, reject_count : Out(32)
        Requests encoded / consumed as rejects.

    Latency: the first beat of a packet is valid the cycle after its request
    is accepted; a new request is accepted with the previous packet's last
    beat, so packets go back to back. Every output is registered. The symbol
    row is read on acceptance and registered (2 cycles), so a packet whose
    second beat holds symbol bytes (OUCH 5.0 Enter Order) has one idle cycle
    after its first beat.
    """

    def __init__(self, template: OuchTemplate | None = None):
        self.template = template or OuchTemplate()
        self.plans = {kind: plan(self.template, kind) for kind in OrderKind}
        # beat 0 is built while the symbol table is read: no symbol byte may fall in it
        assert all(f.offset >= BYTES_PER_BEAT for p in self.plans.values() for f in p.fills
                   if f.source == "symbol")
        super().__init__({
            "requests": In(order_stream()),
            "packets": Out(beat_stream()),
            "reports": Out(report_stream()),
            "symbols": In(table_write_signature(SymbolRow, MAX_SYMBOLS)),
            "ref_base": In(32),
            "now": In(TIMESTAMP_WIDTH),
            "sent_count": Out(32),
            "reject_count": Out(32),
        })

    def _packet_bytes(self, kind_plan, req, symbol, number, orig_number):
        """The packet of one kind as a list of byte values, fields written in place."""
        tif = self.template.tif_code
        sources = {
            "token_num": lambda n: as_bytes(number, n),
            "orig_token_num": lambda n: as_bytes(orig_number, n),
            "token_text": lambda n: hex_text(number),
            "orig_token_text": lambda n: hex_text(orig_number),
            "side": lambda n: as_bytes(req.side.as_value(), n),
            "shares": lambda n: as_bytes(req.shares, n),
            "price": lambda n: as_bytes(req.price, n),
            "tif": lambda n: as_bytes(Mux(req.tif == Tif.IOC, Const(tif(Tif.IOC.value), 8 * n),
                                          Const(tif(Tif.DAY.value), 8 * n)), n),
            "symbol": lambda n: [symbol[8 * i:8 * i + 8] for i in range(n)],
        }
        out = [Const(b, 8) for b in kind_plan.template]
        for fill in kind_plan.fills:
            values = sources[fill.source](fill.length)
            assert len(values) == fill.length and all(len(v) == 8 for v in values)
            out[fill.offset:fill.offset + fill.length] = values
        return out

    def _select(self, m, name, req, symbol, number, orig_number, index, max_beats):
        """(data, keep, last) of beat ``index`` of the packet of ``req``'s kind."""
        data, keep, last = Signal(64, name=f"{name}_data"), Signal(8, name=f"{name}_keep"), \
            Signal(name=f"{name}_last")
        with m.Switch(req.kind.as_value()):
            for kind in OrderKind:
                raw = self._packet_bytes(self.plans[kind], req, symbol, number, orig_number)
                n = len(raw)
                n_beats = -(-n // BYTES_PER_BEAT)
                raw += [Const(0, 8)] * (max_beats * BYTES_PER_BEAT - n)
                beats = Array([Cat(*raw[i:i + BYTES_PER_BEAT])
                               for i in range(0, len(raw), BYTES_PER_BEAT)])
                tail = n - (n_beats - 1) * BYTES_PER_BEAT
                keeps = Array([Const(0xFF if i < n_beats - 1 else (1 << tail) - 1, 8)
                               for i in range(max_beats)])
                lasts = Array([Const(i == n_beats - 1, 1) for i in range(max_beats)])
                with m.Case(kind.value):
                    m.d.comb += [data.eq(beats[index]), keep.eq(keeps[index]),
                                 last.eq(lasts[index])]
        return data, keep, last

    def elaborate(self, platform):
        m = Module()
        m.submodules.table = table = Memory(shape=SymbolRow, depth=MAX_SYMBOLS,
                                               init=[{"symbol": symbol_word("")}] * MAX_SYMBOLS)
        wr = table.write_port()
        rd = table.read_port()
        m.d.comb += [wr.addr.eq(self.symbols.addr), wr.data.eq(self.symbols.data),
                     wr.en.eq(self.symbols.en)]

        current = Signal(OrderRequest)
        number = Signal(32)          # wire numbers, registered with the request
        orig_number = Signal(32)
        busy = Signal()
        beat = Signal(range(8))      # index of the beat in the output register
        max_beats = max(-(-len(p.template) // BYTES_PER_BEAT) for p in self.plans.values())
        assert max_beats <= 8

        payload = self.requests.payload
        in_number = Signal(32)
        in_orig_number = Signal(32)
        m.d.comb += [in_number.eq(wire_number(self.ref_base, payload.token)),
                     in_orig_number.eq(wire_number(self.ref_base, payload.orig_token))]
        # the symbol row, read when a request is accepted and registered the cycle after
        # (a BRAM's output is slow: DESIGN.md, timing on ECP5)
        symbol = Signal(64)
        loading = Signal()           # rd.data holds the accepted request's row
        symbol_valid = Signal()      # ``symbol`` holds it
        m.d.sync += loading.eq(0)
        with m.If(loading):
            m.d.sync += [symbol.eq(rd.data.symbol), symbol_valid.eq(1)]
        # beat 0 straight from the accepted request (no symbol byte falls in it), the next
        # ones from the registered request
        first_beat = self._select(m, "first", payload, symbol, in_number, in_orig_number,
                                  Const(0, 3), max_beats)
        next_index = beat + 1
        next_beat = self._select(m, "next", current, symbol, number, orig_number, next_index,
                                 max_beats)
        needs_symbol = Signal()      # the next beat holds symbol bytes
        with m.Switch(current.kind.as_value()):
            for kind in OrderKind:
                with m.Case(kind.value):
                    rows = [any(f.source == "symbol"
                                and f.offset < (i + 1) * BYTES_PER_BEAT
                                and f.offset + f.length > i * BYTES_PER_BEAT
                                for f in self.plans[kind].fills) for i in range(8)]
                    m.d.comb += needs_symbol.eq(Array([Const(r, 1) for r in rows])[next_index])
        waiting = Signal()           # next beat held back until the symbol is registered

        out = self.packets.payload
        moved = self.packets.valid & self.packets.ready
        done = moved & out.last
        m.d.comb += self.requests.ready.eq(~busy | done)
        accept = self.requests.valid & self.requests.ready
        sent = accept & (payload.reason == Reason.SENT)
        m.d.comb += [rd.addr.eq(payload.slot), rd.en.eq(sent)]

        def load_next():
            return [beat.eq(next_index), out.data.eq(next_beat[0]), out.keep.eq(next_beat[1]),
                    out.last.eq(next_beat[2]), out.first.eq(0), self.packets.valid.eq(1)]

        with m.If(sent):
            m.d.sync += [current.eq(payload), busy.eq(1), beat.eq(0), loading.eq(1),
                         symbol_valid.eq(0), waiting.eq(0),
                         number.eq(in_number), orig_number.eq(in_orig_number),
                         out.data.eq(first_beat[0]), out.keep.eq(first_beat[1]),
                         out.last.eq(first_beat[2]), out.first.eq(1),
                         self.packets.valid.eq(1), self.sent_count.eq(self.sent_count + 1)]
        with m.Elif(done):
            m.d.sync += [busy.eq(0), self.packets.valid.eq(0)]
        with m.Elif(moved):
            with m.If(needs_symbol & ~symbol_valid):
                m.d.sync += [self.packets.valid.eq(0), waiting.eq(1)]
            with m.Else():
                m.d.sync += load_next()
        with m.Elif(waiting & symbol_valid):
            m.d.sync += [*load_next(), waiting.eq(0)]
        with m.If(accept & ~sent):
            m.d.sync += self.reject_count.eq(self.reject_count + 1)

        # reports: a sent order when its first beat leaves, a reject when accepted
        first_out = moved & out.first
        report = self.reports.payload
        with m.If(first_out):
            m.d.comb += [self.reports.valid.eq(1), report.request.eq(current),
                         report.number.eq(number)]
        with m.Elif(accept & ~sent):
            m.d.comb += [self.reports.valid.eq(1), report.request.eq(self.requests.payload)]
        m.d.comb += report.stamp_encoder.eq(self.now)
        return m
