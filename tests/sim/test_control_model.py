"""ControlModel / ControlServer (sim/model/control.py): the protocol served like the device."""

from __future__ import annotations

import asyncio
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tick2trade.hdl.order.layouts import SymbolRow
from tick2trade.hdl.order.template import symbol_word
from tick2trade.hdl.risk.layouts import RiskGlobal
from tick2trade.hdl.strategy.layouts import MAX_SYMBOLS, StrategyParams
from tick2trade.proto import control as c
from tick2trade.sim.model.control import (
    ControlModel,
    ControlServer,
    bind_decision,
    fields_value,
)
from tick2trade.sim.model.strategy.decision import DecisionModel


def ask(model: ControlModel, msg, tag: int = 9):
    reply_tag, reply = c.decode(model.handle(c.encode(msg, tag)))
    assert reply_tag == tag
    return reply


def test_identity_registers():
    model = ControlModel(build_hash=0xABCDEF0123456789)
    reply = ask(model, c.Read(c.ID_ADDR, 4))
    ident, version, lo, hi = reply.words
    assert c.split_device_id(ident) == (c.DEVICE_FAMILY, c.DeviceKind.MODEL)
    assert c.split_version(version) == c.MAP_VERSION
    assert hi << 32 | lo == 0xABCDEF0123456789


def test_table_write_visible_both_ways():
    model = ControlModel()
    regs = model.registers
    table = regs.regmap.table("symbols")
    value = fields_value(SymbolRow, symbol=symbol_word("AAPL"))
    assert ask(model, c.TableWrite(c.TableId.SYMBOLS, 3, value.to_bytes(8, "little"))) == \
        c.TableAck(c.TableId.SYMBOLS, 3)
    assert regs.row("symbols", 3) == {"symbol": symbol_word("AAPL")}
    # the same row through the staging words and the commit register
    other = symbol_word("MSFT")
    ask(model, c.Write(table.row_addr, (other & 0xFFFF_FFFF, other >> 32)))
    ask(model, c.Write(table.commit_addr, (4,)))
    assert regs.row("symbols", 4) == {"symbol": other}
    assert ask(model, c.Read(table.commit_addr)).words == (4,)


def test_decision_model_sees_table_and_register_writes():
    decision = DecisionModel(symbols=MAX_SYMBOLS)
    model = ControlModel()
    bind_decision(model.registers, decision)
    assert decision.globals.kill == 1  # power-up value of risk.global
    strategy = model.registers.regmap.table("strategy").table
    value = fields_value(StrategyParams, valid=1, locate=77, taker_enabled=1, num=3, den=5,
                         taker_size=100, cooldown_ns=1000)
    ask(model, c.TableWrite(c.TableId.STRATEGY, 2, value.to_bytes(strategy.row_bytes, "little")))
    assert decision.slot_of(77) == 2
    assert (decision.strategy[2].num, decision.strategy[2].den) == (3, 5)
    glob = model.registers.regmap.register("risk.global")
    word_count = glob.register.words
    value = fields_value(RiskGlobal, kill=0, rate_orders=9, rate_window_ns=123)
    ask(model, c.Write(glob.addr, tuple((value >> (32 * i)) & 0xFFFF_FFFF
                                        for i in range(word_count))))
    assert (decision.globals.kill, decision.globals.rate_orders) == (0, 9)
    position = model.registers.regmap.table("position").table
    ask(model, c.TableWrite(c.TableId.POSITION, 2,
                            ((1 << 40) - 50).to_bytes(position.row_bytes, "little")))
    assert decision.state[2].position == -50
    decision.counters["sent"] = 41
    sent = model.registers.regmap.register("risk.count_sent")
    assert ask(model, c.Read(sent.addr)).words == (41,)


