"""Ethernet/802.1Q/IPv4/UDP/TCP helpers checked against scapy and the real captures."""

from __future__ import annotations

import struct
import zlib

import pytest
from conftest import itch_pcaps, ouch_pcaps
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether

from tick2trade.proto import net, pcap
from tick2trade.proto.errors import FieldError, LengthMismatchError, ProtocolError, TruncatedError

ips = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ports = st.integers(0, 65535)
macs = st.binary(min_size=6, max_size=6)


@settings(max_examples=80, deadline=None)
@given(payload=st.binary(max_size=300), src_ip=ips, dst_ip=ips, sport=ports, dport=ports,
       vlan=st.none() | st.integers(0, 4095), ip_id=st.integers(0, 65535),
       ttl=st.integers(0, 255), src=macs, dst=macs)
def test_udp_frame_matches_scapy(payload, src_ip, dst_ip, sport, dport, vlan, ip_id, ttl, src,
                                 dst):
    ours = net.build_udp_frame(payload, src_mac=src, dst_mac=dst, src_ip=src_ip, dst_ip=dst_ip,
                               src_port=sport, dst_port=dport, vlan=vlan, ip_id=ip_id, ttl=ttl)
    eth = Ether(src=net.mac_str(src), dst=net.mac_str(dst))
    if vlan is not None:
        eth = eth / Dot1Q(vlan=vlan)
    theirs = eth / IP(src=src_ip, dst=dst_ip, id=ip_id, ttl=ttl, flags=0) / \
        UDP(sport=sport, dport=dport) / payload
    assert ours == bytes(theirs)
    parsed = net.parse_frame(ours)
    assert (parsed.src_ip, parsed.dst_ip, parsed.src_port, parsed.dst_port, parsed.vlan) == \
        (src_ip, dst_ip, sport, dport, vlan)
    assert parsed.payload == payload and parsed.ip.checksum_ok
    assert parsed.l4_checksum_ok() is True


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(max_size=300), src_ip=ips, dst_ip=ips, sport=ports, dport=ports,
       seq=st.integers(0, 2**32 - 1), ack=st.integers(0, 2**32 - 1),
       flags=st.sampled_from(["PA", "A", "S", "SA", "FA", "R"]),
       options=st.sampled_from([b"", b"\x02\x04\x05\xb4", b"\x01\x01\x08\x0a" + bytes(8)]),
       vlan=st.none() | st.integers(0, 4095))
def test_tcp_frame_matches_scapy(payload, src_ip, dst_ip, sport, dport, seq, ack, flags, options,
                                 vlan):
    kw = dict(src_mac="02:00:00:00:00:01", dst_mac="02:00:00:00:00:02")
    ours = net.build_tcp_frame(payload, src_ip=src_ip, dst_ip=dst_ip, src_port=sport,
                               dst_port=dport, seq=seq, ack=ack, flags=flags, window=1234,
                               options=options, vlan=vlan, ip_id=7, **kw)
    eth = Ether(src=kw["src_mac"], dst=kw["dst_mac"])
    if vlan is not None:
        eth = eth / Dot1Q(vlan=vlan)
    tcp = TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags, window=1234,
              options=[])
    raw_tcp = bytes(tcp)
    hlen = (len(raw_tcp) + len(options)) // 4
    # scapy builds the same header when given the options as raw bytes
    theirs = eth / IP(src=src_ip, dst=dst_ip, id=7, flags="DF") / \
        TCP(raw_tcp[:12] + bytes([hlen << 4]) + raw_tcp[13:16] + b"\0\0" + raw_tcp[18:] +
            options) / payload
    del theirs[TCP].chksum
    assert ours == bytes(theirs)
    parsed = net.parse_frame(ours)
    assert parsed.is_tcp and parsed.payload == payload
    assert (parsed.tcp_seq, parsed.tcp_ack, parsed.tcp_flags) == (seq, ack, net.tcp_flags(flags))
    assert parsed.l4_checksum_ok() is True and parsed.ip.dont_fragment


@given(st.binary(min_size=20, max_size=60))
def test_checksums_match_scapy(data):
    from scapy.utils import checksum
    assert net.internet_checksum(data) == checksum(data)


def test_fcs_known_vector_and_residue():
    assert net.ethernet_fcs(b"123456789") == struct.pack("<I", 0xCBF43926)
    frame = net.build_udp_frame(b"hello", src_mac="02:00:00:00:00:01", dst_mac=None,
                                src_ip="10.0.0.1", dst_ip="233.54.12.111", src_port=1,
                                dst_port=2, pad=True)
    assert len(frame) == net.ETH_MIN_FRAME
    assert net.fcs_ok(frame + net.ethernet_fcs(frame))
    assert not net.fcs_ok(frame + b"\0\0\0\0")
    assert zlib.crc32(frame + net.ethernet_fcs(frame)) == net.FCS_RESIDUE


def test_multicast_mac():
    assert net.multicast_mac("233.54.12.111") == bytes.fromhex("01005e360c6f")
    assert net.multicast_mac("239.255.255.255") == bytes.fromhex("01005e7fffff")
    with pytest.raises(FieldError, match="not an IPv4 multicast"):
        net.multicast_mac("10.0.0.1")


@pytest.mark.parametrize("bad", ["1.2.3", "1.2.3.256", "hello", b"\1\2\3", 2**32])
def test_bad_ip(bad):
    with pytest.raises(FieldError):
        net.ip_bytes(bad)


