"""Columnar indexes the page filters on: actors, admin-1 and fatalities, dictionary-encoded.

The page filters 100k events by walking typed arrays, so each filterable field travels as one
small integer per event (a code into a list of names), never as one object per event. Unknown
stays unknown: an event without fatalities or district carries null, not 0 or "".
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pandas as pd


def _codes(values: list[Any]) -> tuple[list[str], list[int | None]]:
    """Names sorted by how often they occur (then by name), and each value's code."""
    counts = Counter(v for v in values if isinstance(v, str) and v)
    names = sorted(counts, key=lambda n: (-counts[n], n))
    code = {n: k for k, n in enumerate(names)}
    return names, [code.get(v) if isinstance(v, str) else None for v in values]


def actor_index(actors_json: list[str | None]) -> dict[str, Any]:
    """Every event's actors as codes into one name list: `n[i]` actors for event i, their codes
    flat in `ids` (compressed-row layout), names by how many events name them."""
    per_event: list[list[str]] = []
    for text in actors_json:
        names = []
        for a in (json.loads(text) if text else None) or []:
            name = a if isinstance(a, str) else a.get("name")
            if isinstance(name, str) and name and name not in names:
                names.append(name)
        per_event.append(names)
    counts = Counter(n for names in per_event for n in names)
    ordered = sorted(counts, key=lambda n: (-counts[n], n))
    code = {n: k for k, n in enumerate(ordered)}
    return {"names": ordered, "counts": [counts[n] for n in ordered],
            "n": [len(names) for names in per_event],
            "ids": [code[n] for names in per_event for n in names]}


def filter_columns(rec: pd.DataFrame, frame: pd.DataFrame) -> dict[str, Any]:
    """The plain (uncompressed) filter columns: district codes and fatalities."""
    admin1_names, admin1 = _codes(frame["admin1"].astype(object).tolist())
    fatal = [None if v is None or v != v else int(v) for v in rec["fatalities"].tolist()]
    return {"admin1_names": admin1_names, "admin1": admin1, "fatal": fatal}
