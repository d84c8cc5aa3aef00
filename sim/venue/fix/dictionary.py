"""Where the FIX data dictionaries come from.

QuickFIX validates every message against an XML data dictionary
(``FIX42.xml``, ``FIX44.xml``, ...). The pinned ``quickfix-py`` wheel
installs upstream's dictionaries under ``<prefix>/share/quickfix/``; we
read them from there (found through the distribution's file list, so any
install prefix works) and never copy them into the project. A configured
folder overrides that.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

DISTRIBUTION = "quickfix-py"


class DataDictionaryError(LookupError):
    """A FIX data dictionary could not be found."""


def dictionary_filename(begin_string: str) -> str:
    """``FIX.4.2`` → ``FIX42.xml``."""
    return begin_string.replace(".", "") + ".xml"


def installed_dictionary_dir() -> Path:
    """The folder of data dictionaries installed by the quickfix-py wheel."""
    try:
        files = metadata.files(DISTRIBUTION) or []
    except metadata.PackageNotFoundError as exc:
        raise DataDictionaryError(f"{DISTRIBUTION} is not installed; "
                                  "pip install -e . installs it") from exc
    for entry in files:
        if entry.name == "FIX44.xml":
            return Path(entry.locate()).resolve().parent
    raise DataDictionaryError(f"{DISTRIBUTION} installed no FIX44.xml; "
                              "set fix.data_dictionary_dir to a folder holding FIX4x.xml")


def dictionary_path(begin_string: str, directory: Path | None = None) -> Path:
    """The data dictionary for ``begin_string``, from ``directory`` or the installed set."""
    folder = Path(directory) if directory is not None else installed_dictionary_dir()
    path = folder / dictionary_filename(begin_string)
    if not path.is_file():
        raise DataDictionaryError(f"no FIX data dictionary for {begin_string}: {path} is missing")
    return path
