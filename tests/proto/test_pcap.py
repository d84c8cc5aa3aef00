"""pcap / pcapng reader and pcap writer: round trips, other tools' files, corrupt input."""

from __future__ import annotations

import io
import struct

import pytest
from conftest import itch_pcaps, ouch_pcaps
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter, RawPcapReader, wrpcap

from tick2trade.proto import pcap
from tick2trade.proto.errors import FieldError, ProtocolError, TruncatedError

ALL_PCAPS = itch_pcaps() + ouch_pcaps()

records_strategy = st.lists(
    st.tuples(st.integers(0, (1 << 32) * 1_000_000_000 - 1), st.binary(max_size=200)),
    max_size=20)


@settings(max_examples=60, deadline=None)
@given(records_strategy, st.booleans())
def test_writer_reader_round_trip(records, nanosecond):
    buf = io.BytesIO()
    assert pcap.write_records(buf, records, nanosecond=nanosecond) == len(records)
    got = pcap.read_records(buf.getvalue())
    expect = [(ts if nanosecond else ts // 1000 * 1000, frame, pcap.LINKTYPE_ETHERNET)
              for ts, frame in records]
    assert [tuple(r) for r in got] == expect


def test_writer_to_path_and_scapy_reads_it(tmp_path):
    path = tmp_path / "w.pcap"
    frames = [bytes(Ether() / (b"x" * n)) for n in (1, 50, 300)]
    with pcap.PcapWriter(path) as writer:
        for i, frame in enumerate(frames):
            writer.write(frame, 1_700_000_000_123_456_789 + i)
    theirs = [(bytes(data), meta) for data, meta in RawPcapReader(str(path))]
    assert [d for d, _ in theirs] == frames
    ours = pcap.read_records(path)
    assert [r.ts_ns for r in ours] == [1_700_000_000_123_456_789 + i for i in range(3)]


def test_reads_scapy_written_microsecond_pcap(tmp_path):
    path = tmp_path / "s.pcap"
    pkts = [Ether() / b"abc", Ether() / b"defgh"]
    for i, p in enumerate(pkts):
        p.time = 1_600_000_000 + i + 0.25
    wrpcap(str(path), pkts)
    got = pcap.read_records(path)
    assert [r.frame for r in got] == [bytes(p) for p in pkts]
    assert [r.ts_ns for r in got] == [1_600_000_000_250_000_000, 1_600_000_001_250_000_000]


def _classic_be(frames, nanosecond):
    magic = pcap.MAGIC_NS if nanosecond else pcap.MAGIC_US
    out = struct.pack(">IHHiIII", magic, 2, 4, 0, 0, 65535, 1)
    for sec, frac, frame in frames:
        out += struct.pack(">IIII", sec, frac, len(frame), len(frame)) + frame
    return out


@pytest.mark.parametrize("nanosecond", [False, True])
def test_big_endian_classic(nanosecond):
    data = _classic_be([(5, 7, b"\x01\x02"), (6, 0, b"")], nanosecond)
    got = pcap.read_records(data)
    scale = 1 if nanosecond else 1000
    assert got == [(5_000_000_000 + 7 * scale, b"\x01\x02", 1), (6_000_000_000, b"", 1)]


def test_scapy_pcapng_round_trip(tmp_path):
    path = tmp_path / "s.pcapng"
    pkts = [Ether() / (b"%d" % i * (i + 1)) for i in range(4)]
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i / 8
    with PcapNgWriter(str(path)) as w:
        for p in pkts:
            w.write(p)
    got = pcap.read_records(path)
    assert [r.frame for r in got] == [bytes(p) for p in pkts]
    assert [r.linktype for r in got] == [1] * 4
    assert [r.ts_ns for r in got] == [1_700_000_000_000_000_000 + i * 125_000_000
                                      for i in range(4)]


def _block(endian, btype, body):
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(endian + "II", btype, n) + body + struct.pack(endian + "I", n)


def _opt(endian, code, value):
    return struct.pack(endian + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _shb(endian):
    return _block(endian, pcap.PCAPNG_SHB,
                  struct.pack(endian + "IHHq", pcap.PCAPNG_BYTE_ORDER_MAGIC, 1, 0, -1))


def _idb(endian, linktype, tsresol=None, tsoffset=None, snaplen=0):
    opts = b""
    if tsresol is not None:
        opts += _opt(endian, 9, bytes([tsresol]))
    if tsoffset is not None:
        opts += _opt(endian, 14, struct.pack(endian + "q", tsoffset))
    if opts:
        opts += _opt(endian, 0, b"")
    return _block(endian, pcap.PCAPNG_IDB, struct.pack(endian + "HHI", linktype, 0, snaplen) + opts)


def _epb(endian, iface, ts, frame):
    return _block(endian, pcap.PCAPNG_EPB, struct.pack(
        endian + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame)) + frame)


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_handmade_resolutions_and_blocks(endian):
    data = (_shb(endian)
            + _idb(endian, 1)                              # default µs
            + _idb(endian, 101, tsresol=9, tsoffset=10)    # ns, +10 s
            + _idb(endian, 113, tsresol=0x80 | 10)         # 2**-10 s
            + _epb(endian, 0, 3_000_001, b"eth")
            + _epb(endian, 1, 42, b"raw-ip")
            + _block(endian, 0xBAD, b"unknown block is skipped")
            + _epb(endian, 2, 1024 * 5 + 512, b"sll")
            + _block(endian, pcap.PCAPNG_SPB, struct.pack(endian + "I", 5) + b"simpl"))
    got = pcap.read_records(data)
    assert got == [
        (3_000_001_000, b"eth", 1),
        (10_000_000_042, b"raw-ip", 101),
        (5_500_000_000, b"sll", 113),
        (0, b"simpl", 1),
    ]


def test_pcapng_second_section_changes_endianness():
    data = _shb("<") + _idb("<", 1) + _epb("<", 0, 1, b"a") + \
        _shb(">") + _idb(">", 228) + _epb(">", 0, 2, b"b")
    assert pcap.read_records(data) == [(1000, b"a", 1), (2000, b"b", 228)]


@pytest.mark.parametrize("data, error, words", [
    (b"", TruncatedError, "shorter than any magic"),
    (b"\x00\x01\x02\x03junkjunk", FieldError, "unknown magic"),
    (struct.pack("<I", pcap.MAGIC_NS) + b"\0" * 10, TruncatedError, "global header"),
    (_classic_be([(1, 0, b"abcdef")], True)[:-2], TruncatedError, "needs 6 bytes"),
    (_classic_be([(1, 0, b"ab")], True) + b"\0" * 7, TruncatedError, "record header"),
    (_classic_be([], True) + struct.pack(">IIII", 0, 0, 1 << 30, 0), FieldError, "corrupt"),
    (_shb("<") + _epb("<", 0, 1, b"x"), FieldError, "interface 0"),
    (_shb("<")[:-4] + b"\0\0\0\0", FieldError, "trailing length"),
    (_shb("<") + struct.pack("<II", 6, 7), FieldError, "invalid length"),
    (_shb("<") + struct.pack("<II", 6, 400) + b"\0" * 20, TruncatedError, "needs 400"),
    (_shb("<") + b"\0" * 5, TruncatedError, "block header"),
])
def test_corrupt_files_raise_protocol_errors(data, error, words):
    with pytest.raises(error, match=words) as info:
        pcap.read_records(data)
    assert isinstance(info.value, ProtocolError)


@pytest.mark.parametrize("path", ALL_PCAPS, ids=lambda p: p.name)
def test_real_captures_match_scapy(path):
    ours = pcap.read_records(path)
    theirs = list(RawPcapReader(str(path)))
    assert [r.frame for r in ours] == [bytes(d) for d, _ in theirs]
    for record, (_, meta) in zip(ours, theirs, strict=True):
        assert record.linktype == pcap.LINKTYPE_ETHERNET
        frac = meta.tsresol if hasattr(meta, "tsresol") else None
        assert record.ts_ns // 1_000_000_000 == meta.sec
        if frac == 1_000_000_000:
            assert record.ts_ns % 1_000_000_000 == meta.usec


def test_real_capture_rewritten_is_identical(captures_dir, tmp_path):
    src = captures_dir / "itch50_Multiple.Packets.pcap"
    out = tmp_path / "copy.pcap"
    pcap.write_records(out, pcap.read_records(src))
    assert out.read_bytes()[24:] == src.read_bytes()[24:]
    assert pcap.read_records(out) == pcap.read_records(src)
