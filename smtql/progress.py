"""A progress bar for long scans, on stderr, only where someone watches.

    with progress(total=n, description="reading records") as bar:
        for item in items:
            ...
            bar.advance()

Nothing is shown unless stderr is a terminal and the scan has taken more
than `delay` seconds (about one); then a rich progress bar appears, and it
disappears when the scan ends. rich is imported only then, so a quick scan
or a pipe pays nothing. Stores call this with the number of records they
are about to read (`total=None` when they do not know it).
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator

DELAY = 1.0  # seconds a scan runs before its bar appears
_CHECK_EVERY = 64  # items between looks at the clock


class Progress:
    """Counts items; draws a bar once the scan is slow enough to need one."""

    def __init__(self, total: int | None, description: str, delay: float, stream):
        self.total = total
        self.description = description
        self.delay = delay
        self.stream = stream
        self.completed = 0
        self._start = time.monotonic()
        self._next_check = 0
        self._bar = None  # a rich.progress.Progress, once shown
        self._task = None
        self._enabled = _is_terminal(stream)

    def advance(self, n: int = 1) -> None:
        self.completed += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.completed)
        elif self._enabled and self.completed >= self._next_check:
            self._next_check = self.completed + _CHECK_EVERY
            if time.monotonic() - self._start >= self.delay:
                self._show()

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress,
                                   TextColumn, TimeRemainingColumn)
        self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeRemainingColumn(),
                                 console=Console(file=self.stream), transient=True)
        self._bar.start()
        self._task = self._bar.add_task(self.description, total=self.total,
                                        completed=self.completed)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@contextmanager
def progress(total: int | None = None, description: str = "reading records",
             delay: float | None = None, stream=None) -> Iterator[Progress]:
    """A `Progress` for a scan of `total` items, drawn on `stream` (default
    stderr) only when that is a terminal and the scan outlasts `delay`
    (default DELAY)."""
    bar = Progress(total, description, DELAY if delay is None else delay,
                   stream if stream is not None else sys.stderr)
    try:
        yield bar
    finally:
        bar.close()
