"""OUCH 5.0: spec lengths, real captures, round trips of every message, appendage, bad input."""

from __future__ import annotations

import pytest
from conftest import ouch_pcaps
from hypothesis import given, settings
from hypothesis import strategies as st

from tick2trade.proto import net, ouch, pcap
from tick2trade.proto import ouch50 as o
from tick2trade.proto import soupbintcp as soup
from tick2trade.proto.errors import (
    FieldError,
    LengthMismatchError,
    ProtocolError,
    TruncatedError,
    UnknownTypeError,
)

# OUCH 5.0 §3 message summary: (direction, type) → (fixed length, appendage presence)
SPEC_SUMMARY = {
    ("in", "O"): (47, "always"), ("in", "U"): (40, "always"), ("in", "X"): (9, "optional"),
    ("in", "M"): (10, "optional"), ("in", "C"): (19, "always"), ("in", "D"): (11, "always"),
    ("in", "E"): (11, "always"), ("in", "Q"): (1, "optional"),
    ("out", "S"): (10, "none"), ("out", "A"): (64, "always"), ("out", "U"): (68, "always"),
    ("out", "C"): (18, "optional"), ("out", "D"): (32, "optional"),
    ("out", "E"): (36, "always"), ("out", "B"): (36, "optional"),
    ("out", "J"): (29, "optional"), ("out", "P"): (13, "optional"),
    ("out", "I"): (13, "optional"), ("out", "T"): (30, "optional"),
    ("out", "M"): (18, "optional"), ("out", "R"): (16, "always"),
    ("out", "X"): (27, "always"), ("out", "G"): (19, "always"), ("out", "K"): (19, "always"),
    ("out", "Q"): (13, "optional"),
}


def test_every_spec_message_is_defined_with_its_length():
    ours = {("in", chr(t)): (c.LENGTH, c.APPENDAGE) for t, c in o.INBOUND.items()}
    ours |= {("out", chr(t)): (c.LENGTH, c.APPENDAGE) for t, c in o.OUTBOUND.items()}
    assert ours == SPEC_SUMMARY


def test_layout_rows_for_the_gateware():
    assert o.EnterOrder.field("price") == ouch.Field("price", 18, 8, ouch.PRICE)
    assert o.EnterOrder.field("appendage_length") == \
        ouch.Field("appendage_length", 45, 2, ouch.APPENDAGE_LENGTH)
    assert o.OrderAccepted.field("order_reference_number").offset == 36
    assert o.Rejected.field("reason") == ouch.Field("reason", 13, 2, ouch.UINT)
    for cls in o.MESSAGES:
        assert cls.FIELDS[0] == ouch.Field("type", 0, 1, ouch.TYPE)
        if cls.DIRECTION is soup.Direction.OUTBOUND:
            assert cls.FIELDS[1] == ouch.Field("timestamp", 1, 8, ouch.UINT)
    with pytest.raises(KeyError):
        o.EnterOrder.field("nope")


latin1 = st.characters(max_codepoint=255)
tag_values = st.builds(ouch.TagValue, st.integers(0, 255), st.binary(max_size=12))


def message_strategy(cls):
    """Random instances of an OUCH message class, built from its FIELDS table."""
    kwargs = {}
    for f in cls.FIELDS:
        if f.kind == ouch.CHAR:
            kwargs[f.name] = latin1
        elif f.kind == ouch.ALPHA:
            kwargs[f.name] = st.text(latin1, max_size=f.length).map(lambda s: s.rstrip(" "))
        elif f.kind in (ouch.UINT, ouch.PRICE):
            kwargs[f.name] = st.integers(0, 2 ** (8 * f.length) - 1)
    appendage = st.lists(tag_values, max_size=5).map(tuple)
    if cls.APPENDAGE == ouch.ALWAYS:
        kwargs["appendage"] = appendage
    elif cls.APPENDAGE == ouch.OPTIONAL:
        kwargs["appendage"] = st.none() | appendage
    return st.builds(cls, **kwargs)


