"""The composed gateware core on a capture or flow: frames in, orders decoded from OUCH bytes out.

:func:`run_core` is the ``rtl`` engine of ``t2t replay --config --orders-out``
(docs/strategy.md, "Replay output"): the input's Ethernet frames (a
BinaryFILE is packed into MoldUDP64 first, as ``sim/feed_engine`` does), FCS
appended, go at line rate into :class:`~tick2trade.hdl.core.TradingCore`
under its C++ Verilator harness (:mod:`.verilator.core`). The configuration
is written the way a host does it, as control datagrams (``proto/control``):
subscriptions, symbol names, strategy and risk rows and the risk globals,
from the same config → rows code as the model (:func:`~.model.decision_config.tables`).
The harness subscribes to every event type before the feed starts; the
EVENTS datagrams the core sends on XGMII TX (orders sent with their stage
stamps, rejects with their reason, gaps, and the risk counters snapshot it
is asked for once the core is quiet) are kept in :attr:`CoreReplay.events`.
The risk, book and event counters are read back the same way at the end.

Frames go back to back at line rate; the gateware book is slower than line
rate on busy flows, so when the receive path had to drop packets (its
overflow counters) the run is repeated with one packet in flight
(:data:`PACE`), as the model loses none.

Each order line comes from the OUCH bytes the encoder put out (SoupBinTCP
§2.8 ``U`` packets decoded with ``proto``, OUCH 5.0 §4.1); what the wire does
not carry (the triggering record's ``seq`` and ITCH ``ts``, the locate)
comes from the encoder's report of the same request, and rejects from the
reports alone, as on the event channel.

Latency, per order, in cycles of the core clock (``now``):

* ``cycles``: the top-of-book record entering the decision path → the
  order's first OUCH payload byte (a reject: its consumption);
* ``t2t_cycles``: the last byte of the triggering ITCH message on XGMII RX
  → the first OUCH payload byte out of the encoder. DESIGN.md measures to
  the first byte of the order frame on XGMII TX: the orders' MAC/IP/TCP
  transmit path is not in the core yet (its ``xgmii_tx`` carries only
  control replies and events), so its cycles are not counted;
* :attr:`CoreReplay.stages`: that span split at the stamps — feed (last
  ITCH byte → record into the book), book (→ top of book into the decision
  path), strategy, risk, encoder (→ first byte).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from tick2trade.hdl.book.layouts import COUNTERS as BOOK_COUNTERS
from tick2trade.hdl.book.layouts import BookParams
from tick2trade.hdl.csr.builder import RegisterMap
from tick2trade.hdl.csr.device_map import device_map
from tick2trade.hdl.order.template import OuchTemplate, symbol_word
from tick2trade.hdl.risk.layouts import COUNTERS as RISK_COUNTERS
from tick2trade.hdl.risk.layouts import Reason
from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif
from tick2trade.proto import control as c
from tick2trade.proto import moldudp64, ouch50, soupbintcp
from tick2trade.proto.net import parse_frame

from .model.control import fields_value
from .model.decision_config import DecisionConfig, tables
from .model.net import with_fcs
from .model.strategy.decision import Decision

__all__ = ["CoreReplay", "CoreError", "config_datagrams", "readback_datagrams", "run_core",
           "OVERFLOW_COUNTERS", "PACE", "STAGES"]

#: the latency stages of :attr:`CoreReplay.stages`, in pipeline order
STAGES = ("feed", "book", "strategy", "risk", "encoder")
#: idle cycles after a frame before the next one when paced (one packet in flight); more
#: than the receive path needs to hand a whole packet to the decoder
PACE = 64
#: counters of packets the receive path dropped for want of room (MoldUDP64 ingress, MAC)
OVERFLOW_COUNTERS = ("stats__a_overflowed", "mac_stats__overflows")
_MASK64 = (1 << 64) - 1


class CoreError(RuntimeError):
    """The core answered the configuration with an error, or its output does not decode."""


@dataclass
class CoreReplay:
    """Decisions (in output order) of one run, with counters and latencies."""

    decisions: list[Decision]
    counters: dict                   # risk counters (names of hdl/risk COUNTERS)
    book_counters: dict              # book counters (hdl/book COUNTERS)
    feed_counters: dict              # the feed path's (Verilog port names)
    cycles: list[int]                # per decision: top of book → first OUCH byte / consumed
    t2t_cycles: list[int | None]     # per decision: last ITCH byte → first OUCH byte (sent)
    stages: list[dict | None]        # per sent decision: cycles of each of STAGES
    packets: list[bytes] = field(default_factory=list)  # the OUCH packets, in order
    #: per sent order: its trigger's frame stamp (``trigger_hw_ts``) minus the cycle that
    #: frame's /S/ was driven, a small constant per start lane if frames are matched right
    stamp_offsets: set[int] = field(default_factory=set)
    sim_cycles: int = 0
    wall_seconds: float = 0.0
    build_seconds: float = 0.0
    #: 0: frames back to back at line rate; else the pace of :func:`run_core`
    pace: int = 0
    #: packets the receive path dropped at line rate before the run was paced
    overflowed: int = 0
    #: EVENTS datagrams the core sent to the harness: (now of the frame's /S/ on XGMII TX,
    #: datagram), in wire order
    events: list[tuple[int, bytes]] = field(default_factory=list)
    #: registers ``events.sent`` and ``events.dropped`` read back at the end
    event_counters: dict = field(default_factory=dict)
    #: per decision: the report's stage stamps (``trigger_hw_ts``, ``stamp_tob``,
    #: ``stamp_strategy``, ``stamp_risk``), ``stamp_encoder`` (0 for a reject), the order
    #: ``number`` and the cycle ``now`` the report came out
    stamps: list[dict] = field(default_factory=list)


def _row_bytes(regmap: RegisterMap, name: str, **fields) -> bytes:
    """A TABLE_WRITE row of table ``name`` (its layout as the register map declares it)."""
    table = regmap.table(name).table
    return fields_value(table.layout, **fields).to_bytes(table.row_bytes, "little")


def _symbol(name: str) -> int:
    """The encoder's symbol word; blank for a name that is not 1–8 ASCII characters."""
    try:
        return symbol_word(name)
    except (ValueError, UnicodeEncodeError):
        return symbol_word("")


