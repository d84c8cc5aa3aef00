"""SoupBinTCP 3.00: every packet type, framer over arbitrary splits, real captures, bad input."""

from __future__ import annotations

import pytest
from conftest import ouch_pcaps
from hypothesis import given, settings
from hypothesis import strategies as st

from tick2trade.proto import net, pcap
from tick2trade.proto import soupbintcp as soup
from tick2trade.proto.errors import (
    FieldError,
    LengthMismatchError,
    ProtocolError,
    TruncatedError,
    UnknownTypeError,
)

alnum = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                max_size=6)
session = st.binary(min_size=10, max_size=10)
seq = st.integers(0, 10**20 - 1)

packets = st.one_of(
    st.builds(soup.Debug, st.text(alphabet=st.characters(max_codepoint=255), max_size=40)),
    st.builds(soup.LoginAccepted, session, seq),
    st.builds(soup.LoginRejected, st.sampled_from(list(soup.LoginRejectReason))),
    st.builds(soup.SequencedData, st.binary(max_size=100)),
    st.just(soup.ServerHeartbeat()),
    st.just(soup.EndOfSession()),
    st.builds(soup.LoginRequest, alnum, alnum.map(lambda s: s + "pw"), session, seq),
    st.builds(soup.UnsequencedData, st.binary(max_size=100)),
    st.just(soup.ClientHeartbeat()),
    st.just(soup.LogoutRequest()),
)


@settings(max_examples=200, deadline=None)
@given(packets)
def test_round_trip_every_type(pkt):
    raw = soup.encode(pkt)
    assert int.from_bytes(raw[:2], "big") == len(raw) - 2
    assert raw[2:3] == pkt.TYPE
    assert soup.decode(raw) == pkt
    if pkt.PAYLOAD_LEN is not None:
        assert len(raw) == pkt.PAYLOAD_LEN + 3


def test_spec_layouts():
    assert soup.encode(soup.ServerHeartbeat()) == b"\x00\x01H"
    accepted = soup.encode(soup.LoginAccepted("SESS1", 42))
    assert accepted == b"\x00\x1fA" + b"     SESS1" + b" " * 18 + b"42"
    login = soup.encode(soup.LoginRequest("user", "pw"))
    assert login == b"\x00\x2fL" + b"user  " + b"pw        " + b" " * 10 + b" " * 19 + b"1"
    assert len(login) == 49
    assert soup.encode(soup.LoginRejected("S")) == b"\x00\x02JS"
    assert soup.decode(b"\x00\x02JA").reason is soup.LoginRejectReason.NOT_AUTHORIZED
    assert soup.decode(b"\x00\x03+hi") == soup.Debug("hi")
    # leading zeros in a sequence number are accepted on decode
    assert soup.decode(b"\x00\x1fA" + b"0000000001" + b"0" * 19 + b"7").sequence == 7