@pytest.mark.parametrize("cls", o.MESSAGES, ids=lambda c: f"{c.DIRECTION.value}-{c.NAME}")
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_round_trip_every_message(cls, data):
    msg = data.draw(message_strategy(cls))
    raw = msg.encode()
    appendage = getattr(msg, "appendage", None)
    extra = 0 if appendage is None else len(msg.appendage_bytes)
    if cls.APPENDAGE == ouch.OPTIONAL and appendage is not None:
        extra += 2
    assert len(raw) == cls.LENGTH + extra and raw[:1] == cls.TYPE
    decoder = o.decode_inbound if cls.DIRECTION is soup.Direction.INBOUND else o.decode_outbound
    assert decoder(raw) == msg
    assert o.decode(raw, cls.DIRECTION) == msg and cls.decode(raw) == msg


def _soup_payload(name):
    from conftest import CAPTURES
    (record,) = pcap.read_records(CAPTURES / name)
    return soup.decode(net.parse_frame(record.frame).payload)


@pytest.mark.parametrize("path", ouch_pcaps(), ids=lambda p: p.name)
def test_real_captures_round_trip(path):
    pkt = _soup_payload(path.name)
    if isinstance(pkt, soup.UnsequencedData):
        msg = o.decode_inbound(pkt.message)
    elif isinstance(pkt, soup.SequencedData):
        msg = o.decode_outbound(pkt.message)
    else:
        assert type(pkt) in (soup.ClientHeartbeat, soup.ServerHeartbeat)
        return
    assert msg.encode() == pkt.message


def test_real_enter_order(captures_dir):
    msg = o.decode_inbound(_soup_payload("ouch50_EnterOrderMessage.pcap").message)
    assert type(msg) is o.EnterOrder
    assert (msg.user_ref_num, msg.side, msg.quantity, msg.symbol, msg.price, msg.cl_ord_id) == \
        (113, o.Side.SELL_SHORT, 225, "CVLT", 630200, "H8FUB8IV")
    assert msg.price == o.price_to_raw("63.02")
    assert msg.appendage == (ouch.TagValue(o.OptionTag.FIRM, b"LIME"),)
    assert msg.appendage_bytes == bytes.fromhex("05024c494d45")
    assert o.get_option(msg, o.OptionTag.FIRM) == "LIME"
    assert o.get_option(msg, o.OptionTag.MIN_QTY, 0) == 0


def test_real_accepted_and_canceled(captures_dir):
    acc = o.decode_outbound(_soup_payload("ouch50_OrderAcceptedMessage.pcap").message)
    assert (acc.timestamp, acc.user_ref_num, acc.side, acc.quantity, acc.symbol) == \
        (44647483486087, 7682701, "B", 40, "ADBE")
    assert (acc.price, acc.order_reference_number, acc.cl_ord_id, acc.order_state) == \
        (4777800, 257340661, "7682701", o.OrderState.LIVE)
    assert o.options(acc) == {o.OptionTag.FIRM: "MLRO", o.OptionTag.BBO_WEIGHT_INDICATOR: "0"}
    can = o.decode_outbound(_soup_payload("ouch50_CanceledMessage.pcap").message)
    assert (can.timestamp, can.user_ref_num, can.quantity, can.reason, can.appendage) == \
        (44647483708183, 7682701, 40, o.CancelReason.USER_REQUESTED, None)
    cancel = o.decode_inbound(_soup_payload("ouch50_CancelOrderMessage.pcap").message)
    assert (type(cancel), cancel.user_ref_num, cancel.quantity, cancel.appendage) == \
        (o.CancelOrder, 7679601, 0, None)


def test_unknown_tags_preserved_exactly():
    msg = o.EnterOrder(1, "B", 100, "AAPL", 1_000_000, "0", "Y", "A", "N", "N", "X1",
                       appendage=(ouch.TagValue(200, b"\x01\x02\x03"), o.make_option(3, 100),
                                  ouch.TagValue(8, b"")))
    raw = msg.encode()
    assert raw[45:47] == (5 + 6 + 2).to_bytes(2, "big")
    back = o.decode_inbound(raw)
    assert back == msg and back.encode() == raw
    assert o.option_value(back.appendage[0]) == b"\x01\x02\x03"
    assert o.get_option(back, o.OptionTag.MIN_QTY) == 100


@pytest.mark.parametrize("tag, value, raw", [
    (o.OptionTag.FIRM, "AB", b"AB  "),
    (o.OptionTag.PEG_OFFSET, -5, (-5).to_bytes(4, "big", signed=True)),
    (o.OptionTag.DISCRETION_PRICE, 123, (123).to_bytes(8, "big")),
    (o.OptionTag.GROUP_ID, 7, b"\0\7"),
    (o.OptionTag.USER_REF_IDX, 3, b"\3"),
    (o.OptionTag.POST_ONLY, "P", b"P"),
])
def test_option_codec(tag, value, raw):
    element = o.make_option(tag, value)
    assert element == ouch.TagValue(tag, raw)
    assert o.option_value(element) == value


