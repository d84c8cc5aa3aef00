"""Build an Amaranth component with Verilator and run a cocotb test module on it."""

from __future__ import annotations

import fcntl
from pathlib import Path

from ..toolchain import build_dir, ensure_verilator, to_verilog, verilog_digest

__all__ = ["run_cocotb"]


def run_cocotb(component, test_module: str, *, tag: str, extra_env: dict[str, str] | None = None,
               testcase: str | None = None) -> Path:
    """Convert ``component`` to Verilog, build it and run ``test_module``'s cocotb tests.

    The model is built once per Verilog digest (a file lock serialises
    builders, e.g. pytest-xdist workers); each ``tag`` (use the test name) runs
    in its own folder, so parallel tests never share results or logs. Raises
    ``AssertionError`` when a cocotb test fails.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    ensure_verilator()
    text = to_verilog(component, name="top")
    built = build_dir("cocotb", verilog_digest(text))
    folder = build_dir("cocotb", verilog_digest(text), "run-" + tag)
    runner = get_runner("verilator")
    with open(built / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        source = built / "top.v"
        if not source.exists() or source.read_text() != text:
            source.write_text(text)
        runner.build(sources=[source], hdl_toplevel="top", build_dir=built,
                     build_args=["-Wno-fatal", "-O2"], log_file=built / "build.log")
    results = folder / "results.xml"
    results.unlink(missing_ok=True)
    try:
        runner.test(test_module=test_module, hdl_toplevel="top", build_dir=built,
                    test_dir=folder, testcase=testcase, extra_env=extra_env or {},
                    results_xml=str(results), log_file=folder / "test.log")
    except SystemExit:
        pass   # the runner exits on a failed test; the results file says which
    log = (folder / "test.log").read_text() if (folder / "test.log").exists() else ""
    assert results.exists(), f"cocotb wrote no results; log:\n{log[-4000:]}"
    total, failed = get_results(results)
    assert total > 0, f"no cocotb test ran; log:\n{log[-4000:]}"
    assert failed == 0, f"{failed} of {total} cocotb tests failed; log:\n{log[-6000:]}"
    return folder