@pytest.mark.parametrize(("msg", "code"), [
    (c.Read(0x1000), c.ErrorCode.BAD_ADDRESS),
    (c.Write(c.ID_ADDR, (1,)), c.ErrorCode.READ_ONLY),
    (c.Read(0, c.MAX_WORDS + 1), c.ErrorCode.TOO_LONG),
    (c.TableWrite(99, 0, b""), c.ErrorCode.BAD_TABLE),
    (c.TableWrite(c.TableId.SYMBOLS, 0, b"\0" * 7), c.ErrorCode.BAD_LENGTH),
    (c.TableWrite(c.TableId.SYMBOLS, MAX_SYMBOLS, b"\0" * 8), c.ErrorCode.BAD_ROW),
    (c.WriteAck(0, 1), c.ErrorCode.NOT_A_REQUEST),
])
def test_refused_requests_get_counted_error_replies(msg, code):
    model = ControlModel()
    reply = ask(model, msg)
    assert isinstance(reply, c.ErrorReply)
    assert (reply.code, reply.opcode, reply.errors) == (code, msg.OPCODE, 1)
    errors = model.registers.regmap.register("events.errors")
    assert ask(model, c.Read(errors.addr)).words == (1,)


@settings(max_examples=400)
@given(data=st.binary(max_size=64))
def test_malformed_datagrams_never_crash(data):
    model = ControlModel()
    reply = model.handle(data)
    _, msg = c.decode(reply)
    if isinstance(msg, c.ErrorReply):
        assert model.errors == 1
    else:
        assert model.errors == 0


def test_events_stream_to_the_subscriber_over_udp():
    async def main():
        server = ControlServer()
        host, port = await server.start()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(2)
        sock.bind(("127.0.0.1", 0))
        try:
            mask = 1 << c.EventType.GAP | 1 << c.EventType.ORDER_SENT
            sock.sendto(c.encode(c.Subscribe(mask), 5), (host, port))
            loop = asyncio.get_running_loop()
            reply = await loop.run_in_executor(None, sock.recv, 2048)
            assert c.decode(reply) == (5, c.SubscribeAck(mask))
            gap = c.Gap(0, 100, 105, 7)
            counters = c.Counters(0x50, (1, 2))
            sent = c.OrderEvent(0, 66, 1, 0, 3, 77, 1000, 10, 5, 0, 1, 2, 3, 4, 5, 6, 7)
            server.publish(gap, counters, sent)
            server.publish(gap)
            first = c.decode(await loop.run_in_executor(None, sock.recv, 2048))[1]
            second = c.decode(await loop.run_in_executor(None, sock.recv, 2048))[1]
            third = c.decode(await loop.run_in_executor(None, sock.recv, 2048))[1]
            # one event per datagram, counters not subscribed, one sequence
            assert (first, second, third) == (c.Events(0, (gap,)), c.Events(1, (sent,)),
                                              c.Events(2, (gap,)))
        finally:
            sock.close()
            await server.stop()

    asyncio.run(main())


def test_order_events_from_encoder_requests():
    from tick2trade.hdl.risk.layouts import Reason
    from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif
    from tick2trade.sim.model.control import order_event
    from tick2trade.sim.model.order import Request

    sent = Request(kind=OrderKind.REPLACE, side=Side.SELL, tif=Tif.DAY, slot=4, locate=9,
                   price=1234, shares=100, token=7, orig_token=6, trigger_ts=55,
                   trigger_seq=66, trigger_hw_ts=1, stamp_tob=2, stamp_strategy=3,
                   stamp_risk=4)
    event = order_event(sent, 1007, 1006, stamp_encoder=5)
    assert event.type is c.EventType.ORDER_SENT
    assert (event.kind, event.side, event.tif, event.price, event.number, event.orig_number,
            event.stamp_trigger, event.stamp_encoder) == (1, ord("S"), 0, 1234, 1007, 1006, 1, 5)
    rejected = order_event(Request(reason=Reason.RATE), 0)
    assert rejected.type is c.EventType.ORDER_REJECTED and rejected.reason == Reason.RATE.value
    assert c.decode(c.encode(c.Events(0, (event, rejected))))[1].events == (event, rejected)


def test_the_last_subscribe_names_the_one_subscriber_and_mask_zero_stops():
    """As the gateware link: one subscriber, the last SUBSCRIBE's sender; mask 0 stops."""
    model = ControlModel()
    model.handle(c.encode(c.Subscribe(0b10), 1), "a")
    model.handle(c.encode(c.Subscribe(0b110), 2), "b")
    assert (model.subscriber, model.mask) == ("b", 0b110)
    model.handle(c.encode(c.Subscribe(0), 3), "a")
    assert model.mask == 0
