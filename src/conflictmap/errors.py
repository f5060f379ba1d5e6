"""One error tree, like geopy's `exc.py`: every error a user can cause or fix is a
`ConflictmapError` carrying the lines to show and the exit code, so the command line catches
it once (in `cli.main`) and a library caller catches one type."""

from __future__ import annotations

from collections.abc import Iterable


class ConflictmapError(Exception):
    """Something in the input, the layers or the set-up that the user can fix.

    `problems` are the lines to show (each a `Problem` with file:line:col, or plain text);
    `summary`, when given, closes the list; `exit_code` is what the command exits with.

    Examples
    --------
    >>> import conflictmap as cm
    >>> try:
    ...     cm.read_events("no-such-folder")
    ... except cm.ConflictmapError as exc:
    ...     print(exc.exit_code, exc.problems[0])
    1 no-such-folder:1:1: (path): no such file or folder
    """

    exit_code = 1

    def __init__(self, problems: Iterable[object] | str, summary: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.summary = summary
        super().__init__("\n".join(map(str, self.problems)))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems] + ([self.summary] if self.summary else [])


class UsageError(ConflictmapError):
    """A command or function called with words it cannot use (a wrong option value).

    Examples
    --------
    >>> import conflictmap as cm
    >>> try:
    ...     cm.explore(cm.read_events(cm.example_events()), basemap="paper")
    ... except cm.UsageError as exc:
    ...     print(exc.exit_code, exc)
    2 explore: basemap must be one of none, osm, satellite
    """

    exit_code = 2
