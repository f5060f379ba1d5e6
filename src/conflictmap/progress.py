"""Progress of the long steps, reported through one callback that the caller installs.

Stages say what they are doing with `step(label, total)` or `track(items, label)`, and that
costs nothing unless a reporter is installed with `reporting(...)`. The command line installs
one (rich bars on stderr) only when stderr is a terminal, so data still flows one way, no stage
knows about terminals, and pipes, logs and tests get no bars unless `CONFLICTMAP_PROGRESS=1`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")
Advance = Callable[[int], None]


class Reporter(Protocol):
    """What shows progress: a step begins (with a total when it is known), advances, ends."""

    def begin(self, label: str, total: int | None) -> Any: ...

    def advance(self, task: Any, n: int) -> None: ...

    def end(self, task: Any) -> None: ...


_REPORTER: ContextVar[Reporter | None] = ContextVar("conflictmap_progress", default=None)


def _nothing(n: int = 1) -> None:
    return None


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Send the steps run inside this block to `reporter` (None: to nobody)."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)
        close = getattr(reporter, "close", None)
        if close is not None:
            close()


@contextmanager
def step(label: str, total: int | None = None) -> Iterator[Advance]:
    """One step of work; call the function it gives with the units just done."""
    reporter = _REPORTER.get()
    if reporter is None:
        yield _nothing
        return
    task = reporter.begin(label, total)
    try:
        yield lambda n=1: reporter.advance(task, n)
    finally:
        reporter.end(task)


def track(items: Iterable[T], label: str, total: int | None = None,
          size: Callable[[T], int] | None = None) -> Iterator[T]:
    """`items`, one by one, advancing the step by each item's `size` (1 by default)."""
    with step(label, total) as advance:
        for item in items:
            yield item
            advance(size(item) if size else 1)


def wanted(stream: IO[str]) -> bool:
    """Bars on a terminal only; CONFLICTMAP_PROGRESS=1 forces them, =0 turns them off."""
    forced = os.environ.get("CONFLICTMAP_PROGRESS", "")
    if forced in ("0", "1"):
        return forced == "1"
    return stream.isatty()


class Bars:
    """rich progress bars on a console (stderr); each step's bar goes when the step ends."""

    def __init__(self, console: Console):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                                 transient=True)
        self.started = False

    def begin(self, label: str, total: int | None) -> Any:
        if not self.started:
            self.progress.start()
            self.started = True
        task = self.progress.add_task(label, total=total)
        self.progress.refresh()  # shown at once: the next timed refresh may come after the end
        return task

    def advance(self, task: Any, n: int) -> None:
        self.progress.advance(task, n)

    def end(self, task: Any) -> None:
        self.progress.remove_task(task)

    def close(self) -> None:
        if self.started:
            self.progress.stop()
            self.started = False
