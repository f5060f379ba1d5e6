"""Who controls each area on any date, from control-change events (and the handover layer).

A change takes effect on its own date: Kalbajar, handed over on 2020-11-25, is Armenian on the
24th and Azerbaijani on the 25th. Control is known only from the start of the earliest known
state on: the `before` side's own start date when the handover layer gives it (`from_since`),
otherwise the first change's date. Before that the controller is unknown (None), not the first
`before`: Kalbajar was not Armenian-held in 1992.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from .layerio import iso_day
from .model import Event


@dataclass(frozen=True)
class Change:
    area: str
    day: date
    before: str
    after: str
    event_id: str | None
    before_since: date | None = None  # when the `before` state began; None when unknown


class Timeline:
    def __init__(self, changes: Iterable[Change]):
        self.by_area: dict[str, list[Change]] = {}
        for c in sorted(changes, key=lambda c: (c.area, c.day)):
            self.by_area.setdefault(c.area, []).append(c)
        self._days = {a: np.array([c.day for c in cs], dtype="datetime64[D]")
                      for a, cs in self.by_area.items()}
        self._start = {a: np.datetime64(self._known_from(cs[0]), "D")
                       for a, cs in self.by_area.items()}

    @staticmethod
    def _known_from(first: Change) -> date:
        since = first.before_since
        return first.day if since is None else min(since, first.day)

    @classmethod
    def from_events(cls, events: Iterable[Event], handover=None) -> Timeline:
        """Changes from events; handover features (name, handover_date, from, to) fill gaps."""
        changes = [Change(e.control_change.area, e.day, e.control_change.from_,
                          e.control_change.to, e.id)
                   for e in events if e.control_change is not None]
        return cls.with_layer(changes, handover)

    @classmethod
    def with_layer(cls, changes: list[Change], handover=None) -> Timeline:
        """`changes`, plus the handover layer's dates for areas no change mentions, and the
        layer's `from_since` (when the `from` side's control began) where it fits a change."""
        changes = list(changes)
        known = {c.area for c in changes}
        if handover is None or "handover_date" not in handover.columns:
            return cls(changes)
        rows = handover.drop(columns="geometry").to_dict("records")
        for row in rows:
            when = iso_day(row.get("handover_date"))
            if row["name"] not in known and when is not None:
                changes.append(Change(row["name"], when, row["from"], row["to"], None))
        since = {(row["name"], row["from"]): iso_day(row.get("from_since")) for row in rows}
        return cls(_with_since(changes, since))

    @property
    def areas(self) -> list[str]:
        return sorted(self.by_area)

    @property
    def dates(self) -> list[date]:
        return sorted({c.day for cs in self.by_area.values() for c in cs})

    def known_from(self, area: str) -> date | None:
        """The first day the area's controller is known, or None when nothing is known."""
        changes = self.by_area.get(area)
        return self._known_from(changes[0]) if changes else None

    def controller(self, area: str, day: date) -> str | None:
        """Who controls `area` on `day`; None before the earliest known state began."""
        changes = self.by_area.get(area)
        when = np.datetime64(day, "D")
        if not changes or when < self._start[area]:
            return None
        i = int(np.searchsorted(self._days[area], when, side="right"))
        return changes[0].before if i == 0 else changes[i - 1].after

    def controllers(self, area: str, days: np.ndarray) -> np.ndarray:
        """Vectorised `controller` for an array of datetime64[D] days."""
        changes = self.by_area.get(area)
        if not changes:
            return np.full(len(days), None, dtype=object)
        labels = np.array([changes[0].before] + [c.after for c in changes], dtype=object)
        out = labels[np.searchsorted(self._days[area], days, side="right")]
        out[np.asarray(days) < self._start[area]] = None
        return out

    def state_on(self, day: date) -> dict[str, str | None]:
        return {a: self.controller(a, day) for a in self.areas}


def _with_since(changes: list[Change], since: dict[tuple[str, str], date | None],
                ) -> list[Change]:
    """Each change given the start of its `before` state where the layer knows it: the first
    change of the area, on or after that start, that ends the state of that controller."""
    out = sorted(changes, key=lambda c: (c.area, c.day))
    done: set[tuple[str, str]] = set()
    for i, c in enumerate(out):
        start = since.get((c.area, c.before))
        if start is None or c.before_since is not None or (c.area, c.before) in done:
            continue
        if start <= c.day:
            out[i] = replace(c, before_since=start)
            done.add((c.area, c.before))
    return out
