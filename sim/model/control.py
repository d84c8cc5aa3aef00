"""Python model of the device's control plane, served over UDP (``proto/control``).

:class:`RegisterFile` gives the register map of ``hdl/csr`` the word
semantics of :class:`~tick2trade.hdl.csr.CsrBank` (constants, RW, RO with a
latch on word 0, strobes, staged table rows and commits).
:class:`ControlModel` answers control datagrams from it and counts the bad
ones; :class:`ControlServer` serves it on a UDP socket and streams events to
the subscriber exactly as the gateware's link and packer do (the last
SUBSCRIBE's sender, one event per datagram, one sequence from power-up,
:class:`EventSequencer`). Only the ID register (``DeviceKind.MODEL``) tells it from
hardware. :func:`bind_decision` connects the tables and registers to the
decision path model, :func:`bind_book` the subscriptions and counters to the
book model, so table writes change their behaviour.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable

from amaranth.hdl import Shape
from amaranth.lib import data

from tick2trade.hdl.csr.builder import RegisterMap
from tick2trade.hdl.csr.device_map import device_map
from tick2trade.hdl.csr.registers import WORD_BITS, Access
from tick2trade.proto import control as c

__all__ = ["ControlModel", "ControlServer", "RegisterFile", "bind_book", "bind_decision",
           "fields_value",
           "order_event", "row_fields"]

log = logging.getLogger(__name__)
MASK32 = 0xFFFF_FFFF


def row_fields(layout, value: int) -> dict[str, int]:
    """The fields of a layout value (signed fields as Python ints with their sign)."""
    out = {}
    for name, fld in data.Layout.cast(layout):
        shape = Shape.cast(fld.shape)
        raw = (value >> fld.offset) & ((1 << fld.width) - 1)
        if shape.signed and raw >> (fld.width - 1):
            raw -= 1 << fld.width
        out[name] = raw
    return out


def fields_value(layout, **fields: int) -> int:
    """A layout value from field values (the inverse of :func:`row_fields`)."""
    value = 0
    for name, fld in data.Layout.cast(layout):
        value |= (fields.get(name, 0) & ((1 << fld.width) - 1)) << fld.offset
    return value


class RegisterFile:
    """Register and table values of ``regmap`` with the bank's word semantics.

    Hooks: ``on_write(path, fields)`` after a RW/STROBE register changes,
    ``on_table(name, row, fields)`` after a row is committed; RO registers
    read ``sources[path]()`` when one is set, else their stored value.
    """

    def __init__(self, regmap: RegisterMap):
        self.regmap = regmap
        self.values: dict[str, int] = {}
        self.latches: dict[str, int] = {}
        self.sources: dict[str, Callable[[], int]] = {}
        self.tables: dict[str, dict[int, int]] = {t.table.name: {} for t in regmap.tables}
        self.on_write: list[Callable[[str, dict], None]] = []
        self.on_table: list[Callable[[str, int, dict], None]] = []
        self._words: dict[int, tuple] = {}
        for placed in regmap.registers:
            self.values[placed.path] = placed.value or placed.register.reset
            for i, addr in enumerate(placed.word_addrs()):
                self._words[addr] = ("reg", placed, i)
        for placed in regmap.tables:
            self.values[f"table.{placed.table.name}.row"] = 0
            self.values[f"table.{placed.table.name}.index"] = 0
            for i in range(placed.table.words):
                self._words[placed.row_addr + 4 * i] = ("row", placed, i)
            self._words[placed.commit_addr] = ("commit", placed, 0)
        self._table_by_id = {t.table.table_id: t for t in regmap.tables}

    # --- by name ---------------------------------------------------------------------------

    def get(self, path: str) -> int:
        placed = self.regmap.register(path)
        if placed.register.access is Access.RO and path in self.sources:
            return self.sources[path]() & ((1 << placed.register.width) - 1)
        return self.values[path]

    def set(self, path: str, value: int) -> None:
        """Set a register as the gateware would (RO counters, for example)."""
        self.values[path] = value

    def fields(self, path: str) -> dict[str, int]:
        return row_fields(self.regmap.register(path).register.layout, self.get(path))

    def row(self, table: str, index: int) -> dict[str, int]:
        """The fields of a committed row (zeros if never written)."""
        layout = self.regmap.table(table).table.layout
        return row_fields(layout, self.tables[table].get(index, 0))

    # --- by address (the control protocol) -------------------------------------------------

    def _slot(self, addr: int):
        where = self._words.get(addr)
        if where is None:
            raise c.ControlError(c.ErrorCode.BAD_ADDRESS, f"no register at 0x{addr:x}")
        return where

    def check_readable(self, addr: int) -> None:
        self._slot(addr)

    def read(self, addr: int) -> int:
        kind, placed, i = self._slot(addr)
        if kind == "row":
            return (self.values[f"table.{placed.table.name}.row"] >> (WORD_BITS * i)) & MASK32
        if kind == "commit":
            return self.values[f"table.{placed.table.name}.index"]
        reg = placed.register
        if reg.access is Access.STROBE:
            return 0
        if reg.access is Access.RO and reg.words > 1:
            if i == 0:
                self.latches[placed.path] = self.get(placed.path)
            value = self.get(placed.path) if i == 0 else self.latches.get(placed.path, 0)
        else:
            value = self.get(placed.path)
        return (value >> (WORD_BITS * i)) & MASK32

    def write(self, addr: int, word: int) -> None:
        kind, placed, i = self._slot(addr)
        if kind == "row":
            key = f"table.{placed.table.name}.row"
            self.values[key] = _put_word(self.values[key], i, word, placed.table.width)
            return
        if kind == "commit":
            if word >= placed.table.depth:
                raise c.ControlError(c.ErrorCode.BAD_ROW, f"table {placed.table.name} has "
                                     f"{placed.table.depth} rows, not row {word}")
            self.values[f"table.{placed.table.name}.index"] = word
            self._commit(placed, word, self.values[f"table.{placed.table.name}.row"])
            return
        reg = placed.register
        if reg.access in (Access.RO, Access.CONST):
            raise c.ControlError(c.ErrorCode.READ_ONLY, f"{placed.path} is {reg.access.value}")
        value = _put_word(self.values[placed.path], i, word, reg.width)
        if reg.access is Access.RW:
            self.values[placed.path] = value
        fields = row_fields(reg.layout, value)
        for hook in self.on_write:
            hook(placed.path, fields)

    def write_table(self, table_id: int, row: int, data: bytes) -> None:
        placed = self._table_by_id.get(table_id)
        if placed is None:
            raise c.ControlError(c.ErrorCode.BAD_TABLE, f"no table {table_id}")
        table = placed.table
        if len(data) != table.row_bytes:
            raise c.ControlError(c.ErrorCode.BAD_LENGTH, f"table {table.name} rows are "
                                 f"{table.row_bytes} bytes, got {len(data)}")
        if row >= table.depth:
            raise c.ControlError(c.ErrorCode.BAD_ROW, f"table {table.name} has {table.depth} "
                                 f"rows, not row {row}")
        value = int.from_bytes(data, "little")
        if value >> table.width:
            raise c.ControlError(c.ErrorCode.BAD_ROW, f"row value wider than {table.width} bits")
        # as the gateware does it: through the staging words and the commit register
        self.values[f"table.{table.name}.row"] = value
        self.values[f"table.{table.name}.index"] = row
        self._commit(placed, row, value)

    def _commit(self, placed, row: int, value: int) -> None:
        self.tables[placed.table.name][row] = value
        fields = row_fields(placed.table.layout, value)
        for hook in self.on_table:
            hook(placed.table.name, row, fields)


def _put_word(value: int, index: int, word: int, width: int) -> int:
    shift = WORD_BITS * index
    value = (value & ~(MASK32 << shift)) | ((word & MASK32) << shift)
    return value & ((1 << width) - 1)


class ControlModel:
    """Answers control datagrams (``proto/control``) from a :class:`RegisterFile`."""

    def __init__(self, registers: RegisterFile | None = None, build_hash: int = 0):
        self.registers = registers or RegisterFile(device_map(c.DeviceKind.MODEL, build_hash))
        #: the last SUBSCRIBE's sender and mask (the gateware keeps one subscriber)
        self.subscriber: object = None
        self.mask = 0
        self.errors = 0
        self.registers.sources.setdefault("events.errors", lambda: self.errors)

    def handle(self, datagram: bytes, sender: object = None) -> bytes | None:
        """The reply datagram to ``datagram`` (an ERROR reply if it is bad; never raises).

        Checks run in the gateware endpoint's order: size, header
        (``decode_header``), request opcode, body, then the request itself.
        ERROR replies carry no detail text (the gateware has none); it is logged.
        """
        tag, op = 0, 0
        try:
            if len(datagram) > c.MAX_DATAGRAM:
                raise c.ControlError(c.ErrorCode.TOO_LONG, f"{len(datagram)}-byte datagram")
            tag, op, _ = c.decode_header(datagram)
            if op not in c.REQUESTS:
                raise c.ControlError(c.ErrorCode.NOT_A_REQUEST, f"{op.name} is not a request",
                                     tag=tag, opcode=op)
            _, msg = c.decode(datagram)
            return c.encode(self._serve(msg, sender), tag)
        except c.ControlError as exc:
            self.errors = (self.errors + 1) & MASK32
            tag, op = exc.tag or tag, exc.opcode or op
            log.debug("control error from %s: %s", sender, exc)
            return c.encode(c.ErrorReply(exc.code, op, self.errors), tag)

    def _serve(self, msg, sender):
        regs = self.registers
        if isinstance(msg, c.Read):
            if msg.count > c.MAX_WORDS:
                raise c.ControlError(c.ErrorCode.TOO_LONG, f"read of {msg.count} words")
            addrs = [msg.addr + 4 * i for i in range(msg.count)]
            for addr in addrs:  # every address first: a refused read reads nothing
                regs.check_readable(addr)
            return c.ReadReply(msg.addr, tuple(regs.read(addr) for addr in addrs))
        if isinstance(msg, c.Write):
            for i, word in enumerate(msg.words):
                regs.write(msg.addr + 4 * i, word)
            return c.WriteAck(msg.addr, len(msg.words))
        if isinstance(msg, c.TableWrite):
            regs.write_table(msg.table, msg.row, msg.data)
            return c.TableAck(msg.table, msg.row)
        self.subscriber, self.mask = sender, msg.mask  # a mask of 0 stops the events
        return c.SubscribeAck(msg.mask)


class ControlServer(asyncio.DatagramProtocol):
    """Serves a :class:`ControlModel` on UDP and streams events to its subscriber.

    Events follow the gateware packer's rule (:class:`EventSequencer`,
    ``hdl/csr/events.py``): each event the mask takes gets the next sequence
    number and goes alone in one EVENTS datagram to the last SUBSCRIBE's
    sender, so a host sees the same datagrams from the model and the device.
    """

    def __init__(self, model: ControlModel | None = None):
        self.model = model or ControlModel()
        self.sequencer = EventSequencer()
        self.transport: asyncio.DatagramTransport | None = None
        self.events_sent = 0
        self.model.registers.sources.setdefault("events.sent", lambda: self.events_sent)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Bind and serve; returns the bound (host, port)."""
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(lambda: self,
                                                                local_addr=(host, port))
        return self.transport.get_extra_info("sockname")[:2]

    async def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def datagram_received(self, data: bytes, addr) -> None:
        reply = self.model.handle(data, addr)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def publish(self, *events) -> None:
        """Send each of ``events`` the subscriber's mask takes, one per datagram, in order."""
        if self.transport is None or self.model.subscriber is None:
            return
        for event in events:
            taken = self.sequencer.take(event, self.model.mask)
            if taken is not None:
                self.transport.sendto(taken[1], self.model.subscriber)
                self.events_sent += 1


