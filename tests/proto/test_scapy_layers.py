"""scapy layers: dissect the real captures byte for byte, build packets our codecs agree with."""

from __future__ import annotations

import pytest
from conftest import itch_pcaps, ouch_pcaps
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from tick2trade.proto import net, ouch, ouch42, ouch50, pcap
from tick2trade.proto import scapy_layers as sl
from tick2trade.proto import soupbintcp as soup
from tick2trade.proto.moldudp64 import MoldPacket

sl.bind_mold_port(26477)
sl.bind_soup_port(8001)
sl.bind_soup_port(8003)
sl.bind_soup_port(9042, ouch42.VERSION)


@pytest.mark.parametrize("path", itch_pcaps(), ids=lambda p: p.name)
def test_mold_dissects_real_captures(path):
    for record in pcap.read_records(path):
        ours = MoldPacket.decode(net.parse_frame(record.frame).payload)
        pkt = Ether(record.frame)
        if sl.MoldUDP64 not in pkt:   # anonymised captures have port 0: dissect the payload
            assert pkt[UDP].dport == 0
            mold = sl.MoldUDP64(bytes(pkt[UDP].payload))
        else:
            mold = pkt[sl.MoldUDP64]
        assert bytes(pkt) == record.frame
        assert (mold.session, mold.sequence, mold.count) == (ours.session, ours.sequence,
                                                             ours.count)
        assert [b.data for b in mold.messages] == list(ours.messages)
        assert bytes(mold) == ours.encode()


OUCH_LAYER = {
    "ouch50_CancelOrderMessage.pcap": ouch50.CancelOrder,
    "ouch50_CanceledMessage.pcap": ouch50.OrderCanceled,
    "ouch50_EnterOrderMessage.pcap": ouch50.EnterOrder,
    "ouch50_OrderAcceptedMessage.pcap": ouch50.OrderAccepted,
}


@pytest.mark.parametrize("path", ouch_pcaps(), ids=lambda p: p.name)
def test_soup_dissects_real_captures(path):
    (record,) = pcap.read_records(path)
    pkt = Ether(record.frame)
    assert bytes(pkt) == record.frame
    header = pkt[sl.SoupBinTCP]
    ours = soup.decode(net.parse_frame(record.frame).payload)
    assert bytes([header.type]) == ours.TYPE
    if path.name in OUCH_LAYER:
        cls = OUCH_LAYER[path.name]
        layer = pkt[sl.ouch_layer(cls)]
        msg = cls.decode(ours.message)
        for f in cls.FIELDS[1:]:
            theirs = getattr(layer, sl.scapy_field_name(f.name))
            if f.kind in (ouch.UINT, ouch.PRICE):
                assert theirs == getattr(msg, f.name)
            elif f.kind in (ouch.ALPHA, ouch.CHAR):
                assert theirs.decode("latin-1").rstrip(" ") == getattr(msg, f.name).rstrip(" ")
        if msg.appendage is not None:
            assert [(t.tag, t.value) for t in layer.appendage] == list(msg.appendage)


def test_real_enter_order_fields(captures_dir):
    (record,) = pcap.read_records(captures_dir / "ouch50_EnterOrderMessage.pcap")
    layer = Ether(record.frame)[sl.ouch_layer(ouch50.EnterOrder)]
    assert (layer.user_ref_num, layer.symbol, layer.quantity, layer.cl_ord_id) == \
        (113, b"CVLT    ", 225, b"H8FUB8IV      ")
    assert layer.appendage[0].tag == ouch50.OptionTag.FIRM and layer.appendage[0].value == b"LIME"


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=10, max_size=10), st.integers(0, 2**64 - 1),
       st.lists(st.binary(max_size=50), max_size=10))
def test_build_mold_matches_codec(session, sequence, messages):
    frame = bytes(Ether() / IP() / UDP(sport=1, dport=26477) /
                  sl.MoldUDP64(session=session, sequence=sequence, messages=messages))
    payload = net.parse_frame(frame).payload
    assert payload == MoldPacket(session, sequence, tuple(messages)).encode()
    again = Ether(frame)[sl.MoldUDP64]
    assert [b.data for b in again.messages] == messages


