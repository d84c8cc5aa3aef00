"""``t2t demo`` (what ``make demo`` runs), without the Verilator builds.

The gateware comparisons it makes are covered by the rtl-vs-model replay
tests; here the demo itself must run every step and check what it prints.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from tick2trade.host.cli import main


def test_demo_runs_every_step_and_checks_the_venue(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--no-rtl", "--messages", "5000", "--symbols",
                                       "4", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "demo passed" in result.output
    tob = [json.loads(line) for line in (tmp_path / "model.tob").read_text().splitlines()]
    assert len(tob) == 4 and all(row["bid_px"] < row["ask_px"] for row in tob)
    orders = (tmp_path / "model.orders").read_text().splitlines()
    assert any(json.loads(line)["verdict"] == "sent" for line in orders)
    assert "executed at" in result.output and "drop copy: match" in result.output
