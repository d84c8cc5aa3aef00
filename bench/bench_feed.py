"""Feed path speed: cycles per message at line rate, minimum inter-message gap.

Three measurements, each printed with its baseline from the same process:

1. the ITCH decoder alone (Amaranth simulator), fed back-to-back message
   blocks of one size at one beat per cycle: cycles per record and the
   gaps between records, against the input bound (block bytes / 8);
2. the whole feed path (XGMII → records) under the C++ Verilator harness
   at 10GbE line rate (12-byte minimum IPG, starts in lane 0 or 4): full
   1472-byte packets of the smallest book message (D, 19 bytes) and a
   generated realistic mix; cycles per message against the wire's cycles
   per message, and whether any message was dropped;
3. simulation speed: records per wall-clock second of the Verilator run
   against the Python reference models on the same frames.

Flows 2 run twice, store-and-forward (the baseline) and cut-through
(``FeedPath(cut_through=True)``): latency from a message's last byte on
XGMII to its record, min/median/max, and the ratio of the medians.

    .venv/bin/python bench/bench_feed.py [--messages N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from tick2trade.proto.itch import LENGTHS

PREAMBLE, FCS, IFG, BEAT = 8, 4, 12, 8


def messages_of(code: str, n: int, rng: random.Random) -> list[bytes]:
    return [code.encode() + rng.randbytes(LENGTHS[code] - 1) for _ in range(n)]


def decoder_alone(code: str, n: int, rng: random.Random) -> dict:
    """Back-to-back blocks of ``code`` messages into the ItchDecoder, ready always high."""
    from amaranth.sim import Simulator

    from tick2trade.hdl.feed.itch import ItchDecoder
    from tick2trade.proto.moldudp64 import MoldPacket

    payload = MoldPacket(b"BENCHSESS1", 1, tuple(messages_of(code, n, rng))).encode()
    chunks = [payload[i:i + 8] for i in range(0, len(payload), 8)]
    dut = ItchDecoder()
    record_cycles = []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        cycle = 0
        for k, chunk in enumerate(chunks):
            ctx.set(dut.i.payload, {"data": int.from_bytes(chunk.ljust(8, b"\0"), "little"),
                                    "keep": (1 << len(chunk)) - 1, "first": k == 0,
                                    "last": k == len(chunks) - 1, "seq": 1})
            ctx.set(dut.i.valid, 1)
            _, _, out_valid = await ctx.tick().sample(dut.o.valid)
            if out_valid:
                record_cycles.append(cycle)
            cycle += 1
        ctx.set(dut.i.valid, 0)
        for _ in range(4):
            _, _, out_valid = await ctx.tick().sample(dut.o.valid)
            if out_valid:
                record_cycles.append(cycle)
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    gaps = [b - a for a, b in zip(record_cycles, record_cycles[1:], strict=False)]
    return {"records": len(record_cycles), "beats": len(chunks),
            "cycles_per_record": (record_cycles[-1] - record_cycles[0]) / (len(gaps) or 1),
            "min_gap": min(gaps), "max_gap": max(gaps),
            "input_bound": (2 + LENGTHS[code]) / BEAT}


def wire_cycles(frames: list[bytes]) -> float:
    """Cycles the frames take on a 10GbE wire at the minimum gap."""
    return sum(PREAMBLE + len(f) + FCS + IFG for f in frames) / BEAT


def message_latency(frames: list[bytes], beats) -> tuple[int, float, int]:
    """(min, median, max) cycles from a message's last byte on XGMII to its record out.

    The record's ``hw_ts`` is the cycle of the frame's start; the message's
    last byte follows the preamble, the headers and its block on the wire.
    """
    from tick2trade.proto.moldudp64 import HEADER_LEN, MoldPacket
    from tick2trade.proto.net import parse_frame
    from tick2trade.sim.model.feed.records import record_from_bits

    block_end = {}
    for frame in frames:
        parsed = parse_frame(frame)
        packet = MoldPacket.decode(parsed.payload)
        offset = len(frame) - len(parsed.payload) + HEADER_LEN
        for n, msg in enumerate(packet.messages):
            offset += 2 + len(msg)
            block_end[packet.sequence + n] = offset
    waits = []
    for cycle, value in beats:
        rec = record_from_bits(value)
        waits.append(cycle - rec.hw_ts - (PREAMBLE + block_end[rec.seq] + BEAT - 1) // BEAT)
    return min(waits), statistics.median(waits), max(waits)


def whole_path(name: str, messages: list[bytes], *, cut_through: bool = False) -> dict:
    from tick2trade.sim.feed_engine import pack_frames, replay_config
    from tick2trade.sim.feed_top import FeedPathTop
    from tick2trade.sim.model.feed.path import FeedPathModel
    from tick2trade.sim.model.net import with_fcs
    from tick2trade.sim.verilator.harness import run_harness

    frames = pack_frames(messages)
    wires = [with_fcs(f) for f in frames]
    config = replay_config(frames)
    result = run_harness(FeedPathTop(config, cut_through=cut_through), wires, ipg=IFG,
                         lane4=True, tail=4096)
    started = time.perf_counter()
    model = FeedPathModel(config, cut_through=cut_through)
    model_records = model.run(wires)
    model_seconds = time.perf_counter() - started
    cycles = [c for c, _ in result.beats]
    latency = message_latency(frames, result.beats)
    return {"latency": latency,"name": name, "messages": len(messages), "frames": len(frames),
            "records": len(result.beats), "model_records": len(model_records),
            "cycles_per_message": (cycles[-1] - cycles[0]) / max(1, len(messages) - 1),
            "wire_per_message": wire_cycles(frames) / len(messages),
            "overflowed": result.counters.get("stats__a_overflowed", 0),
            "rtl_rate": len(result.beats) / result.wall_seconds,
            "model_rate": len(model_records) / model_seconds,
            "build_seconds": result.build_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000,
                        help="messages per whole-path flow (default 200000)")
    parser.add_argument("--decoder-messages", type=int, default=400)
    args = parser.parse_args()
    rng = random.Random(1)

    print("1. ITCH decoder alone, back-to-back blocks, ready always high (Amaranth sim)")
    for code in ("D", "X", "A", "F"):
        r = decoder_alone(code, args.decoder_messages, rng)
        print(f"   {code} ({LENGTHS[code]:2d}-byte messages): {r['records']} records, "
              f"{r['cycles_per_record']:.3f} cycles/record (input bound "
              f"{r['input_bound']:.3f}, ratio {r['cycles_per_record'] / r['input_bound']:.3f}); "
              f"gap between records min {r['min_gap']} max {r['max_gap']} cycles")

    print("2. Whole feed path at 10GbE line rate, 156.25 MHz (C++ Verilator harness)")
    from tick2trade.sim.model.generator import FlowConfig, FlowGenerator
    flows = [("D x full packets", messages_of("D", args.messages, rng)),
             ("generated mix", [m for _, m in FlowGenerator(FlowConfig(args.messages, 100, 7))])]
    for name, messages in flows:
        medians = {}
        for mode, cut_through in (("store-and-forward", False), ("cut-through", True)):
            r = whole_path(name, messages, cut_through=cut_through)
            drop = r["messages"] - r["records"] if name.startswith("D") else "n/a"
            print(f"   {name}, {mode}: {r['messages']:,} messages in {r['frames']:,} frames -> "
                  f"{r['records']:,} records (model {r['model_records']:,}; dropped {drop}, "
                  f"overflowed packets {r['overflowed']})")
            ratio = r["cycles_per_message"] / r["wire_per_message"]
            print(f"      {r['cycles_per_message']:.3f} cycles/message vs wire "
                  f"{r['wire_per_message']:.3f} (ratio {ratio:.3f}); "
                  f"{1e3 / (r['cycles_per_message'] * 6.4):.1f} M msg/s at 6.4 ns/cycle")
            low, median, high = r["latency"]
            medians[mode] = median
            print(f"      last byte of a message on XGMII -> its record: min {low}, median "
                  f"{median:.0f}, max {high} cycles")
            print(f"   3. simulation speed: Verilator {r['rtl_rate']:,.0f} records/s vs Python "
                  f"models {r['model_rate']:,.0f} records/s (ratio "
                  f"{r['rtl_rate'] / r['model_rate']:.1f}x); build {r['build_seconds']:.0f} s")
        print(f"   {name}: median latency cut-through / store-and-forward = "
              f"{medians['cut-through'] / medians['store-and-forward']:.3f}")


if __name__ == "__main__":
    main()