def bind_decision(registers: RegisterFile, decision) -> None:
    """Route table and register writes to a ``sim.model.strategy.DecisionModel``.

    Tables ``strategy``/``risk``/``position`` and registers ``risk.global``,
    ``risk.clear_trip`` behave as in the gateware; the risk counters read the
    model's counters.
    """
    from tick2trade.hdl.risk.layouts import COUNTERS

    def table(name, row, fields):
        if row >= decision.symbols:
            raise c.ControlError(c.ErrorCode.BAD_ROW, f"the model has {decision.symbols} "
                                 f"symbol slots, not slot {row}")
        if name == "strategy":
            decision.write_strategy(row, **fields)
        elif name == "risk":
            decision.write_risk(row, **fields)
        elif name == "position":
            decision.set_position(row, fields["position"])

    def register(path, fields):
        if path == "risk.global":
            decision.set_globals(**fields)
        elif path == "risk.clear_trip" and fields["value"]:
            decision.clear_trip()

    registers.on_table.append(table)
    registers.on_write.append(register)
    decision.set_globals(**registers.fields("risk.global"))
    for name in COUNTERS:
        registers.sources[f"risk.count_{name}"] = (lambda n=name: decision.counters[n])


def bind_book(registers: RegisterFile, book) -> None:
    """Route table ``subscription`` to a ``sim.model.hwbook.HwBookModel`` and read its counters.

    As in the gateware: a row at or above the book's slots is ignored; ``valid`` 0
    frees the slot; the ``book.count_*`` registers read the model's counters.
    """
    from tick2trade.hdl.book.layouts import COUNTERS

    def table(name, row, fields):
        if name == "subscription" and row < book.p.symbols:
            book.subscribe(row, fields["locate"] if fields["valid"] else None)

    registers.on_table.append(table)
    for name in COUNTERS:
        registers.sources[f"book.count_{name}"] = (lambda n=name: book.counters[n])


