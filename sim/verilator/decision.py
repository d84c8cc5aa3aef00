"""Run the gateware decision path under a C++ Verilator harness (long flows, no Python per cycle).

The harness (``decision_harness.cpp.in``) reads an events file — top-of-book
records, table writes, global settings, feed gaps, trip clears, executions —
drives :class:`~tick2trade.hdl.strategy.decision.DecisionPath` exactly like
the Amaranth-simulator driver (:mod:`tick2trade.sim.decision_rtl`: one input
at a time, gaps and clears once the path is idle), and writes every order
request handed out with its cycle. Built once per design under
:data:`~tick2trade.sim.toolchain.BUILD_ROOT`.
"""

from __future__ import annotations

import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from amaranth.hdl import Shape
from amaranth.lib import data

from tick2trade.hdl.book.layouts import TopOfBook
from tick2trade.hdl.risk.layouts import COUNTER_WIDTH, COUNTERS, RiskGlobal, RiskParams
from tick2trade.hdl.strategy.decision import POSITION_SHAPE, DecisionPath
from tick2trade.hdl.strategy.layouts import Executed, OrderRequest, StrategyParams

from ..model.strategy.decision import Decision
from ..model.strategy.events import ClearTrip, Exec, Gap, SetPosition
from ..toolchain import compile_harness, to_verilog

__all__ = ["DecisionHarnessRun", "run_decision_harness", "pack", "unpack"]

TEMPLATE = Path(__file__).with_name("decision_harness.cpp.in")
#: event kinds of the events file
TOB, STRATEGY, RISK, POSITION, GAP, CLEAR_TRIP, EXEC, GLOB = range(8)
#: (C++ setter, Verilog port, shape) of every input row the harness writes
_INPUTS = (("tob", "tob__payload", TopOfBook), ("strategy", "strategy_table__data", StrategyParams),
           ("risk", "risk_table__data", RiskParams), ("position", "position_table__data",
                                                      POSITION_SHAPE),
           ("executed", "executed__payload", Executed), ("glob", "glob", RiskGlobal))


@dataclass
class DecisionHarnessRun:
    decisions: list[Decision]
    cycles: list[int]            # per decision: cycle it was handed out
    counters: dict[str, int]
    total_cycles: int
    wall_seconds: float
    build_seconds: float


def _width(shape) -> int:
    if isinstance(shape, data.Layout):
        return shape.size
    if hasattr(shape, "as_shape"):
        return _width(shape.as_shape())
    return Shape.cast(shape).width


