"""The composed core's event channel (issue 6) against the model device.

The harness subscribes over Ethernet (XGMII RX, the feed's line) before the
feed starts; the EVENTS datagrams the core sends on XGMII TX must equal,
byte for byte, what the model device (``sim/model/control.py``
``EventSequencer`` + ``report_event``) sends for the same run: orders sent
and rejected (the model's decisions; the stage stamps are cycles the model
cannot know, so they are taken from the core's reports and checked for
order and consistency with ``cycles``), MoldUDP64 gaps (MoldUDP64 §4, the
stamp likewise), and the risk counters snapshot the harness asks for once
the core is quiet. Events the packer drops on a burst must show as
sequence holes equal to ``events.dropped`` (none on these flows: the core
queues 32 order events).
"""

from __future__ import annotations

import dataclasses
import tomllib
from types import SimpleNamespace

import pytest
from conftest import itch_pcaps

from tick2trade.hdl.book.layouts import BookParams
from tick2trade.hdl.csr.device_map import device_map
from tick2trade.hdl.risk.layouts import COUNTERS as RISK_COUNTERS
from tick2trade.proto import control as c
from tick2trade.proto.capture import iter_mold
from tick2trade.proto.pcap import iter_records, write_records
from tick2trade.sim.core_rtl import run_core
from tick2trade.sim.feed_engine import input_frames, replay_config
from tick2trade.sim.model.control import EventSequencer, report_event
from tick2trade.sim.model.decision_config import parse_decision_config
from tick2trade.sim.model.feed_writer import write_pcap_flow
from tick2trade.sim.model.generator import FlowConfig, FlowGenerator
from tick2trade.sim.model.replay import open_input
from tick2trade.sim.model.sequencer import MoldSequencer
from tick2trade.sim.model.strategy.replay import (
    directory,
    feed_events,
    replay_orders,
    subscriptions,
)
from tick2trade.sim.verilator.core import ALL_EVENTS

STRATEGY = {"taker": {"num": 3, "den": 5, "cooldown_ns": 50_000, "max_spread": 600},
            "quoter": {"enabled": 1, "offset": 100, "requote": 100},
            "risk": {"rate_orders": 20, "rate_window_ns": 200_000, "max_position": 300,
                     "fat_finger_band": 300}}
STAGES = ("trigger_hw_ts", "stamp_tob", "stamp_strategy", "stamp_risk")


def _flow(tmp_path, messages=800, drop=None):
    path = tmp_path / "flow.pcap"
    write_pcap_flow(path, FlowGenerator(FlowConfig(messages, 6, 11)), session=b"T2T0000011",
                    packet_size=512)
    if drop is not None:
        records = [(r.ts_ns, r.frame) for r in iter_records(path)]
        del records[drop]
        path = tmp_path / "gapped.pcap"
        write_records(path, records)
    return path


def _run(path, config, **kwargs):
    params = BookParams()
    records = list(feed_events(open_input(path)))
    locates = subscriptions(records, config, params.symbols)
    frames = input_frames(path)
    return run_core(frames, replay_config(frames), config, locates, directory(records), params,
                    **kwargs)


def _model_gaps(path) -> list[c.Gap]:
    """The gaps the model sequencer sees (MoldUDP64 §4), stamp 0 (a cycle count)."""
    sequencer, out = MoldSequencer(), []
    for captured in iter_mold(path):
        expected = sequencer.expected(captured.packet.session)
        gaps = sequencer.stats.gaps
        sequencer.deliverable(captured.packet)
        if sequencer.stats.gaps != gaps:
            out.append(c.Gap(0, expected, captured.packet.sequence, 0))
    return out


def _model_events(path, config, rtl) -> dict[int, list]:
    """Per event type, what the model device sends in order (the stamps: the core's)."""
    model = replay_orders(open_input(path), config, "model")
    assert len(model.decisions) == len(rtl.stamps)
    orders = []
    for decision, stamps in zip(model.decisions, rtl.stamps, strict=True):
        view = SimpleNamespace(**{**dataclasses.asdict(decision),
                                  **{k: stamps[k] for k in STAGES}})
        orders.append(report_event(view, decision.token, stamps["stamp_encoder"], ref_base=0))
    addr = device_map(c.DeviceKind.COSIM).register(f"risk.count_{RISK_COUNTERS[0]}").addr
    snapshot = c.Counters(addr, tuple(model.counters[n] for n in RISK_COUNTERS))
    return {c.EventType.ORDER_SENT: [e for e in orders if e.reason == 0],
            c.EventType.ORDER_REJECTED: [e for e in orders if e.reason != 0],
            c.EventType.GAP: _model_gaps(path), c.EventType.COUNTERS: [snapshot]}


