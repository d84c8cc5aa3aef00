"""Ethernet/IPv4/UDP parser vs its model (RFC 791, RFC 768): scapy frames and real captures."""

from __future__ import annotations

import random
import struct

import pytest
from amaranth.sim import Simulator
from conftest import itch_pcaps
from net_tb import FEED_PORT, GROUP_MAC, OWN_MAC, FrameCollector, beats_of, scapy_frame

from tick2trade.hdl.net.udp_rx import UdpRx
from tick2trade.hdl.net.udp_rx_config import UDP_RX_COUNTERS
from tick2trade.proto.net import internet_checksum, mac_bytes, parse_frame
from tick2trade.proto.pcap import read_records
from tick2trade.sim.model.net import UdpRxConfig, UdpRxModel

CONFIG = UdpRxConfig(own_mac=OWN_MAC, groups=(GROUP_MAC, "01:00:5e:00:00:99"),
                     ports=(FEED_PORT, 30001, 0), accept_broadcast=False)
FIELDS = ("data", "keep", "first", "last", "error", "line", "dst_port", "timestamp")


def apply_config(ctx, port, config: UdpRxConfig):
    ctx.set(port.own_mac, int.from_bytes(mac_bytes(config.own_mac), "big"))
    ctx.set(port.accept_broadcast, config.accept_broadcast)
    ctx.set(port.check_ip_checksum, config.check_ip_checksum)
    groups = [int.from_bytes(mac_bytes(g), "big") for g in config.groups]
    ctx.set(port.group_valid, (1 << len(groups)) - 1)
    for k, g in enumerate(groups):
        ctx.set(port.group_mac[k], g)
    ctx.set(port.port_valid, (1 << len(config.ports)) - 1)
    for k, p in enumerate(config.ports):
        ctx.set(port.port[k], p)


def run_parser(frames, config=CONFIG, *, gaps=False, backpressure=False, seed=0):
    """frames: list of (frame bytes, mac_error). Returns (payloads, counters)."""
    dut = UdpRx(groups=4, ports=4, line=1)
    rng = random.Random(seed)
    collector = FrameCollector()
    counters = {}
    done = []

    async def source(ctx):
        apply_config(ctx, dut.config, config)
        for index, (frame, mac_error) in enumerate(frames):
            for data, keep, first, last in beats_of(frame):
                while gaps and rng.random() < 0.3:
                    ctx.set(dut.i.valid, 0)
                    await ctx.tick()
                ctx.set(dut.i.payload, {"data": data, "keep": keep, "first": first,
                                        "last": last, "error": mac_error and last,
                                        "timestamp": 1000 + index})
                ctx.set(dut.i.valid, 1)
                await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)
        done.append(True)

    async def sink(ctx):
        idle = 0
        while idle < 40:
            ready = rng.random() < 0.6 if backpressure else True
            ctx.set(dut.o.ready, ready)
            await ctx.delay(1e-12)
            if ready and ctx.get(dut.o.valid):
                collector.beat({k: ctx.get(getattr(dut.o.payload, k)) for k in FIELDS})
            await ctx.tick()
            idle = idle + 1 if done else 0
        for name in UDP_RX_COUNTERS:
            counters[name] = ctx.get(getattr(dut.stats, name))

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run()
    return collector.frames, counters


def check_against_model(frames, config=CONFIG, **kwargs):
    got, counters = run_parser(frames, config, **kwargs)
    model = UdpRxModel(config)
    expected = [(model.receive(f, mac_error=e), i) for i, (f, e) in enumerate(frames)]
    expected = [(p, i) for p, i in expected if p is not None]
    good_expected = [(p, i) for p, i in expected if not p.error]
    good_got = [g for g in got if not g[1]]
    assert [(g[0], g[2]["dst_port"], g[2]["timestamp"]) for g in good_got] == \
        [(p.payload, p.dst_port, 1000 + i) for p, i in good_expected]
    assert all(g[2]["line"] == 1 for g in got)
    # frames that turn bad after payload went out end in error, never silently
    assert len(got) - len(good_got) <= len(expected) - len(good_expected)
    assert counters == {name: model.counters[name] for name in UDP_RX_COUNTERS}
    return got, model


