"""Feed-path replay engines: a capture's frames → ITCH records (issue 4).

``run_model`` feeds the frames through the reference models
(:class:`~tick2trade.sim.model.feed.path.FeedPathModel`); ``run_rtl``
drives the same frames, FCS appended, into the gateware feed path under
part A's C++ Verilator harness at line rate (no Python per cycle). Both
return a :class:`FeedRun` whose records ``t2t replay --records-out`` writes
as JSON Lines; their records must be identical.

Inputs: a pcap/pcapng (Ethernet frames, used as captured) or an ITCH
BinaryFILE, packed into MoldUDP64 packets (MoldUDP64 §2, session
``BINARYFILE``, sequence numbers from 1) and framed as UDP to the
captures' group 233.54.12.111:26477. The receive filters accept the
destination MACs and UDP ports the input's UDP frames use (up to four
each, most frequent first); the IPv4 header checksum is not checked
because the anonymised captures zero it (captures README).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tick2trade.proto.net import multicast_mac, parse_frame

from .model.feed.records import Record, record_from_bits
from .model.net import UdpRxConfig, with_fcs

__all__ = ["FeedRun", "input_frames", "pack_frames", "replay_config", "replay_feed", "run_model",
           "run_rtl", "ENGINES"]

#: the filter table size of the simulated feed path
TABLE_SIZE = 4
BINARYFILE_SESSION = b"BINARYFILE"
GROUP_IP, FEED_PORT = "233.54.12.111", 26477
SOURCE = dict(src_mac="02:00:00:00:00:02", src_ip="206.200.127.138", src_port=49653)
ETHERNET = 1


@dataclass
class FeedRun:
    """Records in feed order and the feed path's counters (Verilog port names)."""

    records: list[Record]
    counters: dict[str, int] = field(default_factory=dict)
    frames: int = 0
    cycles: int = 0
    wall_seconds: float = 0.0


def input_frames(path: str | Path) -> list[bytes]:
    """Ethernet frames (no FCS) of a capture, or of a BinaryFILE packed into MoldUDP64."""
    from tick2trade.proto.binaryfile import read_binaryfile
    from tick2trade.proto.pcap import iter_records

    from .model.replay import PCAP, open_input

    source = open_input(path)
    if source.kind == PCAP:
        return [rec.frame for rec in iter_records(source.path) if rec.linktype == ETHERNET]
    return pack_frames(read_binaryfile(source.path))


def pack_frames(messages, *, session: bytes = BINARYFILE_SESSION,
                max_payload: int | None = None) -> list[bytes]:
    """ITCH messages → MoldUDP64 packets (sequence from 1) → UDP frames to the feed group."""
    from tick2trade.proto.moldudp64 import MTU_PAYLOAD, MoldPacker
    from tick2trade.proto.net import build_udp_frame

    packer = MoldPacker(session, 1, max_payload=max_payload or MTU_PAYLOAD)
    return [build_udp_frame(p.encode(), dst_mac=None, dst_ip=GROUP_IP, dst_port=FEED_PORT,
                            **SOURCE) for p in packer.pack(messages)]


def replay_config(frames: list[bytes]) -> UdpRxConfig:
    """Filters that accept the UDP frames of ``frames``.

    The filter values are build-time constants of the simulated top, so to
    reuse one Verilator build across inputs the tables always hold the
    standard feed group and port (and port 0, which the anonymised captures
    carry), then the input's own, most used first, sorted.
    """
    groups, unicast, ports = Counter(), Counter(), Counter()
    for frame in frames:
        try:
            parsed = parse_frame(frame)
        except ValueError:
            continue
        if not parsed.is_udp:
            continue
        (groups if parsed.dst_mac[0] & 1 else unicast)[parsed.dst_mac] += 1
        ports[parsed.dst_port] += 1
    own = unicast.most_common(1)[0][0] if unicast else b"\x02\x00\x00\x00\x00\x01"
    standard_groups = [multicast_mac(GROUP_IP)]
    standard_ports = [0, FEED_PORT]
    chosen_groups = list(dict.fromkeys(standard_groups + [g for g, _ in groups.most_common()]))
    chosen_ports = list(dict.fromkeys(standard_ports + [p for p, _ in ports.most_common()]))
    return UdpRxConfig(own_mac=own, groups=tuple(sorted(chosen_groups[:TABLE_SIZE])),
                       ports=tuple(sorted(chosen_ports[:TABLE_SIZE])), check_ip_checksum=False)


def run_model(path: str | Path, *, seq_check: bool = True) -> FeedRun:
    """The reference models over the input's frames."""
    from .model.feed.path import FeedPathModel

    frames = input_frames(path)
    model = FeedPathModel(replay_config(frames), seq_check=seq_check)
    records = model.run(with_fcs(f) for f in frames)
    return FeedRun(records, model.counters(), frames=len(frames))


def run_rtl(path: str | Path, *, seq_check: bool = True, extra_idle: int = 0,
            ready_percent: int = 100) -> FeedRun:
    """The gateware feed path under the C++ Verilator harness, at line rate."""
    from .feed_top import FeedPathTop
    from .verilator.harness import run_harness

    frames = input_frames(path)
    top = FeedPathTop(replay_config(frames), seq_check=seq_check)
    result = run_harness(top, [with_fcs(f) for f in frames], extra_idle=extra_idle,
                         ready_percent=ready_percent, tail=4096)
    records = [record_from_bits(value) for _, value in result.beats]
    return FeedRun(records, result.counters, frames=result.frames, cycles=result.cycles,
                   wall_seconds=result.wall_seconds)


#: ``t2t replay --engine`` name → feed engine
ENGINES = {"model": run_model, "rtl": run_rtl}


def replay_feed(path: str | Path, engine: str, records_out: str | Path | None,
                echo=print) -> FeedRun:
    """``t2t replay --engine {model,rtl} [--records-out PATH]``: run, write, summarise."""
    from .model.feed.records import write_records

    run = ENGINES[engine](path)
    if records_out is not None:
        try:
            write_records(records_out, run.records)
        except OSError as error:
            from .model.replay import ReplayInputError
            raise ReplayInputError(f"cannot write {records_out}: {error.strerror}") from None
    by_type = Counter(chr(r.type) for r in run.records)
    c = run.counters
    echo(f"feed path ({engine}): {len(run.records):,} records  "
         + " ".join(f"{t}={n:,}" for t, n in sorted(by_type.items())))
    echo(f"  frames {run.frames:,}; packets {c.get('stats__a_packets', 0):,} "
         f"(malformed {c.get('stats__a_malformed', 0):,}, errored "
         f"{c.get('stats__a_errored', 0):,}); delivered {c.get('stats__delivered', 0):,}, "
         f"unsequenced {c.get('stats__unsequenced', 0):,}, gaps {c.get('stats__gaps', 0):,}, "
         f"duplicates {c.get('stats__duplicates', 0):,}; skipped messages "
         f"{c.get('stats__skipped', 0):,}, malformed {c.get('stats__malformed', 0):,}")
    if run.wall_seconds:
        echo(f"  {run.cycles:,} cycles in {run.wall_seconds:.3f} s of simulation "
             f"({len(run.records) / run.wall_seconds:,.0f} records/s)")
    return run