def _check_stamps(rtl):
    """Stage stamps in pipeline order, the encoder's = the report's cycle = cycles + tob."""
    for stamps, cycles in zip(rtl.stamps, rtl.cycles, strict=True):
        chain = [stamps[k] for k in STAGES]
        assert chain == sorted(chain) and stamps["stamp_tob"] > 0
        assert cycles == stamps["now"] - stamps["stamp_tob"]
        if stamps["stamp_encoder"]:
            assert stamps["stamp_encoder"] == stamps["now"] > stamps["stamp_risk"]


def _match(rtl, expected: dict[int, list]) -> int:
    """Each EVENTS datagram equals the model device's event of its type next in line (events
    the core dropped are skipped); returns how many were skipped. Checks the numbering:
    increasing, every hole an event dropped."""
    at = dict.fromkeys(expected, 0)
    skipped, last_seq, last_now, holes = 0, -1, 0, 0
    for now, raw in rtl.events:
        tag, msg = c.decode(raw)
        assert isinstance(msg, c.Events) and len(msg.events) == 1 and msg.seq > last_seq
        assert now > last_now
        holes += msg.seq - last_seq - 1
        last_seq, last_now = msg.seq, now
        got = msg.events[0]
        queue = expected[got.type]
        for k in range(at[got.type], len(queue)):
            want = queue[k]
            if got.type == c.EventType.GAP:
                # the gap's stamp is the cycle it was handed on; everything else is the model's
                assert 0 < got.stamp < rtl.sim_cycles
                want = dataclasses.replace(want, stamp=got.stamp)
            if EventSequencer(msg.seq).take(want, ALL_EVENTS) == (msg.seq, raw):
                skipped += k - at[got.type]
                at[got.type] = k + 1
                break
        else:
            raise AssertionError(f"event {msg.seq} {got} is not the model's next "
                                 f"{got.type.name}: {queue[at[got.type]:at[got.type] + 2]}")
        if isinstance(got, c.OrderEvent):
            assert now > got.stamp_risk                 # the event follows the decision
    total = sum(len(q) for q in expected.values())
    left = sum(len(q) - at[t] for t, q in expected.items())
    dropped = rtl.event_counters["dropped"]
    assert rtl.event_counters["sent"] == len(rtl.events)
    assert len(rtl.events) + dropped == total
    assert skipped + left == dropped
    assert holes + (total - 1 - last_seq) == dropped
    return skipped + left


@pytest.fixture(scope="module")
def config():
    return parse_decision_config(STRATEGY)


@pytest.mark.parametrize("timing", [{}, {"extra_idle": 40, "ready_percent": 60, "seed": 7}],
                         ids=["line-rate", "idle-gaps-and-backpressure"])
def test_order_gap_and_counter_events_equal_the_model_device(tmp_path, config, timing):
    flow = _flow(tmp_path, drop=5)
    rtl = _run(flow, config, **timing)
    expected = _model_events(flow, config, rtl)
    assert expected[c.EventType.ORDER_SENT] and expected[c.EventType.ORDER_REJECTED]
    assert len(expected[c.EventType.GAP]) == 1
    _check_stamps(rtl)
    # orders decided 7 cycles apart outrun the wire (an event is ~20 cycles on it): the
    # core's 32-deep order queue takes the flow's bursts, so nothing is dropped (the drop
    # and its sequence hole are tested on the packer, tests/hdl/test_event_packer.py)
    assert _match(rtl, expected) == rtl.event_counters["dropped"] == 0
    kinds = {c.decode(raw)[1].events[0].type for _, raw in rtl.events}
    assert kinds == set(c.EventType)


def test_the_mask_takes_only_its_types_numbered_from_zero(tmp_path, config):
    flow = _flow(tmp_path, drop=5)
    mask = 1 << c.EventType.GAP | 1 << c.EventType.COUNTERS
    rtl = _run(flow, config, subscribe=mask)
    expected = _model_events(flow, config, rtl)
    for kind in (c.EventType.ORDER_SENT, c.EventType.ORDER_REJECTED):
        expected[kind] = []
    assert _match(rtl, expected) == 0
    assert [c.decode(raw)[1].seq for _, raw in rtl.events] == [0, 1]


def test_an_empty_mask_takes_nothing(tmp_path, config):
    rtl = _run(_flow(tmp_path, drop=5), config, subscribe=0)
    assert rtl.decisions and rtl.events == []
    assert rtl.event_counters == {"sent": 0, "dropped": 0}


@pytest.mark.parametrize("path", itch_pcaps(), ids=lambda p: p.name)
def test_real_captures_events_equal_the_model_device(path):
    config = parse_decision_config(tomllib.loads("[quoter]\nenabled = 1\n"))
    rtl = _run(path, config)
    _check_stamps(rtl)
    _match(rtl, _model_events(path, config, rtl))