def config_datagrams(regmap: RegisterMap, config: DecisionConfig, locates: list[int],
                     names: dict[int, str]) -> list[bytes]:
    """The control datagrams that configure a core for ``locates`` (slot = position).

    Subscriptions (book), symbol names (encoder, blank if the input has no
    Stock Directory entry), strategy and risk rows, then the risk globals:
    the rows :func:`~.model.decision_config.tables` gives the model.
    """
    strategy, risk, glob = tables(config, locates)
    messages = []
    for slot, locate in enumerate(locates):
        messages += [
            c.TableWrite(c.TableId.SUBSCRIPTION, slot,
                         _row_bytes(regmap, "subscription", locate=locate, valid=1)),
            c.TableWrite(c.TableId.SYMBOLS, slot,
                         _row_bytes(regmap, "symbols", symbol=_symbol(names.get(locate, "")))),
            c.TableWrite(c.TableId.STRATEGY, slot,
                         _row_bytes(regmap, "strategy", **strategy[slot])),
            c.TableWrite(c.TableId.RISK, slot, _row_bytes(regmap, "risk", **risk[slot])),
        ]
    placed = regmap.register("risk.global")
    value = fields_value(placed.register.layout, **glob)
    messages.append(c.Write(placed.addr, tuple((value >> (32 * i)) & 0xFFFF_FFFF
                                               for i in range(placed.register.words))))
    return [c.encode(msg, tag & 0xFFFF) for tag, msg in enumerate(messages, 1)]


#: (block, counter registers) read back after a run, each run contiguous in the map
COUNTER_READS = (("risk", tuple(f"count_{n}" for n in RISK_COUNTERS)),
                 ("book", tuple(f"count_{n}" for n in BOOK_COUNTERS)),
                 ("events", ("sent", "dropped")))


def readback_datagrams(regmap: RegisterMap) -> list[bytes]:
    """READ requests of the risk, book and event counters (one per block)."""
    out = []
    for tag, (block, names) in enumerate(COUNTER_READS, 0x100):
        first = regmap.register(f"{block}.{names[0]}").addr
        last = regmap.register(f"{block}.{names[-1]}").addr
        assert last - first == 4 * (len(names) - 1), f"{block} counters are not contiguous"
        out.append(c.encode(c.Read(first, len(names)), tag))
    return out


def _check_replies(replies: list[bytes], want: int) -> list:
    if len(replies) != want:
        raise CoreError(f"{len(replies)} control replies to {want} requests")
    out = []
    for raw in replies:
        _, msg = c.decode(raw)
        if isinstance(msg, c.ErrorReply):
            raise CoreError(f"the core refused a control request: {msg.code.name}")
        out.append(msg)
    return out


def _packets(beats) -> list[tuple[int, bytes]]:
    """(now of the first beat, bytes) of each OUCH packet."""
    out, current, start = [], None, 0
    for beat in beats:
        if beat.first:
            if current is not None:
                raise CoreError(f"OUCH packet at {beat.now} starts inside another")
            current, start = bytearray(), beat.now
        if current is None:
            raise CoreError(f"OUCH beat at {beat.now} outside a packet")
        current += beat.data
        if beat.last:
            out.append((start, bytes(current)))
            current = None
    return out


