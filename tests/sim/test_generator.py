"""Synthetic ITCH flow: deterministic, structurally valid, every reference live."""

from __future__ import annotations

import itertools

import pytest

from tick2trade.proto import itch, net
from tick2trade.proto.binaryfile import read_binaryfile
from tick2trade.proto.moldudp64 import MoldPacket
from tick2trade.proto.pcap import read_records
from tick2trade.sim.model.book import OrderBook
from tick2trade.sim.model.feed_writer import write_binaryfile_flow, write_pcap_flow
from tick2trade.sim.model.generator import (
    FlowConfig,
    FlowGenerator,
    generate,
    preamble_length,
)

SMALL = {"messages": 6000, "symbols": 6, "seed": 11, "orders_per_symbol": 40}


@pytest.fixture(scope="module")
def flow() -> list:
    return [itch.decode(m) for m in generate(**SMALL)]


def test_same_seed_same_bytes_other_seed_other_bytes():
    a = list(generate(3000, 5, seed=1))
    assert a == list(generate(3000, 5, seed=1))
    assert a != list(generate(3000, 5, seed=2))


def test_exact_count_and_day_structure(flow):
    k = SMALL["symbols"]
    assert len(flow) == SMALL["messages"]
    assert flow[0].TYPE == "S" and flow[0].event_code == "O"
    directory = flow[1:1 + k]
    assert [m.TYPE for m in directory] == ["R"] * k
    assert [m.stock_locate for m in directory] == list(range(1, k + 1))
    assert len({m.stock for m in directory}) == k
    assert all(m.stock.isalpha() and m.stock.isupper() for m in directory)
    spin = flow[1 + k:1 + 2 * k]
    assert [(m.TYPE, m.trading_state) for m in spin] == [("H", "T")] * k
    assert [m.event_code for m in flow[1 + 2 * k:preamble_length(k)]] == ["S", "Q"]
    assert [(m.TYPE, m.event_code) for m in flow[-3:]] == [("S", "M"), ("S", "E"), ("S", "C")]


def test_timestamps_references_and_matches_rise(flow):
    stamps = [m.timestamp for m in flow]
    assert stamps == sorted(stamps)
    new_refs = [m.order_ref if m.TYPE in "AF" else m.new_order_ref
                for m in flow if m.TYPE in "AFU"]
    assert all(a < b for a, b in itertools.pairwise(new_refs))
    matches = [m.match_number for m in flow if m.TYPE in "EC"]
    assert matches and all(a < b for a, b in itertools.pairwise(matches))


def test_mix_has_every_book_message_and_prices_on_the_tick_grid(flow):
    types = {m.TYPE for m in flow}
    assert set("AFECXDUHRS") <= types
    adds = [m for m in flow if m.TYPE in "AF"]
    assert {m.side for m in adds} == {"B", "S"}
    assert all(m.price % 100 == 0 and m.price > 0 and m.shares > 0 for m in adds)
    symbols = {m.stock_locate: m.stock for m in flow if m.TYPE == "R"}
    assert all(symbols[m.stock_locate] == m.stock for m in adds)


def test_every_reference_is_live_when_named():
    gen = FlowGenerator(FlowConfig(**SMALL))
    book = OrderBook()
    book.apply_raw_many(m for _ts, m in gen)
    s = book.stats
    assert s.unknown_refs == {} and s.overfills == {}
    assert (s.duplicate_adds, s.zero_share_adds, s.bad_side, s.locate_mismatches,
            s.malformed) == (0, 0, 0, 0, 0)
    # the generator's own idea of the live book is the model's
    assert {o.ref: (o.locate, o.price, o.shares) for o in book.orders()} == {
        ref: (o[0], o[2], o[3]) for ref, o in gen.orders.items()}


def test_book_stays_two_sided_and_near_its_target_size():
    config = FlowConfig(40_000, symbols=4, seed=5, orders_per_symbol=50)
    book = OrderBook()
    book.apply_raw_many(generate(40_000, 4, seed=5, orders_per_symbol=50))
    assert 0.5 * 200 <= len(book) <= 1.5 * 200
    for locate in range(1, config.symbols + 1):
        bid_px, bid_qty, ask_px, ask_qty = book.top_of_book(locate)
        assert bid_qty and ask_qty


