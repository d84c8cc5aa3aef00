"""Who sent a frame: source MAC, IPv4 address and UDP port, read from a tap on a frame stream.

IEEE 802.3 §3.2 (source MAC at bytes 6–11), IEEE 802.1Q §9 (one 0x8100 tag
moves the IPv4 header by 4 bytes), RFC 791 §3.1 (source address at header
bytes 12–15, the header is IHL × 4 bytes), RFC 768 (source port first in
the UDP header). The tap never stalls the stream it watches; it does not
judge the frame (``UdpRx`` does): it only remembers where the frame came
from, so a reply can go back there.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tick2trade.proto.net import ETH_HEADER_LEN, ETHERTYPE_VLAN, VLAN_TAG_LEN

from ..layouts import BYTES_PER_BEAT, MacBeat
from .udp_tx import UdpDest

__all__ = ["UdpSenderTap"]

_SRC_MAC_AT = 6
_IP_SRC_AT = 12            # within the IPv4 header
_MAX_BEAT = 15             # a UDP header ends by byte 18 + 60 + 8 (beat 10)


class UdpSenderTap(wiring.Component):
    """Ports
    -----
    valid : In(1)
        A beat of ``beat`` is taken by the watched stream this cycle (``valid & ready``).
    beat : In(MacBeat)
        The watched stream's payload.
    sender : Out(UdpDest)
        Source MAC, IPv4 address and UDP port of the last frame that ended.
    done : Out(1)
        One cycle after a frame's last beat: ``sender`` now describes it.
    """

    def __init__(self):
        super().__init__({"valid": In(1), "beat": In(MacBeat), "sender": Out(UdpDest),
                          "done": Out(1)})

    def elaborate(self, platform):
        m = Module()
        beat = self.beat
        lanes = [beat.data[8 * k:8 * k + 8] for k in range(BYTES_PER_BEAT)]
        idx = Signal(range(_MAX_BEAT + 1))
        vlan = Signal()
        ihl_plain, ihl_tagged = Signal(4), Signal(4)
        mac = [Signal(8, name=f"mac{j}") for j in range(6)]
        ip = [Signal(8, name=f"ip{j}") for j in range(4)]
        port = [Signal(8, name=f"port{j}") for j in range(2)]
        ip_start = Mux(vlan, ETH_HEADER_LEN + VLAN_TAG_LEN, ETH_HEADER_LEN)
        udp_start = Signal(8)
        m.d.comb += udp_start.eq(ip_start + Cat(0, 0, Mux(vlan, ihl_tagged, ihl_plain)))

        def grab(target, pos):
            with m.If(idx == pos[3:]):
                with m.Switch(pos[:3]):
                    for k in range(BYTES_PER_BEAT):
                        with m.Case(k):
                            m.d.sync += target.eq(lanes[k])

        m.d.sync += self.done.eq(0)
        with m.If(self.valid):
            m.d.sync += idx.eq(Mux(beat.last, 0, Mux(idx == _MAX_BEAT, idx, idx + 1)))
            for j, target in enumerate(mac):
                pos = _SRC_MAC_AT + j
                if pos // BYTES_PER_BEAT == 0:
                    with m.If(idx == 0):
                        m.d.sync += target.eq(lanes[pos])
                else:
                    with m.If(idx == 1):
                        m.d.sync += target.eq(lanes[pos - BYTES_PER_BEAT])
            with m.If(idx == 1):
                m.d.sync += [vlan.eq(Cat(lanes[5], lanes[4]) == ETHERTYPE_VLAN),
                             ihl_plain.eq(lanes[ETH_HEADER_LEN - BYTES_PER_BEAT][:4])]
            with m.If(idx == 2):
                m.d.sync += ihl_tagged.eq(lanes[ETH_HEADER_LEN + VLAN_TAG_LEN
                                                - 2 * BYTES_PER_BEAT][:4])
            with m.If(idx >= 3):
                for j, target in enumerate(ip):
                    grab(target, (ip_start + _IP_SRC_AT + j)[:8])
                for j, target in enumerate(port):
                    grab(target, (udp_start + j)[:8])
            with m.If(beat.last):
                m.d.sync += self.done.eq(1)
        m.d.comb += [self.sender.mac.eq(Cat(*reversed(mac))), self.sender.ip.eq(Cat(*reversed(ip))),
                     self.sender.port.eq(Cat(*reversed(port)))]
        return m
