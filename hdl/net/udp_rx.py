"""Ethernet II / IPv4 / UDP receive parser: filter frames, forward the UDP payload realigned.

IEEE 802.3 §3.2 (Ethernet II header), IEEE 802.1Q §9 (one 0x8100 tag),
RFC 791 §3.1 (IPv4 header, options by IHL, fragments), RFC 1071 (header
checksum), RFC 768 (UDP header). The payload (the MoldUDP64 packet) leaves
starting at lane 0 of its first beat, cut to the UDP length, so Ethernet
padding and capture trailers are dropped.

Header fields are 16-bit words at even byte offsets (14/18-byte Ethernet
header, 4-byte IHL units), so each is captured from one beat. The whole
header is known once the beat that holds its last byte was accepted; output
lags input by one beat, and the verdict (checksum, filters, lengths) is a
register, so the first payload beat may wait one cycle for it. The header
ends at an even offset that is 2 mod 4, and the payload is shifted by that
offset mod 8 (a two-beat byte shifter).

The last payload beat is held until the frame's last beat arrives, so its
``error`` carries the MAC's verdict (FCS, ...) and a short-frame check
(frame ends before the IPv4 total length). A frame that ends in error after
payload beats went out is closed by a beat with ``last=1, error=1`` (its
``keep`` may be 0). Per frame, one cycle flushes the held beat and at most
one waits for the verdict; otherwise the input takes one beat per cycle, so
the parser keeps up with the MAC (a frame brings at least 20 bytes, 2.5
columns, of preamble and gap).
"""

import enum

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tick2trade.proto.net import (
    ETH_HEADER_LEN,
    ETHERTYPE_IPV4,
    ETHERTYPE_VLAN,
    IP_FLAG_MF,
    IP_FRAG_MASK,
    IPPROTO_UDP,
    UDP_HEADER_LEN,
    VLAN_TAG_LEN,
)

from ..layouts import BYTES_PER_BEAT, TIMESTAMP_WIDTH, UdpBeat, mac_stream, udp_stream
from .lanes import keep_of
from .udp_rx_config import UDP_RX_COUNTERS, UdpRxConfigSignature, UdpRxStats

__all__ = ["Drop", "UdpRx"]

BROADCAST = (1 << 48) - 1
WORDS_PER_BEAT = BYTES_PER_BEAT // 2
_MAX_BEAT = 15          # beat index saturates here (headers end by beat 10)


class Drop(enum.IntEnum):
    """Why a frame was not forwarded; checked in this order (see ``UDP_RX_COUNTERS``)."""

    NONE = 0
    DST_MAC = 1
    NOT_IPV4 = 2
    IP_CHECKSUM = 3
    FRAGMENTS = 4
    NOT_UDP = 5
    BAD_LENGTH = 6
    DST_PORT = 7