def test_too_few_messages_for_the_symbols_is_refused():
    with pytest.raises(ValueError, match="need at least 26"):
        FlowConfig(messages=20, symbols=10)
    with pytest.raises(ValueError, match="symbols"):
        FlowConfig(messages=100, symbols=0)


def test_binaryfile_output_round_trips(tmp_path):
    path = tmp_path / "flow.itch"
    assert write_binaryfile_flow(path, FlowGenerator(FlowConfig(**SMALL))) == SMALL["messages"]
    assert list(read_binaryfile(path)) == list(generate(**SMALL))
    assert path.read_bytes().endswith(b"\0\0")  # end-of-session marker (ITCH 5.0 §1)


@pytest.mark.parametrize("packet_size", [64, 500, 1472])
def test_pcap_output_is_a_proper_moldudp64_session(tmp_path, packet_size):
    path = tmp_path / "flow.pcap"
    session = b"T2T0000011"
    packets, count = write_pcap_flow(path, FlowGenerator(FlowConfig(**SMALL)),
                                     session=session, packet_size=packet_size)
    records = read_records(path)
    assert len(records) == packets and count == SMALL["messages"]
    expected_seq, messages, last_ts = 1, [], 0
    for i, record in enumerate(records):
        frame = net.parse_frame(record.frame)
        assert (net.ip_str(frame.ip.dst), frame.dst_port) == ("233.54.12.111", 26477)
        assert frame.dst_mac == net.multicast_mac("233.54.12.111")
        assert frame.ip.checksum == net.ipv4_checksum(frame.ip.raw)
        udp = frame.l4_header + frame.payload
        assert int.from_bytes(frame.l4_header[6:8], "big") == net.udp_checksum(
            frame.ip.src, frame.ip.dst, udp)
        assert len(frame.payload) <= packet_size
        assert record.ts_ns >= last_ts
        last_ts = record.ts_ns
        packet = MoldPacket.decode(frame.payload)
        assert packet.session == session and packet.sequence == expected_seq
        if i == len(records) - 1:
            assert packet.is_end_of_session
        else:
            assert packet.messages
        expected_seq = packet.next_sequence
        messages += packet.messages
    assert messages == list(generate(**SMALL))


@pytest.mark.slow
def test_a_million_message_flow_replays_cleanly_from_pcap_and_binaryfile(tmp_path):
    from tick2trade.sim.model.replay import open_input, run_model
    from tick2trade.sim.model.snapshot import book_records

    config = FlowConfig(1_000_000, symbols=300, seed=21)
    write_binaryfile_flow(tmp_path / "big.itch", FlowGenerator(config))
    write_pcap_flow(tmp_path / "big.pcap", FlowGenerator(config), session=b"T2T0000021")
    results = [run_model(open_input(tmp_path / name)) for name in ("big.itch", "big.pcap")]
    for result in results:
        s = result.book.stats
        assert s.messages == 1_000_000 and s.unknown_refs == {} and s.overfills == {}
    assert results[1].sequencer.gaps == results[1].sequencer.duplicate_messages == 0
    assert list(book_records(results[0].book)) == list(book_records(results[1].book))


@pytest.mark.parametrize("seed", [3, 11])
def test_book_is_never_locked_or_crossed(seed):
    """As on Nasdaq's displayed book, the best bid stays below the best ask after every message."""
    book = OrderBook()
    touched = 0
    for raw in generate(**{**SMALL, "seed": seed}):
        msg = itch.decode(raw)
        book.apply(msg)
        locate = msg.stock_locate
        if locate:
            bid_px, _, ask_px, _ = book.top_of_book(locate)
            if bid_px and ask_px:
                touched += 1
                assert bid_px < ask_px, (msg, bid_px, ask_px)
    assert touched > SMALL["messages"] // 2   # both sides present most of the time


def test_requested_message_count_is_exact_when_bids_have_no_room():
    """A bid with no room below a one-tick ask joins the asks: no message is skipped."""
    flow = list(generate(3000, symbols=1, seed=4, orders_per_symbol=10))
    assert len(flow) == 3000
