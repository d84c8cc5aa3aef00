"""MoldUDP64: real captures, round trips, control packets, packer, malformed input."""

from __future__ import annotations

import struct

import pytest
from conftest import itch_pcaps
from hypothesis import given, settings
from hypothesis import strategies as st

from tick2trade.proto import itch, net, pcap
from tick2trade.proto.errors import FieldError, LengthMismatchError, ProtocolError, TruncatedError
from tick2trade.proto.moldudp64 import (
    END_OF_SESSION,
    HEADER_LEN,
    MTU_PAYLOAD,
    MoldPacker,
    MoldPacket,
    MoldRequest,
)

sessions = st.binary(min_size=10, max_size=10)
sequences = st.integers(0, 2**64 - 1)
messages = st.lists(st.binary(max_size=80), max_size=30).map(tuple)

REAL_SESSION = b"000010059B"
# (file, sequence, count) from the captures README inventory
REAL_PACKETS = {
    "itch50_AddOrderNoMpidAttributionMessage.pcap": [(14757721, 1)],
    "itch50_MarketParticipantPositionMessage.pcap": [(17861990, 1)],
    "itch50_Multiple.Packets.pcap": [(14764496, 1), (19009117, 38)],
    "itch50_NetOrderImbalanceIndicatorMessage.pcap": [(14757919, 1)],
    "itch50_OrderDeleteMessage.pcap": [(14757722, 1)],
    "itch50_OrderExecutedMessage.pcap": [(14757745, 1)],
    "itch50_OrderReplaceMessage.pcap": [(14757701, 1)],
    "itch50_StockTradingActionMessage.pcap": [(34147961, 1)],
}


def _udp_payloads(path):
    return [net.parse_frame(r.frame).payload for r in pcap.read_records(path)]


@pytest.mark.parametrize("path", itch_pcaps(), ids=lambda p: p.name)
def test_real_captures_decode_and_round_trip(path):
    packets = []
    for payload in _udp_payloads(path):
        packet = MoldPacket.decode(payload)
        assert packet.count == len(packet.messages) >= 1
        assert packet.encode() == payload
        assert packet.encoded_len == len(payload)
        for message in packet.messages:
            assert itch.encode(itch.decode(message)) == message
        packets.append(packet)
    if path.name in REAL_PACKETS:
        assert [(p.session, p.sequence, p.count) for p in packets] == \
            [(REAL_SESSION, s, c) for s, c in REAL_PACKETS[path.name]]
    else:  # anonymised: session and sequence zeroed (captures README)
        assert {(p.session, p.sequence) for p in packets} == {(bytes(10), 0)}


@settings(max_examples=150, deadline=None)
@given(sessions, sequences, messages)
def test_packet_round_trip(session, sequence, msgs):
    packet = MoldPacket(session, sequence, msgs)
    raw = packet.encode()
    assert MoldPacket.decode(raw) == packet
    assert len(raw) == packet.encoded_len
    assert struct.unpack_from("!H", raw, 18)[0] == len(msgs)
    if msgs:
        assert packet.next_sequence == sequence + len(msgs)


@given(sessions, sequences, st.sampled_from([0, END_OF_SESSION]))
def test_control_packet_round_trip(session, sequence, count):
    packet = MoldPacket(session, sequence, (), count)
    raw = packet.encode()
    assert len(raw) == HEADER_LEN and MoldPacket.decode(raw) == packet
    assert packet.next_sequence == sequence
    assert (packet.is_heartbeat, packet.is_end_of_session) == (count == 0, count != 0)


@given(sessions, st.integers(0, 2**64 - 1), st.integers(0, 0xFFFF))
def test_request_round_trip(session, sequence, count):
    req = MoldRequest(session, sequence, count)
    raw = req.encode()
    assert len(raw) == 20 and raw[:10] == session
    assert MoldRequest.decode(raw) == req


def test_heartbeat_and_end_of_session():
    hb = MoldPacket.heartbeat(REAL_SESSION, 42)
    assert hb.encode() == REAL_SESSION + struct.pack("!QH", 42, 0)
    assert hb.is_heartbeat and not hb.is_end_of_session and hb.next_sequence == 42
    eos = MoldPacket.decode(REAL_SESSION + struct.pack("!QH", 7, 0xFFFF))
    assert eos.is_end_of_session and eos.count == END_OF_SESSION and eos.messages == ()
    assert eos.next_sequence == 7 and eos.encode() == REAL_SESSION + struct.pack("!QH", 7, 0xFFFF)
    data = MoldPacket(REAL_SESSION, 1, (b"a",))
    assert not data.is_heartbeat and not data.is_end_of_session


