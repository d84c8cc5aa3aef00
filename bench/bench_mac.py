"""Receive path (XGMII MAC RX + Eth/IPv4/UDP parser) in simulation: speed and line rate.

Drives a flow of full-MTU MoldUDP64 frames (38 × 36-byte ITCH Add Orders each,
like the real ``itch50_Multiple.Packets`` capture) mixed with the real
captures through ``NetRxTop``:

* the C++ Verilator harness (``sim/verilator``), frames and messages per
  wall-clock second, cycles per frame against the wire's cycles per frame;
* baseline, measured in the same process: Amaranth's Python simulator on a
  slice of the same flow.

Run: ``.venv/bin/python bench/bench_mac.py [--frames N]``
"""

from __future__ import annotations

import argparse
import random
import struct
import time
from pathlib import Path

from amaranth.sim import Simulator

from tick2trade.hdl.layouts import UdpBeat
from tick2trade.proto.net import build_udp_frame
from tick2trade.proto.pcap import read_records
from tick2trade.sim.model.net import UdpRxConfig, with_fcs
from tick2trade.sim.model.xgmii import encode_xgmii
from tick2trade.sim.verilator.harness import run_harness
from tick2trade.sim.verilator.net_top import NetRxTop
from tick2trade.sim.verilator.payload import unpack_payload

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "captures"
GROUP = "01:00:5e:36:0c:6f"
CONFIG = UdpRxConfig(groups=(GROUP,), ports=(26477, 0), check_ip_checksum=False)
BYTES_PER_CYCLE = 8


def mold_packet(seq: int, rng: random.Random) -> bytes:
    messages = [struct.pack("!H", 36) + b"A" + rng.randbytes(35) for _ in range(38)]
    return b"SESSION001" + struct.pack("!QH", seq, len(messages)) + b"".join(messages)


def flow(n: int) -> list[bytes]:
    rng = random.Random(1)
    real = [r.frame for p in sorted(CAPTURES.glob("itch50_*.pcap")) for r in read_records(p)] \
        if CAPTURES.exists() else []
    frames = []
    for k in range(n):
        if real and k % 4 == 3:
            frames.append(real[k % len(real)])
        else:
            frames.append(build_udp_frame(mold_packet(k, rng), src_mac="d4:af:f7:cb:20:d5",
                                          dst_mac=GROUP, src_ip="206.200.127.138",
                                          dst_ip="233.54.12.111", src_port=49653,
                                          dst_port=26477, vlan=141))
    return [with_fcs(f) for f in frames]


def messages_in(payloads) -> int:
    return sum(struct.unpack_from("!H", p, 18)[0] for p in payloads if len(p) >= 20)


def harness_payloads(result):
    out, buf = [], bytearray()
    for _, value in result.beats:
        beat = unpack_payload(UdpBeat, value)
        buf += beat["data"].to_bytes(8, "little")[:bin(beat["keep"]).count("1")]
        if beat["last"]:
            out.append(bytes(buf))
            buf = bytearray()
    return out


def pysim(frames) -> tuple[float, int, int]:
    """Amaranth simulator: (seconds, cycles, payloads)."""
    top = NetRxTop(CONFIG)
    columns = encode_xgmii(frames, lane4=True)
    seen = [0]

    async def bench(ctx):
        ctx.set(top.o.ready, 1)
        for data, ctrl in columns + [(0x0707070707070707, 0xFF)] * 64:
            ctx.set(top.xgmii.data, data)
            ctx.set(top.xgmii.ctrl, ctrl)
            if ctx.get(top.o.valid) and ctx.get(top.o.payload.last):
                seen[0] += 1
            await ctx.tick()

    sim = Simulator(top)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    started = time.perf_counter()
    sim.run()
    return time.perf_counter() - started, len(columns) + 64, seen[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--baseline-frames", type=int, default=40)
    args = parser.parse_args()

    frames = flow(args.frames)
    wire_cycles = sum((len(f) + 8 + 12) / BYTES_PER_CYCLE for f in frames)
    result = run_harness(NetRxTop(CONFIG), frames, lane4=True)
    payloads = harness_payloads(result)
    msgs = messages_in(payloads)
    assert result.counters["udp_stats__packets"] == len(frames) == len(payloads)

    base_s, base_cycles, base_payloads = pysim(frames[:args.baseline_frames])
    assert base_payloads == args.baseline_frames
    base_fps = args.baseline_frames / base_s

    print(f"flow: {len(frames)} frames, {sum(map(len, frames)) / 1e6:.1f} MB, {msgs} ITCH messages")
    print(f"C++ Verilator harness: {result.wall_seconds:.2f} s sim loop "
          f"(build {result.build_seconds:.0f} s, 0 = cached)")
    print(f"  {result.frames_per_second:,.0f} frames/s, {msgs / result.wall_seconds:,.0f} msg/s, "
          f"{result.cycles_per_second:,.0f} cycles/s")
    print(f"  cycles simulated {result.cycles:,} vs wire {wire_cycles:,.0f} "
          f"(ratio {result.cycles / wire_cycles:.3f}: the model keeps line rate)")
    print(f"baseline Amaranth pysim ({args.baseline_frames} frames): {base_s:.1f} s, "
          f"{base_fps:,.1f} frames/s, {base_cycles / base_s:,.0f} cycles/s")
    print(f"ratio harness / pysim: {result.frames_per_second / base_fps:,.0f}x frames/s")


if __name__ == "__main__":
    main()
