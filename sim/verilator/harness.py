"""Run an Amaranth top under a C++ Verilator harness: frames in, output stream beats out.

The harness (``harness.cpp.in``) reads a frames file, drives XGMII RX at line
rate (``/S/`` in lane 0 or 4, preamble, frame, ``/T/``, at least ``ipg``
bytes of gap, optional random extra idle), and writes every accepted beat of
the top's output stream with its cycle number; no Python runs per cycle.
It works for any top with an XGMII input (``xgmii__data``/``xgmii__ctrl``
by default) and one output stream (``o__valid``/``o__ready``/``o__payload``
of any width); counters are any other output ports, read at the end.

The model is compiled once per design (cache key: hash of the Verilog and
of the generated C++), under :data:`~tick2trade.sim.toolchain.BUILD_ROOT`.
"""

from __future__ import annotations

import random
import struct
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.lib import wiring

from ..toolchain import compile_harness, to_verilog

__all__ = ["HarnessResult", "build_harness", "run_harness"]

TEMPLATE = Path(__file__).with_name("harness.cpp.in")


@dataclass
class HarnessResult:
    """What a harness run produced."""

    beats: list[tuple[int, int]]          # (cycle, payload as an int), in output order
    counters: dict[str, int]               # output port name → value at the end
    cycles: int                            # cycles simulated after reset
    frames: int                            # frames driven
    wall_seconds: float                    # C++ simulation loop only
    build_seconds: float = 0.0             # 0 when the cached model was reused
    extra: dict = field(default_factory=dict)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.wall_seconds if self.wall_seconds else float("inf")

    @property
    def cycles_per_second(self) -> float:
        return self.cycles / self.wall_seconds if self.wall_seconds else float("inf")


def _out_ports(component) -> list[tuple[str, int]]:
    """(Verilog name, width) of every output port of ``component``."""
    ports = []
    for path, member, _ in component.signature.flatten(component):
        if member.flow == wiring.Out:
            ports.append(("__".join(str(p) for p in path), member.shape.width
                          if hasattr(member.shape, "width") else
                          _shape_width(member.shape)))
    return ports


def _shape_width(shape) -> int:
    from amaranth.hdl import Shape

    return Shape.cast(shape).width


def _cxx(name: str) -> str:
    """The C++ member Verilator generates for a port (it escapes ``__`` as ``___05F``)."""
    return name.replace("__", "___05F")


def _generate(payload_width: int, counters: list[str], rxd: str, rxc: str, out: str) -> str:
    words = max(1, (payload_width + 63) // 64)
    if payload_width <= 64:
        read = f"            words[0] = uint64_t(top->{_cxx(out + '__payload')});"
    else:
        halves = (payload_width + 31) // 32
        lines = [f"            const auto& p = top->{_cxx(out + '__payload')};"]
        for w in range(words):
            lo = f"uint64_t(p[{2 * w}])"
            hi = f" | (uint64_t(p[{2 * w + 1}]) << 32)" if 2 * w + 1 < halves else ""
            lines.append(f"            words[{w}] = {lo}{hi};")
        read = "\n".join(lines)
    write = "\n".join(
        f'    std::fprintf(cnt, "{name} %llu\\n", (unsigned long long)top->{_cxx(name)});'
        for name in counters)
    text = TEMPLATE.read_text()
    for key, value in {"@WORDS@": str(words), "@READ_PAYLOAD@": read,
                       "@WRITE_COUNTERS@": write, "@RXD@": _cxx(rxd), "@RXC@": _cxx(rxc),
                       "@OUT_READY@": _cxx(out + "__ready"),
                       "@OUT_VALID@": _cxx(out + "__valid")}.items():
        text = text.replace(key, value)
    return text


def build_harness(top, *, out: str = "o", rxd: str = "xgmii__data", rxc: str = "xgmii__ctrl",
                  counters: Iterable[str] | None = None) -> tuple[Path, int, list[str], float]:
    """Compile (or reuse) the harness for ``top``; return (binary, payload width, counters,
    build seconds)."""
    ports = dict(_out_ports(top))
    payload_name = f"{out}__payload"
    if payload_name not in ports:
        raise ValueError(f"top has no output stream {out!r} (no port {payload_name})")
    width = ports[payload_name]
    if counters is None:
        counters = [name for name, w in ports.items()
                    if not name.startswith(out + "__") and w <= 64]
    counters = list(counters)
    verilog = to_verilog(top, name="top")
    cpp = _generate(width, counters, rxd, rxc, out)
    binary, built = compile_harness("harness", verilog, cpp)
    return binary, width, counters, built


def run_harness(top, frames: Iterable[bytes], *, out: str = "o", counters=None,
                ipg: int = 12, extra_idle: int = 0, lane4: bool = True,
                ready_percent: int = 100, seed: int = 1, tail: int = 512,
                rxd: str = "xgmii__data", rxc: str = "xgmii__ctrl") -> HarnessResult:
    """Drive ``frames`` (wire bytes, FCS included) into ``top`` and collect its output.

    ``ipg`` is the minimum gap in bytes counting ``/T/``; ``extra_idle`` adds up
    to that many random idle bytes per gap; ``ready_percent`` < 100 applies
    random back-pressure to the output stream; ``tail`` idle cycles follow
    the last frame.
    """
    binary, width, counters, built = build_harness(top, out=out, rxd=rxd, rxc=rxc,
                                                   counters=counters)
    words = max(1, (width + 63) // 64)
    with tempfile.TemporaryDirectory(prefix="t2t-harness-") as tmp:
        tmp = Path(tmp)
        count = 0
        with open(tmp / "frames.bin", "wb") as f:
            for frame in frames:
                f.write(struct.pack("<I", len(frame)))
                f.write(frame)
                count += 1
        cmd = [str(binary), str(tmp / "frames.bin"), str(tmp / "out.bin"), str(tmp / "counters"),
               str(ipg), str(extra_idle), str(int(lane4)), str(ready_percent),
               str(seed if seed is not None else random.randrange(1 << 30)), str(tail)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"harness failed ({done.returncode}): {done.stderr[-2000:]}")
        raw = (tmp / "out.bin").read_bytes()
        values = dict(line.split() for line in (tmp / "counters").read_text().splitlines())
    record = 8 * (1 + words)
    beats = []
    for at in range(0, len(raw), record):
        cycle, *parts = struct.unpack_from(f"<{1 + words}Q", raw, at)
        beats.append((cycle, sum(p << (64 * k) for k, p in enumerate(parts))))
    return HarnessResult(
        beats=beats,
        counters={name: int(values[name]) for name in counters},
        cycles=int(values["cycles"]), frames=int(values["frames"]),
        wall_seconds=int(values["wall_ns"]) / 1e9, build_seconds=built)
