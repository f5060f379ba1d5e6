"""One error tree, like geopy's `exc.py`: every error a user can cause or fix is a
`ConflictmapError` carrying the lines to show and the exit code, so the command line catches
it once (in `cli.main`) and a library caller catches one type."""

from __future__ import annotations

from collections.abc import Iterable


class ConflictmapError(Exception):
    """Something in the input, the layers or the set-up that the user can fix.

    `problems` are the lines to show (each a `Problem` with file:line:col, or plain text);
    `summary`, when given, closes the list; `exit_code` is what the command exits with.
    """

    exit_code = 1

    def __init__(self, problems: Iterable[object] | str, summary: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.summary = summary
        super().__init__("\n".join(map(str, self.problems)))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems] + ([self.summary] if self.summary else [])


class UsageError(ConflictmapError):
    """A command called with words it cannot use (a wrong option value)."""

    exit_code = 2