@pytest.mark.parametrize("bad", ["01:02:03", "zz:00:00:00:00:00", b"\1"])
def test_bad_mac(bad):
    with pytest.raises(FieldError):
        net.mac_bytes(bad)


def _udp(**kw):
    base = dict(src_mac="02:00:00:00:00:01", dst_mac="02:00:00:00:00:02", src_ip="1.1.1.1",
                dst_ip="2.2.2.2", src_port=1000, dst_port=2000)
    base.update(kw)
    return net.build_udp_frame(b"payload!", **base)


def test_trailer_is_ignored():
    frame = _udp()
    parsed = net.parse_frame(frame + b"T" * 16)
    assert parsed.payload == b"payload!" and parsed.trailer == b"T" * 16


def test_ip_options_and_fragments():
    scapy_frame = bytes(Ether() / IP(src="1.2.3.4", dst="5.6.7.8", options=b"\x94\x04\0\0") /
                        UDP(sport=5, dport=6) / b"data")
    parsed = net.parse_frame(scapy_frame)
    assert parsed.ip.ihl == 24 and parsed.ip.options == b"\x94\x04\0\0"
    assert parsed.payload == b"data" and parsed.ip.checksum_ok
    frag = bytes(Ether() / IP(src="1.2.3.4", dst="5.6.7.8", flags="MF", frag=0, proto=17) /
                 b"12345678abcd")
    parsed = net.parse_frame(frag)
    assert parsed.ip.is_fragment and parsed.src_port is None and not parsed.is_udp
    later = bytes(Ether() / IP(src="1.2.3.4", dst="5.6.7.8", frag=3, proto=17) / b"xyz")
    parsed = net.parse_frame(later)
    assert parsed.ip.fragment_offset == 3 and parsed.payload == b"xyz"


def test_non_ip_and_qinq():
    arp = bytes.fromhex("ffffffffffff020000000001" "0806") + bytes(28)
    parsed = net.parse_frame(arp)
    assert parsed.ip is None and parsed.ethertype == 0x0806 and parsed.payload == bytes(28)
    frame = _udp(vlan=5)
    qinq = frame[:12] + struct.pack("!HH", net.ETHERTYPE_QINQ, 100) + frame[12:]
    parsed = net.parse_frame(qinq)
    assert parsed.vlans == (100, 5) and parsed.vlan == 100 and parsed.payload == b"payload!"


def _corrupt(offset, value):
    frame = bytearray(_udp())
    frame[offset:offset + len(value)] = value
    return bytes(frame)


@pytest.mark.parametrize("frame, error, words", [
    (b"\0" * 13, TruncatedError, "header needs 14"),
    (_udp()[:14 + 19], TruncatedError, "IPv4: 19 bytes"),
    (_udp(vlan=3)[:15], TruncatedError, "802.1Q"),
    (_corrupt(14, b"\x65"), FieldError, "version field is 6"),
    (_corrupt(14, b"\x44"), FieldError, "below 20"),
    (_corrupt(16, b"\x00\x10"), LengthMismatchError, "less than header"),
    (_corrupt(16, b"\x01\x00"), TruncatedError, "total length 256"),
    (_corrupt(38, b"\x00\x04"), LengthMismatchError, "UDP: length field 4"),
    (_corrupt(38, b"\x00\x40"), LengthMismatchError, "UDP: length field 64"),
    (_corrupt(16, b"\x00\x1a"), TruncatedError, "UDP: 6 bytes"),
])
def test_malformed_frames(frame, error, words):
    with pytest.raises(error, match=words) as info:
        net.parse_frame(frame)
    assert isinstance(info.value, ProtocolError)


def test_malformed_tcp():
    frame = bytearray(net.build_tcp_frame(b"x", src_mac=bytes(6), dst_mac=bytes(6),
                                          src_ip="1.1.1.1", dst_ip="2.2.2.2", src_port=1,
                                          dst_port=2, seq=0))
    frame[14 + 20 + 12] = 0xF0   # data offset 60 > segment
    with pytest.raises(LengthMismatchError, match="data offset 60"):
        net.parse_frame(bytes(frame))


@pytest.mark.parametrize("path", itch_pcaps() + ouch_pcaps(), ids=lambda p: p.name)
def test_real_captures_parse(path):
    anonymised = path.name.startswith("itch50_2023")
    for record in pcap.read_records(path):
        parsed = net.parse_frame(record.frame)
        theirs = Ether(record.frame)
        l4 = theirs[UDP] if parsed.protocol == net.IPPROTO_UDP else theirs[TCP]
        assert parsed.payload == bytes(l4.payload)[:len(parsed.payload)]
        assert (parsed.src_port, parsed.dst_port) == (l4.sport, l4.dport)
        assert parsed.src_ip == theirs[IP].src
        if path.name.startswith("itch50"):
            assert parsed.is_udp and parsed.vlan == 141
            assert len(parsed.payload) == theirs[UDP].len - 8
        else:
            assert parsed.is_tcp
            assert parsed.vlan == (5 if "EnterOrder" in path.name else None)
            assert len(parsed.trailer) in (0, 16, 19)
        if anonymised:
            assert parsed.ip.checksum == 0 and parsed.l4_checksum_ok() is None
        else:
            assert parsed.ip.checksum_ok and parsed.l4_checksum_ok() is True
