"""UdpTx (RFC 791 §3.1, RFC 768) vs its model: scapy parses every frame, checksum right."""

from __future__ import annotations

import random

import pytest
from feed_streams import TIMING_IDS, TIMINGS, beats, join, receive, run, send
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from tick2trade.hdl.net.udp_tx import UdpTx
from tick2trade.proto.net import internet_checksum
from tick2trade.sim.model.net_tx import UdpTxConfig, udp_frame

CONFIG = UdpTxConfig(src_mac=0x02_00_00_00_00_01, src_ip=0x0A_00_00_02, src_port=7400)


def simulate(payloads, *, idle, stall, seed, lengths=None):
    """``payloads``: (bytes, mac, ip, port); returns the frames and the two counters."""
    dut = UdpTx()
    rng = random.Random(seed)
    frames = []
    counters = {}

    async def drive(ctx):
        ctx.set(dut.config.src_mac, CONFIG.src_mac)
        ctx.set(dut.config.src_ip, CONFIG.src_ip)
        ctx.set(dut.config.src_port, CONFIG.src_port)
        for k, (payload, mac, ip, port) in enumerate(payloads):
            length = lengths[k] if lengths else len(payload)
            items = beats(payload)
            for item in items:
                item["dest"] = {"mac": mac, "ip": ip, "port": port}
                item["length"] = length
            await send(ctx, dut.i, items, rng, idle)

    async def collect(ctx):
        for _ in payloads:
            got = []
            while True:
                beat = await receive(ctx, dut.o, rng, stall)
                assert beat.first == (not got)
                got.append((beat.data, beat.keep))
                if beat.last:
                    break
            frames.append(join(got))
        for _ in range(4):
            await ctx.tick()
        counters.update(frames=ctx.get(dut.frames), length_errors=ctx.get(dut.length_errors))

    run(dut, drive, collect)
    return frames, counters


def random_payloads(rng, n):
    sizes = [0, 1, 5, 6, 7, 8, 9, 14, 22, 100, 1472]
    return [(rng.randbytes(rng.choice(sizes)) if k >= 2 else rng.randbytes(6 + k),
             rng.getrandbits(48), rng.getrandbits(32), rng.getrandbits(16)) for k in range(n)]


@pytest.mark.parametrize(("idle", "stall"), TIMINGS, ids=TIMING_IDS)
def test_frames_equal_the_model_and_parse(idle, stall):
    rng = random.Random(3)
    payloads = random_payloads(rng, 24)
    frames, counters = simulate(payloads, idle=idle, stall=stall, seed=5)
    assert counters == {"frames": len(payloads), "length_errors": 0}
    for (payload, mac, ip, port), frame in zip(payloads, frames, strict=True):
        assert frame == udp_frame(payload, dst_mac=mac, dst_ip=ip, dst_port=port, config=CONFIG)
        pkt = Ether(frame)
        assert pkt[Ether].dst == ":".join(f"{b:02x}" for b in mac.to_bytes(6, "big"))
        assert pkt[IP].dst == ".".join(str(b) for b in ip.to_bytes(4, "big"))
        assert (pkt[IP].ttl, pkt[IP].ihl, pkt[IP].len) == (64, 5, 28 + len(payload))
        assert internet_checksum(frame[14:34]) == 0          # RFC 1071: header sums to ~0
        rebuilt = IP(bytes(pkt[IP]))
        del rebuilt.chksum
        assert IP(bytes(rebuilt)).chksum == pkt[IP].chksum   # scapy agrees
        assert (pkt[UDP].sport, pkt[UDP].dport, pkt[UDP].len, pkt[UDP].chksum) == (
            CONFIG.src_port, port, 8 + len(payload), 0)
        assert bytes(pkt[UDP].payload) == payload


def test_a_payload_shorter_than_declared_is_sent_and_counted():
    rng = random.Random(9)
    payloads = random_payloads(rng, 3)
    lengths = [len(payloads[0][0]), len(payloads[1][0]) + 3, len(payloads[2][0])]
    frames, counters = simulate(payloads, idle=0.2, stall=0.2, seed=1, lengths=lengths)
    assert counters == {"frames": 3, "length_errors": 1}
    assert frames[2] == udp_frame(payloads[2][0], dst_mac=payloads[2][1],
                                  dst_ip=payloads[2][2], dst_port=payloads[2][3], config=CONFIG)
