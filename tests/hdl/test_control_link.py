"""ControlLink + ControlPlane: real control requests in Ethernet frames, replies equal the model's.

Frames come from several hosts (tagged or not, with IPv4 options), mixed with
frames the link must drop (other port, other MAC, bad IPv4 checksum, bad
FCS); every reply must be the model's reply, byte for byte, framed back to
the request's sender, and events must go to the host that subscribed.
"""

from __future__ import annotations

import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from feed_streams import TIMING_IDS, TIMINGS, beats, join, receive, run, send
from net_tb import scapy_frame
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from test_csr_endpoint import random_datagram

from tick2trade.hdl.csr.device_map import device_map
from tick2trade.hdl.csr.link import ControlLink
from tick2trade.hdl.csr.plane import ControlPlane
from tick2trade.proto import control as c
from tick2trade.sim.model.control import ControlModel, RegisterFile
from tick2trade.sim.model.net_tx import UdpTxConfig, udp_frame

OWN_MAC, OWN_IP, PORT = 0x02_54_32_00_00_01, 0x0A_00_00_02, 7400
OWN = UdpTxConfig(src_mac=OWN_MAC, src_ip=OWN_IP, src_port=PORT)
HOSTS = [("d4:af:f7:cb:20:d5", "10.0.0.9", 40001), ("02:00:00:00:00:77", "10.0.0.10", 5555),
         ("0e:11:22:33:44:55", "192.168.1.3", 61000)]
HASH = 0x1234_5678_9ABC_DEF0


def request_frame(datagram: bytes, host, *, vlan=None, options=b"", dport=PORT,
                  dst=None) -> bytes:
    mac, ip, port = host
    pkt = Ether(dst=dst or ":".join(f"{b:02x}" for b in OWN_MAC.to_bytes(6, "big")), src=mac)
    if vlan is not None:
        pkt = pkt / Dot1Q(vlan=vlan)
    pkt = pkt / IP(src=ip, dst="10.0.0.2", options=options) / UDP(sport=port, dport=dport)
    return bytes(pkt / datagram).ljust(60, b"\0")


def as_ints(host):
    mac, ip, port = host
    return (int(mac.replace(":", ""), 16), int.from_bytes(bytes(map(int, ip.split("."))), "big"),
            port)