def _words(shape) -> int:
    return max(1, (_width(shape) + 63) // 64)


def _cxx(name: str) -> str:
    return name.replace("__", "___05F")


def pack(shape, value) -> int:
    """The bits of ``value`` (a dict of fields, an object with them, or an int) in ``shape``."""
    if isinstance(value, int):
        return value & ((1 << _width(shape)) - 1)
    layout = shape.as_shape() if hasattr(shape, "as_shape") else shape
    bits = 0
    for name, field in layout:
        v = value[name] if isinstance(value, dict) else getattr(value, name)
        v = getattr(v, "value", v)
        if isinstance(field.shape, data.Layout) or hasattr(field.shape, "as_shape"):
            v = pack(field.shape, v)
        bits |= (int(v) & ((1 << field.width) - 1)) << field.offset
    return bits


def unpack(shape, bits: int) -> dict:
    """Field name → int (enums as their value) of ``bits`` in a struct ``shape``."""
    layout = shape.as_shape() if hasattr(shape, "as_shape") else shape
    return {name: (bits >> field.offset) & ((1 << field.width) - 1) for name, field in layout}


def _setter(fn: str, port: str, shape) -> str:
    width, words = _width(shape), _words(shape)
    lines = [f"static const int {fn.upper()}_WORDS = {words};",
             f"static void set_{fn}(Vtop* top, const uint64_t* w) {{"]
    if width <= 64:
        mask = "" if width == 64 else f" & {hex((1 << width) - 1)}ull"
        lines.append(f"    top->{_cxx(port)} = w[0]{mask};")
    else:
        halves = (width + 31) // 32
        for i in range(halves):
            top_bits = width - 32 * i
            mask = "" if top_bits >= 32 else f" & {hex((1 << top_bits) - 1)}u"
            lines.append(f"    top->{_cxx(port)}[{i}] = uint32_t(w[{i // 2}] >> "
                         f"{32 * (i % 2)}){mask};")
    lines.append("}")
    return "\n".join(lines)


def _generate() -> str:
    order_width = _width(OrderRequest)
    words = _words(OrderRequest)
    halves = (order_width + 31) // 32
    read = ["            const auto& p = top->orders___05Fpayload;"]
    for w in range(words):
        hi = f" | (uint64_t(p[{2 * w + 1}]) << 32)" if 2 * w + 1 < halves else ""
        read.append(f"            words[{w}] = uint64_t(p[{2 * w}]){hi};")
    counters = [f'    std::fprintf(cnt, " %u", uint32_t(top->counters[{i}]));'
                for i in range(len(COUNTERS) * COUNTER_WIDTH // 32)]
    text = TEMPLATE.read_text()
    for key, value in {"@SETTERS@": "\n\n".join(_setter(*i) for i in _INPUTS),
                       "@ORDER_WORDS@": str(words), "@READ_ORDER@": "\n".join(read),
                       "@WRITE_COUNTERS@": "\n".join(counters)}.items():
        text = text.replace(key, value)
    return text


#: ``always @*`` blocks that assign a constant: they have no event to wake them, so an
#: event-driven simulator (Verilator too) never runs them and the bits stay 0
def build_decision_harness(symbols: int) -> tuple[Path, float]:
    """Compile (or reuse) the harness for ``DecisionPath(symbols)``; (binary, build seconds)."""
    assert COUNTER_WIDTH == 32
    verilog = to_verilog(DecisionPath(symbols), name="top")
    cpp = _generate()
    return compile_harness("decision_harness", verilog, cpp)


def _event_words(kind: int, shape, value, addr: int | None = None) -> list[int]:
    bits = pack(shape, value)
    words = [kind] + ([addr] if addr is not None else [])
    return words + [(bits >> (64 * i)) & ((1 << 64) - 1) for i in range(_words(shape))]


def _decision(fields: dict) -> Decision:
    from tick2trade.hdl.risk.layouts import Reason
    from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif
    return Decision(kind=OrderKind(fields["kind"]), side=Side(fields["side"]),
                    tif=Tif(fields["tif"]), reason=Reason(fields["reason"]),
                    slot=fields["slot"], locate=fields["locate"], price=fields["price"],
                    shares=fields["shares"], token=fields["token"],
                    orig_token=fields["orig_token"], trigger_ts=fields["trigger_ts"],
                    trigger_seq=fields["trigger_seq"], trigger_hw_ts=fields["trigger_hw_ts"])


def run_decision_harness(strategy_rows, risk_rows, glob: dict, events, *, symbols: int = 64,
                         ready_percent: int = 100, seed: int = 1) -> DecisionHarnessRun:
    """Like :func:`tick2trade.sim.decision_rtl.run_decision_path`, compiled with Verilator."""
    binary, built = build_decision_harness(symbols)
    words: list[int] = _event_words(GLOB, RiskGlobal, glob)
    for slot, row in enumerate(strategy_rows):
        words += _event_words(STRATEGY, StrategyParams, row, slot)
    for slot, row in enumerate(risk_rows):
        words += _event_words(RISK, RiskParams, row, slot)
    for ev in events:
        if isinstance(ev, Gap):
            words.append(GAP)
        elif isinstance(ev, ClearTrip):
            words.append(CLEAR_TRIP)
        elif isinstance(ev, SetPosition):
            words += _event_words(POSITION, POSITION_SHAPE, ev.position, ev.slot)
        elif isinstance(ev, Exec):
            words += _event_words(EXEC, Executed, {"locate": ev.locate, "side": ev.side,
                                                   "shares": ev.shares, "price": ev.price})
        else:
            words += _event_words(TOB, TopOfBook, ev)
    n = _words(OrderRequest)
    with tempfile.TemporaryDirectory(prefix="t2t-decision-") as tmp:
        tmp = Path(tmp)
        (tmp / "events.bin").write_bytes(struct.pack(f"<{len(words)}Q", *words))
        done = subprocess.run([str(binary), str(tmp / "events.bin"), str(tmp / "out.bin"),
                               str(tmp / "counters"), str(ready_percent), str(seed)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"decision harness failed ({done.returncode}): "
                               f"{done.stderr[-2000:]}")
        raw = (tmp / "out.bin").read_bytes()
        lines = (tmp / "counters").read_text().splitlines()
    counter_words = [int(x) for x in lines[0].split()[1:]]
    values = dict(line.split() for line in lines[1:])
    decisions, cycles = [], []
    record = 8 * (1 + n)
    for at in range(0, len(raw), record):
        cycle, *parts = struct.unpack_from(f"<{1 + n}Q", raw, at)
        bits = sum(p << (64 * k) for k, p in enumerate(parts))
        decisions.append(_decision(unpack(OrderRequest, bits)))
        cycles.append(cycle)
    counters = {name: counter_words[i] for i, name in enumerate(COUNTERS)}
    return DecisionHarnessRun(decisions, cycles, counters, int(values["cycles"]),
                              int(values["wall_ns"]) / 1e9, built)