def test_zero_length_message_block():
    packet = MoldPacket(REAL_SESSION, 1, (b"", b"x"))
    assert packet.encode()[20:] == b"\0\0\0\1x"
    assert MoldPacket.decode(packet.encode()) == packet


HDR = REAL_SESSION + struct.pack("!Q", 5)


@pytest.mark.parametrize("buf, error, words", [
    (b"", TruncatedError, "header needs 20"),
    (HDR, TruncatedError, "header needs 20"),
    (HDR + b"\0\1", TruncatedError, "block 0 of 1 length prefix"),
    (HDR + b"\0\1\0", TruncatedError, "block 0 of 1 length prefix"),
    (HDR + b"\0\1\0\5abc", TruncatedError, "claims 5 bytes"),
    (HDR + b"\0\2\0\1a", TruncatedError, "block 1 of 2"),
    (HDR + b"\0\1\0\1ab", LengthMismatchError, "1 bytes left after 1 blocks"),
    (HDR + b"\0\0junk", LengthMismatchError, "heartbeat packet carries 4"),
    (HDR + b"\xff\xff\0", LengthMismatchError, "end-of-session packet carries 1"),
])
def test_malformed_packets(buf, error, words):
    with pytest.raises(error, match=words) as info:
        MoldPacket.decode(buf)
    assert isinstance(info.value, ProtocolError)


@given(st.binary(max_size=64))
def test_garbage_never_crashes(buf):
    try:
        packet = MoldPacket.decode(buf)
    except ProtocolError:
        return
    assert packet.encode() == buf


@pytest.mark.parametrize("kwargs, words", [
    (dict(session=b"short", sequence=1), "session must be 10 bytes"),
    (dict(session="0000000001", sequence=1), "session must be 10 bytes"),
    (dict(session=REAL_SESSION, sequence=-1), "out of u64"),
    (dict(session=REAL_SESSION, sequence=2**64), "out of u64"),
    (dict(session=REAL_SESSION, sequence=1, messages=(b"a",), count=2), "count 2 != 1"),
    (dict(session=REAL_SESSION, sequence=1, messages=(b"a",), count=END_OF_SESSION),
     "end-of-session packet with 1"),
    (dict(session=REAL_SESSION, sequence=1, messages=(b"a" * 65536,)), "max 65535"),
])
def test_invalid_packets_rejected(kwargs, words):
    with pytest.raises(FieldError, match=words):
        MoldPacket(**kwargs)


def test_request_errors():
    with pytest.raises(TruncatedError):
        MoldRequest.decode(b"\0" * 19)
    with pytest.raises(LengthMismatchError):
        MoldRequest.decode(b"\0" * 21)
    with pytest.raises(FieldError):
        MoldRequest(REAL_SESSION, 1, 0x10000)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=60), st.integers(22 + 120, 1500),
       st.integers(1, 10), st.integers(0, 2**40))
def test_packer_batches_and_sequences(msgs, max_payload, max_messages, first):
    packer = MoldPacker(REAL_SESSION, first, max_payload=max_payload, max_messages=max_messages)
    packets = list(packer.pack(msgs))
    assert [m for p in packets for m in p.messages] == msgs
    expected = first
    for i, packet in enumerate(packets):
        assert packet.sequence == expected and 1 <= packet.count <= max_messages
        assert packet.encoded_len <= max_payload
        if i + 1 < len(packets):  # each closed packet could not take the next message
            nxt = packets[i + 1].messages[0]
            assert (packet.encoded_len + 2 + len(nxt) > max_payload
                    or packet.count == max_messages)
        expected = packet.next_sequence
    assert packer.next_sequence == packer.sent_sequence == first + len(msgs)
    assert packer.heartbeat() == MoldPacket.heartbeat(REAL_SESSION, first + len(msgs))


def test_packer_full_mtu_and_limits():
    packer = MoldPacker(REAL_SESSION, 1)
    out = []
    for _ in range(40):
        out += packer.add(b"A" * 36)
    assert len(out) == 1 and out[0].count == (MTU_PAYLOAD - HEADER_LEN) // 38
    assert out[0].encoded_len <= MTU_PAYLOAD
    assert packer.pending == 40 - out[0].count
    assert packer.sent_sequence == 1 + out[0].count
    assert packer.flush().count == 40 - out[0].count and packer.flush() is None
    assert packer.end_of_session().is_end_of_session
    with pytest.raises(FieldError, match="cannot fit"):
        packer.add(b"x" * MTU_PAYLOAD)
    with pytest.raises(FieldError):
        MoldPacker(REAL_SESSION, max_payload=21)
