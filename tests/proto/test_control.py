"""The control-plane protocol (proto/control.py): round trips and malformed datagrams."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tick2trade.proto import control as c
from tick2trade.proto.errors import ProtocolError

u8, u16, u32, u64 = (st.integers(0, (1 << n) - 1) for n in (8, 16, 32, 64))
words = st.lists(u32, max_size=c.MAX_WORDS).map(tuple)

order_events = st.builds(
    c.OrderEvent, kind=st.integers(0, 2), side=st.sampled_from([66, 83]), tif=st.integers(0, 1),
    reason=st.integers(0, 9), slot=u8, locate=u16, price=u32, shares=u32, number=u32,
    orig_number=u32, trigger_ts=st.integers(0, (1 << 48) - 1), trigger_seq=u64,
    stamp_trigger=u64, stamp_tob=u64, stamp_strategy=u64, stamp_risk=u64, stamp_encoder=u64)
events = st.one_of(order_events,
                   st.builds(c.Gap, line=st.integers(0, 1), expected=u64, received=u64,
                             stamp=u64),
                   st.builds(c.Counters, addr=u32, words=st.lists(u32, max_size=60).map(tuple)))
messages = st.one_of(
    st.builds(c.Read, addr=u32, count=u16),
    st.builds(c.ReadReply, addr=u32, words=words),
    st.builds(c.Write, addr=u32, words=words),
    st.builds(c.WriteAck, addr=u32, count=u16),
    st.builds(c.TableWrite, table=u16, row=u32, data=st.binary(max_size=64)),
    st.builds(c.TableAck, table=u16, row=u32),
    st.builds(c.Subscribe, mask=u32),
    st.builds(c.SubscribeAck, mask=u32),
    st.builds(c.ErrorReply, code=st.sampled_from(list(c.ErrorCode)), opcode=u8, errors=u32,
              detail=st.text(max_size=40)),
    st.builds(c.Events, seq=u32, events=st.lists(events, max_size=4).map(tuple)),
)


@settings(max_examples=300)
@given(msg=messages, tag=u16)
def test_round_trip(msg, tag):
    datagram = c.encode(msg, tag)
    assert len(datagram) <= c.MAX_DATAGRAM
    assert c.decode(datagram) == (tag, msg)


@settings(max_examples=500)
@given(data=st.binary(max_size=80))
def test_random_bytes_decode_or_raise_control_error(data):
    try:
        c.decode(data)
    except c.ControlError as exc:
        assert isinstance(exc, ProtocolError) and exc.code in c.ErrorCode


@settings(max_examples=300)
@given(msg=messages, cut=st.integers(1, 40))
def test_truncated_datagram_is_an_error(msg, cut):
    datagram = c.encode(msg, 7)
    with pytest.raises(c.ControlError) as info:
        c.decode(datagram[:max(0, len(datagram) - cut)])
    assert info.value.code is c.ErrorCode.BAD_LENGTH


@pytest.mark.parametrize(("datagram", "code"), [
    (b"", c.ErrorCode.BAD_LENGTH),
    (struct.pack("!HBBHH", 0x1234, 1, 1, 5, 0), c.ErrorCode.BAD_MAGIC),
    (struct.pack("!HBBHH", c.MAGIC, 9, 1, 5, 0), c.ErrorCode.BAD_VERSION),
    (struct.pack("!HBBHH", c.MAGIC, 1, 0x55, 5, 0), c.ErrorCode.UNKNOWN_OPCODE),
    (struct.pack("!HBBHH", c.MAGIC, 1, 1, 5, 6) + b"\0" * 5, c.ErrorCode.BAD_LENGTH),
    (struct.pack("!HBBHHIH", c.MAGIC, 1, 2, 5, 10, 0, 2) + b"\0" * 4, c.ErrorCode.BAD_LENGTH),
])
def test_malformed_names_the_fault_and_keeps_the_tag(datagram, code):
    with pytest.raises(c.ControlError) as info:
        c.decode(datagram)
    assert info.value.code is code
    if code not in (c.ErrorCode.BAD_LENGTH, c.ErrorCode.BAD_MAGIC) or len(datagram) > 8:
        assert info.value.tag == 5


def test_unknown_event_type_is_skipped_by_length():
    gap = c.Gap(0, 10, 12, 99)
    body = gap.body()
    events = struct.pack("!IH", 3, 2) + bytes([200, 3]) + b"xyz" + bytes([gap.type, len(body)])
    datagram = struct.pack("!HBBHH", c.MAGIC, 1, c.Opcode.EVENTS, 0, len(events + body))
    assert c.decode(datagram + events + body) == (0, c.Events(3, (gap,)))


def test_oversized_message_is_refused():
    with pytest.raises(c.ControlError, match="TOO_LONG"):
        c.encode(c.TableWrite(1, 0, b"\0" * c.MAX_DATAGRAM))


def test_ids_and_versions():
    word = c.device_id(c.DeviceKind.MODEL)
    assert c.split_device_id(word) == (c.DEVICE_FAMILY, c.DeviceKind.MODEL)
    assert c.split_version(c.version_word(1, 7)) == (1, 7)
