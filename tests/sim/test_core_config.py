"""The rtl engine's host side without Verilator (sim/core_rtl.py): configuration datagrams,
OUCH decoding, wire positions of ITCH messages."""

from __future__ import annotations

import pytest

from tick2trade.hdl.book.layouts import BookParams
from tick2trade.hdl.risk.layouts import Reason
from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif
from tick2trade.proto import control as c
from tick2trade.proto import itch
from tick2trade.proto.moldudp64 import MoldPacket
from tick2trade.proto.net import build_udp_frame
from tick2trade.sim.core_rtl import (
    CoreError,
    _decision,
    _packets,
    _Wire,
    _wire_order,
    config_datagrams,
    readback_datagrams,
)
from tick2trade.sim.model.control import ControlModel, bind_book, bind_decision
from tick2trade.sim.model.decision_config import parse_decision_config
from tick2trade.sim.model.hwbook.model import HwBookModel
from tick2trade.sim.model.order.encoder import OuchEncoderModel, Request
from tick2trade.sim.model.strategy.decision import DecisionModel
from tick2trade.sim.model.strategy.replay import load_model
from tick2trade.sim.verilator.core import OuchBeat

CONFIG = parse_decision_config({"taker": {"num": 3, "den": 5}, "quoter": {"enabled": 1},
                                "risk": {"kill_on_gap": 1, "rate_orders": 7}})
LOCATES = [5, 9, 2]
NAMES = {5: "AAPL", 9: "MSFT", 2: "\ufffdBAD"}   # a directory name that is not ASCII


def test_config_datagrams_give_the_model_the_rows_of_load_model():
    control = ControlModel()
    decision, book = DecisionModel(64), HwBookModel(BookParams())
    bind_decision(control.registers, decision)
    bind_book(control.registers, book)
    datagrams = config_datagrams(control.registers.regmap, CONFIG, LOCATES, NAMES)
    for datagram in datagrams + readback_datagrams(control.registers.regmap):
        _, reply = c.decode(control.handle(datagram))
        assert not isinstance(reply, c.ErrorReply), reply
    want = load_model(CONFIG, LOCATES, 64)
    assert decision.strategy[:3] == want.strategy[:3]
    assert decision.risk[:3] == want.risk[:3] and decision.globals == want.globals
    assert [book.slot_of(loc) for loc in LOCATES] == [0, 1, 2]
    assert control.registers.row("symbols", 1)["symbol"] == int.from_bytes(b"MSFT    ",
                                                                           "little")
    # not ASCII: sent blank, never a crash
    assert control.registers.row("symbols", 2)["symbol"] == int.from_bytes(b" " * 8, "little")


def _beats(packet: bytes, now: int) -> list[OuchBeat]:
    chunks = [packet[i:i + 8] for i in range(0, len(packet), 8)]
    return [OuchBeat(now + k, chunk, k == 0, k == len(chunks) - 1)
            for k, chunk in enumerate(chunks)]


@pytest.mark.parametrize("kind", list(OrderKind))
def test_orders_decode_from_the_encoder_bytes(kind):
    request = Request(kind=kind, side=Side.SELL, tif=Tif.IOC, slot=1, locate=9, price=1_234_500,
                      shares=0 if kind is OrderKind.CANCEL else 300, token=17,
                      orig_token=5 if kind is OrderKind.REPLACE else 0, trigger_seq=40,
                      trigger_ts=123)
    encoder = OuchEncoderModel()
    encoder.set_symbol(1, "MSFT")
    packet = encoder.encode(request)
    [(start, joined)] = _packets(_beats(packet, 100))
    assert (start, joined) == (100, packet)
    wire = _wire_order(joined, encoder.template)
    assert wire["kind"] is kind and wire["token"] == 17
    fields = {name: getattr(getattr(request, name), "value", getattr(request, name))
              for name in ("kind", "side", "tif", "reason", "slot", "locate", "price",
                           "shares", "token", "orig_token", "trigger_ts", "trigger_seq",
                           "trigger_hw_ts")}
    decision = _decision(fields, wire)
    assert decision.reason is Reason.SENT and decision.json()["token"] == 17
    # a wire field that disagrees with the request is a clear error, not a silent line
    with pytest.raises(CoreError, match="token"):
        _decision(fields | {"token": 18}, wire)


def test_beats_outside_a_packet_are_an_error():
    with pytest.raises(CoreError, match="outside a packet"):
        _packets([OuchBeat(1, b"12345678", False, True)])


def test_last_byte_of_each_message_on_the_wire():
    messages = [itch.encode(itch.SystemEvent(stock_locate=0, tracking_number=0, timestamp=1,
                                             event_code="O")),
                itch.encode(itch.OrderDelete(stock_locate=1, tracking_number=0, timestamp=2,
                                             order_ref=7))]
    payload = MoldPacket(b"SESSION001", 100, tuple(messages), len(messages)).encode()
    frame = build_udp_frame(payload, src_mac="02:00:00:00:00:02", dst_mac=None,
                            src_ip="10.0.0.1", dst_ip="233.54.12.111", src_port=1,
                            dst_port=26477)
    offset = len(frame) - len(payload)
    wire = _Wire([frame], [(1000, 4)])       # /S/ in lane 4 of the column at cycle 1000
    ends = [offset + 20 + 2 + len(messages[0]) - 1,
            offset + 20 + 2 + len(messages[0]) + 2 + len(messages[1]) - 1]
    for seq, end in zip((100, 101), ends, strict=True):
        assert wire.last_byte(1003, seq) == 1000 + (4 + 8 + end) // 8
    assert wire.last_byte(1003, 102) is None and wire.last_byte(999, 100) is None
    assert wire.offsets == {3}
