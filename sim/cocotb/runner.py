"""Build an Amaranth component with Verilator and run a cocotb test module on it."""

from __future__ import annotations

from pathlib import Path

from ..toolchain import build_dir, ensure_verilator, to_verilog, verilog_digest

__all__ = ["run_cocotb"]


def run_cocotb(component, test_module: str, *, tag: str, extra_env: dict[str, str] | None = None,
               testcase: str | None = None) -> Path:
    """Convert ``component`` to Verilog, build it and run ``test_module``'s cocotb tests.

    ``tag`` names the build folder (use the pytest node id, so parallel tests
    never share one); the Verilog digest is part of the folder, so a changed
    design rebuilds. Raises ``AssertionError`` when a cocotb test fails.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    ensure_verilator()
    text = to_verilog(component, name="top")
    folder = build_dir("cocotb", tag, verilog_digest(text))
    source = folder / "top.v"
    if not source.exists() or source.read_text() != text:
        source.write_text(text)
    runner = get_runner("verilator")
    runner.build(sources=[source], hdl_toplevel="top", build_dir=folder,
                 build_args=["-Wno-fatal", "-O2"], log_file=folder / "build.log")
    results = runner.test(test_module=test_module, hdl_toplevel="top", build_dir=folder,
                          test_dir=folder, testcase=testcase, extra_env=extra_env or {},
                          results_xml=str(folder / "results.xml"), log_file=folder / "test.log")
    total, failed = get_results(Path(results))
    log = (folder / "test.log").read_text() if (folder / "test.log").exists() else ""
    assert total > 0, f"no cocotb test ran; log:\n{log[-4000:]}"
    assert failed == 0, f"{failed} of {total} cocotb tests failed; log:\n{log[-6000:]}"
    return folder
