"""Shared test fixtures: where the third-party captures live.

Third-party data in ``../shared/`` is never copied into the project; tests
that need it skip with a clear reason where it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("T2T_SHARED", ROOT.parent / "shared"))
CAPTURES = SHARED / "data" / "captures"
FIX_ACCEPTANCE = SHARED / "fix-acceptance"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"third-party data not present: {path} (set T2T_SHARED to the shared folder)")
    return path


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    """The folder of real Nasdaq captures (skips if absent)."""
    return _need(CAPTURES)


def itch_pcaps() -> list[Path]:
    """Every real ITCH pcap, for parametrized tests (empty if absent)."""
    return sorted(CAPTURES.glob("itch50_*.pcap")) if CAPTURES.exists() else []


def ouch_pcaps() -> list[Path]:
    """Every real OUCH 5.0 pcap (empty if absent)."""
    return sorted(CAPTURES.glob("ouch50_*.pcap")) if CAPTURES.exists() else []


@pytest.fixture(scope="session")
def fix_acceptance_dir() -> Path:
    """QuickFIX's server acceptance suite (skips if absent)."""
    return _need(FIX_ACCEPTANCE)
