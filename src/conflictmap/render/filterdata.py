"""Columns the page filters on besides those its popups carry: admin-1, fatalities, actors.

The page filters 100k events by walking typed arrays, so each filterable field travels as one
small integer per event (a code into a list of names), never as one object per event. Unknown
stays unknown: an event without fatalities or district carries null, not 0 or "". Actors go
in a blob of their own (`actor_columns`): names once, then per event how many it names and each
mention's name and role codes; the popup's "Actors" fact is made from them in the page, so the
names do not travel twice.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from ..dataset import parse_column

# an actor's role as the popup words it ("" for none): the page gets this list, a code a mention
ROLES = {None: "", "side_a": "side A", "side_b": "side B", "assoc_a": "with side A",
         "assoc_b": "with side B", "other": "other"}
ROLE_CODES = {r: k for k, r in enumerate(ROLES)}


def _codes(values: list[Any]) -> tuple[list[str], list[int | None]]:
    """Names sorted by how often they occur (then by name), and each value's code."""
    counts = Counter(v for v in values if isinstance(v, str) and v)
    names = sorted(counts, key=lambda n: (-counts[n], n))
    code = {n: k for k, n in enumerate(names)}
    return names, [code.get(v) if isinstance(v, str) else None for v in values]


def filter_columns(rec: pd.DataFrame, frame: pd.DataFrame) -> dict[str, Any]:
    """District names with each event's code into them, and fatalities (null: not reported)."""
    admin1_names, admin1 = _codes(frame["admin1"].astype(object).tolist())
    fatal = [None if v is None or v != v else int(v) for v in rec["fatalities"].tolist()]
    return {"admin1_names": admin1_names, "admin1": admin1, "fatal": fatal}


def actor_columns(rec: pd.DataFrame) -> dict[str, Any]:
    """Actor names by how many events name them; per event, how many actors it names, and
    each mention's name code and role code."""
    per_event = []
    for actors in parse_column(rec["actors_json"].tolist()):
        seen: dict[str, str | None] = {}
        for a in actors if isinstance(actors, list) else []:
            name, role = (a, None) if isinstance(a, str) else (a.get("name"), a.get("role"))
            if isinstance(name, str) and name and name not in seen:
                seen[name] = role if role in ROLE_CODES else None
        per_event.append(seen)
    counts = Counter(n for seen in per_event for n in seen)
    order = sorted(counts, key=lambda n: (-counts[n], n))
    code = {n: k for k, n in enumerate(order)}
    return {"names": order, "counts": [counts[n] for n in order],
            "role_labels": list(ROLES.values()),
            "n": [len(seen) for seen in per_event],
            "ids": [code[n] for seen in per_event for n in seen],
            "roles": [ROLE_CODES[r] for seen in per_event for r in seen.values()]}
