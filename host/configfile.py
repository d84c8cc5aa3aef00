"""Reading TOML configuration files, one way for every subsystem (STYLE §12).

Each subsystem validates the dict into its own frozen pydantic models; this
module only turns a path into that dict, with one-line errors that name the
file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path


def read_toml(path: str | Path, error: type[Exception]) -> dict:
    """The TOML table in ``path``; ``error(message)`` if it cannot be read or parsed."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