def _set_total_length(frame: bytes, ip_at: int, total: int) -> bytes:
    raw = bytearray(frame)
    raw[ip_at + 2:ip_at + 4] = struct.pack("!H", total)
    raw[ip_at + 10:ip_at + 12] = b"\0\0"
    ihl = (raw[ip_at] & 0xF) * 4
    raw[ip_at + 10:ip_at + 12] = struct.pack("!H", internet_checksum(bytes(raw[ip_at:ip_at + ihl])))
    return bytes(raw)


def _set_udp_length(frame: bytes, udp_at: int, length: int) -> bytes:
    raw = bytearray(frame)
    raw[udp_at + 4:udp_at + 6] = struct.pack("!H", length)
    return bytes(raw)


def scapy_cases(rng: random.Random):
    """(frame, mac_error) covering every drop reason, every shift and every tail length."""
    cases = []
    for k in range(24):
        vlan = 141 if k % 2 else None
        options = bytes([1]) * (4 * (k % 4) + (40 if k % 7 == 0 else 0))
        size = [1, 2, 7, 8, 9, 20, 30, 47, 64, 100, 200, 333][k % 12]
        frame = scapy_frame(rng.randbytes(size), vlan=vlan, options=options,
                            dport=[FEED_PORT, 30001, 0][k % 3])
        cases.append((frame, False))
    cases.append((scapy_frame(b"mine", dst=OWN_MAC), False))
    cases.append((scapy_frame(b"other", dst="02:00:00:00:00:02"), False))
    cases.append((scapy_frame(b"bcast", dst="ff:ff:ff:ff:ff:ff"), False))
    cases.append((scapy_frame(b"group2", dst="01:00:5e:00:00:99", vlan=5), False))
    cases.append((scapy_frame(b"badsum" * 5, bad_checksum=True), False))
    cases.append((scapy_frame(b"badsum", bad_checksum=True, vlan=9,
                              options=b"\x01" * 8), False))
    cases.append((scapy_frame(b"frag-mf" * 3, flags=1), False))
    cases.append((scapy_frame(b"frag-offset" * 3, frag=100), False))
    cases.append((scapy_frame(b"df is fine" * 3, flags=2), False))
    cases.append((scapy_frame(b"tcp" * 10, proto=6), False))
    cases.append((scapy_frame(b"port" * 10, dport=1234), False))
    arp = bytes.fromhex("ffffffffffff d4aff7cb20d5 0806") + bytes(46)
    cases.append((arp, False))
    cases.append((bytes.fromhex(GROUP_MAC.replace(":", "")) + bytes(6) + b"\x08\x00"
                  + b"\x65" + bytes(45), False))                       # IP version 6
    cases.append((bytes.fromhex(GROUP_MAC.replace(":", "")) + bytes(6) + b"\x08\x00"
                  + b"\x44" + bytes(45), False))                       # IHL 4
    good = scapy_frame(rng.randbytes(80))
    cases.append((_set_udp_length(good, 34, 7), False))               # UDP length < 8
    cases.append((_set_udp_length(good, 34, 8), False))               # empty payload
    cases.append((_set_udp_length(good, 34, 200), False))             # beyond IP length
    cases.append((_set_udp_length(good, 34, 50), False))             # shorter than IP: ok
    cases.append((_set_total_length(good, 14, 200), False))           # frame ends early
    cases.append((_set_total_length(good, 14, 24), False))            # IP total < IHL+8
    cases.append((good[:40], False))                                  # ends inside headers
    cases.append((scapy_frame(rng.randbytes(3)) + bytes(16), False))  # trailer after padding
    cases.append((scapy_frame(rng.randbytes(300)), True))             # MAC error, long
    cases.append((scapy_frame(rng.randbytes(5)), True))               # MAC error in padding
    cases.append((scapy_frame(b"x", dst="02:00:00:00:00:02"), True))  # MAC error, dropped
    rng.shuffle(cases)
    return cases


