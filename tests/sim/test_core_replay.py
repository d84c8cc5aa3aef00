"""The composed core (hdl/core.py) against the model: ``t2t replay --engine rtl --orders-out``.

Frames on XGMII at line rate into the gateware core under Verilator (one
build, cached by design digest), configured through control datagrams;
orders decoded from its OUCH bytes. Every line must equal the model's apart
from the rtl engine's ``cycles``/``t2t_cycles`` (docs/strategy.md, "Replay
output").
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import itch_pcaps

from tick2trade.hdl.book.layouts import BookParams
from tick2trade.hdl.strategy.decision import FIRST_ORDER_CYCLES
from tick2trade.host.cli import main
from tick2trade.proto.pcap import iter_records, write_records
from tick2trade.sim.core_rtl import STAGES, run_core
from tick2trade.sim.feed_engine import input_frames, replay_config
from tick2trade.sim.model.decision_config import parse_decision_config
from tick2trade.sim.model.feed_writer import write_binaryfile_flow, write_pcap_flow
from tick2trade.sim.model.generator import FlowConfig, FlowGenerator
from tick2trade.sim.model.replay import open_input
from tick2trade.sim.model.strategy.replay import (
    directory,
    feed_events,
    replay_orders,
    subscriptions,
)

STRATEGY_TOML = """
[taker]
num = 3
den = 5
cooldown_ns = 50000
max_spread = 600
[quoter]
enabled = 1
offset = 100
requote = 100
[risk]
rate_orders = 20
rate_window_ns = 200000
max_position = 300
fat_finger_band = 300
"""
RTL_ONLY = ("cycles", "t2t_cycles")


def _flow(tmp_path, messages=1_500, name="flow.pcap", seed=11):
    path = tmp_path / name
    write_pcap_flow(path, FlowGenerator(FlowConfig(messages, 6, seed)), session=b"T2T0000011",
                    packet_size=512)
    return path


def _replay(tmp_path, flow, *extra, config=STRATEGY_TOML, name="orders.jsonl"):
    cfg = tmp_path / "strategy.toml"
    cfg.write_text(config)
    out = tmp_path / name
    result = CliRunner().invoke(main, ["replay", str(flow), "--config", str(cfg),
                                       "--orders-out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()], result.output


def _strip(lines):
    return [{k: v for k, v in line.items() if k not in RTL_ONLY} for line in lines]


def test_generated_flow_rtl_lines_equal_the_model_plus_cycles(tmp_path):
    flow = _flow(tmp_path)
    model, _ = _replay(tmp_path, flow)
    rtl, output = _replay(tmp_path, flow, "--engine", "rtl", name="rtl.jsonl")
    assert "rtl engine" in output and "tick-to-trade" in output
    assert len(model) > 50 and _strip(rtl) == model
    sent = [line for line in rtl if line["verdict"] == "sent"]
    assert sent and all(list(line)[-2:] == list(RTL_ONLY) for line in rtl)
    # the first order of a record: the decision path's fixed cost + the encoder's first beat
    assert min(line["cycles"] for line in sent) == FIRST_ORDER_CYCLES + 1
    # a sequenced flow: every sent order has its tick-to-trade, rejects none
    assert all(line["t2t_cycles"] > line["cycles"] for line in sent)
    assert all(line["t2t_cycles"] is None for line in rtl if line["verdict"] != "sent")


def test_binaryfile_input_is_packed_into_moldudp64_frames(tmp_path):
    flow = tmp_path / "flow.itch"
    write_binaryfile_flow(flow, FlowGenerator(FlowConfig(1_000, 6, 3)))
    model, _ = _replay(tmp_path, flow)
    rtl, _ = _replay(tmp_path, flow, "--engine", "rtl", name="rtl.jsonl")
    assert model and _strip(rtl) == model
    assert all(line["t2t_cycles"] for line in rtl if line["verdict"] == "sent")


def test_subscriptions_by_name_reach_the_book_through_the_control_plane(tmp_path):
    flow = _flow(tmp_path)
    config = STRATEGY_TOML + '[symbols]\nsubscribe = ["MSFT", "AAPL"]\n'
    model, _ = _replay(tmp_path, flow, config=config)
    rtl, _ = _replay(tmp_path, flow, "--engine", "rtl", config=config, name="rtl.jsonl")
    assert _strip(rtl) == model
    # the generator lists AAPL, MSFT, … from locate 1: slot 0 follows MSFT, slot 1 AAPL
    assert {line["locate"] for line in model} == {1, 2}


def _core_run(path, config=STRATEGY_TOML, **timing):
    import tomllib

    cfg = parse_decision_config(tomllib.loads(config))
    params = BookParams()
    records = list(feed_events(open_input(path)))
    locates = subscriptions(records, cfg, params.symbols)
    frames = input_frames(path)
    return run_core(frames, replay_config(frames), cfg, locates, directory(records), params,
                    **timing)


def test_stages_add_up_and_idle_gaps_and_backpressure_change_nothing(tmp_path):
    flow = _flow(tmp_path, messages=800)
    base = _core_run(flow)
    assert base.decisions
    for t2t, stages in zip(base.t2t_cycles, base.stages, strict=True):
        if t2t is not None:
            assert list(stages) == list(STAGES) and sum(stages.values()) == t2t
            assert min(stages.values()) >= 1
    # each trigger was matched to its own frame: the start-of-frame stamp follows /S/ by a
    # fixed delay (one per start lane)
    assert 1 <= len(base.stamp_offsets) <= 2 and max(base.stamp_offsets) < 8
    busy = _core_run(flow, extra_idle=40, ready_percent=60, seed=7)
    # the same orders (their cycle stamps move with the idle gaps)
    assert [d.json() for d in busy.decisions] == [d.json() for d in base.decisions]
    assert busy.counters == base.counters and busy.book_counters == base.book_counters
    assert busy.packets == base.packets


def test_paced_one_packet_in_flight_gives_the_same_orders(tmp_path):
    flow = _flow(tmp_path, messages=800)
    line_rate = _core_run(flow, pace=0)
    paced = _core_run(flow, pace=64)
    assert (line_rate.pace, paced.pace) == (0, 64)
    assert [d.json() for d in paced.decisions] == [d.json() for d in line_rate.decisions]
    # no queueing behind earlier packets: never slower than at line rate
    assert max(t for t in paced.t2t_cycles if t) <= max(t for t in line_rate.t2t_cycles if t)


def _drop_frame(src, dst, index):
    records = [(r.ts_ns, r.frame) for r in iter_records(src)]
    del records[index]
    write_records(dst, records)


@pytest.mark.parametrize("kill_on_gap", [0, 1])
def test_a_feed_gap_reaches_the_decision_path_in_order(tmp_path, kill_on_gap):
    flow = _flow(tmp_path, messages=1_200)
    gapped = tmp_path / "gapped.pcap"
    _drop_frame(flow, gapped, 5)
    config = STRATEGY_TOML.replace("[risk]\n", f"[risk]\nkill_on_gap = {kill_on_gap}\n")
    model, _ = _replay(tmp_path, gapped, config=config)
    rtl, _ = _replay(tmp_path, gapped, "--engine", "rtl", config=config, name="rtl.jsonl")
    assert _strip(rtl) == model
    verdicts = {line["verdict"] for line in model}
    assert ("kill" in verdicts) == bool(kill_on_gap)


@pytest.mark.parametrize("path", itch_pcaps(), ids=lambda p: p.name)
def test_real_captures_rtl_equals_model(path):
    config = parse_decision_config({"quoter": {"enabled": 1}})
    model = replay_orders(open_input(path), config, "model")
    rtl = replay_orders(open_input(path), config, "rtl")
    assert _strip(rtl.lines()) == list(model.lines())
    assert rtl.counters == model.counters
    assert (rtl.records, rtl.tops) == (model.records, model.tops)


@pytest.mark.slow
def test_a_million_messages_rtl_equals_model(tmp_path):
    flow = _flow(tmp_path, messages=1_000_000, seed=5)
    config = parse_decision_config({"taker": {"num": 3, "den": 5, "cooldown_ns": 50_000},
                                    "quoter": {"enabled": 1},
                                    "risk": {"rate_orders": 200, "max_position": 5_000}})
    model = replay_orders(open_input(flow), config, "model")
    rtl = replay_orders(open_input(flow), config, "rtl")
    lines = list(model.lines())
    assert len(lines) > 1_000
    # at line rate this flow overflows the receive path (the book is slower): run paced
    assert rtl.pace
    assert _strip(rtl.lines()) == lines
    assert rtl.counters == model.counters


def test_control_plane_of_the_core_answers_like_the_register_map(tmp_path):
    """Identity, refused requests and slots beyond the book, at the core's control port."""
    from tick2trade.hdl.csr.device_map import device_map
    from tick2trade.proto import control as c
    from tick2trade.sim.core_rtl import COUNTER_READS, readback_datagrams
    from tick2trade.sim.model.net import with_fcs
    from tick2trade.sim.verilator.core import run_core_harness

    flow = _flow(tmp_path, messages=400)
    frames = input_frames(flow)
    regmap = device_map(c.DeviceKind.COSIM)
    row = regmap.table("subscription").table
    setup = [c.encode(c.Read(c.ID_ADDR, 1), 1),
             b"\x00" * 12,                                   # bad magic: an ERROR reply
             # every locate of the flow, but in rows the 64-slot book does not have
             *(c.encode(c.TableWrite(c.TableId.SUBSCRIPTION, 64 + loc,
                                     (loc | 1 << 16).to_bytes(row.row_bytes, "little")), 2 + loc)
               for loc in range(1, 7))]
    run = run_core_harness(replay_config(frames), BookParams(), setup,
                           [with_fcs(f) for f in frames], readback_datagrams(regmap))
    replies = [c.decode(r)[1] for r in run.replies]
    assert replies[0] == c.ReadReply(c.ID_ADDR, (c.device_id(c.DeviceKind.COSIM),))
    assert isinstance(replies[1], c.ErrorReply) and replies[1].code == c.ErrorCode.BAD_MAGIC
    assert all(isinstance(r, c.TableAck) for r in replies[2:8])
    book = dict(zip(COUNTER_READS[1][1], replies[len(setup) + 1].words, strict=True))
    assert book["count_tob"] == 0 and book["count_unsubscribed"] > 0
    assert run.beats == [] and run.reports == []