def _wire_order(packet: bytes, template: OuchTemplate, ref_base: int = 0) -> dict:
    """The order fields a SoupBinTCP ``U`` packet of OUCH 5.0 carries (SoupBinTCP §2.8)."""
    soup = soupbintcp.decode(packet, soupbintcp.Direction.INBOUND)
    if not isinstance(soup, soupbintcp.UnsequencedData):
        raise CoreError(f"the encoder sent a {type(soup).__name__}, not Unsequenced Data")
    msg = ouch50.decode_inbound(soup.message)
    tif = {template.tif_code(t.value): t for t in Tif}

    def number(n):
        return (n - ref_base) & 0xFFFF_FFFF

    if isinstance(msg, ouch50.EnterOrder):
        return dict(kind=OrderKind.ENTER, side=Side(ord(msg.side)), shares=msg.quantity,
                    price=int(msg.price), tif=tif[ord(msg.time_in_force)],
                    token=number(msg.user_ref_num), symbol=msg.symbol)
    if isinstance(msg, ouch50.ReplaceOrder):
        return dict(kind=OrderKind.REPLACE, shares=msg.quantity, price=int(msg.price),
                    tif=tif[ord(msg.time_in_force)], token=number(msg.user_ref_num),
                    orig_token=number(msg.orig_user_ref_num))
    if isinstance(msg, ouch50.CancelOrder):
        return dict(kind=OrderKind.CANCEL, shares=msg.quantity, token=number(msg.user_ref_num))
    raise CoreError(f"the encoder sent an OUCH {type(msg).__name__}")


def _decision(request: dict, wire: dict | None) -> Decision:
    """The decision from the report's request, its wire fields taken from the OUCH bytes."""
    fields = dict(kind=OrderKind(request["kind"]), side=Side(request["side"]),
                  tif=Tif(request["tif"]), reason=Reason(request["reason"]),
                  slot=request["slot"], locate=request["locate"], price=request["price"],
                  shares=request["shares"], token=request["token"],
                  orig_token=request["orig_token"], trigger_ts=request["trigger_ts"],
                  trigger_seq=request["trigger_seq"], trigger_hw_ts=request["trigger_hw_ts"])
    if wire is not None:
        for name, value in wire.items():
            if name == "symbol":
                continue
            if value != fields[name]:
                raise CoreError(f"OUCH {name} {value!r} differs from the request's "
                                f"{fields[name]!r} (seq {fields['trigger_seq']})")
            fields[name] = value
    return Decision(**fields)


class _Wire:
    """Where each frame's bytes were on XGMII RX: the last byte of any ITCH message."""

    def __init__(self, frames: list[bytes], starts: list[tuple[int, int]]):
        self.frames, self.starts = frames, starts
        self.nows = [now for now, _ in starts]
        self._blocks: dict[int, tuple[int, list[int]] | None] = {}
        self.offsets: set[int] = set()

    def _parse(self, index: int):
        if index not in self._blocks:
            self._blocks[index] = None
            frame = self.frames[index]
            try:
                parsed = parse_frame(frame)
                packet = moldudp64.MoldPacket.decode(parsed.payload)
            except (ValueError, TypeError):
                return None
            offset = len(frame) - len(parsed.trailer or b"") - len(parsed.payload)
            ends, at = [], moldudp64.HEADER_LEN
            for msg in packet.messages:
                at += 2 + len(msg)
                ends.append(offset + at - 1)
            self._blocks[index] = (packet.sequence, ends)
        return self._blocks[index]

    def last_byte(self, hw_ts: int, seq: int) -> int | None:
        """The cycle the last byte of message ``seq`` of the frame stamped ``hw_ts`` was on RX."""
        index = bisect.bisect_right(self.nows, hw_ts) - 1
        if index < 0:
            return None
        self.offsets.add(hw_ts - self.nows[index])
        blocks = self._parse(index)
        if blocks is None:
            return None
        first, ends = blocks
        k = (seq - first) & _MASK64
        if k >= len(ends):
            return None
        now, lane = self.starts[index]
        return now + (lane + 8 + ends[k]) // 8   # /S/, 6 preamble bytes and SFD, then the frame


class _Entries:
    """When each feed record entered the book, by sequence number (unsequenced packets
    repeat numbers: the first entry at or after the message's last byte is its own)."""

    def __init__(self, records: list[tuple[int, int]]):
        self._by_seq: dict[int, list[int]] = {}
        for now, seq in records:
            self._by_seq.setdefault(seq, []).append(now)

    def after(self, seq: int, last: int) -> int | None:
        nows = self._by_seq.get(seq, [])
        k = bisect.bisect_left(nows, last)
        return nows[k] if k < len(nows) else None


