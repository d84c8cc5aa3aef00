"""The book block of the register map, served by the model (sim/model/control.py bind_book)."""

from __future__ import annotations

import pytest

from tick2trade.hdl.book.layouts import COUNTERS, BookParams
from tick2trade.hdl.csr.device_map import SUBSCRIPTION_ROW, device_map
from tick2trade.proto import control as c
from tick2trade.proto import itch
from tick2trade.sim.model.control import ControlModel, bind_book, fields_value
from tick2trade.sim.model.feed.records import record_from_message
from tick2trade.sim.model.hwbook.model import HwBookModel


def ask(model: ControlModel, msg, tag: int = 5):
    reply_tag, reply = c.decode(model.handle(c.encode(msg, tag)))
    assert reply_tag == tag
    return reply


def _row(locate: int, valid: int = 1) -> bytes:
    value = fields_value(SUBSCRIPTION_ROW, locate=locate, valid=valid)
    return value.to_bytes(device_map().table("subscription").table.row_bytes, "little")


def _add(locate: int, ref: int) -> bytes:
    return itch.encode(itch.AddOrder(stock_locate=locate, tracking_number=0, timestamp=1,
                                     order_ref=ref, side="B", shares=100, stock="AAPL",
                                     price=1_000_000))


def test_book_block_is_in_the_map_with_every_counter():
    regmap = device_map()
    assert regmap.table("subscription").table.table_id == c.TableId.SUBSCRIPTION
    for name in COUNTERS:
        assert regmap.register(f"book.count_{name}").register.width == 32
    assert [b.name for b, _ in regmap.blocks][-1] == "book"


def test_subscription_writes_steer_the_book_model_and_counters_read_back():
    book = HwBookModel(BookParams(symbols=4))
    model = ControlModel()
    bind_book(model.registers, book)
    assert ask(model, c.TableWrite(c.TableId.SUBSCRIPTION, 2, _row(7))) == \
        c.TableAck(c.TableId.SUBSCRIPTION, 2)
    assert book.slot_of(7) == 2
    # a row beyond the book's slots is ignored, as by the gateware
    ask(model, c.TableWrite(c.TableId.SUBSCRIPTION, 9, _row(8)))
    assert book.slot_of(8) is None
    tops = book.push(record_from_message(_add(7, 1), seq=1))
    book.push(record_from_message(_add(9, 2), seq=2))
    assert len(tops) == 1
    regs = model.registers
    for name, want in (("records", 2), ("unsubscribed", 1), ("tob", 1)):
        assert ask(model, c.Read(regs.regmap.register(f"book.count_{name}").addr)).words == \
            (want,)
    # valid 0 frees the slot
    ask(model, c.TableWrite(c.TableId.SUBSCRIPTION, 2, _row(7, valid=0)))
    assert book.slot_of(7) is None


def test_counters_are_read_only():
    model = ControlModel()
    bind_book(model.registers, HwBookModel(BookParams(symbols=4)))
    addr = model.registers.regmap.register("book.count_records").addr
    reply = ask(model, c.Write(addr, (1,)))
    assert isinstance(reply, c.ErrorReply) and reply.code == c.ErrorCode.READ_ONLY
    with pytest.raises(KeyError):
        model.registers.regmap.register("book.count_nothing")