class UdpRx(wiring.Component):
    """Ports
    -----
    i : In(mac_stream())
        Frames from the MAC (``error`` meaningful on ``last``); idle gaps allowed.
    o : Out(udp_stream())
        UDP payloads of accepted frames; may be back-pressured.
    config : In(UdpRxConfigSignature)
        Own MAC, multicast group table, broadcast policy, UDP port table,
        IPv4 checksum check enable.
    stats : Out(UdpRxStats)
        One counter per outcome; every frame is counted once.
    """

    def __init__(self, groups: int = 4, ports: int = 4, line: int = 0):
        self.line = line
        super().__init__({
            "i": In(mac_stream()),
            "o": Out(udp_stream()),
            "config": In(UdpRxConfigSignature(groups, ports)),
            "stats": Out(UdpRxStats()),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        beat = self.i.payload
        # beats are formed into ``out`` (``out_valid``), then pass an elastic stage (``self.o``
        # and a skid register): the parser's input handshake reads registers only (timing)
        out = Signal(UdpBeat)
        out_valid = Signal()
        skid = Signal(UdpBeat)
        skid_valid = Signal()

        # --- beat bookkeeping ---------------------------------------------------------------
        idx = Signal(range(_MAX_BEAT + 1))          # index of the incoming beat in its frame
        nbytes = Signal(16)                          # bytes accepted in this frame
        hold = Signal.like(beat.data, name="hold")  # previous beat, one behind the input
        hold_idx = Signal(range(_MAX_BEAT + 1))
        hold_at_header = Signal()                    # ``hold`` is the last header beat
        hold_past_header = Signal()                  # ... or a later one
        hold_error = Signal()
        hold_valid = Signal()
        flush = Signal()                             # the frame's last beat is in ``hold``
        out_free = ~out_valid | ~skid_valid
        accept = Signal()

        lanes = [beat.data[8 * k:8 * k + 8] for k in range(BYTES_PER_BEAT)]
        words = [Cat(lanes[2 * k + 1], lanes[2 * k]) for k in range(WORDS_PER_BEAT)]

        # --- captured header fields ---------------------------------------------------------
        dst_mac = Signal(48)
        mac_ok = Signal()
        stamp = Signal(TIMESTAMP_WIDTH)
        vlan = Signal()
        type_outer = Signal(16)
        type_inner = Signal(16)
        vihl_plain = Signal(8)
        vihl_tagged = Signal(8)
        ip_total = Signal(16)
        ip_frag = Signal(16)
        ip_proto = Signal(8)
        udp_port = Signal(16)
        udp_len = Signal(16)
        udp_payload_len = Signal(16)
        port_hit = Signal()
        udp_len_bad = Signal()
        ip_payload_len = Signal(16)      # IPv4 total length minus its header (registered)
        plen_zero = Signal()             # UDP payload empty (with a good UDP length)
        plen_small = Signal()            # ... or within one beat
        csum = Signal(24)
        partial = [Signal(17, name="partial_lo"), Signal(17, name="partial_hi")]
        mask = Signal(WORDS_PER_BEAT)
        settle = Signal(2)               # cycles since the IPv4 header's last beat came in
        header_beat = Signal(range(_MAX_BEAT + 1))

        ethertype = Mux(vlan, type_inner, type_outer)
        vihl = Mux(vlan, vihl_tagged, vihl_plain)
        ihl = vihl[0:4]
        ip_word = Mux(vlan, (ETH_HEADER_LEN + VLAN_TAG_LEN) // 2, ETH_HEADER_LEN // 2)
        ip_start = Mux(vlan, ETH_HEADER_LEN + VLAN_TAG_LEN, ETH_HEADER_LEN)
        udp_word = Signal(6)
        header_end = Signal(6)           # first word after the IPv4 header
        header_len = Signal(7)                 # bytes up to the UDP payload
        # first word after the IPv4 header, worked out as each candidate IHL byte arrives
        end_plain = Signal(6)
        end_tagged = Signal(6)

        def header_end_of(vihl_byte, ip_first_word):
            nibble = vihl_byte[0:4]
            return ip_first_word + 2 * Mux(nibble < 5, 5, nibble)

        m.d.comb += [header_end.eq(Mux(vlan, end_tagged, end_plain)), udp_word.eq(header_end),
                     header_len.eq(2 * udp_word + UDP_HEADER_LEN)]
        last_header_beat = (header_len - 1)[3:]

        def capture(word_pos, target, low_byte=False, derive=(), registered=False):
            """Store the word at ``word_pos``; ``derive``: (register, function of the word).

            ``registered``: compare against the position registered a cycle earlier (for
            the UDP words: their position is known from beat 2, they come from beat 4).
            """
            if registered:
                pos = Signal(6, name=f"{target.name}_pos")
                m.d.sync += pos.eq(word_pos)
                word_pos = pos
            with m.If(idx == word_pos[2:]):
                with m.Switch(word_pos[0:2]):
                    for k in range(WORDS_PER_BEAT):
                        with m.Case(k):
                            value = words[k][0:8] if low_byte else words[k]
                            m.d.sync += target.eq(value)
                            for register, function in derive:
                                m.d.sync += register.eq(function(value))

        with m.If(accept):
            with m.Switch(idx):
                with m.Case(0):
                    m.d.sync += [dst_mac.eq(Cat(*reversed(lanes[0:6]))),
                                 stamp.eq(beat.timestamp)]
                with m.Case(1):
                    m.d.sync += [type_outer.eq(words[2]), vlan.eq(words[2] == ETHERTYPE_VLAN),
                                 vihl_plain.eq(lanes[6]),
                                 end_plain.eq(header_end_of(lanes[6], ETH_HEADER_LEN // 2))]
                with m.Case(2):
                    m.d.sync += [type_inner.eq(words[0]), vihl_tagged.eq(lanes[2]),
                                 end_tagged.eq(header_end_of(
                                     lanes[2], (ETH_HEADER_LEN + VLAN_TAG_LEN) // 2))]
            with m.If(idx >= 2):
                capture(ip_word + 1, ip_total)
                capture(ip_word + 3, ip_frag)
                capture(ip_word + 4, ip_proto, low_byte=True)
                # the UDP words are only stored here; their checks follow a cycle later
                capture(udp_word + 1, udp_port, registered=True)
                capture(udp_word + 2, udp_len, registered=True, derive=[
                    (plen_zero, lambda length: length == UDP_HEADER_LEN),
                    (plen_small, lambda length: length <= UDP_HEADER_LEN + BYTES_PER_BEAT)])
            # IPv4 header checksum, pipelined: the words of this beat that lie inside the
            # header (``mask``, worked out one beat ahead) are summed in pairs into ``partial``
            # (two 2-operand adders; zero when no beat comes in),
            # which is added to ``csum`` on the next cycle. Word 7 (beat 1) is in the header
            # only without a tag; that is decided by this very beat.
            with m.Switch(idx):
                with m.Case(0):
                    m.d.sync += [partial[0].eq(0), partial[1].eq(0)]
                with m.Case(1):
                    m.d.sync += [partial[0].eq(Mux(words[2] == ETHERTYPE_VLAN, 0, words[3])),
                                 partial[1].eq(0)]
                with m.Default():
                    m.d.sync += [
                        partial[0].eq(Mux(mask[0], words[0], 0) + Mux(mask[1], words[1], 0)),
                        partial[1].eq(Mux(mask[2], words[2], 0) + Mux(mask[3], words[3], 0))]
            # words of beat b inside the header: beat 2 all but word 8 when tagged, beat 3
            # all (the header spans words 7 or 9 to 17 at least), later beats those below
            # the first word after the header (from registered VLAN and IHL)
            next_idx = idx + 1
            with m.Switch(next_idx):
                with m.Case(1):
                    m.d.sync += mask.eq(0)
                with m.Case(2):
                    m.d.sync += mask.eq(Mux(words[2] == ETHERTYPE_VLAN, 0b1110, 0b1111))
                with m.Case(3):
                    m.d.sync += mask.eq(0b1111)
                with m.Default():
                    for k in range(WORDS_PER_BEAT):
                        m.d.sync += mask[k].eq(Cat(Const(k, 2), next_idx) < header_end)
            # the verdict register is good two cycles after the last header beat and three
            # after the one that completes the IPv4 header (``csum`` lags a cycle)
            with m.If(idx == header_beat - 1):
                m.d.sync += settle.eq(0)
            with m.If(idx == header_beat):
                m.d.sync += settle.eq(1)
            m.d.sync += [idx.eq(Mux(idx == _MAX_BEAT, idx, idx + 1)),
                         nbytes.eq(nbytes + sum(beat.keep[k] for k in range(BYTES_PER_BEAT))),
                         hold.eq(beat.data), hold_idx.eq(idx), hold_error.eq(beat.error),
                         hold_at_header.eq(idx == header_beat),
                         hold_past_header.eq(idx >= header_beat),
                         hold_valid.eq(1), flush.eq(beat.last)]

        # --- verdict ---------------------------------------------------------------------
        # The whole verdict is registered; forming the first payload beat waits until
        # ``settle`` reaches 2 (one stall cycle per frame when beats arrive back to back).
        m.d.sync += csum.eq(Mux(idx == 0, 0, csum + partial[0] + partial[1]))
        with m.If(~accept):
            m.d.sync += [partial[0].eq(0), partial[1].eq(0)]
        with m.If(~(accept & ((idx == header_beat - 1) | (idx == header_beat))) & (settle != 3)):
            m.d.sync += settle.eq(settle + 1)
        # RFC 1071: the header is good when the folded sum is 0xFFFF. The sum is under 2**21
        # (at most 30 words), so its high part ``hi`` is under 0x100 and ``lo + hi`` under
        # 0x1FFFF: the folded sum is 0xFFFF exactly when ``lo == 0xFFFF - hi`` (no carry),
        # i.e. the middle byte is 0xFF and the low byte is the complement of ``hi``.
        csum_ok = (csum[8:16] == 0xFF) & (csum[0:8] == ~csum[16:24])
        ip_header_bytes = Cat(Const(0, 2), ihl)
        # header geometry, registered (settled long before the last header beat)
        ip_end = Signal(17)
        shift = Signal(3)
        m.d.sync += [ip_payload_len.eq(ip_total - ip_header_bytes),
                     ip_end.eq(ip_start + ip_total),
                     header_beat.eq(last_header_beat), shift.eq(header_len[0:3])]
        # the destination MAC is checked a cycle after it came in (beat 0; needed from beat 4)
        group_hit = Cat(*(cfg.group_valid[g] & (cfg.group_mac[g] == dst_mac)
                          for g in range(len(cfg.group_valid)))).any()
        m.d.sync += mac_ok.eq((dst_mac == cfg.own_mac) | group_hit
                              | (cfg.accept_broadcast & (dst_mac == BROADCAST)))
        # checks on IPv4 fields (complete a beat before the UDP header ends) are flags
        # registered a cycle early, so the priority chain below reads flip-flops
        not_ipv4 = Signal()
        fragment = Signal()
        not_udp = Signal()
        ip_short = Signal()
        m.d.sync += [
            not_ipv4.eq((ethertype != ETHERTYPE_IPV4) | (vihl[4:8] != 4) | (ihl < 5)),
            fragment.eq((ip_frag & (IP_FLAG_MF | IP_FRAG_MASK)) != 0),
            not_udp.eq(ip_proto != IPPROTO_UDP),
            ip_short.eq(ip_total < ip_header_bytes + UDP_HEADER_LEN),
        ]
        reason = Signal(Drop)
        with m.If(~mac_ok):
            m.d.sync += reason.eq(Drop.DST_MAC)
        with m.Elif(not_ipv4):
            m.d.sync += reason.eq(Drop.NOT_IPV4)
        with m.Elif(cfg.check_ip_checksum & ~csum_ok):
            m.d.sync += reason.eq(Drop.IP_CHECKSUM)
        with m.Elif(fragment):
            m.d.sync += reason.eq(Drop.FRAGMENTS)
        with m.Elif(not_udp):
            m.d.sync += reason.eq(Drop.NOT_UDP)
        with m.Elif(ip_short):
            m.d.sync += reason.eq(Drop.BAD_LENGTH)
        with m.Else():
            m.d.sync += reason.eq(Drop.NONE)
        # the UDP checks, from the stored words a cycle after they came in (the last header
        # beat may carry them), join the registered reason where it is used
        m.d.sync += [
            udp_payload_len.eq(udp_len - UDP_HEADER_LEN),
            udp_len_bad.eq((udp_len <= UDP_HEADER_LEN) | (udp_len > ip_payload_len)),
            port_hit.eq(Cat(*(cfg.port_valid[p] & (cfg.port[p] == udp_port)
                              for p in range(len(cfg.port_valid)))).any()),
        ]
        verdict = Signal(Drop)
        m.d.comb += verdict.eq(Mux(reason != Drop.NONE, reason,
                                   Mux(udp_len_bad, Drop.BAD_LENGTH,
                                       Mux(port_hit, Drop.NONE, Drop.DST_PORT))))
        header_done = hold_past_header
        passed = header_done & (reason == Drop.NONE) & ~udp_len_bad & port_hit
        short = nbytes < ip_end
        end_error = hold_error | short
        wait_verdict = hold_valid & hold_at_header & ~settle[1]
        m.d.comb += [self.i.ready.eq(~flush & out_free & ~wait_verdict),
                     accept.eq(self.i.valid & self.i.ready)]

        # --- payload: one output beat per step -----------------------------------------------
        step = Signal()
        flush_go = flush & out_free & ~wait_verdict
        m.d.comb += step.eq((accept & hold_valid) | flush_go)
        rem = Signal(16)              # payload bytes not yet formed
        rem_now = Mux(hold_at_header, udp_payload_len, rem)
        # registered ``rem_now == 0`` and ``rem_now <= 8`` (for the payload length: from the
        # UDP length word as it is captured), off the stream control path
        rem_zero = Signal(init=1)
        rem_small = Signal(init=1)
        emitted = Signal()
        staged = Signal()             # the final payload beat waits for the frame's end
        next_data = Mux(flush, 0, beat.data)
        formed = (Cat(hold, next_data) >> Cat(Const(0, 3), shift))[:64]
        final = Mux(hold_at_header, plen_small, rem_small)
        nonzero = ~Mux(hold_at_header, plen_zero, rem_zero)

        transfer = out_valid & ~skid_valid
        with m.If(transfer):
            m.d.sync += out_valid.eq(0)
        with m.If(~self.o.valid | self.o.ready):
            with m.If(skid_valid):
                m.d.sync += [self.o.payload.eq(skid), self.o.valid.eq(1), skid_valid.eq(0)]
            with m.Else():
                m.d.sync += [self.o.payload.eq(out), self.o.valid.eq(transfer)]
        with m.Elif(transfer):
            m.d.sync += [skid.eq(out), skid_valid.eq(1)]

        def load(last, error=0):
            m.d.sync += [out.data.eq(formed), out.first.eq(~emitted), out.last.eq(last),
                         out.error.eq(error), out.dst_port.eq(udp_port),
                         out.timestamp.eq(stamp), out.line.eq(self.line),
                         out.keep.eq(Mux(final, keep_of(rem_now[0:4]), 0xFF)),
                         emitted.eq(1),
                         rem.eq(Mux(final, 0, rem_now - BYTES_PER_BEAT)),
                         rem_zero.eq(final),
                         rem_small.eq(final | (rem_now <= 2 * BYTES_PER_BEAT))]

        with m.If(step):
            with m.If(passed & nonzero):
                with m.If(~final & ~flush):
                    load(last=0)
                    m.d.sync += out_valid.eq(1)
                with m.Elif(flush):
                    # a frame ending with payload still due was cut short: close in error
                    load(last=1, error=end_error | ~final)
                    m.d.sync += out_valid.eq(1)
                with m.Else():
                    load(last=1)
                    m.d.sync += staged.eq(1)
            with m.Elif(flush & staged):
                m.d.sync += [out_valid.eq(1), out.error.eq(end_error), staged.eq(0)]

        # --- end of frame: count once, reset -------------------------------------------------
        def bump(name):
            counter = getattr(self.stats, name)
            m.d.sync += counter.eq(counter + 1)

        with m.If(flush_go):
            m.d.sync += [flush.eq(0), hold_valid.eq(0), idx.eq(0), nbytes.eq(0), mask.eq(0),
                         emitted.eq(0), staged.eq(0), rem.eq(0), rem_zero.eq(1),
                         rem_small.eq(1)]
            with m.If(hold_error):
                bump("mac_errors")
            with m.Elif(~header_done):
                bump("truncated")
            with m.Else():
                with m.Switch(verdict):
                    for drop in Drop:
                        if drop is not Drop.NONE:
                            with m.Case(drop):
                                bump(drop.name.lower())
                    with m.Default():
                        with m.If(short):
                            bump("truncated")
                        with m.Else():
                            bump("packets")
        assert set(UDP_RX_COUNTERS) == {"packets", "mac_errors", "truncated"} | {
            d.name.lower() for d in Drop if d is not Drop.NONE}
        return m
