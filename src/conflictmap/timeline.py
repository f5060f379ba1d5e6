"""Who controls each area on any date, from control-change events (and the handover layer).

A change takes effect on its own date: Kalbajar, handed over on 2020-11-25, is Armenian on the
24th and Azerbaijani on the 25th.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np

from .model import Event


@dataclass(frozen=True)
class Change:
    area: str
    day: date
    before: str
    after: str
    event_id: str | None


class Timeline:
    def __init__(self, changes: Iterable[Change]):
        self.by_area: dict[str, list[Change]] = {}
        for c in sorted(changes, key=lambda c: (c.area, c.day)):
            self.by_area.setdefault(c.area, []).append(c)
        self._days = {a: np.array([c.day for c in cs], dtype="datetime64[D]")
                      for a, cs in self.by_area.items()}

    @classmethod
    def from_events(cls, events: Iterable[Event], handover=None) -> Timeline:
        """Changes from events; handover features (name, handover_date, from, to) fill gaps."""
        changes = [Change(e.control_change.area, e.day, e.control_change.from_,
                          e.control_change.to, e.id)
                   for e in events if e.control_change is not None]
        return cls.with_layer(changes, handover)

    @classmethod
    def with_layer(cls, changes: list[Change], handover=None) -> Timeline:
        """`changes`, plus the handover layer's dates for areas no change mentions."""
        changes = list(changes)
        known = {c.area for c in changes}
        if handover is not None and "handover_date" in handover.columns:
            for row in handover.drop(columns="geometry").to_dict("records"):
                when = row.get("handover_date")
                if row["name"] not in known and isinstance(when, str):
                    changes.append(Change(row["name"], date.fromisoformat(when[:10]),
                                          row["from"], row["to"], None))
        return cls(changes)

    @property
    def areas(self) -> list[str]:
        return sorted(self.by_area)

    @property
    def dates(self) -> list[date]:
        return sorted({c.day for cs in self.by_area.values() for c in cs})

    def controller(self, area: str, day: date) -> str | None:
        changes = self.by_area.get(area)
        if not changes:
            return None
        i = int(np.searchsorted(self._days[area], np.datetime64(day, "D"), side="right"))
        return changes[0].before if i == 0 else changes[i - 1].after

    def controllers(self, area: str, days: np.ndarray) -> np.ndarray:
        """Vectorised `controller` for an array of datetime64[D] days."""
        changes = self.by_area.get(area)
        if not changes:
            return np.full(len(days), None, dtype=object)
        labels = np.array([changes[0].before] + [c.after for c in changes], dtype=object)
        return labels[np.searchsorted(self._days[area], days, side="right")]

    def state_on(self, day: date) -> dict[str, str | None]:
        return {a: self.controller(a, day) for a in self.areas}
