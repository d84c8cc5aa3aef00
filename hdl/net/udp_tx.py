"""Ethernet II / IPv4 / UDP transmit framer: a UDP payload in, the whole frame out.

IEEE 802.3 §3.2 (Ethernet II header), RFC 791 §3.1 (IPv4 header: version 4,
IHL 5, no options, TTL 64, identification 0, no flags — every datagram fits
one frame), RFC 1071 (the header checksum, computed here), RFC 768 (UDP
header; the checksum is sent as 0, "no checksum", which IPv4 allows, so the
payload streams through without being buffered). The frame leaves without
FCS and without padding: the MAC adds both (:mod:`.mac.xgmii_tx`).

The destination and the payload length ride on the payload's first beat
(:class:`UdpTxBeat`); the header (42 bytes) goes out first, then the payload
shifted by two bytes. A payload whose byte count differs from its declared
``length`` is sent as it came and counted in ``length_errors``.
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from tick2trade.proto.net import (
    ETH_HEADER_LEN,
    ETHERTYPE_IPV4,
    IPPROTO_UDP,
    IPV4_HEADER_LEN,
    UDP_HEADER_LEN,
)

from ..layouts import BYTES_PER_BEAT, beat_stream
from .lanes import keep_of

__all__ = ["FRAME_HEADER_LEN", "IP_TTL", "UdpDest", "UdpTx", "UdpTxBeat", "UdpTxConfigSignature",
           "udp_tx_stream"]

#: Ethernet + IPv4 + UDP header bytes in front of the payload
FRAME_HEADER_LEN = ETH_HEADER_LEN + IPV4_HEADER_LEN + UDP_HEADER_LEN
#: time to live of every datagram sent (RFC 791 §3.1; Linux's default)
IP_TTL = 64
_HEADER_BEATS = FRAME_HEADER_LEN // BYTES_PER_BEAT      # whole header beats (5)
_CARRY = FRAME_HEADER_LEN % BYTES_PER_BEAT               # header bytes in the first payload beat


class UdpDest(data.Struct):
    """Where a datagram goes: MAC (wire order, first byte most significant), IPv4, UDP port."""

    mac: 48
    ip: 32
    port: 16


class UdpTxBeat(data.Struct):
    """A beat of a UDP payload to send; ``dest`` and ``length`` are read on the first beat."""

    data: 64
    keep: 8
    first: 1
    last: 1
    dest: UdpDest
    length: 16


def udp_tx_stream():
    return stream.Signature(UdpTxBeat)


class UdpTxConfigSignature(wiring.Signature):
    """Our own addresses (``Out`` = the driver's view, as ``UdpRxConfigSignature``)."""

    def __init__(self):
        super().__init__({"src_mac": Out(48), "src_ip": Out(32), "src_port": Out(16)})


def _be(value, n: int) -> list:
    """``value`` as ``n`` big-endian bytes (first on the wire first)."""
    return [value[8 * (n - 1 - i):8 * (n - i)] for i in range(n)]


class UdpTx(wiring.Component):
    """Ports
    -----
    i : In(udp_tx_stream())
        Payloads with their destination and length on the first beat; gaps allowed.
    o : Out(beat_stream())
        Ethernet frames (destination MAC first, no FCS, not padded); may be back-pressured.
    config : In(UdpTxConfigSignature)
        Source MAC, IPv4 address and UDP port.
    frames, length_errors : Out(32)
        Frames sent; payloads whose size differed from their ``length`` (sent anyway).
    """

    def __init__(self):
        super().__init__({
            "i": In(udp_tx_stream()),
            "o": Out(beat_stream()),
            "config": In(UdpTxConfigSignature()),
            "frames": Out(32),
            "length_errors": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        beat = self.i.payload
        out = self.o.payload

        dest = Signal(UdpDest)
        length = Signal(16)
        ip_total = Signal(16)
        csum_sum = Signal(20)
        csum = Signal(16)
        seen = Signal(17)                 # payload bytes taken so far
        index = Signal(range(_HEADER_BEATS + 1))
        carry = Signal(8 * _CARRY)        # bytes waiting for the next output beat
        tail_keep = Signal(8)

        # RFC 791 §3.1 header, RFC 1071 checksum over its ten 16-bit words
        fixed = ((4 << 12 | 5 << 8) + (IP_TTL << 8 | IPPROTO_UDP))
        header = [*_be(dest.mac, 6), *_be(cfg.src_mac, 6), *_be(Const(ETHERTYPE_IPV4, 16), 2),
                  Const(0x45, 8), Const(0, 8), *_be(ip_total, 2), *[Const(0, 8)] * 4,
                  Const(IP_TTL, 8), Const(IPPROTO_UDP, 8), *_be(csum, 2),
                  *_be(cfg.src_ip, 4), *_be(dest.ip, 4), *_be(cfg.src_port, 2),
                  *_be(dest.port, 2), *_be((length + UDP_HEADER_LEN)[:16], 2),
                  Const(0, 8), Const(0, 8)]
        assert len(header) == FRAME_HEADER_LEN
        header_bits = Cat(*header)

        out_free = ~self.o.valid | self.o.ready
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        def emit(data_, keep, first=0, last=0):
            m.d.sync += [self.o.valid.eq(1), out.data.eq(data_), out.keep.eq(keep),
                         out.first.eq(first), out.last.eq(last)]

        nbytes = Signal(4)
        m.d.comb += nbytes.eq(sum(beat.keep[k] for k in range(BYTES_PER_BEAT)))

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.i.valid & ~beat.first):
                    m.d.comb += self.i.ready.eq(1)          # stray beat outside a payload
                    m.d.sync += self.length_errors.eq(self.length_errors + 1)
                with m.Elif(self.i.valid):
                    m.d.sync += [dest.eq(beat.dest), length.eq(beat.length),
                                 ip_total.eq(beat.length + IPV4_HEADER_LEN + UDP_HEADER_LEN),
                                 seen.eq(0), index.eq(0)]
                    m.next = "SUM"
            with m.State("SUM"):
                m.d.sync += csum_sum.eq(fixed + ip_total + dest.ip[16:] + dest.ip[:16]
                                        + cfg.src_ip[16:] + cfg.src_ip[:16])
                m.next = "FOLD"
            with m.State("FOLD"):
                folded = csum_sum[:16] + csum_sum[16:]
                m.d.sync += csum.eq(~(folded[:16] + folded[16])[:16])
                m.next = "HEADER"
            with m.State("HEADER"):
                with m.If(out_free):
                    emit(header_bits.word_select(index, 64), 0xFF, first=index == 0)
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == _HEADER_BEATS - 1):
                        m.d.sync += carry.eq(header_bits[-8 * _CARRY:])
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += self.i.ready.eq(out_free)
                with m.If(self.i.valid & out_free):
                    total = seen + nbytes
                    m.d.sync += [carry.eq(beat.data[-8 * _CARRY:]), seen.eq(total)]
                    with m.If(beat.last):
                        m.d.sync += self.frames.eq(self.frames + 1)
                        with m.If(total != length):
                            m.d.sync += self.length_errors.eq(self.length_errors + 1)
                        with m.If(nbytes <= BYTES_PER_BEAT - _CARRY):
                            emit(Cat(carry, beat.data[:-8 * _CARRY]), keep_of(nbytes + _CARRY),
                                 last=1)
                            m.next = "IDLE"
                        with m.Else():
                            emit(Cat(carry, beat.data[:-8 * _CARRY]), 0xFF)
                            m.d.sync += tail_keep.eq(keep_of(nbytes - (BYTES_PER_BEAT - _CARRY)))
                            m.next = "TAIL"
                    with m.Else():
                        emit(Cat(carry, beat.data[:-8 * _CARRY]), 0xFF)
            with m.State("TAIL"):
                with m.If(out_free):
                    emit(carry, tail_keep, last=1)
                    m.next = "IDLE"
        return m
