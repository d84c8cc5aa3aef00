"""Replay engines of the whole feed path: model records = proto, rtl records = model.

``run_model`` (reference models, fast) is checked on every real capture and
on ``sample.itch``; ``run_rtl`` (the gateware under the C++ Verilator
harness) on all real captures in one pcap and on a generated flow, and
through ``t2t replay --engine rtl --records-out``.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import CAPTURES, itch_pcaps
from feed_streams import proto_records

from tick2trade.host.cli import main
from tick2trade.proto.moldudp64 import MoldPacket
from tick2trade.proto.net import parse_frame
from tick2trade.proto.pcap import PcapWriter, iter_records
from tick2trade.sim.feed_engine import input_frames, run_model, run_rtl
from tick2trade.sim.model.feed.records import record_json


def jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("capture", itch_pcaps(), ids=lambda p: p.name)
def test_model_engine_matches_proto(capture):
    run = run_model(capture)
    assert [record_json(r) for r in run.records] == proto_records(input_frames(capture))
    assert run.counters["stats__a_malformed"] == run.counters["stats__malformed"] == 0


def test_model_engine_on_binaryfile(captures_dir):
    run = run_model(captures_dir / "sample.itch")
    records = [record_json(r) for r in run.records]
    assert records == proto_records(input_frames(captures_dir / "sample.itch"))
    assert sum(r["type"] == "R" for r in records) == 993
    assert [r["seq"] for r in records[:2]] == [2, 3]  # S (no record) is message 1


def test_records_out_cli_model_engine(tmp_path, captures_dir):
    capture = captures_dir / "itch50_Multiple.Packets.pcap"
    out = tmp_path / "records.jsonl"
    result = CliRunner().invoke(main, ["replay", str(capture), "--engine", "model",
                                       "--records-out", str(out)])
    assert result.exit_code == 0, result.output
    assert jsonl(out) == proto_records(input_frames(capture))
    assert jsonl(out)[0] == {"seq": 14764496, "type": "D", "locate": 2737,
                             "ts": 34200007495351, "ref": 23485802}


def all_captures_pcap(path):
    """Every real ITCH frame in one pcap: anonymised (seq 0) first, then real ones by seq."""
    frames = [rec for p in itch_pcaps() for rec in iter_records(p)]

    def seq(rec):
        return MoldPacket.decode(parse_frame(rec.frame).payload).sequence
    ordered = sorted(frames, key=seq)
    with PcapWriter(path, nanosecond=True) as writer:
        for rec in ordered:
            writer.write(rec.frame, rec.ts_ns)
    return path


def generated_pcap(path, messages=3000):
    from tick2trade.sim.model.feed_writer import write_pcap_flow
    from tick2trade.sim.model.generator import FlowConfig, FlowGenerator
    write_pcap_flow(path, FlowGenerator(FlowConfig(messages, 20, 5)), session=b"GENERATED1")
    return path


@pytest.mark.rtl
@pytest.mark.slow
def test_rtl_engine_equals_model_and_proto(tmp_path):
    if not CAPTURES.exists():
        pytest.skip(f"third-party data not present: {CAPTURES}")
    for pcap in (all_captures_pcap(tmp_path / "all.pcap"), generated_pcap(tmp_path / "gen.pcap")):
        rtl, model = run_rtl(pcap), run_model(pcap)
        want = proto_records(input_frames(pcap))
        assert [record_json(r) for r in model.records] == want
        assert [record_json(r) for r in rtl.records] == want
        for name, value in model.counters.items():
            assert rtl.counters[name] == value, name


@pytest.mark.rtl
@pytest.mark.slow
def test_records_out_cli_rtl_equals_model(tmp_path):
    pcap = generated_pcap(tmp_path / "gen.pcap", 500)
    outs = {}
    for engine in ("rtl", "model"):
        outs[engine] = tmp_path / f"{engine}.jsonl"
        result = CliRunner().invoke(main, ["replay", str(pcap), "--engine", engine,
                                           "--records-out", str(outs[engine])])
        assert result.exit_code == 0, result.output
    assert outs["rtl"].read_bytes() == outs["model"].read_bytes()
    assert len(jsonl(outs["rtl"])) > 400


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("capture", itch_pcaps(), ids=lambda p: p.name)
def test_rtl_engine_each_capture(capture):
    rtl = run_rtl(capture)
    assert [record_json(r) for r in rtl.records] == proto_records(input_frames(capture))
    for name, value in run_model(capture).counters.items():
        assert rtl.counters[name] == value, name
