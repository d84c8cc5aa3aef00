"""Bulk ITCH decode speed: struct loop baseline vs per-message decode vs numpy bulk decoder.

Builds a seeded random BinaryFILE in memory with the project's own encoder
(mostly A/D/E/X/U, every other type present), then decodes it three ways:

(a) baseline: a straightforward loop of ``struct.unpack_from`` per message
    (length prefix, then the type's struct), producing tuples;
(b) ``itch.decode`` per message, producing the frozen dataclasses;
(c) ``itch_bulk.decode_bulk``, producing per-type numpy structured arrays
    plus the feed order.

Prints msg/s by wall clock, by this process's CPU time (user + system) and
by its user time alone (the machine is shared, so the process's own time is
the steadier figure; system time is mostly first-touch page faults), ratios
against (a) measured in the same process, and peak traced memory.
Usage: ``python bench/bench_decode.py [--messages N]``.
"""

from __future__ import annotations

import argparse
import random
import resource
import struct
import time
import tracemalloc
from typing import NamedTuple

import numpy as np

from tick2trade.proto import itch, itch_bulk

#: a realistic feed: order-book messages dominate (ITCH 5.0 §2)
MIX = dict(A=38, D=34, E=7, X=8, U=7, F=1.5, C=0.8, P=1.2, I=0.8, Q=0.05, S=0.01, R=0.1,
           H=0.05, Y=0.05, L=0.05, V=0.01, W=0.01, K=0.01, J=0.01, h=0.01, B=0.01, N=0.05,
           O=0.01)
SYMBOLS = ["AAPL", "MSFT", "NVDA", "META", "GOOGL", "AMZN", "TSLA", "QQQ", "SPY", "IVOO",
           "XLF", "BAC-Q", "T", "MU", "AMC"]


def random_message(rng: random.Random, code: str) -> itch.Message:
    """A message of one type with plausible random values, derived from ``FIELDS``."""
    values = []
    for field in itch.FIELDS[code]:
        if field.name == "stock":
            values.append(rng.choice(SYMBOLS))
        elif field.name == "side":
            values.append(rng.choice("BS"))
        elif field.kind == "alpha":
            values.append("".join(rng.choice("ABCNOPQSTY") for _ in range(field.length)))
        elif field.name == "timestamp":
            values.append(rng.randrange(34_200_000_000_000, 57_600_000_000_000))
        elif field.kind == "price4":
            values.append(rng.randrange(1, 5_000_000))
        else:
            values.append(rng.getrandbits(min(8 * field.length, 40)))
    return itch.MESSAGE_TYPES[code](*values)


def build_file(count: int, seed: int, pool: int) -> bytes:
    """``count`` framed messages drawn from a pool of ``pool`` distinct random messages."""
    rng = random.Random(seed)
    codes = list(MIX)
    drawn = rng.choices(codes, [MIX[c] for c in codes], k=pool)
    drawn[:len(codes)] = codes  # every type at least once
    framed = []
    for code in drawn:
        raw = itch.encode(random_message(rng, code))
        framed.append(len(raw).to_bytes(2, "big") + raw)
    picks = np.random.default_rng(seed).integers(0, pool, count)
    picks[:len(codes)] = np.arange(len(codes))
    return b"".join([framed[i] for i in picks.tolist()])


def baseline_structs() -> dict[int, struct.Struct]:
    """One plain struct per type from ``FIELDS`` (6-byte timestamp left as bytes)."""
    codes = {1: "B", 2: "H", 4: "I", 8: "Q"}
    out = {}
    for code, fields in itch.FIELDS.items():
        fmt = ">c" + "".join(f"{f.length}s" if f.kind == "alpha" or f.length == 6
                             else codes[f.length] for f in fields)
        out[ord(code)] = struct.Struct(fmt)
    return out


def decode_baseline(buf: bytes) -> int:
    structs = baseline_structs()
    prefix = struct.Struct(">H").unpack_from
    offset, count, size = 0, 0, len(buf)
    while offset < size:
        (length,) = prefix(buf, offset)
        structs[buf[offset + 2]].unpack_from(buf, offset + 2)
        offset += 2 + length
        count += 1
    return count


def decode_per_message(buf: bytes) -> int:
    count = 0
    decode = itch.decode
    for _offset, message in itch.iter_frames(buf):
        decode(message)
        count += 1
    return count


def decode_bulk(buf: bytes) -> int:
    return len(itch_bulk.decode_bulk(buf))


class Timing(NamedTuple):
    wall: float
    user: float  # this process only: the steady figure on a shared machine
    system: float  # mostly page faults on fresh memory (costly in this VM)
    count: int

    @property
    def cpu(self) -> float:
        return self.user + self.system


def timed(function, buf: bytes) -> Timing:
    before, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    count = function(buf)
    wall, after = time.perf_counter() - wall, resource.getrusage(resource.RUSAGE_SELF)
    return Timing(wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, count)


def report(label: str, timing: Timing, base: Timing, note: str = "") -> None:
    def rate(seconds: float) -> str:
        return f"{timing.count / seconds / 1e6:6.2f} M msg/s"

    print(f"{label:<26} wall {timing.wall:6.2f} s {rate(timing.wall)} | cpu {timing.cpu:6.2f} s "
          f"{rate(timing.cpu)} x{base.cpu / timing.cpu:5.2f} | user {timing.user:6.2f} s "
          f"{rate(timing.user)} x{base.user / timing.user:5.2f}{note}")


def peak_memory(function, buf: bytes) -> int:
    tracemalloc.start()
    try:
        function(buf)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--pool", type=int, default=200_000, help="distinct random messages")
    parser.add_argument("--repeat", type=int, default=3, help="bulk runs (first and best shown)")
    args = parser.parse_args()

    start = time.perf_counter()
    buf = build_file(args.messages, args.seed, min(args.pool, args.messages))
    print(f"file: {args.messages:,} messages, {len(buf) / 1e6:.1f} MB, built in "
          f"{time.perf_counter() - start:.1f} s (seed {args.seed})")

    base = timed(decode_baseline, buf)
    report("(a) struct.unpack loop", base, base)
    report("(b) itch.decode per msg", timed(decode_per_message, buf), base)
    runs = [timed(decode_bulk, buf) for _ in range(args.repeat)]
    report("(c) itch_bulk.decode_bulk", runs[0], base, "  first run")
    report("(c) itch_bulk.decode_bulk", min(runs, key=lambda t: t.cpu), base,
           f"  best of {args.repeat}")
    assert {t.count for t in [base, *runs]} == {args.messages}

    # the streaming loops hold one message at a time: trace them over a prefix only
    # (tracemalloc slows Python loops severalfold)
    head = buf[:int(itch_bulk.frame_offsets(buf)[0][min(args.messages - 1, 200_000)])]
    mib = 1 << 20
    print(f"peak traced memory: (c) bulk {peak_memory(decode_bulk, buf) / mib:.0f} MiB for the "
          f"whole file, results included (input {len(buf) / mib:.0f} MiB not counted); "
          f"(a) {peak_memory(decode_baseline, head) / mib:.2f} MiB and "
          f"(b) {peak_memory(decode_per_message, head) / mib:.2f} MiB (streaming, first "
          f"{min(args.messages - 1, 200_000):,} messages)")


if __name__ == "__main__":
    main()
