"""Captures → MoldUDP64 / SoupBinTCP: every real capture, TCP reassembly, counted drops."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import itch_pcaps, ouch_pcaps
from hypothesis import given, settings
from hypothesis import strategies as st

from tick2trade.proto import capture, net, pcap
from tick2trade.proto import ouch50 as o
from tick2trade.proto import soupbintcp as soup
from tick2trade.proto.errors import ProtocolError
from tick2trade.proto.moldudp64 import MoldPacker, MoldPacket

# captures README inventory: packets per ITCH file
ITCH_PACKETS = {"itch50_20230822_SystemEvent.pcap": 1, "itch50_Multiple.Packets.pcap": 2}


def _expected_packets(name):
    if name in ITCH_PACKETS:
        return ITCH_PACKETS[name]
    return 5 if name.startswith("itch50_2023") else 1


@pytest.mark.parametrize("path", itch_pcaps(), ids=lambda p: p.name)
def test_every_itch_capture(path):
    it = capture.iter_mold(path, strict=True)
    got = list(it)
    assert len(got) == _expected_packets(path.name) == it.stats.packets == it.stats.frames
    for item in got:
        assert item.vlan == 141 and item.packet.count == len(item.packet.messages)
        if not path.name.startswith("itch50_2023"):
            assert (item.src_ip, item.src_port, item.dst_ip, item.dst_port) == \
                ("206.200.127.138", 49653, "233.54.12.111", 26477)
    assert [i.ts_ns for i in got] == [r.ts_ns for r in pcap.read_records(path)]
    filtered = capture.iter_mold(path, udp_ports=[26477])
    kept = list(filtered)
    if path.name.startswith("itch50_2023"):   # ports zeroed
        assert kept == [] and filtered.stats.port_mismatch == len(got)
    else:
        assert kept == got


OUCH_EXPECT = {
    "ouch50_CancelOrderMessage.pcap": (soup.UnsequencedData, soup.Direction.INBOUND),
    "ouch50_CanceledMessage.pcap": (soup.SequencedData, soup.Direction.OUTBOUND),
    "ouch50_ClientHeartbeatPacket.pcap": (soup.ClientHeartbeat, soup.Direction.INBOUND),
    "ouch50_EnterOrderMessage.pcap": (soup.UnsequencedData, soup.Direction.INBOUND),
    "ouch50_OrderAcceptedMessage.pcap": (soup.SequencedData, soup.Direction.OUTBOUND),
    "ouch50_ServerHeartbeatPacket.pcap": (soup.ServerHeartbeat, soup.Direction.OUTBOUND),
}


@pytest.mark.parametrize("ports", [None, (8001, 8003)])
@pytest.mark.parametrize("path", ouch_pcaps(), ids=lambda p: p.name)
def test_every_ouch_capture(path, ports):
    it = capture.iter_soup(path, tcp_ports=ports, strict=True)
    (item,) = list(it)
    cls, direction = OUCH_EXPECT[path.name]
    assert type(item.packet) is cls and item.direction is direction
    if isinstance(item.packet, soup.UnsequencedData | soup.SequencedData):
        msg = o.decode(item.packet.message, item.direction)
        assert msg.encode() == item.packet.message
    if "EnterOrder" in path.name:
        assert item.vlan == 5 and item.dst_port == 8001
    assert it.stats.malformed == 0 and it.stats.packets == 1


CLIENT = dict(src_mac="02:00:00:00:00:01", dst_mac="02:00:00:00:00:02", src_ip="10.0.0.1",
              dst_ip="10.0.0.2", src_port=40000, dst_port=8001)
SERVER = dict(src_mac="02:00:00:00:00:02", dst_mac="02:00:00:00:00:01", src_ip="10.0.0.2",
              dst_ip="10.0.0.1", src_port=8001, dst_port=40000)


def _pcap(frames, linktype=pcap.LINKTYPE_ETHERNET):
    buf = io.BytesIO()
    pcap.write_records(buf, [(i * 1000, f) for i, f in enumerate(frames)], linktype=linktype)
    return buf.getvalue()


def _segments(stream, cuts, endpoint, isn):
    cuts = sorted(set(cuts) | {0, len(stream)})
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        out.append(net.build_tcp_frame(stream[a:b], seq=isn + a, **endpoint))
    return out


inbound_pkts = st.lists(st.one_of(
    st.builds(soup.UnsequencedData, st.binary(max_size=40)), st.just(soup.ClientHeartbeat()),
    st.builds(soup.LoginRequest, st.just("u"), st.just("p"))), min_size=1, max_size=8)
outbound_pkts = st.lists(st.one_of(
    st.builds(soup.SequencedData, st.binary(max_size=40)), st.just(soup.ServerHeartbeat()),
    st.builds(soup.Debug, st.text("abc", max_size=5))), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(inbound_pkts, outbound_pkts, st.data())
def test_tcp_reassembly_both_directions(client_pkts, server_pkts, data):
    c_stream = b"".join(p.encode() for p in client_pkts)
    s_stream = b"".join(p.encode() for p in server_pkts)
    c_frames = _segments(c_stream, data.draw(st.lists(st.integers(0, len(c_stream)))), CLIENT,
                         2**32 - 10)           # sequence numbers wrap
    s_frames = _segments(s_stream, data.draw(st.lists(st.integers(0, len(s_stream)))), SERVER,
                         1000)
    # interleave and retransmit a few segments
    frames = []
    for i in range(max(len(c_frames), len(s_frames))):
        frames += c_frames[i:i + 1] + s_frames[i:i + 1]
    frames += data.draw(st.lists(st.sampled_from(c_frames + s_frames), max_size=3))
    it = capture.iter_soup(_pcap(frames), strict=True)
    got = list(it)
    assert [g.packet for g in got if g.src_port == 40000] == client_pkts
    assert [g.packet for g in got if g.src_port == 8001] == server_pkts
    for g in got:
        expect = soup.Direction.INBOUND if g.src_port == 40000 else soup.Direction.OUTBOUND
        assert g.direction in (expect, None)
        if g.direction is None:
            assert isinstance(g.packet, soup.Debug)
    assert it.stats.malformed == 0 and it.stats.gaps == 0


def test_overlapping_retransmission_and_gap():
    stream = b"".join(soup.UnsequencedData(bytes([i]) * 5).encode() for i in range(4))  # 4 × 8
    seg = lambda a, b: net.build_tcp_frame(stream[a:b], seq=100 + a, **CLIENT)  # noqa: E731
    syn = net.build_tcp_frame(b"", seq=99, flags="S", **CLIENT)
    ack = net.build_tcp_frame(b"", seq=100, flags="A", **CLIENT)
    frames = [syn, ack, seg(0, 10), seg(4, 16), seg(24, 32)]  # overlap, then a gap (16..24 lost)
    it = capture.iter_soup(_pcap(frames))
    got = [g.packet.message for g in it]
    assert got == [b"\0" * 5, b"\1" * 5, b"\3" * 5]
    assert it.stats.gaps == 1 and it.stats.empty == 1 and it.stats.malformed == 0


def test_framing_error_is_counted_and_stream_resyncs():
    bad = net.build_tcp_frame(b"\x00\x01?", seq=1, **CLIENT)
    good = net.build_tcp_frame(soup.ClientHeartbeat().encode(), seq=4, **CLIENT)
    it = capture.iter_soup(_pcap([bad, good]))
    assert [g.packet for g in it] == [soup.ClientHeartbeat()]
    assert it.stats.malformed == 1 and "unknown packet type" in it.stats.errors[0]
    with pytest.raises(ProtocolError):
        list(capture.iter_soup(_pcap([bad, good]), strict=True))


def test_port_filter_for_soup():
    frame = net.build_tcp_frame(soup.ClientHeartbeat().encode(), seq=1, **CLIENT)
    it = capture.iter_soup(_pcap([frame]), tcp_ports=[9999])
    assert list(it) == [] and it.stats.port_mismatch == 1


def _udp(payload, **kw):
    args = dict(src_mac="02:00:00:00:00:01", dst_mac=None, src_ip="10.1.1.1",
                dst_ip="233.54.12.111", src_port=5000, dst_port=26477)
    args.update(kw)
    return net.build_udp_frame(payload, **args)


def test_mold_drops_are_counted():
    good = MoldPacket(b"SESSION001", 1, (b"hello",)).encode()
    arp = bytes(12) + b"\x08\x06" + bytes(28)
    frag = bytearray(_udp(good))
    frag[20:22] = b"\x20\x00"                  # MF set
    frag[24:26] = b"\0\0"
    tcp = net.build_tcp_frame(b"x", seq=0, **CLIENT)
    frames = [_udp(good), _udp(good[:-1]), arp, bytes(frag), tcp, b"\0" * 5, _udp(good, vlan=9)]
    it = capture.iter_mold(_pcap(frames))
    got = list(it)
    assert [g.packet.messages for g in got] == [(b"hello",)] * 2 and got[1].vlan == 9
    s = it.stats
    assert (s.frames, s.packets, s.malformed, s.non_ip, s.fragments, s.other_protocol) == \
        (7, 2, 2, 1, 1, 1)
    assert len(s.errors) == 2 and s.errors[0].startswith("frame 1:")
    with pytest.raises(ProtocolError):
        list(capture.iter_mold(_pcap(frames), strict=True))


@pytest.mark.parametrize("linktype, wrap", [
    (pcap.LINKTYPE_RAW, lambda ip: ip),
    (pcap.LINKTYPE_IPV4, lambda ip: ip),
    (pcap.LINKTYPE_NULL, lambda ip: struct.pack("<I", 2) + ip),
    (pcap.LINKTYPE_LINUX_SLL, lambda ip: bytes(14) + b"\x08\x00" + ip),
    (pcap.LINKTYPE_LINUX_SLL2, lambda ip: b"\x08\x00" + bytes(18) + ip),
])
def test_other_link_types(linktype, wrap):
    packet = MoldPacket(b"SESSION001", 7, (b"a", b"bc"))
    ip = _udp(packet.encode())[14:]
    it = capture.iter_mold(_pcap([wrap(ip), wrap(ip)[:0] + b"\x60" + bytes(39)], linktype))
    got = list(it)
    assert [g.packet for g in got] == [packet] and got[0].src_ip == "10.1.1.1"
    assert it.stats.frames == 2


def test_capture_cut_off_mid_record_is_counted():
    data = _pcap([_udp(MoldPacket(b"SESSION001", 1, (b"x",)).encode())] * 2)[:-5]
    it = capture.iter_mold(data)
    assert len(list(it)) == 1
    assert it.stats.malformed == 1 and "needs" in it.stats.errors[0]
    with pytest.raises(ProtocolError):
        list(capture.iter_mold(data, strict=True))
    with pytest.raises(ProtocolError, match="unknown magic"):
        list(capture.iter_mold(b"not a capture at all"))


def test_unsupported_link_type():
    it = capture.iter_mold(_pcap([b"\0" * 30], linktype=147))
    assert list(it) == [] and it.stats.unsupported_link == 1


# --- an independent dissector (Wireshark's tshark) reads the pcaps we write ---------------------

TSHARK = shutil.which("tshark") or ("/usr/bin/tshark" if Path("/usr/bin/tshark").exists() else None)
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark not installed (apt-get install "
                                  "tshark; `make` installs it when run as root)")
PI_WARN = 0x00600000


def _tshark(path, *decode_as):
    args = [TSHARK, "-r", str(path), "-o", "tcp.analyze_sequence_numbers:FALSE", "-T", "pdml"]
    for rule in decode_as:
        args += ["-d", rule]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    packets = ET.fromstring(out).findall("packet")
    for number, packet in enumerate(packets):
        for proto in packet.findall("proto"):
            assert proto.get("name") != "_ws.malformed", f"frame {number}: malformed"
        for field in packet.iter("field"):
            if field.get("name") == "_ws.expert.severity":
                assert int(field.get("show")) < PI_WARN, f"frame {number}: expert warning"
    return packets


def _proto(packet, name):
    return [p for p in packet.findall("proto") if p.get("name") == name]


def _tcp_frames(payloads, server_port=9000):
    frames, seq = [], 1
    for payload in payloads:
        frames.append(net.build_tcp_frame(payload, seq=seq, **dict(CLIENT, dst_port=server_port)))
        seq += len(payload)
    return frames


#: OUCH 4.2 messages that Wireshark 4.0's OUCH dissector predates (Trade Now, 2016+)
WIRESHARK_UNKNOWN = {(soup.Direction.INBOUND, b"N"), (soup.Direction.OUTBOUND, b"N")}


def _sample(cls, seed):
    from tick2trade.proto import ouch
    kwargs = {}
    for i, f in enumerate(cls.FIELDS[1:]):
        if f.kind in (ouch.UINT, ouch.PRICE):
            kwargs[f.name] = seed * 100 + i
        elif f.kind == ouch.CHAR:
            kwargs[f.name] = "ABCDEFGHIJKLMNOP"[i % 16]
        else:
            kwargs[f.name] = f"F{i}"[:f.length]
    return cls(**kwargs)


@needs_tshark
def test_tshark_reads_our_ouch42_layouts(tmp_path):
    """Wireshark's OUCH 4.x dissector finds every field at our offsets and lengths."""
    from tick2trade.proto import ouch42
    classes = [c for c in ouch42.MESSAGES if (c.DIRECTION, c.TYPE) not in WIRESHARK_UNKNOWN]
    frames = []
    for seed, cls in enumerate(classes):
        wrap = soup.UnsequencedData if cls.DIRECTION is soup.Direction.INBOUND \
            else soup.SequencedData
        frames += _tcp_frames([wrap(_sample(cls, seed).encode()).encode()])
    path = tmp_path / "ouch42.pcap"
    pcap.write_records(path, [(i, f) for i, f in enumerate(frames)])
    packets = _tshark(path, "tcp.port==9000,soupbintcp")
    assert len(packets) == len(classes)
    for cls, packet in zip(classes, packets, strict=True):
        (proto,) = _proto(packet, "ouch")
        start = int(proto.get("pos"))
        theirs = {(int(f.get("pos")) - start, int(f.get("size"))) for f in proto.iter("field")}
        ours = {(f.offset, f.length) for f in cls.FIELDS}
        assert theirs == ours, cls.NAME


