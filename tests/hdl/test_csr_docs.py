"""docs/registers.md is generated from the register map objects and is up to date."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tick2trade.hdl.csr.device_map import device_map
from tick2trade.hdl.csr.docs import render_markdown
from tick2trade.host.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "registers.md"


def test_committed_register_map_is_up_to_date():
    assert DOC.read_text() == render_markdown(device_map()), \
        "docs/registers.md is stale: run `t2t regmap --out docs/registers.md`"


def test_every_register_and_table_is_documented_at_its_address():
    regmap = device_map()
    text = render_markdown(regmap)
    for placed in regmap.registers:
        assert f"| `0x{placed.addr:04x}` | `{placed.path}` |" in text
    for placed in regmap.tables:
        assert f"`{placed.table.name}`" in text and f"`0x{placed.commit_addr:04x}`" in text


def test_cli_check_flags_a_stale_file(tmp_path):
    out = tmp_path / "registers.md"
    runner = CliRunner()
    assert runner.invoke(main, ["regmap", "--out", str(out), "--check"]).exit_code == 1
    assert runner.invoke(main, ["regmap", "--out", str(out)]).exit_code == 0
    assert runner.invoke(main, ["regmap", "--out", str(out), "--check"]).exit_code == 0
    assert out.read_text() == render_markdown(device_map())
