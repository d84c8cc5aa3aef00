"""QuickFIX's server acceptance suite against our acceptor (``echo`` profile).

The conformance bar of the venue's FIX port: every definition of
``fix42`` (58) and ``fix44`` (59) passes. The suite (third-party, in
``../shared/fix-acceptance``) is run by its own runner against the same
``FixAcceptor`` the venue uses, on a free port.
"""

from __future__ import annotations

import asyncio
import re
import sys

import pytest

from tick2trade.sim.venue.fix import FixAcceptor, FixConfig
from tick2trade.sim.venue.fix.config import acceptance_sessions

EXPECTED = {"fix42": 58, "fix44": 59}
#: every server folder of the suite (sessions: ``acceptance_sessions()``)
EVERY_GROUP = {"fix40": 0, "fix41": 0, "fix42": 58, "fix43": 0, "fix44": 59, "validate": 0}


async def _run_suite(suite_dir, groups=tuple(EXPECTED), config=None) -> tuple[int, str]:
    acceptor = FixAcceptor(config or FixConfig(port=0), "echo")
    await acceptor.start()
    try:
        args = [sys.executable, str(suite_dir / "run_acceptance.py"),
                "--port", str(acceptor.port), "--jobs", "2"]
        for group in groups:
            args += ["--defs", str(suite_dir / "definitions" / group)]
        proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=900)
        return proc.returncode, out.decode(errors="replace")
    finally:
        await acceptor.stop()


def test_quickfix_server_acceptance_fix42_fix44(fix_acceptance_dir):
    code, out = asyncio.run(_run_suite(fix_acceptance_dir))
    failures = [line for line in out.splitlines() if not line.startswith("PASS")]
    summary = re.search(r"^(\d+) passed, (\d+) failed$", out, re.MULTILINE)
    assert summary, f"runner gave no summary:\n{out}"
    assert code == 0 and summary.group(2) == "0", "\n".join(failures)
    for group, count in EXPECTED.items():
        passed = sum(1 for line in out.splitlines() if line.startswith(f"PASS {group}/"))
        assert passed == count, f"{group}: {passed}/{count} passed\n" + "\n".join(failures)


@pytest.mark.slow
def test_quickfix_server_acceptance_every_folder(fix_acceptance_dir):
    """fix40 to fix44 and validate/: all 288 definitions (about 2.5 min)."""
    config = FixConfig(port=0, sessions=acceptance_sessions())
    code, out = asyncio.run(_run_suite(fix_acceptance_dir, tuple(EVERY_GROUP), config))
    failures = [line for line in out.splitlines() if not line.startswith("PASS")]
    summary = re.search(r"^(\d+) passed, (\d+) failed$", out, re.MULTILINE)
    assert summary and code == 0 and summary.group(2) == "0", "\n".join(failures)
    for group, count in EVERY_GROUP.items():
        passed = sum(1 for line in out.splitlines() if line.startswith(f"PASS {group}/"))
        assert passed >= max(count, 1), f"{group}: only {passed} passed"
