"""Packet capture files: read classic pcap and pcapng, write classic pcap.

The reader is pure Python and reads the whole file into memory once, then
walks it with ``struct.unpack_from`` (no per-packet object but the record
tuple). Formats follow the IETF drafts *draft-ietf-opsawg-pcap* (classic
pcap: microsecond magic ``a1b2c3d4`` and nanosecond magic ``a1b23c4d``, in
either byte order) and *draft-ietf-opsawg-pcapng* (Section Header, Interface
Description, Enhanced, Simple and obsolete Packet blocks; per-interface
``if_tsresol`` and ``if_tsoffset``).

Every record is ``PcapRecord(ts_ns, frame, linktype)``. A corrupt or
truncated file raises a :class:`~tick2trade.proto.errors.ProtocolError`
subclass naming the byte offset, never ``struct.error``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from os import PathLike
from typing import BinaryIO, NamedTuple

from tick2trade.proto.errors import FieldError, TruncatedError

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_LINUX_SLL2 = 276

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
PCAPNG_IDB = 0x00000001
PCAPNG_PB = 0x00000002
PCAPNG_SPB = 0x00000003
PCAPNG_EPB = 0x00000006

#: Largest record we accept; anything bigger is a corrupt length field.
MAX_RECORD = 1 << 26

_OPT_ENDOFOPT = 0
_OPT_IF_TSRESOL = 9
_OPT_IF_TSOFFSET = 14


class PcapRecord(NamedTuple):
    """One captured frame: capture time in ns since the epoch, bytes, link type."""

    ts_ns: int
    frame: bytes
    linktype: int


Source = str | PathLike | bytes | bytearray | memoryview | BinaryIO


def _load(source: Source) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if hasattr(source, "read"):
        return source.read()
    with open(source, "rb") as f:
        return f.read()


def iter_records(source: Source) -> Iterator[PcapRecord]:
    """Yield every frame of a classic pcap or pcapng file (path, bytes or binary file)."""
    data = _load(source)
    if len(data) < 4:
        raise TruncatedError(f"pcap: file is {len(data)} bytes, shorter than any magic number")
    magic_le = struct.unpack_from("<I", data)[0]
    if magic_le == PCAPNG_SHB:
        return _iter_pcapng(data)
    for endian in "<>":
        magic = struct.unpack_from(endian + "I", data)[0]
        if magic in (MAGIC_US, MAGIC_NS):
            return _iter_classic(data, endian, magic == MAGIC_NS)
    raise FieldError(f"pcap: unknown magic number 0x{magic_le:08x} (not pcap or pcapng)")


def read_records(source: Source) -> list[PcapRecord]:
    """All records of a capture as a list (see :func:`iter_records`)."""
    return list(iter_records(source))


def _iter_classic(data: bytes, endian: str, nanosecond: bool) -> Iterator[PcapRecord]:
    if len(data) < 24:
        raise TruncatedError(f"pcap: global header needs 24 bytes, file has {len(data)}")
    network = struct.unpack_from(endian + "I", data, 20)[0]
    linktype = network & 0x0FFFFFFF
    frac_ns = 1 if nanosecond else 1000
    record = struct.Struct(endian + "IIII")
    offset, end = 24, len(data)
    while offset < end:
        if offset + 16 > end:
            raise TruncatedError(
                f"pcap: record header at offset {offset} needs 16 bytes, {end - offset} left")
        sec, frac, incl, _orig = record.unpack_from(data, offset)
        if incl > MAX_RECORD:
            raise FieldError(f"pcap: record at offset {offset} claims {incl} bytes (corrupt)")
        start = offset + 16
        if start + incl > end:
            raise TruncatedError(
                f"pcap: record at offset {offset} needs {incl} bytes, {end - start} left")
        yield PcapRecord(sec * 1_000_000_000 + frac * frac_ns, data[start:start + incl], linktype)
        offset = start + incl


class _Interface(NamedTuple):
    linktype: int
    snaplen: int
    units_per_s: int  # timestamp units per second (10**n or 2**n)
    offset_s: int


def _ts_ns(iface: _Interface, ts: int) -> int:
    units = iface.units_per_s
    if units == 1_000_000_000:
        ns = ts
    elif 1_000_000_000 % units == 0:
        ns = ts * (1_000_000_000 // units)
    else:
        ns = ts * 1_000_000_000 // units
    return ns + iface.offset_s * 1_000_000_000


def _parse_idb(body: bytes, endian: str, at: int) -> _Interface:
    if len(body) < 8:
        raise TruncatedError(f"pcapng: interface block at offset {at} body is {len(body)} bytes")
    linktype, _res, snaplen = struct.unpack_from(endian + "HHI", body)
    units, offset_s = 1_000_000, 0
    pos = 8
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(endian + "HH", body, pos)
        value = body[pos + 4:pos + 4 + length]
        if code == _OPT_ENDOFOPT:
            break
        if len(value) < length:
            raise TruncatedError(f"pcapng: option {code} at offset {at} runs past its block")
        if code == _OPT_IF_TSRESOL and length >= 1:
            exp = value[0] & 0x7F
            units = 2 ** exp if value[0] & 0x80 else 10 ** exp
        elif code == _OPT_IF_TSOFFSET and length >= 8:
            offset_s = struct.unpack_from(endian + "q", value)[0]
        pos += 4 + ((length + 3) & ~3)
    return _Interface(linktype, snaplen, units, offset_s)


def _iter_pcapng(data: bytes) -> Iterator[PcapRecord]:
    offset, end = 0, len(data)
    endian = "<"
    interfaces: list[_Interface] = []
    while offset < end:
        if offset + 8 > end:
            raise TruncatedError(
                f"pcapng: block header at offset {offset} needs 8 bytes, {end - offset} left")
        if struct.unpack_from("<I", data, offset)[0] == PCAPNG_SHB:
            if offset + 12 > end:
                raise TruncatedError(f"pcapng: section header at offset {offset} is truncated")
            bom = data[offset + 8:offset + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                endian = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                endian = ">"
            else:
                raise FieldError(f"pcapng: bad byte-order magic {bom.hex()} at offset {offset}")
            interfaces = []
        btype, blen = struct.unpack_from(endian + "II", data, offset)
        if blen < 12 or blen % 4 or blen > MAX_RECORD:
            raise FieldError(f"pcapng: block at offset {offset} has invalid length {blen}")
        if offset + blen > end:
            raise TruncatedError(
                f"pcapng: block at offset {offset} needs {blen} bytes, {end - offset} left")
        if struct.unpack_from(endian + "I", data, offset + blen - 4)[0] != blen:
            raise FieldError(f"pcapng: block at offset {offset}: trailing length != {blen}")
        body = data[offset + 8:offset + blen - 4]
        if btype == PCAPNG_IDB:
            interfaces.append(_parse_idb(body, endian, offset))
        elif btype in (PCAPNG_EPB, PCAPNG_PB):
            yield _packet_block(btype, body, endian, interfaces, offset)
        elif btype == PCAPNG_SPB:
            yield _simple_block(body, endian, interfaces, offset)
        offset += blen


def _interface(interfaces: list[_Interface], index: int, at: int) -> _Interface:
    if index >= len(interfaces):
        raise FieldError(f"pcapng: packet at offset {at} names interface {index}, "
                         f"only {len(interfaces)} described")
    return interfaces[index]


def _packet_block(btype: int, body: bytes, endian: str, interfaces: list[_Interface],
                  at: int) -> PcapRecord:
    if len(body) < 20:
        raise TruncatedError(f"pcapng: packet block at offset {at} body is {len(body)} bytes")
    if btype == PCAPNG_EPB:
        index, hi, lo, caplen, _orig = struct.unpack_from(endian + "IIIII", body)
    else:
        index, _drops, hi, lo, caplen, _orig = struct.unpack_from(endian + "HHIIII", body)
    if 20 + caplen > len(body):
        raise TruncatedError(
            f"pcapng: packet at offset {at} claims {caplen} bytes, block holds {len(body) - 20}")
    iface = _interface(interfaces, index, at)
    return PcapRecord(_ts_ns(iface, (hi << 32) | lo), body[20:20 + caplen], iface.linktype)


def _simple_block(body: bytes, endian: str, interfaces: list[_Interface], at: int) -> PcapRecord:
    """Simple Packet Block: no timestamp (reported as 0), length capped by the snaplen."""
    if len(body) < 4:
        raise TruncatedError(f"pcapng: simple packet block at offset {at} is truncated")
    iface = _interface(interfaces, 0, at)
    orig = struct.unpack_from(endian + "I", body)[0]
    caplen = min(orig, iface.snaplen or orig, len(body) - 4)
    return PcapRecord(0, body[4:4 + caplen], iface.linktype)


class PcapWriter:
    """Write frames to a classic pcap file (nanosecond magic by default).

    ``with PcapWriter(path) as w: w.write(frame, ts_ns)``. ``path`` may also
    be an open binary file, which is then left open.
    """

    def __init__(self, path: str | PathLike | BinaryIO, nanosecond: bool = True,
                 linktype: int = LINKTYPE_ETHERNET, snaplen: int = 262144):
        self.nanosecond = nanosecond
        self.snaplen = snaplen
        self.count = 0
        if hasattr(path, "write"):
            self._file, self._owned = path, False
        else:
            self._file, self._owned = open(path, "wb"), True
        magic = MAGIC_NS if nanosecond else MAGIC_US
        self._file.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        self._record = struct.Struct("<IIII")

    def write(self, frame: bytes, ts_ns: int) -> None:
        """Append one frame captured at ``ts_ns`` (ns since the epoch)."""
        if ts_ns < 0:
            raise FieldError(f"pcap: timestamp {ts_ns} is negative")
        sec, ns = divmod(ts_ns, 1_000_000_000)
        if sec > 0xFFFFFFFF:
            raise FieldError(f"pcap: timestamp {ts_ns} ns does not fit 32-bit seconds")
        frac = ns if self.nanosecond else ns // 1000
        self._file.write(self._record.pack(sec, frac, len(frame), len(frame)))
        self._file.write(frame)
        self.count += 1

    def close(self) -> None:
        if self._owned:
            self._file.close()
        else:
            self._file.flush()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_records(path: str | PathLike | BinaryIO, records, nanosecond: bool = True,
                  linktype: int = LINKTYPE_ETHERNET) -> int:
    """Write ``(ts_ns, frame)`` pairs (or :class:`PcapRecord`) to ``path``; return the count."""
    with PcapWriter(path, nanosecond=nanosecond, linktype=linktype) as writer:
        for record in records:
            writer.write(record[1], record[0])
        return writer.count


__all__ = [
    "LINKTYPE_ETHERNET",
    "LINKTYPE_IPV4",
    "LINKTYPE_LINUX_SLL",
    "LINKTYPE_LINUX_SLL2",
    "LINKTYPE_NULL",
    "LINKTYPE_RAW",
    "PcapRecord",
    "PcapWriter",
    "iter_records",
    "read_records",
    "write_records",
]
