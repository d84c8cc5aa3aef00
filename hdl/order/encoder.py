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
    is accepted (the symbol table read); a new request is accepted with the
    previous packet's last beat, so packets go back to back.
    """

    def __init__(self, template: OuchTemplate | None = None):
        self.template = template or OuchTemplate()
        self.plans = {kind: plan(self.template, kind) for kind in OrderKind}
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
        beat = Signal(range(8))
        kinds = list(OrderKind)
        max_beats = max(-(-len(p.template) // BYTES_PER_BEAT) for p in self.plans.values())
        assert max_beats <= 8

        # each kind's packet as beats; the current beat muxed by kind and index
        beat_data, beat_keep, beat_last = [], [], []
        for kind in kinds:
            kind_plan = self.plans[kind]
            raw = self._packet_bytes(kind_plan, current, rd.data.symbol, number, orig_number)
            n = len(raw)
            raw += [Const(0, 8)] * (max_beats * BYTES_PER_BEAT - n)
            beats = [Cat(*raw[i:i + BYTES_PER_BEAT]) for i in range(0, len(raw), BYTES_PER_BEAT)]
            beat_data.append(Array(beats))
            n_beats = -(-n // BYTES_PER_BEAT)
            tail = n - (n_beats - 1) * BYTES_PER_BEAT
            beat_keep.append(Array([Const(0xFF if i < n_beats - 1 else (1 << tail) - 1, 8)
                                    for i in range(max_beats)]))
            beat_last.append(Array([Const(i == n_beats - 1, 1) for i in range(max_beats)]))
        kind_index = current.kind.as_value()
        data = Signal(64)
        keep = Signal(8)
        last = Signal()
        with m.Switch(kind_index):
            for i, kind in enumerate(kinds):
                with m.Case(kind.value):
                    m.d.comb += [data.eq(beat_data[i][beat]), keep.eq(beat_keep[i][beat]),
                                 last.eq(beat_last[i][beat])]
        m.d.comb += [
            self.packets.valid.eq(busy),
            self.packets.payload.data.eq(data),
            self.packets.payload.keep.eq(keep),
            self.packets.payload.first.eq(beat == 0),
            self.packets.payload.last.eq(last),
        ]

        done = busy & self.packets.ready & last
        m.d.comb += self.requests.ready.eq(~busy | done)
        accept = self.requests.valid & self.requests.ready
        sent = accept & (self.requests.payload.reason == Reason.SENT)
        m.d.comb += [rd.addr.eq(self.requests.payload.slot), rd.en.eq(sent)]

        with m.If(busy & self.packets.ready):
            m.d.sync += beat.eq(beat + 1)
        with m.If(done):
            m.d.sync += busy.eq(0)
        with m.If(sent):
            m.d.sync += [current.eq(self.requests.payload), busy.eq(1), beat.eq(0),
                         number.eq(wire_number(self.ref_base, self.requests.payload.token)),
                         orig_number.eq(wire_number(self.ref_base,
                                                    self.requests.payload.orig_token)),
                         self.sent_count.eq(self.sent_count + 1)]
        with m.If(accept & ~sent):
            m.d.sync += self.reject_count.eq(self.reject_count + 1)

        # reports: a sent order when its first beat leaves, a reject when accepted
        first_out = busy & self.packets.ready & (beat == 0)
        report = self.reports.payload
        with m.If(first_out):
            m.d.comb += [self.reports.valid.eq(1), report.request.eq(current),
                         report.number.eq(number)]
        with m.Elif(accept & ~sent):
            m.d.comb += [self.reports.valid.eq(1), report.request.eq(self.requests.payload)]
        m.d.comb += report.stamp_encoder.eq(self.now)
        return m
