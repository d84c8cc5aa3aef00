"""ITCH 5.0 layouts, codec and framing: spec tables, properties and bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tick2trade.proto import itch
from tick2trade.proto.errors import (
    FieldError,
    LengthMismatchError,
    ProtocolError,
    TruncatedError,
    UnknownTypeError,
)

# ITCH 5.0 §2, as the brief states it; cross-checked below against the layouts.
SPEC_LENGTHS = dict(S=12, R=39, H=25, Y=20, L=26, V=35, W=12, K=28, J=35, h=21, A=36, F=40, E=31,
                    C=36, X=23, D=19, U=35, P=44, Q=40, B=19, I=50, N=20, O=48)

CLASS_NAMES = dict(
    S="SystemEvent", R="StockDirectory", H="StockTradingAction", Y="RegShoRestriction",
    L="MarketParticipantPosition", V="MwcbDeclineLevel", W="MwcbStatus",
    K="IpoQuotingPeriodUpdate", J="LuldAuctionCollar", h="OperationalHalt", A="AddOrder",
    F="AddOrderMpid", E="OrderExecuted", C="OrderExecutedWithPrice", X="OrderCancel",
    D="OrderDelete", U="OrderReplace", P="Trade", Q="CrossTrade", B="BrokenTrade", I="Noii",
    N="RetailPriceImprovement", O="DirectListingWithCapitalRaise")

# Book-relevant fields other modules code against (offsets from ITCH 5.0 §3.11-§3.17).
BOOK_FIELDS = {
    "A": {"order_ref": 11, "side": 19, "shares": 20, "stock": 24, "price": 32},
    "F": {"order_ref": 11, "side": 19, "shares": 20, "stock": 24, "price": 32, "attribution": 36},
    "E": {"order_ref": 11, "executed_shares": 19, "match_number": 23},
    "C": {"order_ref": 11, "executed_shares": 19, "match_number": 23, "printable": 31,
          "execution_price": 32},
    "X": {"order_ref": 11, "cancelled_shares": 19},
    "D": {"order_ref": 11},
    "U": {"original_order_ref": 11, "new_order_ref": 19, "shares": 27, "price": 31},
    "S": {"event_code": 11},
    "H": {"stock": 11, "trading_state": 19, "reason": 21},
    "Q": {"shares": 11, "stock": 19},
}

ALL_TYPES = sorted(SPEC_LENGTHS)


# --- layouts ---------------------------------------------------------------------------------

def test_every_type_is_defined_with_spec_length_and_name():
    assert set(itch.MESSAGE_TYPES) == set(SPEC_LENGTHS)
    assert itch.LENGTHS == SPEC_LENGTHS
    for code, cls in itch.MESSAGE_TYPES.items():
        assert cls.__name__ == CLASS_NAMES[code]
        assert getattr(itch, cls.__name__) is cls
        assert (cls.TYPE, cls.LENGTH) == (code, SPEC_LENGTHS[code])


@pytest.mark.parametrize("code", ALL_TYPES)
def test_fields_tile_the_message_after_the_type_byte(code):
    fields = itch.FIELDS[code]
    offset = itch.TYPE_OFFSET + 1
    for field in fields:
        assert field.offset == offset, field
        assert field.kind in itch.KINDS
        offset += field.length
    assert offset == itch.LENGTHS[code]
    assert [(f.name, f.offset, f.length) for f in fields[:3]] == [
        ("stock_locate", 1, 2), ("tracking_number", 3, 2), ("timestamp", 5, 6)]


@pytest.mark.parametrize("code", ALL_TYPES)
def test_dataclass_fields_follow_the_layout(code):
    cls = itch.MESSAGE_TYPES[code]
    params = cls.__dataclass_params__
    assert params.frozen and "__slots__" in cls.__dict__
    assert [f.name for f in dataclasses.fields(cls)] == [f.name for f in itch.FIELDS[code]]


@pytest.mark.parametrize("code", sorted(BOOK_FIELDS))
def test_book_fields_sit_at_spec_offsets(code):
    offsets = {f.name: f.offset for f in itch.FIELDS[code]}
    assert {name: offsets.get(name) for name in BOOK_FIELDS[code]} == BOOK_FIELDS[code]


def test_field_kinds_follow_spec_types():
    kinds = {(code, f.name): (f.length, f.kind) for code in itch.FIELDS for f in itch.FIELDS[code]}
    assert kinds["V", "level_1"] == (8, "price8")                 # ITCH 5.0 §3.6
    assert kinds["Q", "shares"] == (8, "uint")                    # ITCH 5.0 §3.19
    assert kinds["A", "shares"] == (4, "uint")
    assert kinds["A", "price"] == (4, "price4")
    assert kinds["K", "ipo_price"] == (4, "price4")               # binary, not ASCII (§3.8)
    assert kinds["R", "issue_sub_type"] == (2, "alpha")
    assert kinds["O", "near_execution_time"] == (8, "uint")


# --- codec on hand-built vectors ---------------------------------------------------------------

ADD_ORDER_WIRE = bytes.fromhex(
    "41" "0001" "0002" "1f1aced9f000"        # 'A', locate 1, tracking 2, 09:30:00.000000000
    "000000000000007b" "42" "00000064"         # order 123, 'B', 100 shares
    "4141504c20202020" "000d55ac")             # 'AAPL    ', $87.3900 (873900)


def test_decode_add_order_from_spec_example_values():
    msg = itch.decode(ADD_ORDER_WIRE)
    assert msg == itch.AddOrder(stock_locate=1, tracking_number=2, timestamp=34_200_000_000_000,
                                order_ref=123, side="B", shares=100, stock="AAPL", price=873900)
    assert itch.encode(msg) == ADD_ORDER_WIRE


def test_decode_accepts_bytearray_and_memoryview():
    msg = itch.decode(ADD_ORDER_WIRE)
    assert itch.decode(bytearray(ADD_ORDER_WIRE)) == msg
    assert itch.decode(memoryview(ADD_ORDER_WIRE)) == msg
    assert itch.decode(memoryview(ADD_ORDER_WIRE).cast("c")) == msg
    assert itch.decode(memoryview(b"xx" + ADD_ORDER_WIRE)[2:]) == msg


def test_stock_is_stripped_on_decode_and_padded_on_encode():
    msg = itch.decode(ADD_ORDER_WIRE)
    assert msg.stock == "AAPL"
    assert itch.encode(dataclasses.replace(msg, stock="AAPL    ")) == ADD_ORDER_WIRE


def test_one_byte_alpha_keeps_a_space_value():
    wire = bytearray(ADD_ORDER_WIRE)
    wire[19] = 0x20
    assert itch.decode(wire).side == " "


def test_padding_that_is_not_spaces_survives_the_round_trip():
    wire = bytearray(ADD_ORDER_WIRE)
    wire[28:32] = b"\x00\x00 \xff"  # NUL padding, then a space, then a non-ASCII byte
    msg = itch.decode(wire)
    assert msg.stock == "AAPL\x00\x00 \xff"
    assert itch.encode(msg) == bytes(wire)


def test_timestamp_uses_all_six_bytes():
    wire = bytearray(ADD_ORDER_WIRE)
    wire[5:11] = b"\xff\xff\xff\xff\xff\xfe"
    assert itch.decode(wire).timestamp == (1 << 48) - 2


def test_messages_are_frozen():
    msg = itch.decode(ADD_ORDER_WIRE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.shares = 1  # type: ignore[misc]


# --- bad input ---------------------------------------------------------------------------------

def test_empty_is_truncated():
    with pytest.raises(TruncatedError, match="found 0 bytes"):
        itch.decode(b"")


@pytest.mark.parametrize("byte", [b"Z", b"a", b"\x00", b"\xff", b"M", b"G"])
def test_unknown_type_names_the_byte(byte):
    with pytest.raises(UnknownTypeError, match=f"0x{byte[0]:02x}"):
        itch.decode(byte + bytes(30))


@pytest.mark.parametrize("code", ALL_TYPES)
def test_short_and_long_messages_are_length_mismatches(code):
    length = SPEC_LENGTHS[code]
    body = code.encode() + bytes(length - 1)
    for wrong in (body[:1], body[:-1], body + b"\x00", body + bytes(100)):
        with pytest.raises(LengthMismatchError, match=f"expected {length} bytes, found "
                                                      f"{len(wrong)}"):
            itch.decode(wrong)
    with pytest.raises(TruncatedError):  # a short message is also truncated
        itch.decode(body[:-1])


@given(st.binary(max_size=80))
def test_garbage_raises_only_protocol_errors(data):
    try:
        msg = itch.decode(data)
    except ProtocolError:
        return
    assert itch.encode(msg) == data


@pytest.mark.parametrize(("field", "value"), [
    ("stock", "TOOLONGSYM"), ("stock", "€"), ("stock", 5), ("side", "BS"),
    ("shares", -1), ("shares", 1 << 32), ("price", "1"), ("timestamp", 1 << 48),
    ("order_ref", 1 << 64), ("stock_locate", 1 << 16), ("shares", 1.0), ("shares", None),
])
def test_encode_rejects_unrepresentable_values(field, value):
    msg = dataclasses.replace(itch.decode(ADD_ORDER_WIRE), **{field: value})
    with pytest.raises(FieldError, match=f"AddOrder.{field}"):
        itch.encode(msg)


def test_encode_takes_numpy_integers():
    msg = itch.decode(ADD_ORDER_WIRE)
    values = dict(shares=np.uint32(100), timestamp=np.uint64(34_200_000_000_000),
                  order_ref=np.int64(123))
    assert itch.encode(dataclasses.replace(msg, **values)) == ADD_ORDER_WIRE


def test_encode_rejects_non_messages():
    with pytest.raises(TypeError):
        itch.encode(ADD_ORDER_WIRE)  # type: ignore[arg-type]


# --- property: every type round trips ------------------------------------------------------------

def _value_strategy(field: itch.Field):
    if field.kind != "alpha":
        return st.integers(0, (1 << (8 * field.length)) - 1)
    chars = st.characters(max_codepoint=0xFF)
    if field.length == 1:
        return chars
    # decoded multi-byte Alpha never ends in a space (the padding is stripped)
    return st.text(chars, max_size=field.length).map(lambda s: s.rstrip(" "))


def message_strategy(code: str):
    """Any valid message of one type, derived from ``FIELDS``."""
    fields = itch.FIELDS[code]
    return st.tuples(*map(_value_strategy, fields)).map(
        lambda values: itch.MESSAGE_TYPES[code](*values))


@pytest.mark.parametrize("code", ALL_TYPES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_round_trip_message_to_wire_to_message(code, data):
    msg = data.draw(message_strategy(code))
    wire = itch.encode(msg)
    assert len(wire) == SPEC_LENGTHS[code] and wire[:1] == code.encode()
    assert itch.decode(wire) == msg


@pytest.mark.parametrize("code", ALL_TYPES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_round_trip_any_wire_bytes_exactly(code, data):
    wire = code.encode() + data.draw(st.binary(min_size=SPEC_LENGTHS[code] - 1,
                                               max_size=SPEC_LENGTHS[code] - 1))
    assert itch.encode(itch.decode(wire)) == wire


# --- framing -------------------------------------------------------------------------------------

def _framed(*messages: bytes) -> bytes:
    return b"".join(len(m).to_bytes(2, "big") + m for m in messages)


def test_iter_messages_splits_length_prefixed_blocks():
    other = itch.encode(itch.OrderDelete(1, 0, 5, 77))
    assert list(itch.iter_messages(_framed(ADD_ORDER_WIRE, other))) == [ADD_ORDER_WIRE, other]
    assert list(itch.iter_messages(b"")) == []
    assert list(itch.iter_messages(b"\x00\x00")) == [b""]


def test_iter_frames_gives_offsets():
    other = itch.encode(itch.OrderDelete(1, 0, 5, 77))
    frames = [(o, bytes(m)) for o, m in itch.iter_frames(_framed(ADD_ORDER_WIRE, other))]
    assert frames == [(0, ADD_ORDER_WIRE), (38, other)]


@pytest.mark.parametrize(("tail", "match"), [
    (b"\x00", "length prefix at offset 38: expected 2 bytes, found 1"),
    (b"\x00\x13D\x00", "message at offset 38: prefix says 19 bytes, found 2"),
])
def test_iter_messages_names_the_truncated_offset(tail, match):
    it = itch.iter_messages(_framed(ADD_ORDER_WIRE) + tail)
    assert next(it) == ADD_ORDER_WIRE
    with pytest.raises(TruncatedError, match=match):
        next(it)


def test_check_frame_raises_with_offset():
    view = memoryview(_framed(ADD_ORDER_WIRE, b"Z" * 5))
    assert itch.check_frame(view, 0) == (ord("A"), 36)
    with pytest.raises(UnknownTypeError, match="at offset 38"):
        itch.check_frame(view, 38)
