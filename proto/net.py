"""Ethernet II, 802.1Q, IPv4, UDP and TCP: build frames and parse them.

Layouts follow IEEE 802.3 (Ethernet II header, FCS), IEEE 802.1Q (VLAN
tag), RFC 791 (IPv4), RFC 768 (UDP), RFC 793 (TCP) and RFC 1071 (the
Internet checksum). :func:`parse_frame` slices the IP payload by the IPv4
Total Length, so Ethernet padding and capture-device trailers after the
datagram are ignored (captures README: 16-byte trailers).
"""

from __future__ import annotations

import socket
import struct
import zlib
from typing import NamedTuple

from tick2trade.proto.errors import FieldError, LengthMismatchError, TruncatedError

ETH_HEADER_LEN = 14
VLAN_TAG_LEN = 4
IPV4_HEADER_LEN = 20
UDP_HEADER_LEN = 8
TCP_HEADER_LEN = 20
ETH_MIN_FRAME = 60  # without FCS
FCS_LEN = 4

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_VLAN = 0x8100
ETHERTYPE_QINQ = 0x88A8
VLAN_ETHERTYPES = (ETHERTYPE_VLAN, ETHERTYPE_QINQ, 0x9100)

IPPROTO_TCP = 6
IPPROTO_UDP = 17

IP_FLAG_DF = 0x4000
IP_FLAG_MF = 0x2000
IP_FRAG_MASK = 0x1FFF

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_TCP_FLAG_LETTERS = {"F": TCP_FIN, "S": TCP_SYN, "R": TCP_RST, "P": TCP_PSH, "A": TCP_ACK,
                     "U": TCP_URG}

#: The CRC-32 of a frame followed by its own FCS (IEEE 802.3 residue after final XOR).
FCS_RESIDUE = 0x2144DF1C

_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")
_TCP = struct.Struct("!HHIIBBHHH")


# --- addresses ---------------------------------------------------------------------------------

def mac_bytes(mac: str | bytes) -> bytes:
    """``"01:00:5e:00:00:01"`` (or 6 bytes) → 6 bytes."""
    if isinstance(mac, bytes | bytearray):
        if len(mac) != 6:
            raise FieldError(f"MAC address must be 6 bytes, got {len(mac)}")
        return bytes(mac)
    parts = mac.replace("-", ":").split(":")
    try:
        raw = bytes(int(p, 16) for p in parts)
    except ValueError:
        raise FieldError(f"bad MAC address {mac!r}") from None
    if len(raw) != 6:
        raise FieldError(f"bad MAC address {mac!r}")
    return raw


def mac_str(mac: bytes) -> str:
    """6 bytes → ``"aa:bb:cc:dd:ee:ff"``."""
    return ":".join(f"{b:02x}" for b in mac)


def ip_bytes(ip: str | bytes | int) -> bytes:
    """Dotted quad, 4 bytes or an int → 4 bytes."""
    if isinstance(ip, int):
        if not 0 <= ip <= 0xFFFFFFFF:
            raise FieldError(f"IPv4 address {ip} out of range")
        return ip.to_bytes(4, "big")
    if isinstance(ip, bytes | bytearray):
        if len(ip) != 4:
            raise FieldError(f"IPv4 address must be 4 bytes, got {len(ip)}")
        return bytes(ip)
    try:
        return socket.inet_aton(ip) if ip.count(".") == 3 else _bad_ip(ip)
    except OSError:
        return _bad_ip(ip)


def _bad_ip(ip) -> bytes:
    raise FieldError(f"bad IPv4 address {ip!r}")


def ip_str(ip: bytes) -> str:
    """4 bytes → dotted quad."""
    return socket.inet_ntoa(ip)


def multicast_mac(ip: str | bytes | int) -> bytes:
    """The Ethernet MAC of an IPv4 multicast group: 01:00:5e + the low 23 bits (RFC 1112 §6.4)."""
    raw = ip_bytes(ip)
    if raw[0] & 0xF0 != 0xE0:
        raise FieldError(f"{ip_str(raw)} is not an IPv4 multicast address (224.0.0.0/4)")
    return bytes((0x01, 0x00, 0x5E, raw[1] & 0x7F, raw[2], raw[3]))


# --- checksums ---------------------------------------------------------------------------------

def internet_checksum(data: bytes, initial: int = 0) -> int:
    """RFC 1071 one's-complement sum of 16-bit words, complemented."""
    if len(data) % 2:
        data += b"\0"
    total = initial + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_checksum(header: bytes) -> int:
    """Header checksum of an IPv4 header (its checksum field is ignored)."""
    return internet_checksum(header[:10] + b"\0\0" + header[12:])


