"""OUCH 4.2: spec lengths and offsets, round trips of every message, bad input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tick2trade.proto import ouch
from tick2trade.proto import ouch42 as o
from tick2trade.proto import soupbintcp as soup
from tick2trade.proto.errors import (
    FieldError,
    LengthMismatchError,
    ProtocolError,
    TruncatedError,
    UnknownTypeError,
)

# OUCH 4.2 §2 message summary
SPEC_LENGTHS = {
    ("in", "O"): 49, ("in", "U"): 47, ("in", "X"): 19, ("in", "M"): 20, ("in", "N"): 15,
    ("out", "S"): 10, ("out", "A"): 66, ("out", "U"): 80, ("out", "C"): 28, ("out", "D"): 37,
    ("out", "E"): 40, ("out", "B"): 32, ("out", "G"): 45, ("out", "F"): 41, ("out", "J"): 24,
    ("out", "P"): 23, ("out", "I"): 23, ("out", "T"): 36, ("out", "M"): 28, ("out", "N"): 23,
}


def test_every_spec_message_is_defined_with_its_length():
    ours = {("in", chr(t)): c.LENGTH for t, c in o.INBOUND.items()}
    ours |= {("out", chr(t)): c.LENGTH for t, c in o.OUTBOUND.items()}
    assert ours == SPEC_LENGTHS
    assert all(c.APPENDAGE == ouch.NO_APPENDAGE for c in o.MESSAGES)


def test_spec_offsets():
    assert o.EnterOrder.field("order_token") == ouch.Field("order_token", 1, 14, ouch.ALPHA)
    assert o.EnterOrder.field("price") == ouch.Field("price", 28, 4, ouch.PRICE)
    assert o.Accepted.field("order_reference_number").offset == 49
    assert o.ExecutedWithReferencePrice.field("reference_price").offset == 40
    assert o.Replaced.field("previous_order_token") == \
        ouch.Field("previous_order_token", 65, 14, ouch.ALPHA)


def test_enter_order_bytes_by_hand():
    msg = o.EnterOrder("TOKEN1", o.Side.BUY, 100, "AAPL", 1_505_000, o.TIF_IOC, "", "Y", "P",
                       "N", 0, o.CrossType.NO_CROSS, " ")
    raw = msg.encode()
    assert raw == (b"O" + b"TOKEN1".ljust(14) + b"B" + struct.pack("!I", 100) + b"AAPL    " +
                   struct.pack("!II", 1_505_000, 0) + b"    " + b"YPN" + struct.pack("!I", 0) +
                   b"N ")
    assert len(raw) == 49 and o.decode_inbound(raw) == msg


latin1 = st.characters(max_codepoint=255)


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
    return st.builds(cls, **kwargs)


@pytest.mark.parametrize("cls", o.MESSAGES, ids=lambda c: f"{c.DIRECTION.value}-{c.NAME}")
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_round_trip_every_message(cls, data):
    msg = data.draw(message_strategy(cls))
    raw = msg.encode()
    assert len(raw) == cls.LENGTH and raw[:1] == cls.TYPE
    assert o.decode(raw, cls.DIRECTION) == msg
    decoder = o.decode_inbound if cls.DIRECTION is soup.Direction.INBOUND else o.decode_outbound
    assert decoder(raw) == msg


def test_direction_decides_overlapping_letters():
    inbound = o.ModifyOrder("T1", "S", 5).encode()
    assert type(o.decode_inbound(inbound)) is o.ModifyOrder
    outbound = o.OrderModified(1, "T1", "S", 5).encode()
    assert type(o.decode_outbound(outbound)) is o.OrderModified
    with pytest.raises(TruncatedError, match="OrderModified: 20 bytes, the fixed part needs 28"):
        o.decode_outbound(inbound)


@pytest.mark.parametrize("decoder, buf, error, words", [
    (o.decode_inbound, b"", TruncatedError, "empty"),
    (o.decode_inbound, b"Q", UnknownTypeError, "no inbound message of type b'Q'"),
    (o.decode_outbound, b"O" + bytes(48), UnknownTypeError, "no outbound"),
    (o.decode_inbound, b"X" + bytes(10), TruncatedError, "needs 19"),
    (o.decode_inbound, b"X" + bytes(19), LengthMismatchError, "expected 19 bytes, got 20"),
])
def test_decode_errors(decoder, buf, error, words):
    with pytest.raises(error, match=words) as info:
        decoder(buf)
    assert isinstance(info.value, ProtocolError)


@given(st.binary(max_size=90), st.booleans())
def test_garbage_never_crashes(buf, inbound):
    try:
        msg = (o.decode_inbound if inbound else o.decode_outbound)(buf)
    except ProtocolError:
        return
    assert msg.encode() == buf


@pytest.mark.parametrize("make, words", [
    (lambda: o.CancelOrder("A" * 15, 0), "longer than 14"),
    (lambda: o.CancelOrder("T", 2**32), "does not fit 4"),
    (lambda: o.EnterOrder("T", "B", 1, "AAPL", 2**32, 0, "", "Y", "P", "N", 0, "N", " "),
     "price: 4294967296 does not fit"),
])
def test_encode_errors(make, words):
    with pytest.raises(FieldError, match=words):
        make().encode()


def test_codes():
    assert o.RejectReason("m") is o.RejectReason.PRM_SHARE_LIMIT
    assert o.CancelReason("C") is o.CancelReason.CROSS_CANCELLED
    assert (o.TIF_MARKET_HOURS, o.TIF_SYSTEM_HOURS) == (0x1869E, 0x1869F)
    assert o.MAX_PRICE == 1_999_999_900