@needs_tshark
def test_tshark_reads_our_soupbintcp(tmp_path):
    pkts = [soup.LoginRequest("user", "pw", "SESS", 5), soup.LoginAccepted("SESS", 17),
            soup.LoginRejected("S"), soup.Debug("hello"), soup.SequencedData(b"xyz"),
            soup.UnsequencedData(b"abc"), soup.ServerHeartbeat(), soup.ClientHeartbeat(),
            soup.EndOfSession(), soup.LogoutRequest()]
    path = tmp_path / "soup.pcap"
    pcap.write_records(path, [(i, f) for i, f in enumerate(_tcp_frames([p.encode()
                                                                        for p in pkts]))])
    packets = _tshark(path, "tcp.port==9000,soupbintcp")
    shown = []
    for packet in packets:
        (proto,) = _proto(packet, "soupbintcp")
        shown.append({f.get("name").split(".", 1)[1]: f.get("showname").split(": ", 1)[1]
                      for f in proto.iter("field") if f.get("showname")})
    assert [int(s["packet_length"]) for s in shown] == [len(p.encode()) - 2 for p in pkts]
    assert [s["packet_type"][-3] for s in shown] == [p.TYPE.decode() for p in pkts]
    assert (shown[0]["username"], shown[0]["session"], shown[0]["req_seq_num"]) == \
        ("user  ", "      SESS", "5")
    assert (shown[1]["session"], shown[1]["next_seq_num"]) == ("      SESS", "17")
    assert shown[2]["reject_code"].endswith("('S')") and shown[3]["text"] == "hello"