def _pseudo_sum(src_ip: bytes, dst_ip: bytes, proto: int, length: int) -> int:
    return sum(struct.unpack("!HHHH", src_ip + dst_ip)) + proto + length


def udp_checksum(src_ip: str | bytes, dst_ip: str | bytes, segment: bytes) -> int:
    """UDP checksum over the pseudo-header and ``segment`` (its checksum field ignored).

    A computed 0 is sent as 0xFFFF (RFC 768), since 0 means "no checksum".
    """
    seg = segment[:6] + b"\0\0" + segment[8:]
    value = internet_checksum(
        seg, _pseudo_sum(ip_bytes(src_ip), ip_bytes(dst_ip), IPPROTO_UDP, len(segment)))
    return value or 0xFFFF


def tcp_checksum(src_ip: str | bytes, dst_ip: str | bytes, segment: bytes) -> int:
    """TCP checksum over the pseudo-header and ``segment`` (its checksum field ignored)."""
    seg = segment[:16] + b"\0\0" + segment[18:]
    return internet_checksum(
        seg, _pseudo_sum(ip_bytes(src_ip), ip_bytes(dst_ip), IPPROTO_TCP, len(segment)))


def ethernet_fcs(frame: bytes) -> bytes:
    """IEEE 802.3 FCS (CRC-32) of ``frame`` as the 4 bytes sent after it (LSB first)."""
    return struct.pack("<I", zlib.crc32(frame))


def fcs_ok(frame_with_fcs: bytes) -> bool:
    """True if the last 4 bytes are the right FCS for the rest."""
    return zlib.crc32(frame_with_fcs) == FCS_RESIDUE


# --- building ----------------------------------------------------------------------------------

def _eth_header(dst_mac, src_mac, vlan: int | None, ethertype: int, pcp: int = 0) -> bytes:
    head = mac_bytes(dst_mac) + mac_bytes(src_mac)
    if vlan is not None:
        if not 0 <= vlan <= 0xFFF:
            raise FieldError(f"VLAN id {vlan} out of range 0..4095")
        head += struct.pack("!HH", ETHERTYPE_VLAN, (pcp << 13) | vlan)
    return head + struct.pack("!H", ethertype)


def build_ipv4_header(payload_len: int, *, src_ip, dst_ip, protocol: int, ip_id: int = 0,
                      ttl: int = 64, tos: int = 0, dont_fragment: bool = False) -> bytes:
    """A 20-byte IPv4 header (no options) with a correct header checksum."""
    total = IPV4_HEADER_LEN + payload_len
    if total > 0xFFFF:
        raise FieldError(f"IPv4 datagram of {total} bytes exceeds 65535")
    header = _IPV4.pack(0x45, tos, total, ip_id & 0xFFFF, IP_FLAG_DF if dont_fragment else 0,
                        ttl, protocol, 0, ip_bytes(src_ip), ip_bytes(dst_ip))
    return header[:10] + struct.pack("!H", ipv4_checksum(header)) + header[12:]


def _pad(frame: bytes, pad: bool) -> bytes:
    return frame + b"\0" * (ETH_MIN_FRAME - len(frame)) if pad and len(frame) < ETH_MIN_FRAME \
        else frame


def build_udp_frame(payload: bytes, *, src_mac, dst_mac, src_ip, dst_ip, src_port: int,
                    dst_port: int, vlan: int | None = None, ip_id: int = 0, ttl: int = 64,
                    tos: int = 0, udp_checksum_enabled: bool = True, pad: bool = False) -> bytes:
    """Ethernet II [+ 802.1Q] + IPv4 + UDP frame around ``payload`` (no FCS).

    ``dst_mac=None`` with a multicast ``dst_ip`` uses :func:`multicast_mac`.
    ``pad`` pads the frame to the 60-byte Ethernet minimum.
    """
    if dst_mac is None:
        dst_mac = multicast_mac(dst_ip)
    length = UDP_HEADER_LEN + len(payload)
    segment = _UDP.pack(src_port, dst_port, length, 0) + payload
    if udp_checksum_enabled:
        segment = segment[:6] + struct.pack("!H", udp_checksum(src_ip, dst_ip, segment)) + \
            segment[8:]
    ip = build_ipv4_header(len(segment), src_ip=src_ip, dst_ip=dst_ip, protocol=IPPROTO_UDP,
                           ip_id=ip_id, ttl=ttl, tos=tos)
    return _pad(_eth_header(dst_mac, src_mac, vlan, ETHERTYPE_IPV4) + ip + segment, pad)


def tcp_flags(flags: int | str) -> int:
    """``"PA"`` → PSH|ACK; ints pass through."""
    if isinstance(flags, int):
        return flags
    value = 0
    for letter in flags:
        if letter not in _TCP_FLAG_LETTERS:
            raise FieldError(f"unknown TCP flag {letter!r} in {flags!r}")
        value |= _TCP_FLAG_LETTERS[letter]
    return value


