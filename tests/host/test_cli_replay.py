"""``t2t replay``: real captures, the book-out/tob-out contract, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CAPTURES, itch_pcaps

from tick2trade.host.cli import main
from tick2trade.proto import itch
from tick2trade.proto.binaryfile import write_binaryfile
from tick2trade.proto.capture import iter_mold
from tick2trade.sim.model.feed_writer import write_binaryfile_flow, write_pcap_flow
from tick2trade.sim.model.generator import FlowConfig, FlowGenerator


def run(*args):
    return CliRunner().invoke(main, ["replay", *map(str, args)])


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _hdr(locate, ts=1):
    return {"stock_locate": locate, "tracking_number": 0, "timestamp": ts}


def _directory(locate, stock):
    return itch.StockDirectory(
        **_hdr(locate), stock=stock, market_category="Q", financial_status_indicator="N",
        round_lot_size=100, round_lots_only="N", issue_classification="C",
        issue_sub_type="Z", authenticity="P", short_sale_threshold_indicator="N",
        ipo_flag="N", luld_reference_price_tier="1", etp_flag="N", etp_leverage_factor=0,
        inverse_indicator="N")


def _add(ref, side, shares, price, locate):
    return itch.AddOrder(**_hdr(locate), order_ref=ref, side=side, shares=shares,
                         stock="X", price=price)


def need(name):
    path = CAPTURES / name
    if not path.exists():
        pytest.skip(f"third-party capture not present: {path}")
    return path


# ------------------------------------------------------------------ the output contract

def test_book_and_tob_lines_are_exactly_the_documented_format(tmp_path):
    flow = tmp_path / "flow.itch"
    write_binaryfile(flow, [
        _directory(13, "AAPL"), _directory(2, "ZVZZT"),
        _add(1, "B", 100, 1_000_000, 13), _add(2, "B", 200, 1_000_000, 13),
        _add(3, "B", 50, 999_900, 13), _add(4, "S", 10, 1_000_100, 13),
        _add(5, "S", 7, 250_000, 300),
    ])
    book_out, tob_out = tmp_path / "book.jsonl", tmp_path / "tob.jsonl"
    result = run(flow, "--book-out", book_out, "--tob-out", tob_out)
    assert result.exit_code == 0, result.output
    assert book_out.read_text() == (
        '{"symbol": "#300", "locate": 300, "bids": [], "asks": [[250000, 7, 1]]}\n'
        '{"symbol": "AAPL", "locate": 13, "bids": [[1000000, 300, 2], [999900, 50, 1]], '
        '"asks": [[1000100, 10, 1]]}\n'
        '{"symbol": "ZVZZT", "locate": 2, "bids": [], "asks": []}\n')
    assert tob_out.read_text() == (
        '{"symbol": "#300", "locate": 300, "bid_px": 0, "bid_qty": 0, "ask_px": 250000, '
        '"ask_qty": 7}\n'
        '{"symbol": "AAPL", "locate": 13, "bid_px": 1000000, "bid_qty": 300, '
        '"ask_px": 1000100, "ask_qty": 10}\n'
        '{"symbol": "ZVZZT", "locate": 2, "bid_px": 0, "bid_qty": 0, "ask_px": 0, '
        '"ask_qty": 0}\n')


def test_depth_limits_levels_best_first(tmp_path):
    flow = tmp_path / "flow.itch"
    write_binaryfile(flow, [_add(i, "B", i, 10_000 + 100 * i, 1) for i in range(1, 30)] +
                     [_add(100 + i, "S", i, 20_000 + 100 * i, 1) for i in range(1, 30)])
    book_out = tmp_path / "book.jsonl"
    assert run(flow, "--book-out", book_out).exit_code == 0
    (record,) = lines(book_out)
    assert len(record["bids"]) == len(record["asks"]) == 10  # the default depth
    assert run(flow, "--book-out", book_out, "--depth", 3).exit_code == 0
    (record,) = lines(book_out)
    assert record["bids"] == [[12_900, 29, 1], [12_800, 28, 1], [12_700, 27, 1]]
    assert record["asks"] == [[20_100, 1, 1], [20_200, 2, 1], [20_300, 3, 1]]
    assert run(flow, "--depth", 0).exit_code == 2


def test_pcap_and_binaryfile_of_one_flow_give_the_same_book(tmp_path):
    config = FlowConfig(20_000, symbols=8, seed=4, orders_per_symbol=60)
    binary, capture = tmp_path / "flow.itch", tmp_path / "flow.pcap"
    write_binaryfile_flow(binary, FlowGenerator(config))
    write_pcap_flow(capture, FlowGenerator(config), session=b"T2T0000004", packet_size=700)
    outputs = []
    for source in (binary, capture):
        book_out, tob_out = tmp_path / f"{source.suffix}.book", tmp_path / f"{source.suffix}.tob"
        result = run(source, "--book-out", book_out, "--tob-out", tob_out, "--depth", 5)
        assert result.exit_code == 0, result.output
        assert "unknown refs 0" in result.output
        outputs.append((book_out.read_text(), tob_out.read_text()))
    assert outputs[0] == outputs[1]
    records = [json.loads(line) for line in outputs[0][0].splitlines()]
    assert len(records) == 8 and all(r["bids"] and r["asks"] for r in records)
    assert "gaps         0" in run(capture).output


# ------------------------------------------------------------------ real captures

def test_multiple_packets_capture(tmp_path):
    path = need("itch50_Multiple.Packets.pcap")
    book_out, tob_out = tmp_path / "book.jsonl", tmp_path / "tob.jsonl"
    result = run(path, "--book-out", book_out, "--tob-out", tob_out, "--depth", 50)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "messages     39  A=36 D=1 F=2" in out
    assert "packets      2 (data 2," in out
    assert "gaps         1 (4,244,620 messages missing)" in out
    assert "unknown refs 1  D=1" in out  # the first packet deletes an order we never saw
    # brute force: every add of the capture, grouped by (locate, side, price)
    levels = defaultdict(lambda: [0, 0])
    for captured in iter_mold(path):
        for raw in captured.packet.messages:
            msg = itch.decode(raw)
            if msg.TYPE in "AF":
                lvl = levels[(msg.stock_locate, msg.side, msg.price)]
                lvl[0] += msg.shares
                lvl[1] += 1
    (record,) = lines(book_out)
    locate = record["locate"]
    assert record["symbol"] == f"#{locate}"
    for side, key in (("B", "bids"), ("S", "asks")):
        want = sorted(([p, q, n] for (loc, s, p), (q, n) in levels.items()
                       if loc == locate and s == side), reverse=side == "B")
        assert record[key] == want
    (tob,) = lines(tob_out)
    assert (tob["bid_px"], tob["bid_qty"]) == tuple(record["bids"][0][:2])
    assert (tob["ask_px"], tob["ask_qty"]) == tuple(record["asks"][0][:2])


def test_sample_binaryfile_lists_every_directory_symbol(tmp_path):
    path = need("sample.itch")
    book_out, tob_out = tmp_path / "book.jsonl", tmp_path / "tob.jsonl"
    result = run(path, "--book-out", book_out, "--tob-out", tob_out)
    assert result.exit_code == 0, result.output
    assert "messages     1,000  H=3 R=993 S=1 Y=3" in result.output
    assert "993 in the directory" in result.output
    records = lines(book_out)
    assert len(records) == 993
    assert [r["symbol"] for r in records] == sorted(r["symbol"] for r in records)
    assert records[0]["symbol"] == "A" and records[0]["locate"] == 1
    assert all(r["bids"] == [] and r["asks"] == [] for r in records)
    assert all((t["bid_px"], t["bid_qty"], t["ask_px"], t["ask_qty"]) == (0, 0, 0, 0)
               for t in lines(tob_out))


@pytest.mark.parametrize("path", itch_pcaps(), ids=lambda p: p.name)
def test_every_real_itch_capture_replays(path):
    result = run(path)
    assert result.exit_code == 0, result.output
    assert "malformed 0" in result.output
    if "_20230822_" in path.name:  # anonymised: every sequence number is 0
        assert "sessions 0" in result.output and "unsequenced 0" not in result.output


# ------------------------------------------------------------------ errors, via the real CLI

def t2t(*args) -> subprocess.CompletedProcess:
    """Run the installed ``t2t`` entry point (next to this Python) for real exit codes."""
    exe = Path(sys.executable).with_name("t2t")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    good = root / "good.pcap"
    write_pcap_flow(good, FlowGenerator(FlowConfig(2000, 4, seed=1)), session=b"T2T0000001")
    (root / "truncated.pcap").write_bytes(good.read_bytes()[:-37])
    binary = root / "good.itch"
    write_binaryfile_flow(binary, FlowGenerator(FlowConfig(2000, 4, seed=1)))
    (root / "truncated.itch").write_bytes(binary.read_bytes()[:-5])
    (root / "trailing.itch").write_bytes(binary.read_bytes() + b"\0\x13D")
    (root / "header-only.pcap").write_bytes(good.read_bytes()[:10])
    (root / "notes.txt").write_text("hello, this is not a capture\n" * 10)
    (root / "empty.itch").write_bytes(b"")
    return root


@pytest.mark.parametrize("name, message", [
    ("missing.pcap", "no such file"),
    ("notes.txt", "neither a pcap/pcapng nor an ITCH BinaryFILE"),
    ("empty.itch", "empty file"),
    ("header-only.pcap", "corrupt pcap: no readable frame"),
    ("trailing.itch", "corrupt binaryfile"),
])
def test_bad_input_is_a_one_line_error(bad_inputs, name, message):
    proc = t2t("replay", bad_inputs / name)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("Error: ") and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_input_cut_off_mid_record_is_replayed_up_to_the_cut(bad_inputs):
    result = run(bad_inputs / "truncated.itch")
    assert result.exit_code == 0, result.output
    assert "messages     1,999  " in result.output  # all but the record cut short
    assert "cut off      message at offset" in result.output
    result = run(bad_inputs / "truncated.pcap")
    assert result.exit_code == 0, result.output
    assert "1 malformed)" in result.output and "capture error" in result.output
    assert "gaps         0" in result.output


def test_progress_goes_to_stderr_only(bad_inputs):
    proc = t2t("replay", bad_inputs / "good.pcap", "--progress")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("replay of good.pcap (pcap, model engine)\n")
    assert "replaying" not in proc.stdout


def test_duplicates_gaps_and_control_packets_in_a_capture(tmp_path):
    from tick2trade.proto.moldudp64 import MoldPacker
    from tick2trade.proto.net import build_udp_frame
    from tick2trade.proto.pcap import PcapWriter

    session = b"SESSION001"
    adds = [itch.encode(_add(i, "B", 10, 1000 + i, 1)) for i in range(1, 13)]
    p1, p2, p3, p4 = MoldPacker(session, max_payload=20 + 3 * 38).pack(adds)
    overlap = type(p2)(session, p2.sequence + 1, p2.messages[1:] + p3.messages[:1])
    sent = [p1, p2, p2, overlap, p4, p4.heartbeat(session, 20),
            p4.end_of_session(session, 20)]
    path = tmp_path / "seq.pcap"
    with PcapWriter(path) as writer:
        for i, packet in enumerate(sent):
            writer.write(build_udp_frame(packet.encode(), src_mac="02:00:00:00:00:01",
                                         dst_mac=None, src_ip="10.0.0.1",
                                         dst_ip="233.54.12.111", src_port=1, dst_port=2),
                         i * 1000)
    tob_out = tmp_path / "tob.jsonl"
    result = run(path, "--tob-out", tob_out)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "packets      7 (data 5, heartbeats 1, end of session 1, unsequenced 0; " \
           "sessions 1)" in out
    # p3 lost except its first message (delivered by the overlap); 13..19 never sent
    assert "gaps         2 (9 messages missing)" in out
    assert "duplicates   1 packets, 5 messages (1 overlaps)" in out
    assert "messages     10  A=10" in out
    (tob,) = lines(tob_out)
    assert (tob["bid_px"], tob["bid_qty"]) == (1012, 10)


def _to_pcapng(records) -> bytes:
    """A minimal little-endian pcapng (SHB, IDB with µs default, EPBs) of classic records."""
    import struct

    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 0))
    for r in records:
        us = r.ts_ns // 1000
        out += block(6, struct.pack("<IIIII", 0, us >> 32, us & 0xFFFFFFFF, len(r.frame),
                                    len(r.frame)) + r.frame)
    return out


def test_pcapng_input_gives_the_same_book(tmp_path):
    from tick2trade.proto.pcap import read_records

    capture = tmp_path / "flow.pcap"
    write_pcap_flow(capture, FlowGenerator(FlowConfig(3000, 5, seed=9)), session=b"T2T0000009")
    ng = tmp_path / "flow.pcapng"
    ng.write_bytes(_to_pcapng(read_records(capture)))
    outs = []
    for path in (capture, ng):
        book_out = path.with_suffix(".book")
        result = run(path, "--book-out", book_out)
        assert result.exit_code == 0, result.output
        assert "(pcap, model engine)" in result.output
        outs.append(book_out.read_text())
    assert outs[0] == outs[1] and outs[0]