@needs_tshark
def test_tshark_reads_our_moldudp64(tmp_path, captures_dir):
    packer = MoldPacker(b"SESSION001", 5, max_payload=200)
    packets = list(packer.pack([bytes([i]) * (i % 40) for i in range(30)]))
    packets += [packer.heartbeat(), packer.end_of_session()]
    frames = [_udp(p.encode()) for p in packets]
    real = [r.frame for r in pcap.read_records(captures_dir / "itch50_Multiple.Packets.pcap")]
    path = tmp_path / "mold.pcap"
    pcap.write_records(path, [(i, f) for i, f in enumerate(frames + real)])
    dissected = _tshark(path, "udp.port==26477,moldudp64")
    expected = packets + [MoldPacket.decode(net.parse_frame(f).payload) for f in real]
    assert len(dissected) == len(expected)
    for packet, ours in zip(dissected, expected, strict=True):
        (proto,) = _proto(packet, "moldudp64")
        fields = {}
        for f in proto.iter("field"):
            fields.setdefault(f.get("name"), []).append(f.get("show"))
        assert fields["moldudp64.session"] == [ours.session.decode()]
        assert fields["moldudp64.sequence"] == [str(ours.sequence)]
        assert fields["moldudp64.count"] == [str(ours.count)]
        assert [int(n) for n in fields.get("moldudp64.msglen", [])] == \
            [len(m) for m in ours.messages]