def run_core(frames: list[bytes], net_config, config: DecisionConfig, locates: list[int],
             names: dict[int, str], book_params: BookParams | None = None, *,
             extra_idle: int = 0, ready_percent: int = 100, seed: int = 1,
             pace: int | None = None, subscribe: int | None = None) -> CoreReplay:
    """``frames`` (Ethernet, no FCS) through a core configured for ``locates``.

    ``pace`` 0: frames back to back at line rate (``extra_idle`` adds random idle);
    ``pace`` > 0: one packet in flight (see :func:`~.verilator.core.run_core_harness`);
    ``None``: line rate, run again paced by :data:`PACE` if the receive path overflowed
    (the book is slower than line rate: packets would be lost where the model loses none).
    ``subscribe``: the SUBSCRIBE mask the harness sends before the feed (None: every type).
    """
    from .toolchain import ensure_verilator
    from .verilator.core import ALL_EVENTS, run_core_harness

    ensure_verilator()
    book_params = book_params or BookParams()
    regmap = device_map(c.DeviceKind.COSIM)
    setup = config_datagrams(regmap, config, locates, names)
    after = readback_datagrams(regmap)
    wires = [with_fcs(f) for f in frames]

    def simulate(pace_cycles):
        return run_core_harness(net_config, book_params, setup, wires, after,
                                kind=c.DeviceKind.COSIM, extra_idle=extra_idle,
                                ready_percent=ready_percent, seed=seed, pace=pace_cycles,
                                subscribe=ALL_EVENTS if subscribe is None else subscribe)

    run = simulate(pace or 0)
    overflowed = sum(run.counters.get(name, 0) for name in OVERFLOW_COUNTERS)
    if overflowed and pace is None:
        pace = PACE
        run = simulate(pace)
        if any(run.counters.get(name, 0) for name in OVERFLOW_COUNTERS):
            raise CoreError(f"the receive path overflowed even with one packet in flight "
                            f"({run.counters})")
    replies = _check_replies(run.replies, len(setup) + len(after))
    counters = {}
    for (block, names_read), reply in zip(COUNTER_READS, replies[len(setup):], strict=True):
        counters[block] = dict(zip((n.removeprefix("count_") for n in names_read), reply.words,
                                   strict=True))
    if run.subscribe_reply is not None:
        _check_replies([run.subscribe_reply], 1)

    template = OuchTemplate()
    if template.version != "5.0":
        raise CoreError(f"the rtl replay decodes OUCH 5.0, the encoder speaks {template.version}")
    packets = _packets(run.beats)
    wire = _Wire(frames, run.starts)
    entries = _Entries(run.records)
    decisions, cycles, t2t, stages, stamps = [], [], [], [], []
    sent = iter(packets)
    for now, report in run.reports:
        request = report["request"]
        stamps.append({name: request[name] for name in ("trigger_hw_ts", "stamp_tob",
                                                        "stamp_strategy", "stamp_risk")})
        sent_now = request["reason"] == Reason.SENT.value
        stamps[-1].update(stamp_encoder=report["stamp_encoder"] if sent_now else 0,
                          number=report["number"], now=now)
        fields = None
        if request["reason"] == Reason.SENT.value:
            first, packet = next(sent, (None, b""))
            if first != now:
                raise CoreError(f"report at {now} has no OUCH packet starting with it")
            fields = _wire_order(packet, template)
            symbol = fields.get("symbol")
            name = names.get(request["locate"], "")
            if symbol is not None and symbol.rstrip() != name:
                raise CoreError(f"OUCH symbol {symbol!r} for locate {request['locate']} "
                                f"({name!r})")
        decisions.append(_decision(request, fields))
        cycles.append(now - request["stamp_tob"])
        last = wire.last_byte(request["trigger_hw_ts"], request["trigger_seq"]) \
            if fields is not None else None
        entry = None if last is None else entries.after(request["trigger_seq"], last)
        if entry is None or entry > request["stamp_tob"]:
            t2t.append(None)
            stages.append(None)
            continue
        t2t.append(now - last)
        stages.append({"feed": entry - last, "book": request["stamp_tob"] - entry,
                       "strategy": request["stamp_strategy"] - request["stamp_tob"],
                       "risk": request["stamp_risk"] - request["stamp_strategy"],
                       "encoder": now - request["stamp_risk"]})
    if next(sent, None) is not None:
        raise CoreError("OUCH packets without a report")
    return CoreReplay(decisions, counters["risk"], counters["book"], run.counters, cycles, t2t,
                      stages, packets=[p for _, p in packets], sim_cycles=run.cycles,
                      wall_seconds=run.wall_seconds, build_seconds=run.build_seconds,
                      stamp_offsets=wire.offsets, pace=pace or 0,
                      overflowed=overflowed, events=run.events,
                      event_counters=counters["events"], stamps=stamps)
