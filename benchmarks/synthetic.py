"""Synthetic events in the region with realistic field sizes (title ~60 chars, description
~300, 1-3 sources), as a dataset file or as YAML files. Deterministic for a given seed."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np

from conflictmap.model import ACLED_TYPES, Event

WORDS = ("border shelling village road checkpoint district convoy positions soldiers drone "  # noqa: SIM905
         "artillery protest ceasefire mine bridge hill river patrol report civilians damage "
         "forces withdrawal corridor statement peacekeepers").split()


_SHORTEST = min(len(w) for w in WORDS) + 1  # a word and its space


class _Words:
    """Word numbers drawn from `rng` 64k at a time: one call a word made 100k events take
    ~25 s, most of it the call's overhead."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.pool, self.at = rng, [], 0

    def text(self, n_chars: int) -> str:
        """Random words cut to `n_chars` (enough are taken even if all are the shortest)."""
        k = n_chars // _SHORTEST + 1
        if self.at + k > len(self.pool):
            self.pool = self.rng.integers(len(WORDS), size=max(k, 1 << 16)).tolist()
            self.at = 0
        picked = self.pool[self.at:self.at + k]
        self.at += k
        return " ".join([WORDS[i] for i in picked])[:n_chars].strip().capitalize()


def events(n: int, seed: int = 7) -> list[Event]:
    rng = np.random.default_rng(seed)
    text = _Words(rng).text
    types = [(t, s) for t, subs in ACLED_TYPES.items() for s in subs]
    start = date(2020, 9, 27)
    out = []
    for i in range(n):
        t, s = types[int(rng.integers(len(types)))]
        day = start + timedelta(days=int(rng.integers(0, 120)))
        k = int(rng.integers(1, 4))
        out.append(Event.model_validate({
            "id": f"syn-{i:06d}", "date": day, "title": text(60), "event_type": t,
            "sub_event_type": s, "actors": [text(25), text(25)],
            "location": {"name": text(15), "lat": float(rng.uniform(38.5, 41.5)),
                         "lon": float(rng.uniform(44.0, 48.5)),
                         "precision": ["site", "settlement", "district"][i % 3]},
            "description": text(300), "fatalities": int(rng.integers(0, 5)),
            "status": ["reported", "confirmed", "disputed"][i % 3],
            "sources": [{"url": f"https://news.example.org/{i}/{j}", "publisher": text(20),
                         "published": day, "quote": text(50)} for j in range(k)],
        }))
    return out


def write_yaml(evs: list[Event], folder: Path) -> None:
    from conflictmap.store import event_to_yaml

    folder.mkdir(parents=True, exist_ok=True)
    for ev in evs:
        (folder / f"{ev.id}.yaml").write_text(event_to_yaml(ev), "utf-8")
