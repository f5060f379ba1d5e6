"""progress.py: steps report to the installed reporter only, and end even when they fail."""

from __future__ import annotations

import pytest

from conflictmap import progress


class Recorder:
    def __init__(self) -> None:
        self.log: list[tuple[str, object, object]] = []

    def begin(self, label: str, total: int | None) -> str:
        self.log.append(("begin", label, total))
        return label

    def advance(self, task: str, n: int) -> None:
        self.log.append(("advance", task, n))

    def end(self, task: str) -> None:
        self.log.append(("end", task, None))


def test_track_reports_each_item_and_the_end():
    rec = Recorder()
    with progress.reporting(rec):
        assert list(progress.track(["ab", "cde"], "reading", 5, size=len)) == ["ab", "cde"]
    assert rec.log == [("begin", "reading", 5), ("advance", "reading", 2),
                       ("advance", "reading", 3), ("end", "reading", None)]


def test_without_a_reporter_nothing_is_reported_and_a_failing_step_still_ends():
    rec = Recorder()
    assert list(progress.track(range(3), "unseen")) == [0, 1, 2]
    with progress.reporting(rec), pytest.raises(ValueError), progress.step("fails"):
        raise ValueError
    assert rec.log == [("begin", "fails", None), ("end", "fails", None)]
    with progress.step("after") as advance:
        advance(1)
    assert len(rec.log) == 2  # the reporter was uninstalled with its block