def build_tcp_segment(payload: bytes, *, src_ip, dst_ip, src_port: int, dst_port: int,
                      seq: int, ack: int = 0, flags: int | str = "PA", window: int = 65535,
                      options: bytes = b"", urgent: int = 0) -> bytes:
    """A TCP header (+ options, padded to 32 bits) and payload with a correct checksum."""
    options += b"\0" * (-len(options) % 4)
    if len(options) > 40:
        raise FieldError(f"TCP options of {len(options)} bytes exceed 40")
    offset = (TCP_HEADER_LEN + len(options)) // 4
    header = _TCP.pack(src_port, dst_port, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, offset << 4,
                       tcp_flags(flags), window, 0, urgent) + options
    segment = header + payload
    return segment[:16] + struct.pack("!H", tcp_checksum(src_ip, dst_ip, segment)) + segment[18:]


def build_tcp_frame(payload: bytes, *, src_mac, dst_mac, src_ip, dst_ip, src_port: int,
                    dst_port: int, seq: int, ack: int = 0, flags: int | str = "PA",
                    window: int = 65535, options: bytes = b"", vlan: int | None = None,
                    ip_id: int = 0, ttl: int = 64, tos: int = 0, dont_fragment: bool = True,
                    pad: bool = False) -> bytes:
    """Ethernet II [+ 802.1Q] + IPv4 + TCP frame around ``payload`` (no FCS)."""
    segment = build_tcp_segment(payload, src_ip=src_ip, dst_ip=dst_ip, src_port=src_port,
                                dst_port=dst_port, seq=seq, ack=ack, flags=flags, window=window,
                                options=options)
    ip = build_ipv4_header(len(segment), src_ip=src_ip, dst_ip=dst_ip, protocol=IPPROTO_TCP,
                           ip_id=ip_id, ttl=ttl, tos=tos, dont_fragment=dont_fragment)
    return _pad(_eth_header(dst_mac, src_mac, vlan, ETHERTYPE_IPV4) + ip + segment, pad)


# --- parsing -----------------------------------------------------------------------------------

class IPv4Header(NamedTuple):
    """RFC 791 header fields; ``src``/``dst`` as 4 bytes, ``options`` raw."""

    ihl: int
    tos: int
    total_length: int
    ident: int
    flags: int          # 3 bits: reserved, DF, MF
    fragment_offset: int  # in 8-byte units
    ttl: int
    protocol: int
    checksum: int
    src: bytes
    dst: bytes
    options: bytes
    raw: bytes          # the header bytes as received

    @property
    def is_fragment(self) -> bool:
        return bool(self.flags & 0x1) or self.fragment_offset != 0

    @property
    def dont_fragment(self) -> bool:
        return bool(self.flags & 0x2)

    @property
    def checksum_ok(self) -> bool:
        return internet_checksum(self.raw) == 0


class ParsedFrame(NamedTuple):
    """One Ethernet frame taken apart (see :func:`parse_frame`).

    ``payload`` is the L4 payload (UDP data / TCP data) when the frame is an
    unfragmented UDP or TCP datagram, the IP payload for other IPv4 frames,
    and the Ethernet payload for non-IPv4 frames. ``trailer`` holds the
    bytes after the IP datagram (padding, capture trailers).
    """

    dst_mac: bytes
    src_mac: bytes
    vlans: tuple[int, ...]   # VLAN ids, outermost first
    ethertype: int           # after any VLAN tags
    ip: IPv4Header | None
    protocol: int | None     # IPPROTO_UDP / IPPROTO_TCP / other, None for non-IP
    src_port: int | None
    dst_port: int | None
    payload: bytes
    trailer: bytes = b""
    l4_header: bytes = b""
    tcp_seq: int | None = None
    tcp_ack: int | None = None
    tcp_flags: int | None = None
    tcp_window: int | None = None

    @property
    def vlan(self) -> int | None:
        """Outermost VLAN id, or None when untagged."""
        return self.vlans[0] if self.vlans else None

    @property
    def src_ip(self) -> str | None:
        return ip_str(self.ip.src) if self.ip else None

    @property
    def dst_ip(self) -> str | None:
        return ip_str(self.ip.dst) if self.ip else None

    @property
    def is_udp(self) -> bool:
        return self.protocol == IPPROTO_UDP and self.src_port is not None

    @property
    def is_tcp(self) -> bool:
        return self.protocol == IPPROTO_TCP and self.src_port is not None

    def l4_checksum_ok(self) -> bool | None:
        """UDP/TCP checksum check; None if not applicable or UDP checksum absent (0)."""
        if self.ip is None or self.src_port is None:
            return None
        segment = self.l4_header + self.payload
        if self.protocol == IPPROTO_UDP:
            stored = struct.unpack_from("!H", segment, 6)[0]
            if stored == 0:
                return None
            return udp_checksum(self.ip.src, self.ip.dst, segment) == stored
        stored = struct.unpack_from("!H", segment, 16)[0]
        return tcp_checksum(self.ip.src, self.ip.dst, segment) == stored