@pytest.mark.parametrize("gaps,backpressure", [(False, False), (True, False), (False, True),
                                                (True, True)],
                         ids=["steady", "gaps", "backpressure", "gaps+backpressure"])
def test_parser_matches_model(gaps, backpressure):
    rng = random.Random(17)
    got, model = check_against_model(scapy_cases(rng), gaps=gaps, backpressure=backpressure,
                                     seed=int(gaps) * 2 + int(backpressure))
    for name in UDP_RX_COUNTERS:
        assert model.counters[name] > 0, f"no case exercises {name}"


def test_broadcast_policy_and_checksum_switch():
    rng = random.Random(3)
    frames = [(scapy_frame(b"bcast-payload", dst="ff:ff:ff:ff:ff:ff"), False),
              (scapy_frame(b"bad checksum", bad_checksum=True), False),
              (scapy_frame(rng.randbytes(40)), False)]
    config = UdpRxConfig(own_mac=OWN_MAC, groups=(GROUP_MAC,), ports=(FEED_PORT,),
                         accept_broadcast=True, check_ip_checksum=False)
    got, model = check_against_model(frames, config)
    assert [g[0] for g in got] == [b"bcast-payload", b"bad checksum", frames[2][0][42:82]]


def test_back_to_back_line_rate():
    """Without gaps or back-pressure the parser takes one beat per cycle plus one per frame."""
    rng = random.Random(8)
    frames = [(scapy_frame(rng.randbytes(rng.randrange(20, 200))), False) for _ in range(10)]
    check_against_model(frames)


@pytest.mark.parametrize("check_ip_checksum", [True, False], ids=["checksum", "no-checksum"])
def test_real_captures(check_ip_checksum):
    paths = itch_pcaps()
    if not paths:
        pytest.skip("captures not present (set T2T_SHARED)")
    frames = [(rec.frame, False) for path in paths for rec in read_records(path)]
    config = UdpRxConfig(own_mac=OWN_MAC, groups=(GROUP_MAC,), ports=(26477, 0),
                         check_ip_checksum=check_ip_checksum)
    got, model = check_against_model(frames, config, gaps=True, backpressure=True)
    passed = [parse_frame(f).payload for f, _ in frames
              if check_ip_checksum is False or parse_frame(f).ip.checksum_ok]
    assert [g[0] for g in got] == passed
    real = [p for p in paths if "20230822" not in p.name]   # the rest have zeroed checksums
    assert len(passed) == (len(frames) if not check_ip_checksum else
                           sum(len(read_records(p)) for p in real))


def _cut_short_cases(rng: random.Random):
    """Frames ending 9..40 bytes before their IPv4 total length, each followed by a good frame."""
    cases = []
    for k, cut in enumerate((9, 16, 17, 40)):
        for vlan, options in ((None, b""), (141, b""), (None, b"\x01" * 8), (7, b"\x01" * 12)):
            frame = scapy_frame(rng.randbytes(60 + k), vlan=vlan, options=options)
            cases.append((frame[:-cut], False))
            cases.append((scapy_frame(rng.randbytes(rng.randrange(9, 90)), vlan=vlan), False))
    return cases


@pytest.mark.parametrize("gaps,backpressure", [(False, False), (True, False), (False, True),
                                                (True, True)],
                         ids=["steady", "gaps", "backpressure", "gaps+backpressure"])
def test_frame_cut_short_closes_payload_in_error(gaps, backpressure):
    """A frame shorter than its IPv4 total length ends its payload with ``last=1, error=1``."""
    cases = _cut_short_cases(random.Random(23))
    got, model = check_against_model(cases, gaps=gaps, backpressure=backpressure,
                                     seed=int(gaps) * 2 + int(backpressure))
    assert [(g[1], g[2]["timestamp"]) for g in got] == \
        [(index % 2 == 0, 1000 + index) for index in range(len(cases))]
    assert model.counters["truncated"] == len(cases) // 2
    assert model.counters["packets"] == len(cases) // 2
