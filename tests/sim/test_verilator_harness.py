"""The C++ Verilator harness: frames at line rate through NetRxTop, payloads = proto's parse."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from conftest import itch_pcaps

from tick2trade.hdl.layouts import UdpBeat
from tick2trade.proto.net import parse_frame
from tick2trade.proto.pcap import read_records
from tick2trade.sim.model.net import UdpRxConfig, UdpRxModel, with_fcs
from tick2trade.sim.verilator.payload import unpack_payload

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hdl"))
from net_tb import FEED_PORT, GROUP_MAC, OWN_MAC, scapy_frame  # noqa: E402

pytestmark = [pytest.mark.rtl, pytest.mark.slow]

CONFIG = UdpRxConfig(own_mac=OWN_MAC, groups=(GROUP_MAC,), ports=(FEED_PORT, 0),
                     check_ip_checksum=False)


def payloads_of(result):
    """(payload, dst_port, error, timestamp, last cycle) per packet from harness beats."""
    packets, buf = [], bytearray()
    for cycle, value in result.beats:
        beat = unpack_payload(UdpBeat, value)
        buf += beat["data"].to_bytes(8, "little")[:bin(beat["keep"]).count("1")]
        if beat["last"]:
            packets.append((bytes(buf), beat["dst_port"], beat["error"], beat["timestamp"], cycle))
            buf = bytearray()
    return packets


def frames_under_test():
    rng = random.Random(9)
    frames = [rec.frame for path in itch_pcaps() for rec in read_records(path)]
    for k in range(60):
        frames.append(scapy_frame(rng.randbytes(rng.randrange(1, 1400)),
                                  vlan=141 if k % 3 else None, options=b"\x01" * (4 * (k % 4)),
                                  dport=rng.choice([FEED_PORT, FEED_PORT, 0, 999])))
    rng.shuffle(frames)
    return frames


@pytest.mark.parametrize("ready_percent,extra_idle", [(100, 0), (96, 8)],
                         ids=["line-rate", "idle+backpressure"])
def test_harness_payloads_match(ready_percent, extra_idle):
    from tick2trade.sim.verilator.harness import run_harness
    from tick2trade.sim.verilator.net_top import NetRxTop

    frames = frames_under_test()
    result = run_harness(NetRxTop(CONFIG), [with_fcs(f) for f in frames], lane4=True,
                         ready_percent=ready_percent, extra_idle=extra_idle)
    model = UdpRxModel(CONFIG)
    expected = [model.receive(f) for f in frames]
    expected = [(p.payload, p.dst_port) for p in expected if p is not None]
    got = payloads_of(result)
    assert [(p, port) for p, port, *_ in got] == expected
    assert all(not error for _, _, error, _, _ in got)
    parsed = [parse_frame(f) for f in frames]
    assert [p for p, _ in expected] == [f.payload for f in parsed
                                        if f.is_udp and f.dst_port in CONFIG.ports]
    stamps = [stamp for *_, stamp, _ in got]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert result.counters["mac_stats__frames"] == len(frames)
    assert result.counters["mac_stats__overflows"] == 0
    assert result.counters["udp_stats__packets"] == len(expected)
    assert result.counters["udp_stats__dst_port"] == model.counters["dst_port"]
    assert result.frames == len(frames) and result.cycles > 0 and result.wall_seconds > 0
