"""Run the gateware order book under a C++ Verilator harness (long flows, no Python per cycle).

The harness (``book_harness.cpp.in``) subscribes the slots, drives
:class:`~tick2trade.hdl.feed.layouts.FeedRecord` payloads into
:class:`~tick2trade.hdl.book.Book` one handshake at a time (optional random
idle cycles and back-pressure on the top-of-book output), writes every top
with its cycle and its record's accept cycle, then reads the book back
through the ``peek_*`` ports (published tops, window states, every level).
Built once per parameter set under
:data:`~tick2trade.sim.toolchain.BUILD_ROOT`. Returns the same
:class:`~tick2trade.sim.model.hwbook.rtl.RtlRun` as the Amaranth-simulator
driver, so tests and ``t2t replay --engine rtl`` use either.
"""

from __future__ import annotations

import functools
import re
import struct
import subprocess
import tempfile
from pathlib import Path

from amaranth.lib import data

from tick2trade.hdl.book import COUNTERS, Book, BookParams
from tick2trade.hdl.book.book import quote_layout
from tick2trade.hdl.book.layouts import TopOfBook, level_entry, side_state
from tick2trade.hdl.feed.layouts import FeedRecord

from ..model.hwbook.model import TobRecord
from ..model.hwbook.rtl import TOB_FIELDS, RtlRun
from ..toolchain import compile_harness, to_verilog
from .decision import _cxx, _setter, _width, _words, pack, unpack

__all__ = ["build_book_harness", "run_book_harness"]

TEMPLATE = Path(__file__).with_name("book_harness.cpp.in")


def _getter(fn: str, port: str, shape) -> str:
    """A C++ function copying an output port into u64 words."""
    width, words = _width(shape), _words(shape)
    lines = [f"static void get_{fn}(Vtop* top, uint64_t* w) {{"]
    if width <= 64:
        lines.append(f"    w[0] = uint64_t(top->{_cxx(port)});")
    else:
        halves = (width + 31) // 32
        lines += [f"    w[{i}] = 0;" for i in range(words)]
        for i in range(halves):
            lines.append(f"    w[{i // 2}] |= uint64_t(top->{_cxx(port)}[{i}]) << {32 * (i % 2)};")
    lines.append("}")
    return "\n".join(lines)


def _generate(p: BookParams) -> str:
    shapes = {"tob": TopOfBook, "pub": quote_layout(p), "side": side_state(p),
              "level": level_entry(p)}
    accessors = [_setter("record", "i__payload", FeedRecord),
                 _getter("tob", "o__payload", TopOfBook),
                 _getter("pub", "peek_tob", shapes["pub"]),
                 _getter("side", "peek_side", shapes["side"]),
                 _getter("level", "peek_level", shapes["level"])]
    counters = [f'    std::fprintf(cnt, "{name} %llu\\n", (unsigned long long)top->{name});'
                for name in COUNTERS]
    text = TEMPLATE.read_text()
    for key, value in {"@ACCESSORS@": "\n\n".join(accessors),
                       "@WRITE_COUNTERS@": "\n".join(counters),
                       "@REC_WORDS@": str(_words(FeedRecord)),
                       "@TOB_WORDS@": str(_words(TopOfBook)),
                       "@PUB_WORDS@": str(_words(shapes["pub"])),
                       "@SIDE_WORDS@": str(_words(shapes["side"])),
                       "@LEVEL_WORDS@": str(_words(shapes["level"])),
                       "@WINDOW@": str(p.window),
                       "@WINDOW_BITS@": str(p.window_bits)}.items():
        text = text.replace(key, value)
    return text


_INIT_LINE = re.compile(r"\s+(\w+)\[(\d+)\] = (\d+'h[0-9a-fA-F]+);$")


def fold_memory_inits(verilog: str) -> str:
    """Turn yosys' one-line-per-word memory ``initial`` blocks into a loop where all words match.

    A 32 K-word table otherwise becomes 32 K C++ statements that take Verilator's
    compiler most of an hour; a loop gives the same contents.
    """
    lines = verilog.split("\n")
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "initial begin" and i + 1 < len(lines):
            j, name, value, count = i + 1, None, None, 0
            while j < len(lines):
                m = _INIT_LINE.match(lines[j])
                if not m or (name and (m.group(1) != name or m.group(3) != value)) \
                        or int(m.group(2)) != count:
                    break
                name, value, count = m.group(1), m.group(3), count + 1
                j += 1
            if count > 16 and lines[j].strip() == "end":
                var = f"{name}__init"
                out += [f"  integer {var};",
                        f"  initial for ({var} = 0; {var} < {count}; {var} = {var} + 1)",
                        f"    {name}[{var}] = {value};"]
                i = j + 1
                continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


