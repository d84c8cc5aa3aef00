"""The distribution installs only under ``tick2trade`` (DESIGN.md, layout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest


@pytest.mark.timeout(300)
def test_wheel_has_only_tick2trade_top_level(tmp_path):
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                    "-w", str(tmp_path), str(root)], check=True)
    (wheel,) = tmp_path.glob("tick2trade-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"tick2trade"}
    for sub in ("proto", "hdl", "host", "sim"):
        assert f"tick2trade/{sub}/__init__.py" in names
    tracked = subprocess.run(["git", "ls-files", "proto", "hdl", "host", "sim"], cwd=root,
                             capture_output=True, text=True)
    if tracked.returncode:
        pytest.skip("not a git checkout: cannot list the package's source files")
    sources = {s for s in tracked.stdout.split() if not s.endswith(".py")}
    missing = {s for s in sources if f"tick2trade/{s}" not in names}
    assert not missing, f"package data left out of the wheel: {sorted(missing)}"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "t2t = tick2trade.host.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_cli_help_lists_commands():
    from click.testing import CliRunner

    from tick2trade.host.cli import main

    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "open FPGA trading NIC" in result.output