@pytest.mark.parametrize("tag, value", [
    (o.OptionTag.FIRM, "TOOLONG"), (o.OptionTag.POST_ONLY, "PP"), (o.OptionTag.MIN_QTY, -1),
    (o.OptionTag.USER_REF_IDX, 256), (99, 1),
])
def test_option_codec_errors(tag, value):
    with pytest.raises(FieldError):
        o.make_option(tag, value)


def test_wrong_option_size_is_a_clear_error():
    with pytest.raises(FieldError, match="FIRM.*needs 4"):
        o.option_value(ouch.TagValue(2, b"AB"))


ENTER = o.EnterOrder(1, "B", 100, "AAPL", 1_000_000, "0", "Y", "A", "N", "N", "X1").encode()
CANCEL = o.CancelOrder(5, 0).encode()


@pytest.mark.parametrize("decoder, buf, error, words", [
    (o.decode_inbound, b"", TruncatedError, "empty"),
    (o.decode_inbound, b"Z", UnknownTypeError, "no inbound message of type b'Z'"),
    (o.decode_outbound, b"O" + bytes(50), UnknownTypeError, "no outbound message"),
    (o.decode_inbound, ENTER[:-3], TruncatedError, "fixed part needs 47"),
    (o.decode_inbound, ENTER[:45] + b"\0\5\3\2AB", TruncatedError, "Appendage Length 5"),
    (o.decode_inbound, ENTER + b"x", LengthMismatchError, "1 bytes after"),
    (o.decode_inbound, ENTER[:45] + b"\0\2\5\2", TruncatedError, "claims 5 bytes"),
    (o.decode_inbound, ENTER[:45] + b"\0\1\0", FieldError, "Length 0"),
    (o.decode_inbound, CANCEL + b"\0", TruncatedError, "Appendage Length needs 2"),
    (o.decode_inbound, CANCEL + b"\0\3\2\34", TruncatedError, "Appendage Length 3"),
    (o.decode_outbound, o.SystemEvent(1, "S").encode() + b"\0\0", LengthMismatchError,
     "expected 10 bytes, got 12"),
])
def test_decode_errors(decoder, buf, error, words):
    with pytest.raises(error, match=words) as info:
        decoder(buf)
    assert isinstance(info.value, ProtocolError)


@given(st.binary(max_size=80), st.booleans())
def test_garbage_never_crashes(buf, inbound):
    try:
        msg = (o.decode_inbound if inbound else o.decode_outbound)(buf)
    except ProtocolError:
        return
    assert msg.encode() == buf


@pytest.mark.parametrize("make, words", [
    (lambda: o.CancelOrder(-1, 0), "does not fit 4"),
    (lambda: o.CancelOrder(2**32, 0), "does not fit 4"),
    (lambda: o.CancelOrder("1", 0), "expected int"),
    (lambda: o.CancelOrder(True, 0), "expected int"),
    (lambda: o.ModifyOrder(1, "BB", 5), "expected 1 character"),
    (lambda: o.ModifyOrder(1, 5, 5), "expected str"),
    (lambda: o.MassCancel(1, "FIRMX", ""), "longer than 4"),
    (lambda: o.MassCancel(1, "€", ""), "not single-byte"),
    (lambda: o.CancelOrder(1, 0, appendage=(ouch.TagValue(1, bytes(255)),)), "exceeds 254"),
    (lambda: o.CancelOrder(1, 0, appendage=(ouch.TagValue(256, b""),)), "out of u8"),
])
def test_encode_errors(make, words):
    with pytest.raises(FieldError, match=words):
        make().encode()


def test_codes():
    assert o.RejectReason(0x24) is o.RejectReason.RISK_ISO_NOT_ALLOWED
    assert o.Rejected(1, 2, o.RejectReason.INVALID_PRICE, "C").encode()[13:15] == b"\0\x1d"
    assert o.MAX_PRICE == 1_999_999_900 and o.MARKET_PRICE == 2**31 - 1
    assert o.price_to_raw(477.78) == 4777800