@functools.lru_cache(maxsize=8)
def _sources(p: BookParams) -> tuple[str, str]:
    """Verilog of ``Book(p)`` and the harness C++ (converted once per process)."""
    verilog = fold_memory_inits(to_verilog(Book(p), name="top"))
    return verilog, _generate(p)


def build_book_harness(p: BookParams) -> tuple[Path, float]:
    """Compile (or reuse) the harness for ``Book(p)``; (binary, build seconds)."""
    verilog, cpp = _sources(p)
    return compile_harness("book_harness", verilog, cpp)


def _unpack_words(shape, raw: bytes, at: int) -> tuple[dict, int]:
    n = _words(shape)
    parts = struct.unpack_from(f"<{n}Q", raw, at)
    bits = sum(v << (64 * k) for k, v in enumerate(parts))
    if isinstance(shape, data.Layout):   # a bare layout: ``as_shape`` would flatten it
        fields = {name: (bits >> f.offset) & ((1 << f.width) - 1) for name, f in shape}
        return fields, at + 8 * n
    return unpack(shape, bits), at + 8 * n


def run_book_harness(params: BookParams, subscriptions, records, *, idle_percent: int = 0,
                     ready_percent: int = 100, seed: int = 1) -> RtlRun:
    """Like :func:`tick2trade.sim.model.hwbook.rtl.run_book` (with read-back), in Verilator."""
    binary, _built = build_book_harness(params)
    subs, records = list(subscriptions), list(records)
    n = _words(FeedRecord)
    words = [len(subs), *subs]
    mask = (1 << 64) - 1
    for r in records:
        bits = pack(FeedRecord, r._asdict())
        words += [(bits >> (64 * i)) & mask for i in range(n)]
    with tempfile.TemporaryDirectory(prefix="t2t-book-") as tmp:
        tmp = Path(tmp)
        (tmp / "in.bin").write_bytes(struct.pack(f"<{len(words)}Q", *words))
        done = subprocess.run([str(binary), *(str(tmp / f) for f in
                                              ("in.bin", "out.bin", "readback.bin", "counters")),
                               str(idle_percent), str(ready_percent), str(seed),
                               str(tmp / "accepts.bin")],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"book harness failed ({done.returncode}): {done.stderr[-2000:]}")
        out = (tmp / "out.bin").read_bytes()
        readback = (tmp / "readback.bin").read_bytes()
        values = dict(line.split() for line in (tmp / "counters").read_text().splitlines())
        raw = (tmp / "accepts.bin").read_bytes()
    accepts = dict(zip((r.seq for r in records), struct.unpack(f"<{len(raw) // 8}Q", raw),
                       strict=True))
    run = RtlRun([], {name: int(values[name]) for name in COUNTERS}, int(values["cycles"]))
    run.wall_seconds = int(values["wall_ns"]) / 1e9
    at = 0
    while at < len(out):
        cycle, _last_accepted = struct.unpack_from("<2Q", out, at)
        tob, at = _unpack_words(TopOfBook, out, at + 16)
        run.tops.append(TobRecord(*(tob[f] for f in TOB_FIELDS)))
        run.latencies.append(cycle - accepts.get(tob["seq"], cycle))
    at = 0
    pub_shape = quote_layout(params)
    for slot in range(len(subs)):
        q, at = _unpack_words(pub_shape, readback, at)
        run.published[slot] = (q["bid_px"], q["bid_qty"], q["ask_px"], q["ask_qty"],
                               q["bid_exact"], q["ask_exact"])
    s_shape, l_shape = side_state(params), level_entry(params)
    for addr in range(2 * len(subs)):
        side, at = _unpack_words(s_shape, readback, at)
        cells = []
        for _ in range(params.window):
            cell, at = _unpack_words(l_shape, readback, at)
            cells.append(cell)
        ask = addr & 1
        run.outside[addr >> 1] = (run.outside.get(addr >> 1, 0) + side["low"] + side["high"]
                                  + side["off_grid"])
        order = range(params.window) if ask else reversed(range(params.window))
        levels = []
        for i in order:
            if side["bitmap"] >> i & 1:
                tick = side["base"] + i
                cell = cells[tick & (params.window - 1)]
                levels.append((tick * params.tick, cell["shares"], cell["count"]))
        run.levels[(addr >> 1, ask)] = levels
    return run
