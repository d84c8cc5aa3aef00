"""ARP responder: answer "who has <our IPv4 address>?" so a host can reach the device.

RFC 826 (Ethernet/IPv4 ARP: hardware type 1, protocol 0x0800, lengths 6
and 4, operation 1 request / 2 reply) in an untagged Ethernet II frame
(EtherType 0x0806, IEEE 802.3 §3.2). A tap on the receive stream reads each
request; one that asks for our address and ends good is answered with a
42-byte reply (the MAC pads it). The tap never stalls the stream; a request
that comes while a reply is still waiting to leave is dropped and counted.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..layouts import BYTES_PER_BEAT, MacBeat, beat_stream
from .lanes import keep_of

__all__ = ["ARP_REPLY_LEN", "ETHERTYPE_ARP", "ArpResponder"]

ETHERTYPE_ARP = 0x0806
#: Ethernet header + the RFC 826 packet for Ethernet/IPv4
ARP_REPLY_LEN = 14 + 28
_PREFIX = bytes.fromhex("0001" "0800" "06" "04")     # htype, ptype, hlen, plen
_REQUEST, _REPLY = 1, 2
_BEATS = -(-ARP_REPLY_LEN // BYTES_PER_BEAT)
_TAIL = ARP_REPLY_LEN - (_BEATS - 1) * BYTES_PER_BEAT


def _be(value, n: int) -> list:
    return [value[8 * (n - 1 - i):8 * (n - i)] for i in range(n)]


class ArpResponder(wiring.Component):
    """Ports
    -----
    valid, beat : In(1), In(MacBeat)
        A tap on the receive stream (``valid`` = its ``valid & ready``).
    mac, ip : In(48), In(32)
        Our addresses (MAC in wire order).
    o : Out(beat_stream())
        ARP reply frames (no FCS, not padded).
    replies, dropped : Out(32)
        Replies sent; requests for us dropped because a reply was still waiting.
    """

    def __init__(self):
        super().__init__({"valid": In(1), "beat": In(MacBeat), "mac": In(48), "ip": In(32),
                          "o": Out(beat_stream()), "replies": Out(32), "dropped": Out(32)})

    def elaborate(self, platform):
        m = Module()
        beat = self.beat
        # the request's first 42 bytes, captured beat by beat (bytes 0..47)
        head = Signal(8 * _BEATS * BYTES_PER_BEAT)
        idx = Signal(range(_BEATS + 2))
        with m.If(self.valid):
            for k in range(_BEATS):
                with m.If(idx == k):
                    m.d.sync += head.word_select(k, 64).eq(beat.data)
            m.d.sync += idx.eq(Mux(idx == _BEATS + 1, idx, idx + 1))
            with m.If(beat.last):
                m.d.sync += idx.eq(0)

        def field(offset, n):
            return Cat(*reversed([head[8 * (offset + i):8 * (offset + i + 1)]
                                  for i in range(n)]))

        prefix = Const(int.from_bytes(_PREFIX, "big"), 8 * len(_PREFIX))
        dst, ethertype = field(0, 6), field(12, 2)
        sha, spa, tpa = field(22, 6), field(28, 4), field(38, 4)
        is_request = ((ethertype == ETHERTYPE_ARP) & (field(14, len(_PREFIX)) == prefix)
                      & (field(20, 2) == _REQUEST) & (tpa == self.ip)
                      & ((dst == self.mac) | (dst == (1 << 48) - 1)))
        ended = Signal()                  # the frame's last beat came last cycle
        ended_ok = Signal()
        long_enough = Signal()
        m.d.sync += [ended.eq(self.valid & beat.last), ended_ok.eq(~beat.error),
                     long_enough.eq(idx >= _BEATS - 1)]

        pending = Signal()
        to_mac, to_ip = Signal(48), Signal(32)
        with m.If(ended & ended_ok & long_enough & is_request):
            with m.If(pending):
                m.d.sync += self.dropped.eq(self.dropped + 1)
            with m.Else():
                m.d.sync += [pending.eq(1), to_mac.eq(sha), to_ip.eq(spa)]

        reply = Cat(*_be(to_mac, 6), *_be(self.mac, 6), *_be(Const(ETHERTYPE_ARP, 16), 2),
                    *_be(prefix, len(_PREFIX)), *_be(Const(_REPLY, 16), 2),
                    *_be(self.mac, 6), *_be(self.ip, 4), *_be(to_mac, 6), *_be(to_ip, 4),
                    Const(0, 8 * (_BEATS * BYTES_PER_BEAT - ARP_REPLY_LEN)))
        out_idx = Signal(range(_BEATS))
        last = out_idx == _BEATS - 1
        m.d.comb += [self.o.valid.eq(pending),
                     self.o.payload.data.eq(reply.word_select(out_idx, 64)),
                     self.o.payload.first.eq(out_idx == 0), self.o.payload.last.eq(last),
                     self.o.payload.keep.eq(Mux(last, keep_of(_TAIL), 0xFF))]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += out_idx.eq(out_idx + 1)
            with m.If(last):
                m.d.sync += [out_idx.eq(0), pending.eq(0), self.replies.eq(self.replies + 1)]
        return m