def test_stacking_sets_the_bound_destination_port():
    udp = (UDP() / sl.MoldUDP64())[UDP]
    assert (udp.sport, udp.dport) == (53, 26477)   # scapy's default source port
    bytes(Ether() / IP() / TCP() / sl.SoupBinTCP())  # builds
    assert (TCP() / sl.SoupBinTCP())[TCP].dport in (8001, 8003, 9042)


def test_mold_end_of_session_and_heartbeat():
    eos = MoldPacket.end_of_session(b"S" * 10, 99).encode()
    layer = sl.MoldUDP64(eos)
    assert layer.count == 0xFFFF and layer.messages == [] and bytes(layer) == eos
    hb = sl.MoldUDP64(session=b"S" * 10, sequence=5)
    assert bytes(hb) == MoldPacket.heartbeat(b"S" * 10, 5).encode()


def test_build_soup_ouch_matches_codec():
    msg = ouch50.EnterOrder(7, "B", 100, "AAPL", 1_850_000, "0", "Y", "A", "N", "N", "ID7",
                            appendage=(ouch50.make_option(ouch50.OptionTag.FIRM, "ABCD"),))
    layer = sl.ouch_layer(ouch50.EnterOrder)(
        user_ref_num=7, side=b"B", quantity=100, symbol=b"AAPL", price=1_850_000,
        time_in_force=b"0", display_=b"Y", capacity=b"A", intermarket_sweep=b"N",
        cross_type=b"N", cl_ord_id=b"ID7", appendage=[sl.OuchTagValue(tag=2, value=b"ABCD")])
    built = bytes(sl.SoupBinTCP() / sl.SoupUnsequencedData() / layer)
    assert built == soup.UnsequencedData(msg.encode()).encode()


def test_several_soup_packets_in_one_segment_and_ouch42():
    stream = (soup.ServerHeartbeat().encode()
              + soup.SequencedData(ouch42.Executed(1, "TOK", 10, 5000, "A", 77).encode()).encode()
              + soup.LoginAccepted("SESS", 12).encode())
    pkt = Ether(bytes(Ether() / IP() / TCP(sport=9042, dport=5555) / Raw(stream)))
    headers = [layer for layer in pkt.iterpayloads() if isinstance(layer, sl.SoupBinTCP)]
    assert [chr(h.type) for h in headers] == ["H", "S", "A"]
    executed = pkt[sl.ouch_layer(ouch42.Executed)]
    assert (executed.order_token, executed.executed_shares, executed.match_number) == \
        (b"TOK           ", 10, 77)
    accepted = pkt[sl.SoupLoginAccepted]
    assert accepted.sequence == 12 and accepted.session == b"      SESS"
    assert bytes(pkt[TCP].payload) == stream
    rebuilt = bytes(sl.SoupBinTCP() / sl.SoupDebug(text=b"hi") /
                    sl.SoupBinTCP() / sl.SoupLoginRequest(username=b"me", password=b"pw"))
    assert rebuilt == soup.Debug("hi").encode() + soup.LoginRequest("me", "pw").encode()


def test_unknown_ouch_type_stays_raw():
    pkt = sl.SoupBinTCP(soup.UnsequencedData(b"Zabc").encode())
    assert pkt[Raw].load == b"Zabc"


def test_optional_appendage_present_and_absent():
    with_app = ouch50.CancelOrder(5, 0, appendage=(ouch.TagValue(28, b"\x01"),)).encode()
    layer = sl.ouch_layer(ouch50.CancelOrder)(with_app)
    assert [(t.tag, t.value) for t in layer.appendage] == [(28, b"\x01")]
    assert bytes(layer) == with_app
    without = ouch50.CancelOrder(5, 0).encode()
    layer = sl.ouch_layer(ouch50.CancelOrder)(without)
    assert layer.appendage is None and bytes(layer) == without


def test_bind_soup_port_rejects_unknown_version():
    with pytest.raises(ValueError, match="unknown OUCH version"):
        sl.bind_soup_port(1234, "3.0")
