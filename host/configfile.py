"""Reading TOML configuration files, one way for every subsystem (STYLE §12).

Each subsystem validates the dict into its own frozen pydantic models; this
module turns a path into that dict, with one-line errors that name the
file, and a validation error into one line that names every offending key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

__all__ = ["describe", "read_toml"]


def read_toml(path: str | Path, error: type[Exception]) -> dict:
    """The TOML table in ``path``; ``error(message)`` if it cannot be read or parsed."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None


def describe(error: ValidationError) -> str:
    """One line naming each offending key: ``taker.num: unknown key; risk.kill: ... (got 7)``."""
    lines = []
    for e in error.errors():
        key = ".".join(str(part) for part in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key")
        else:
            lines.append(f"{key}: {e['msg']} (got {e.get('input')!r})")
    return "; ".join(lines)
