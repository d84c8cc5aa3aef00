"""A progress bar on stderr for long CLI runs, never on stdout.

Shown when stderr is a terminal or the work is large; ``--progress`` /
``--no-progress`` force it either way. A hidden bar costs nothing.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

#: work above this many units shows a bar even when stderr is not a terminal
LARGE = 50_000_000


class _Hidden:
    def advance(self, n: int) -> None:
        pass


class _Bar:
    def __init__(self, progress: Progress, task):
        self._progress, self._task = progress, task

    def advance(self, n: int) -> None:
        self._progress.update(self._task, advance=n)


def should_show(forced: bool | None, total: int | None) -> bool:
    """The ``--progress`` flag if given, else: stderr is a terminal or the input is large."""
    if forced is not None:
        return forced
    return sys.stderr.isatty() or (total or 0) >= LARGE


@contextmanager
def progress_bar(description: str, total: int | None, *, show: bool, count_label: bool = False):
    """Yield an object with ``advance(n)``; draws on stderr only when ``show``."""
    if not show:
        yield _Hidden()
        return
    columns = [TextColumn("[bold]{task.description}"), BarColumn(),
               MofNCompleteColumn() if count_label else TaskProgressColumn(),
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield _Bar(progress, progress.add_task(description, total=total))
