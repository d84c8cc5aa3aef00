"""MAC + parser under Verilator with cocotb: XGMII frames in, UDP payloads = proto's parse."""

from __future__ import annotations

import json
import random

import pytest
from conftest import itch_pcaps
from net_tb import FEED_PORT, GROUP_MAC, OWN_MAC, scapy_frame

from tick2trade.proto.net import parse_frame
from tick2trade.proto.pcap import read_records
from tick2trade.sim.model.net import UdpRxConfig, with_fcs

pytestmark = pytest.mark.rtl

# The anonymised captures have zero IPv4 checksums and UDP port 0 (captures README),
# so this build accepts port 0 and does not check the IPv4 header checksum.
CONFIG = UdpRxConfig(own_mac=OWN_MAC, groups=(GROUP_MAC,), ports=(FEED_PORT, 0),
                     check_ip_checksum=False)


def expected_payload(frame: bytes):
    parsed = parse_frame(frame)
    if parsed.dst_mac in (bytes.fromhex(GROUP_MAC.replace(":", "")),
                          bytes.fromhex(OWN_MAC.replace(":", ""))) \
            and parsed.is_udp and parsed.dst_port in CONFIG.ports and parsed.payload:
        return [parsed.payload.hex(), parsed.dst_port]
    return None


def run_case(tmp_path, request, frames, bad=(), *, backpressure=False, udp_drops=None):
    """frames: good frames (no FCS); bad: wire frames (FCS included) the MAC must reject."""
    from tick2trade.sim.cocotb.runner import run_cocotb
    from tick2trade.sim.verilator.net_top import NetRxTop

    rng = random.Random(len(frames))
    wires = [with_fcs(f) for f in frames] + list(bad)
    order = list(range(len(wires)))
    rng.shuffle(order)
    expected = [expected_payload(frames[i]) for i in order if i < len(frames)]
    expected = [e for e in expected if e is not None]
    case = {
        "frames": [wires[i].hex() for i in order],
        "expected": expected,
        "backpressure": backpressure,
        "counters": {"mac_stats": {"frames": len(frames), "overflows": 0},
                     "udp_stats": {"packets": len(expected), **(udp_drops or {})}},
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    run_cocotb(NetRxTop(CONFIG), "tick2trade.sim.cocotb.net_rx", tag=request.node.name,
               extra_env={"T2T_NET_CASE": str(path)})


@pytest.mark.parametrize("backpressure", [False, True], ids=["ready", "backpressure"])
def test_real_captures_through_xgmii(tmp_path, request, backpressure):
    paths = itch_pcaps()
    if not paths:
        pytest.skip("captures not present (set T2T_SHARED)")
    frames = [rec.frame for path in paths for rec in read_records(path)]
    run_case(tmp_path, request, frames, backpressure=backpressure)


def test_scapy_frames_through_xgmii(tmp_path, request):
    rng = random.Random(4)
    frames = []
    for k in range(24):
        frames.append(scapy_frame(rng.randbytes(rng.choice([1, 13, 40, 100, 600, 1472])),
                                  vlan=141 if k % 2 else None,
                                  options=b"\x01" * (4 * (k % 3))))
    frames.append(scapy_frame(b"wrong port", dport=999))
    frames.append(scapy_frame(b"wrong mac", dst="02:00:00:00:00:99"))
    bad_fcs = bytearray(with_fcs(scapy_frame(b"bad fcs" * 10)))
    bad_fcs[20] ^= 1
    runt = with_fcs(bytes(40))
    run_case(tmp_path, request, frames, bad=[bytes(bad_fcs), runt],
             udp_drops={"dst_port": 1, "dst_mac": 1, "mac_errors": 2})  # the runt was cut through
