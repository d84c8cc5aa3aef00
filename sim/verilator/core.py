"""Run the composed core (``hdl/core.py``) under a C++ Verilator harness: no Python per cycle.

The harness (``core_harness.cpp.in``) sends the configuration as control
datagrams in Ethernet/IPv4/UDP frames on the same XGMII RX as the feed, from
the host at :data:`HOST` to the core's control link (each waits for its
reply on XGMII TX), then a SUBSCRIBE (every event type unless told), drives
the feed frames on XGMII RX at line rate (as :mod:`.harness` does), waits
until the core has been idle for ``tail`` cycles, asks for a counters
snapshot, lets the events drain, then sends the ``after`` datagrams (counter
reads). It records every OUCH payload beat and every encoder report with
the cycle counter (``now``), the cycle each frame's ``/S/`` was driven, the
cycle each feed record entered the book, and every frame on XGMII TX, which
this module checks (FCS, addresses) and splits into control replies and
EVENTS datagrams. Built once per design (cache key: hash of the Verilog and
the generated C++) under :data:`~tick2trade.sim.toolchain.BUILD_ROOT`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import struct
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.lib import wiring

from tick2trade.hdl.book.layouts import BookParams
from tick2trade.hdl.core import CONTROL_IP, CONTROL_MAC, CONTROL_PORT, TradingCore
from tick2trade.hdl.order.layouts import OrderReport
from tick2trade.proto import control
from tick2trade.proto.net import build_udp_frame, ip_str, mac_str, parse_frame

from ..model.net import MacRxModel, with_fcs
from ..toolchain import build_dir, compile_harness, to_verilog
from .decision import _words, unpack

__all__ = ["ALL_EVENTS", "HOST", "CoreRun", "OuchBeat", "build_core_harness",
           "run_core_harness"]

#: the host the harness plays: MAC (wire order), IPv4 address, UDP port
HOST = (0x02_00_00_00_00_99, 0x0A_00_00_01, 50_000)
#: a SUBSCRIBE mask taking every event type
ALL_EVENTS = sum(1 << int(t) for t in control.EventType)

TEMPLATE = Path(__file__).with_name("core_harness.cpp.in")


@dataclass(frozen=True)
class OuchBeat:
    """One OUCH payload beat taken from the core, at cycle ``now``."""

    now: int
    data: bytes          # the ``keep`` bytes, lane 0 first
    first: bool
    last: bool


@dataclass
class CoreRun:
    """What one harness run produced (cycles are the core's ``now`` counter)."""

    beats: list[OuchBeat]
    reports: list[tuple[int, dict]]        # (now, OrderReport fields), in output order
    starts: list[tuple[int, int]]           # per frame: (now of the /S/ column, its lane)
    records: list[tuple[int, int]]          # per record into the book: (now, sequence number)
    replies: list[bytes]                    # control replies, in order (not the SUBSCRIBE's)
    counters: dict[str, int]                # feed counters (Verilog port names)
    cycles: int
    frames: int
    wall_seconds: float
    build_seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    #: EVENTS datagrams from XGMII TX: (now of the frame's /S/, datagram), in wire order
    events: list[tuple[int, bytes]] = field(default_factory=list)
    #: the reply to the harness's SUBSCRIBE (None when it did not subscribe)
    subscribe_reply: bytes | None = None


def _cxx(name: str) -> str:
    return name.replace("__", "___05F")


def _counter_ports(top) -> list[str]:
    """Every output port of at most 64 bits that is not a stream (the feed's counters)."""
    names = []
    for path, member, _ in top.signature.flatten(top):
        name = "__".join(str(p) for p in path)
        if (member.flow == wiring.Out and name.split("__")[0] in ("stats", "mac_stats",
                                                                  "udp_stats", "tripped")
                and member.shape is not None and _width(member.shape) <= 64):
            names.append(name)
    return names


def _width(shape) -> int:
    from amaranth.hdl import Shape

    return Shape.cast(shape).width


def _generate(counters: list[str]) -> str:
    n = _words(OrderReport)
    halves = (OrderReport.as_shape().size + 31) // 32
    read = ["            const auto& p = top->report;"]
    for w in range(n):
        hi = f" | (uint64_t(p[{2 * w + 1}]) << 32)" if 2 * w + 1 < halves else ""
        read.append(f"            words[{w}] = uint64_t(p[{2 * w}]){hi};")
    write = "\n".join(
        f'    std::fprintf(cnt, "{name} %llu\\n", (unsigned long long)top->{_cxx(name)});'
        for name in counters)
    text = TEMPLATE.read_text()
    for key, value in {"@REPORT_WORDS@": str(n), "@READ_REPORT@": "\n".join(read),
                       "@WRITE_COUNTERS@": write,
                       "@EVENTS_OPCODE@": str(int(control.Opcode.EVENTS))}.items():
        text = text.replace(key, value)
    return text


def _source_digest(*extra: str) -> str:
    """A hash of every source the core's Verilog is made from (gateware, protocol
    definitions, the Verilog export) and of ``extra``."""
    import amaranth

    from tick2trade import hdl, proto

    from .. import toolchain

    digest = hashlib.sha256(amaranth.__version__.encode())
    files = [Path(toolchain.__file__)]
    for package in (hdl, proto):
        root = Path(package.__file__).parent
        files += sorted(root.rglob("*.py"))
    for path in files:
        digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    for item in extra:
        digest.update(b"\0" + item.encode())
    return digest.hexdigest()[:16]


@functools.cache
def _design(net_config, book_params: BookParams, kind: control.DeviceKind) -> tuple[str, tuple]:
    """Verilog and counter ports of one core.

    Converting the core takes 10–20 s, so the text is kept under
    :data:`~tick2trade.sim.toolchain.BUILD_ROOT` by a hash of its sources and
    parameters, and in memory for the process.
    """
    folder = build_dir("core_verilog")
    key = _source_digest(repr(net_config), repr(book_params), repr(kind))
    verilog, ports = folder / f"{key}.v", folder / f"{key}.counters"
    if verilog.exists() and ports.exists():
        return verilog.read_text(), tuple(ports.read_text().split())
    top = TradingCore(net_config, book_params, kind=kind)
    text, counters = to_verilog(top, name="top"), tuple(_counter_ports(top))
    for path, content in ((ports, "\n".join(counters)), (verilog, text)):
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(content)
        partial.replace(path)  # atomic: parallel workers never read half a file
    return text, counters


def build_core_harness(net_config, book_params: BookParams | None = None, *,
                       kind: control.DeviceKind = control.DeviceKind.COSIM
                       ) -> tuple[Path, list[str], float]:
    """Compile (or reuse) the harness of ``TradingCore(net_config, book_params, kind=kind)``:
    (binary, counter ports, build seconds)."""
    verilog, counters = _design(net_config, book_params or BookParams(), kind)
    binary, built = compile_harness("core_harness", verilog, _generate(list(counters)))
    return binary, list(counters), built


def _write_records(path: Path, items: Iterable[bytes]) -> int:
    n = 0
    with open(path, "wb") as f:
        for item in items:
            f.write(struct.pack("<I", len(item)))
            f.write(item)
            n += 1
    return n


def request_frame(datagram: bytes) -> bytes:
    """``datagram`` as the harness's host sends it to the core's control link: padded to the
    Ethernet minimum, FCS included."""
    mac, ip, port = HOST
    return with_fcs(build_udp_frame(
        datagram, src_mac=mac_str(mac.to_bytes(6, "big")),
        dst_mac=mac_str(CONTROL_MAC.to_bytes(6, "big")), src_ip=ip_str(ip.to_bytes(4, "big")),
        dst_ip=ip_str(CONTROL_IP.to_bytes(4, "big")), src_port=port, dst_port=CONTROL_PORT,
        pad=True))


def _tx_datagrams(raw: bytes) -> list[tuple[int, bytes]]:
    """(now, UDP payload) of each frame the core sent on XGMII TX, checked: FCS good,
    from the control link's addresses, to the harness's host."""
    out, at, mac = [], 0, MacRxModel()
    host_mac, host_ip, host_port = HOST
    while at < len(raw):
        now, n = struct.unpack_from("<QI", raw, at)
        wire = raw[at + 12:at + 12 + n]
        at += 12 + n
        frame, error = mac.receive(wire)
        if error:
            raise RuntimeError(f"a frame at {now} on XGMII TX is bad ({dict(mac.counters)})")
        parsed = parse_frame(frame)
        if parsed.ip is None or parsed.src_port is None:
            raise RuntimeError(f"a frame at {now} on XGMII TX is not UDP/IPv4")
        got = (parsed.src_mac, parsed.dst_mac, parsed.ip.src, parsed.ip.dst, parsed.src_port,
               parsed.dst_port)
        want = (CONTROL_MAC.to_bytes(6, "big"), host_mac.to_bytes(6, "big"),
                CONTROL_IP.to_bytes(4, "big"), host_ip.to_bytes(4, "big"), CONTROL_PORT,
                host_port)
        if got != want:
            raise RuntimeError(f"a frame at {now} on XGMII TX goes {got}, not {want}")
        out.append((now, parsed.payload))
    return out


def run_core_harness(net_config, book_params: BookParams | None, config: Iterable[bytes],
                     frames: Iterable[bytes], after: Iterable[bytes] = (), *,
                     kind: control.DeviceKind = control.DeviceKind.COSIM, ipg: int = 12,
                     extra_idle: int = 0, lane4: bool = True, ready_percent: int = 100,
                     seed: int = 1, tail: int = 256, pace: int = 0,
                     subscribe: int | None = ALL_EVENTS) -> CoreRun:
    """Configure the core with the ``config`` datagrams, drive ``frames`` (FCS included),
    read with the ``after`` datagrams; ``extra_idle``/``ready_percent`` as in :mod:`.harness`.

    ``subscribe``: the mask of the SUBSCRIBE sent after ``config`` (None: none sent).

    ``pace`` 0 drives the frames back to back at line rate; ``pace`` > 0 keeps one frame
    in flight: the next starts once the core has been idle ``pace`` cycles after the
    previous frame ended (no queueing: the unloaded latency of every packet).
    """
    binary, counters, built = build_core_harness(net_config, book_params, kind=kind)
    n = _words(OrderReport)
    with tempfile.TemporaryDirectory(prefix="t2t-core-") as tmp:
        tmp = Path(tmp)
        config = list(config)
        if subscribe is not None:
            config.append(control.encode(control.Subscribe(subscribe), 0xFFFF))
        _write_records(tmp / "config.bin", map(request_frame, config))
        count = _write_records(tmp / "frames.bin", frames)
        _write_records(tmp / "after.bin", map(request_frame, after))
        cmd = [str(binary), str(tmp / "config.bin"), str(tmp / "frames.bin"),
               str(tmp / "after.bin"), str(tmp), str(ipg), str(extra_idle), str(int(lane4)),
               str(ready_percent), str(seed), str(tail), str(pace)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"core harness failed ({done.returncode}): {done.stderr[-2000:]}")
        ouch = (tmp / "ouch.bin").read_bytes()
        reports = (tmp / "reports.bin").read_bytes()
        starts = (tmp / "starts.bin").read_bytes()
        records = (tmp / "records.bin").read_bytes()
        sent = _tx_datagrams((tmp / "tx.bin").read_bytes())
        values = dict(line.split() for line in (tmp / "counters").read_text().splitlines())
    events_opcode = bytes([control.Opcode.EVENTS])
    events = [(now, d) for now, d in sent if d[3:4] == events_opcode]
    replies = [d for _, d in sent if d[3:4] != events_opcode]
    subscribe_reply = None
    if subscribe is not None:
        if len(replies) < len(config):
            raise RuntimeError(f"{len(replies)} control replies to {len(config)} requests")
        subscribe_reply = replies.pop(len(config) - 1)
    beats = []
    for now, data, flags in struct.iter_unpack("<3Q", ouch):
        keep = flags & 0xFF
        size = keep.bit_length()
        if keep != (1 << size) - 1:
            raise RuntimeError(f"OUCH beat at {now} with a non-contiguous keep 0x{keep:02x}")
        beats.append(OuchBeat(now, data.to_bytes(8, "little")[:size], bool(flags >> 8 & 1),
                              bool(flags >> 9 & 1)))
    decoded = []
    for at in range(0, len(reports), 8 * (1 + n)):
        now, *parts = struct.unpack_from(f"<{1 + n}Q", reports, at)
        bits = sum(p << (64 * k) for k, p in enumerate(parts))
        fields = unpack(OrderReport, bits)
        request_bits = (bits >> OrderReport.as_shape()["request"].offset)
        fields["request"] = unpack(OrderReport.as_shape()["request"].shape, request_bits)
        decoded.append((now, fields))
    return CoreRun(beats=beats, reports=decoded, starts=list(struct.iter_unpack("<2Q", starts)),
                   records=list(struct.iter_unpack("<2Q", records)),
                   replies=replies, counters={k: int(values[k]) for k in counters},
                   cycles=int(values["cycles"]), frames=count,
                   wall_seconds=int(values["wall_ns"]) / 1e9, build_seconds=built,
                   events=events, subscribe_reply=subscribe_reply)