class LinkTop(wiring.Component):
    """The link in front of a control plane (what ``hdl/core`` will compose)."""

    def __init__(self):
        self.link = ControlLink()
        self.plane = ControlPlane(device_map(c.DeviceKind.HARDWARE, build_hash=HASH))
        super().__init__({"rx": self.link.signature.members["rx"],
                          "tx": self.link.signature.members["tx"],
                          "events": self.link.signature.members["events"],
                          "dropped": wiring.Out(32), "mask": wiring.Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.link, m.submodules.plane = link, plane = self.link, self.plane
        wiring.connect(m, link.ctl_rx, plane.rx)
        wiring.connect(m, plane.tx, link.ctl_tx)
        wiring.connect(m, wiring.flipped(self.rx), link.rx)
        wiring.connect(m, link.tx, wiring.flipped(self.tx))
        wiring.connect(m, wiring.flipped(self.events), link.events)
        m.d.comb += [link.subscribed.eq(plane.subscribed), link.config.mac.eq(OWN_MAC),
                     link.config.ip.eq(OWN_IP), link.config.port.eq(PORT),
                     self.dropped.eq(link.dropped), self.mask.eq(plane.mask)]
        return m


#: requests a host keeps in flight (``host/device`` waits for each reply; the link queues 32)
WINDOW = 6


def simulate(frames, n_out, *, idle, stall, seed, events=(), answered=None, drain=False,
             window=WINDOW):
    """``frames``: (bytes, error); ``events``: (after input frame k, datagram) pairs;
    ``answered[k]``: frame k gets a reply (at most ``WINDOW`` are sent ahead of replies)."""
    dut = LinkTop()
    rng = random.Random(seed)
    out, state = [], {}
    pending = dict(events)
    answered = answered or [True] * len(frames)

    async def drive(ctx):
        asked = 0
        for k, (frame, error) in enumerate(frames):
            while asked - len(out) >= window:
                await ctx.tick()
            items = beats(frame, error=0, timestamp=0)
            items[-1]["error"] = int(error)
            await send(ctx, dut.rx, items, rng, idle)
            asked += answered[k]
            if k in pending:
                for _ in range(400):                # let the subscription land first
                    await ctx.tick()
                await send(ctx, dut.events, beats(pending[k]), rng, idle)

    async def collect(ctx):
        for _ in range(n_out):
            got = []
            while True:
                beat = await receive(ctx, dut.tx, rng, stall)
                assert beat.first == (not got)
                got.append((beat.data, beat.keep))
                if beat.last:
                    break
            out.append(join(got))
        if drain:                                  # take whatever comes
            ctx.set(dut.tx.ready, 1)
            got, quiet = [], 0
            while quiet < 3000:
                await ctx.tick()
                quiet += 1
                if ctx.get(dut.tx.valid):
                    quiet = 0
                    got.append((ctx.get(dut.tx.payload.data), ctx.get(dut.tx.payload.keep)))
                    if ctx.get(dut.tx.payload.last):
                        out.append(join(got))
                        got = []
        for _ in range(300):
            await ctx.tick()
            assert not ctx.get(dut.tx.valid), "an unexpected frame"
        state.update(dropped=ctx.get(dut.dropped), mask=ctx.get(dut.mask))

    run(dut, drive, collect, max_cycles=600_000)
    return out, state


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_replies_equal_the_model_framed_back_to_each_sender(idle, stall):
    rng = random.Random(11)
    regmap = device_map(c.DeviceKind.HARDWARE, build_hash=HASH)
    model = ControlModel(RegisterFile(regmap))
    frames, expected, answered = [], [], []
    dropped = 0
    for k in range(40):
        datagram = random_datagram(rng, regmap)
        host = HOSTS[k % len(HOSTS)]
        kind = rng.random()
        if kind < 0.12:       # not for the control port, not for our MAC: filtered silently
            frames.append((request_frame(datagram, host, dport=PORT + 1), False))
            answered.append(False)
            continue
        if kind < 0.2:
            frames.append((request_frame(datagram, host, dst="02:00:00:00:00:99"), False))
            answered.append(False)
            continue
        if kind < 0.28:       # bad FCS (the MAC flags the last beat): dropped and counted
            frames.append((request_frame(datagram, host), True))
            answered.append(False)
            dropped += 1
            continue
        frame = request_frame(datagram, host, vlan=141 if k % 4 == 1 else None,
                              options=b"\x01" * 4 * (k % 3 == 2))
        frames.append((frame, False))
        answered.append(True)
        reply = model.handle(datagram, host)
        mac, ip, port = as_ints(host)
        expected.append(udp_frame(reply, dst_mac=mac, dst_ip=ip, dst_port=port, config=OWN))
    bad_csum = bytearray(request_frame(c.encode(c.Read(0, 1), 1), HOSTS[0]))
    bad_csum[24] ^= 0x40
    frames.insert(5, (bytes(bad_csum), False))
    answered.insert(5, False)
    got, state = simulate(frames, len(expected), idle=idle, stall=stall, seed=3,
                          answered=answered)
    for want, have in zip(expected, got, strict=True):
        assert have == want, (c.decode(Ether(want)[UDP].load), have.hex())
        assert Ether(have)[IP].chksum == IP(bytes(Ether(have)[IP])).chksum
    assert state["dropped"] == dropped


def test_events_go_to_the_subscriber_and_replies_never_interleave():
    rng = random.Random(2)
    subscribe = c.encode(c.Subscribe(0b11110), 9)
    frames = [(request_frame(c.encode(c.Read(c.ID_ADDR, 1), 1), HOSTS[0]), False),
              (request_frame(subscribe, HOSTS[1]), False)]
    frames += [(request_frame(c.encode(c.Read(c.ID_ADDR, 2), 2 + k), HOSTS[k % 3]), False)
               for k in range(6)]
    big = c.encode(c.Events(0, tuple(c.Gap(0, k, k + 5, k) for k in range(40))))
    small = c.encode(c.Events(40, (c.Counters(0x50, (1, 2, 3)),)))
    got, state = simulate(frames, len(frames) + 2, idle=0.2, stall=0.3, seed=rng.randrange(99),
                          events=[(1, big), (3, small)])
    assert state["mask"] == 0b11110
    sub_mac, sub_ip, sub_port = as_ints(HOSTS[1])
    event_frames = [f for f in got if c.decode(Ether(f)[UDP].load)[1].__class__ is c.Events]
    assert event_frames == [udp_frame(d, dst_mac=sub_mac, dst_ip=sub_ip, dst_port=sub_port,
                                      config=OWN) for d in (big, small)]
    replies = [f for f in got if f not in event_frames]
    assert [c.decode(Ether(f)[UDP].load)[0] for f in replies] == [1, 9, 2, 3, 4, 5, 6, 7]
    for reply, (request, _) in zip(replies, frames, strict=True):
        assert (Ether(reply).dst, Ether(reply)[IP].dst, Ether(reply)[UDP].dport) == (
            Ether(request).src, Ether(request)[IP].src, Ether(request)[UDP].sport)


def test_a_burst_beyond_the_queue_is_dropped_and_counted_not_hung():
    frames = [(request_frame(c.encode(c.Read(c.ID_ADDR, 1), k), HOSTS[0]), False)
              for k in range(60)]
    got, state = simulate(frames, 0, idle=0, stall=0, seed=1, answered=[False] * 60,
                          drain=True, window=len(frames))   # no host window: all at once
    tags = [c.decode(Ether(f)[UDP].load)[0] for f in got]
    assert state["dropped"] > 0 and len(tags) + state["dropped"] == 60
    assert tags == sorted(tags)


def test_feed_frames_on_the_same_stream_are_filtered():
    """A feed frame (multicast, feed port) on the same MAC stream is filtered, not answered."""
    got, state = simulate([(scapy_frame(b"feed data" * 3), False)], 0, idle=0, stall=0, seed=1)
    assert got == [] and state["dropped"] == 0


def test_arp_requests_for_our_address_are_answered():
    """RFC 826: a broadcast "who has 10.0.0.2" gets our MAC; other ARP traffic gets nothing."""
    from scapy.layers.l2 import ARP

    own_mac = ":".join(f"{b:02x}" for b in OWN_MAC.to_bytes(6, "big"))
    mac, ip, _ = HOSTS[2]

    def arp(**fields):
        return bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=mac) / ARP(hwsrc=mac, psrc=ip, **fields)
                     ).ljust(60, b"\0")

    frames = [(arp(op=1, pdst="10.0.0.3"), False),                      # not us
              (arp(op=1, pdst="10.0.0.2"), False),                      # us
              (arp(op=2, pdst="10.0.0.2"), False),                      # a reply: ignored
              (arp(op=1, pdst="10.0.0.2"), True),                       # bad FCS: ignored
              (request_frame(c.encode(c.Read(c.ID_ADDR, 1), 5), HOSTS[2]), False)]
    got, _ = simulate(frames, 2, idle=0.3, stall=0.3, seed=4, answered=[0, 0, 0, 0, 1])
    assert got[0] == bytes(Ether(dst=mac, src=own_mac) / ARP(
        op=2, hwsrc=own_mac, psrc="10.0.0.2", hwdst=mac, pdst=ip))
    assert c.decode(Ether(got[1])[UDP].load)[0] == 5