@settings(max_examples=100, deadline=None)
@given(st.lists(packets, max_size=12), st.data())
def test_framer_reassembles_any_split(pkts, data):
    stream = b"".join(soup.encode(p) for p in pkts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    framer = soup.SoupFramer()
    got = []
    for a, b in zip([0] + cuts, cuts + [len(stream)], strict=True):
        got += list(framer.feed(stream[a:b]))
    assert got == pkts
    assert framer.buffered == 0 and framer.packets == len(pkts)


def test_framer_partial_and_lazy_consumption():
    framer = soup.SoupFramer()
    assert list(framer.feed(b"\x00")) == []
    assert list(framer.feed(b"\x05Uab")) == [] and framer.buffered == 5
    framer.feed(b"c")          # not iterated: bytes are still buffered
    assert list(framer.feed(b"d\x00\x01R")) == [soup.UnsequencedData(b"abcd"),
                                               soup.ClientHeartbeat()]


@pytest.mark.parametrize("stream, error, words", [
    (b"\x00\x00U", LengthMismatchError, "Packet Length 0"),
    (b"\x00\x01Q", UnknownTypeError, "unknown packet type b'Q'"),
    (b"\x00\x05H", LengthMismatchError, "ServerHeartbeat Packet Length must be 1"),
    (b"\x00\x03A", LengthMismatchError, "LoginAccepted Packet Length must be 31"),
    (b"\xff\xffU", LengthMismatchError, "exceeds the limit 4096"),
])
def test_framer_rejects_impossible_lengths_early(stream, error, words):
    framer = soup.SoupFramer()
    with pytest.raises(error, match=words):
        list(framer.feed(b"\x00\x01H" + stream))
    assert isinstance(framer.failed, ProtocolError)
    with pytest.raises(error):          # stays failed until reset
        framer.feed(b"\x00\x01H")
    framer.reset()
    assert list(framer.feed(b"\x00\x01H")) == [soup.ServerHeartbeat()]


def test_framer_yields_packets_before_the_error():
    it = soup.SoupFramer().feed(b"\x00\x01H\x00\x01Z\x00\x01?")
    assert next(it) == soup.ServerHeartbeat() and next(it) == soup.EndOfSession()
    with pytest.raises(UnknownTypeError, match="offset 8"):
        next(it)


def test_framer_direction_check():
    framer = soup.SoupFramer(direction=soup.Direction.INBOUND)
    assert list(framer.feed(b"\x00\x01R\x00\x03+ok")) == [soup.ClientHeartbeat(), soup.Debug("ok")]
    with pytest.raises(UnknownTypeError, match="not sent inbound"):
        list(framer.feed(b"\x00\x01H"))
    with pytest.raises(UnknownTypeError, match="not sent outbound"):
        soup.decode(b"\x00\x01R", soup.Direction.OUTBOUND)


@pytest.mark.parametrize("buf, error, words", [
    (b"", TruncatedError, "at least 3"),
    (b"\x00\x01", TruncatedError, "at least 3"),
    (b"\x00\x05Uab", TruncatedError, "needs 7 bytes"),
    (b"\x00\x01Hx", LengthMismatchError, "1 bytes after"),
    (b"\x00\x00H", LengthMismatchError, "Packet Length 0"),
    (b"\x00\x02HH", LengthMismatchError, "must be 1"),
    (b"\x00\x02JX", FieldError, "unknown login reject reason"),
    (b"\x00\x1fA" + b" " * 10 + b" " * 19 + b"x", FieldError, "not a space-padded decimal"),
    (b"\x00\x1fA" + b" " * 30, FieldError, "not a space-padded decimal"),
    (b"\x00\x01\xff", UnknownTypeError, "0xff"),
])
def test_decode_errors(buf, error, words):
    with pytest.raises(error, match=words):
        soup.decode(buf)


@given(st.binary(max_size=40))
def test_garbage_never_crashes(buf):
    try:
        pkt = soup.decode(buf)
    except ProtocolError:
        return
    assert isinstance(pkt, soup.Packet)


@pytest.mark.parametrize("make, words", [
    (lambda: soup.LoginRequest("toolong", "pw").encode(), "longer than 6"),
    (lambda: soup.LoginRequest("usér", "pw").encode(), "not an ASCII"),
    (lambda: soup.LoginAccepted("ELEVENCHARS", 1), "longer than 10"),
    (lambda: soup.LoginAccepted("S", -1).encode(), "does not fit"),
    (lambda: soup.LoginAccepted("S", 10**20).encode(), "does not fit"),
    (lambda: soup.LoginRejected("Q"), "unknown login reject"),
    (lambda: soup.SequencedData(b"x" * 65535).encode(), "exceeds the u16"),
    (lambda: soup.Debug("€").encode(), "not single-byte"),
])
def test_encode_errors(make, words):
    with pytest.raises(FieldError, match=words):
        make()


EXPECTED_TYPES = {
    "ouch50_CancelOrderMessage.pcap": (soup.UnsequencedData, 10),
    "ouch50_CanceledMessage.pcap": (soup.SequencedData, 19),
    "ouch50_ClientHeartbeatPacket.pcap": (soup.ClientHeartbeat, 1),
    "ouch50_EnterOrderMessage.pcap": (soup.UnsequencedData, 54),
    "ouch50_OrderAcceptedMessage.pcap": (soup.SequencedData, 74),
    "ouch50_ServerHeartbeatPacket.pcap": (soup.ServerHeartbeat, 1),
}


@pytest.mark.parametrize("path", ouch_pcaps(), ids=lambda p: p.name)
def test_real_captures(path):
    (record,) = pcap.read_records(path)
    payload = net.parse_frame(record.frame).payload
    pkt = soup.decode(payload)
    cls, length = EXPECTED_TYPES[path.name]
    assert type(pkt) is cls and int.from_bytes(payload[:2], "big") == length
    assert soup.encode(pkt) == payload
    assert list(soup.SoupFramer(direction=cls.DIRECTION).feed(payload)) == [pkt]
