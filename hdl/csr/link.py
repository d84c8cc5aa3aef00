"""The control plane's UDP link: Ethernet frames in, control datagrams to the endpoint, replies
and events framed back to the host.

Receive: :class:`~tick2trade.hdl.net.udp_rx.UdpRx` filters frames for our MAC
and the control port (IPv4 header checksum checked); a
:class:`~tick2trade.hdl.net.udp_sender.UdpSenderTap` on the same stream
remembers each frame's source MAC, IPv4 address and UDP port. Each UDP
payload is buffered whole (store-and-forward) and handed to the endpoint only
if its frame ended good, so a datagram with a bad FCS never touches a
register; bad, oversized or surplus datagrams are dropped and counted. The
input is never back-pressured by the link (a shared MAC keeps running).

Transmit: the endpoint answers every request with exactly one reply, which
goes back to that request's sender; the sender of the last ``SUBSCRIBE``
becomes the subscriber, and EVENTS datagrams go there. Replies and events
are merged a whole datagram at a time (a reply first when both wait), and
framed by :class:`~tick2trade.hdl.net.udp_tx.UdpTx`: our MAC, IPv4 address
and control port as source, the IPv4 header checksum computed, the UDP
checksum 0 (RFC 768: none; allowed in IPv4). The UDP length is read from the
control header (``proto/control``: 8 bytes + ``length``). Replies are
untagged (no 802.1Q) whatever the request carried. An
:class:`~tick2trade.hdl.net.arp.ArpResponder` answers ARP requests for our
IPv4 address (RFC 826), so hosts need no static ARP entry.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tick2trade.proto import control as c

from ..layouts import Beat, beat_stream, mac_stream
from ..net.arp import ArpResponder
from ..net.udp_rx import UdpRx
from ..net.udp_rx_config import UdpRxStats
from ..net.udp_sender import UdpSenderTap
from ..net.udp_tx import UdpDest, UdpTx

__all__ = ["ControlLink", "ControlLinkConfig"]

#: request buffer: beats (two largest datagrams and more)
REQUEST_BEATS = 512
#: datagrams waiting for the endpoint, at most
REQUEST_QUEUE = 32


class ControlLinkConfig(wiring.Signature):
    """Our MAC (wire order), IPv4 address and control UDP port (``Out`` = the driver's view)."""

    def __init__(self):
        super().__init__({"mac": Out(48), "ip": Out(32), "port": Out(16)})


def _length_of(first_beat) -> object:
    """Datagram bytes from the first beat's control header (``proto/control``: length u16 at 6)."""
    return c.HEADER.size + Cat(first_beat[56:64], first_beat[48:56])


class ControlLink(wiring.Component):
    """Ports
    -----
    rx : In(mac_stream())
        Frames from the MAC receiver (FCS stripped, ``error`` on the last beat).
    tx : Out(beat_stream())
        Frames to the MAC transmitter (:class:`~tick2trade.hdl.net.mac.xgmii_tx.XgmiiTx`).
    config : In(ControlLinkConfig)
        Our addresses and the control port.
    ctl_rx, ctl_tx : Out(beat_stream()), In(beat_stream())
        To and from ``ControlPlane.rx`` / ``.tx``: one request, then its reply.
    subscribed : In(1)
        ``ControlPlane.subscribed``: the request being served is a SUBSCRIBE.
    events : In(beat_stream())
        EVENTS datagrams (:class:`~.events.EventPacker`), sent to the subscriber.
    subscriber : Out(UdpDest)
        Where events go.
    udp_stats : Out(UdpRxStats)
        The receive filter's counters.
    dropped, sent, arp_replies : Out(32)
        Good control datagrams dropped (buffer or queue full, or frame bad after the
        UDP header); UDP frames sent; ARP replies sent.
    """

    def __init__(self):
        super().__init__({
            "rx": In(mac_stream()), "tx": Out(beat_stream()), "config": In(ControlLinkConfig()),
            "ctl_rx": Out(beat_stream()), "ctl_tx": In(beat_stream()), "subscribed": In(1),
            "events": In(beat_stream()), "subscriber": Out(UdpDest),
            "udp_stats": Out(UdpRxStats()), "dropped": Out(32), "sent": Out(32),
            "arp_replies": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.udp_rx = udp_rx = UdpRx(groups=1, ports=1)
        m.submodules.tap = tap = UdpSenderTap()
        m.submodules.udp_tx = udp_tx = UdpTx()
        cfg = self.config
        m.d.comb += [udp_rx.config.own_mac.eq(cfg.mac), udp_rx.config.port[0].eq(cfg.port),
                     udp_rx.config.port_valid.eq(1), udp_rx.config.group_valid.eq(0),
                     udp_rx.config.accept_broadcast.eq(0), udp_rx.config.check_ip_checksum.eq(1),
                     udp_tx.config.src_mac.eq(cfg.mac), udp_tx.config.src_ip.eq(cfg.ip),
                     udp_tx.config.src_port.eq(cfg.port)]
        wiring.connect(m, wiring.flipped(self.rx), udp_rx.i)
        wiring.connect(m, udp_rx.stats, wiring.flipped(self.udp_stats))
        m.d.comb += [tap.valid.eq(self.rx.valid & self.rx.ready), tap.beat.eq(self.rx.payload)]
        m.submodules.arp = arp = ArpResponder()
        m.d.comb += [arp.valid.eq(tap.valid), arp.beat.eq(self.rx.payload), arp.mac.eq(cfg.mac),
                     arp.ip.eq(cfg.ip), self.arp_replies.eq(arp.replies)]

        # --- requests: buffered whole, committed with their sender when the frame ended good --
        m.submodules.buf = buf = Memory(shape=Beat, depth=REQUEST_BEATS, init=[])
        wr, rd = buf.write_port(), buf.read_port(domain="sync")
        m.submodules.senders = senders = SyncFIFO(width=UdpDest.as_shape().size,
                                                  depth=REQUEST_QUEUE)
        ptr_bits = REQUEST_BEATS.bit_length()            # one bit more than the address
        wr_ptr, commit_ptr, rd_ptr = Signal(ptr_bits), Signal(ptr_bits), Signal(ptr_bits)
        overflow = Signal()
        last_sender = Signal(UdpDest)
        with m.If(tap.done):
            m.d.sync += last_sender.eq(tap.sender)

        beat = udp_rx.o.payload
        # registered with a beat to spare: at most one beat is written per cycle
        room = Signal()
        m.d.sync += room.eq((wr_ptr - rd_ptr)[:ptr_bits] < REQUEST_BEATS - 1)
        m.d.comb += udp_rx.o.ready.eq(1)
        with m.If(udp_rx.o.valid):
            write = room & ~overflow
            m.d.comb += [wr.addr.eq(wr_ptr[:-1]), wr.en.eq(write),
                         wr.data.eq(Cat(beat.data, beat.keep, beat.first, beat.last))]
            next_wr = wr_ptr + write
            m.d.sync += wr_ptr.eq(next_wr)
            with m.If(~write):
                m.d.sync += overflow.eq(1)
            with m.If(beat.last):
                m.d.sync += overflow.eq(0)
                with m.If(beat.error | ~write | overflow | ~senders.w_rdy):
                    m.d.sync += [wr_ptr.eq(commit_ptr), self.dropped.eq(self.dropped + 1)]
                with m.Else():
                    m.d.sync += commit_ptr.eq(next_wr)
                    m.d.comb += [senders.w_en.eq(1), senders.w_data.eq(last_sender)]

        # --- to the endpoint, one datagram per reply ----------------------------------------
        reply_to = Signal(UdpDest)
        reply_due = Signal()                # a request went in, its reply has not left yet
        out = self.ctl_rx
        taken = out.valid & out.ready
        m.d.comb += rd.addr.eq(Mux(taken, rd_ptr + 1, rd_ptr)[:-1])
        with m.FSM(name="request"):
            with m.State("IDLE"):
                with m.If(senders.r_rdy & ~reply_due):
                    m.d.comb += senders.r_en.eq(1)
                    m.d.sync += reply_to.eq(senders.r_data)
                    m.next = "FETCH"
            with m.State("FETCH"):
                m.next = "OFFER"
            with m.State("OFFER"):
                m.d.comb += [out.valid.eq(1), out.payload.eq(rd.data)]
                with m.If(taken):
                    m.d.sync += rd_ptr.eq(rd_ptr + 1)
                    with m.If(rd.data.last):
                        m.d.sync += reply_due.eq(1)
                        m.next = "IDLE"
        with m.If(self.subscribed):
            m.d.sync += self.subscriber.eq(reply_to)

        # --- replies and events onto one transmit stream, a datagram at a time -----------------
        dest = Signal(UdpDest)
        tx_in = udp_tx.i
        with m.FSM(name="transmit"):
            with m.State("IDLE"):
                with m.If(self.ctl_tx.valid):
                    m.d.sync += dest.eq(reply_to)
                    m.next = "REPLY"
                with m.Elif(self.events.valid):
                    m.d.sync += dest.eq(self.subscriber)
                    m.next = "EVENT"
            for state, stream in (("REPLY", self.ctl_tx), ("EVENT", self.events)):
                with m.State(state):
                    p = stream.payload
                    m.d.comb += [tx_in.valid.eq(stream.valid), stream.ready.eq(tx_in.ready),
                                 tx_in.payload.data.eq(p.data), tx_in.payload.keep.eq(p.keep),
                                 tx_in.payload.first.eq(p.first), tx_in.payload.last.eq(p.last),
                                 tx_in.payload.dest.eq(dest),
                                 tx_in.payload.length.eq(_length_of(p.data))]
                    with m.If(stream.valid & tx_in.ready & p.last):
                        if state == "REPLY":
                            m.d.sync += reply_due.eq(0)
                        m.next = "IDLE"
        # --- UDP frames and ARP replies onto the wire, a frame at a time ------------------------
        with m.FSM(name="frames"):
            with m.State("IDLE"):
                with m.If(udp_tx.o.valid):
                    m.next = "UDP"
                with m.Elif(arp.o.valid):
                    m.next = "ARP"
            for state, source in (("UDP", udp_tx.o), ("ARP", arp.o)):
                with m.State(state):
                    m.d.comb += [self.tx.valid.eq(source.valid), self.tx.payload.eq(source.payload),
                                 source.ready.eq(self.tx.ready)]
                    with m.If(source.valid & self.tx.ready & source.payload.last):
                        m.next = "IDLE"
        m.d.comb += self.sent.eq(udp_tx.frames)
        return m