def parse_frame(frame: bytes) -> ParsedFrame:
    """Parse an Ethernet II frame (no FCS expected; any bytes after the IP datagram are kept
    aside as ``trailer``). Malformed headers raise a ProtocolError subclass."""
    if len(frame) < ETH_HEADER_LEN:
        raise TruncatedError(f"Ethernet: frame of {len(frame)} bytes, header needs 14")
    dst, src = frame[0:6], frame[6:12]
    ethertype = (frame[12] << 8) | frame[13]
    pos = ETH_HEADER_LEN
    vlans: list[int] = []
    while ethertype in VLAN_ETHERTYPES:
        if pos + VLAN_TAG_LEN > len(frame):
            raise TruncatedError(f"802.1Q: tag at offset {pos - 2} is truncated")
        tci, ethertype = struct.unpack_from("!HH", frame, pos)
        vlans.append(tci & 0x0FFF)
        pos += VLAN_TAG_LEN
    if ethertype != ETHERTYPE_IPV4:
        return ParsedFrame(dst, src, tuple(vlans), ethertype, None, None, None, None, frame[pos:])
    return parse_ipv4(frame[pos:], dst_mac=dst, src_mac=src, vlans=tuple(vlans))


def parse_ipv4(packet: bytes, *, dst_mac: bytes = b"", src_mac: bytes = b"",
               vlans: tuple[int, ...] = ()) -> ParsedFrame:
    """Parse an IPv4 datagram (raw-IP captures, or the rest of an Ethernet frame)."""
    if len(packet) < IPV4_HEADER_LEN:
        raise TruncatedError(f"IPv4: {len(packet)} bytes, header needs 20")
    vihl, tos, total, ident, flags_frag, ttl, proto, csum, sip, dip = _IPV4.unpack_from(packet)
    if vihl >> 4 != 4:
        raise FieldError(f"IPv4: version field is {vihl >> 4}, expected 4")
    ihl = (vihl & 0xF) * 4
    if ihl < IPV4_HEADER_LEN:
        raise FieldError(f"IPv4: header length {ihl} bytes is below 20")
    if total < ihl:
        raise LengthMismatchError(f"IPv4: total length {total} is less than header length {ihl}")
    if total > len(packet):
        raise TruncatedError(f"IPv4: total length {total}, only {len(packet)} bytes captured")
    header = IPv4Header(ihl, tos, total, ident, flags_frag >> 13, flags_frag & IP_FRAG_MASK, ttl,
                        proto, csum, sip, dip, packet[IPV4_HEADER_LEN:ihl], packet[:ihl])
    data, trailer = packet[ihl:total], packet[total:]
    if header.is_fragment:
        return ParsedFrame(dst_mac, src_mac, vlans, ETHERTYPE_IPV4, header, proto, None, None,
                           data, trailer)
    if proto == IPPROTO_UDP:
        if len(data) < UDP_HEADER_LEN:
            raise TruncatedError(f"UDP: {len(data)} bytes, header needs 8")
        sport, dport, length, _ = _UDP.unpack_from(data)
        if length < UDP_HEADER_LEN or length > len(data):
            raise LengthMismatchError(
                f"UDP: length field {length} does not fit the {len(data)}-byte IP payload")
        return ParsedFrame(dst_mac, src_mac, vlans, ETHERTYPE_IPV4, header, proto, sport, dport,
                           data[8:length], trailer, data[:8])
    if proto == IPPROTO_TCP:
        if len(data) < TCP_HEADER_LEN:
            raise TruncatedError(f"TCP: {len(data)} bytes, header needs 20")
        sport, dport, seq, ack, off, flags, window, _, _ = _TCP.unpack_from(data)
        hlen = (off >> 4) * 4
        if hlen < TCP_HEADER_LEN or hlen > len(data):
            raise LengthMismatchError(
                f"TCP: data offset {hlen} bytes does not fit the {len(data)}-byte IP payload")
        return ParsedFrame(dst_mac, src_mac, vlans, ETHERTYPE_IPV4, header, proto, sport, dport,
                           data[hlen:], trailer, data[:hlen], seq, ack, flags, window)
    return ParsedFrame(dst_mac, src_mac, vlans, ETHERTYPE_IPV4, header, proto, None, None, data,
                       trailer)