def order_event(request, number: int, orig_number: int = 0, *, stamp_tob: int = 0,
                stamp_strategy: int = 0, stamp_risk: int = 0,
                stamp_encoder: int = 0) -> c.OrderEvent:
    """The event of one order request (an ``OrderRequest``-like object: the encoder model's
    ``Request``, the decision model's ``Decision``, or a simulator view of
    ``hdl/order`` ``OrderReport.request``): sent if its reason is 0, else a reject.

    Stamps the request does not carry are given as keywords.
    """
    def get(name, default=0):
        value = getattr(request, name, default)
        return value.value if isinstance(value, enum.Enum) else int(value)

    return c.OrderEvent(
        kind=get("kind"), side=get("side"), tif=get("tif"), reason=get("reason"),
        slot=get("slot"), locate=get("locate"), price=get("price"), shares=get("shares"),
        number=number, orig_number=orig_number, trigger_ts=get("trigger_ts"),
        trigger_seq=get("trigger_seq"), stamp_trigger=get("trigger_hw_ts"),
        stamp_tob=get("stamp_tob", stamp_tob), stamp_strategy=get("stamp_strategy",
                                                                 stamp_strategy),
        stamp_risk=get("stamp_risk", stamp_risk), stamp_encoder=stamp_encoder)


def report_event(request, number: int, stamp_encoder: int, ref_base: int) -> c.OrderEvent:
    """The event of one ``hdl/order`` ``OrderReport`` as the gateware packer builds it.

    A reject carries no order number and no encoder stamp; a sent REPLACE
    carries the replaced order's wire number (``ref_base + orig_token``).
    """
    from tick2trade.hdl.strategy.layouts import OrderKind

    def get(name):
        value = getattr(request, name)
        return value.value if isinstance(value, enum.Enum) else int(value)

    sent = get("reason") == 0
    replace = get("kind") == OrderKind.REPLACE.value
    orig = (ref_base + get("orig_token")) & MASK32 if sent and replace else 0
    return order_event(request, number if sent else 0, orig,
                       stamp_encoder=stamp_encoder if sent else 0)


class EventSequencer:
    """The gateware event packer's numbering (``hdl/csr/events.py``), for one subscriber.

    Every event the mask takes gets the next sequence number, whether it is
    sent or dropped (a full buffer): the host sees the hole. Events offered
    in the same cycle are taken orders first, then gaps, then counters. Each
    event goes alone in one EVENTS datagram, so the datagrams do not depend on
    timing.
    """

    def __init__(self, seq: int = 0):
        self.seq = seq

    def take(self, event, mask: int) -> tuple[int, bytes] | None:
        """``(seq, datagram)`` for ``event`` if ``mask`` takes its type, else None."""
        if not mask >> int(event.type) & 1:
            return None
        seq = self.seq
        self.seq = (seq + 1) & MASK32
        return seq, c.encode(c.Events(seq, (event,)))
