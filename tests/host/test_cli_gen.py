"""``t2t gen``: format from extension or flag, deterministic output, clear errors."""

from __future__ import annotations

from click.testing import CliRunner

from tick2trade.host.cli import main
from tick2trade.proto.binaryfile import read_binaryfile
from tick2trade.proto.pcap import read_records
from tick2trade.sim.model.generator import generate


def run(*args):
    return CliRunner().invoke(main, ["gen", *map(str, args)])


def test_binaryfile_is_the_generated_flow_and_deterministic(tmp_path):
    a, b = tmp_path / "a.itch", tmp_path / "b.itch"
    result = run(a, "-n", 800, "-k", 7, "--seed", 3)
    assert result.exit_code == 0, result.output
    assert "wrote 800 messages, 7 symbols, seed 3" in result.output
    assert "(binaryfile)" in result.output
    assert run(b, "--messages", 800, "--symbols", 7, "--seed", 3).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    assert list(read_binaryfile(a)) == list(generate(800, 7, seed=3))


def test_pcap_from_extension_with_packet_size(tmp_path):
    path = tmp_path / "flow.pcap"
    result = run(path, "-n", 800, "-k", 7, "--packet-size", 200)
    assert result.exit_code == 0, result.output
    assert "(pcap) in" in result.output and "MoldUDP64 packets" in result.output
    records = read_records(path)
    assert len(records) > 800 * 20 // 200  # small packets: many of them
    assert all(len(r.frame) <= 14 + 20 + 8 + 200 for r in records)


def test_format_flag_overrides_the_extension(tmp_path):
    path = tmp_path / "flow.bin"
    assert run(path, "-n", 300, "-k", 2, "--format", "pcap").exit_code == 0
    assert read_records(path)


def test_too_few_messages_is_a_usage_error(tmp_path):
    result = run(tmp_path / "x.itch", "-n", 10, "-k", 50)
    assert result.exit_code == 2
    assert "need at least 106" in result.output
    assert "Traceback" not in result.output


def test_unwritable_output_is_a_clear_error(tmp_path):
    result = run(tmp_path / "missing-dir" / "x.itch", "-n", 100, "-k", 2)
    assert result.exit_code == 1
    assert "cannot write" in result.output
