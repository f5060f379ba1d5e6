"""Columns the page filters on besides those its popups carry: admin-1 and fatalities.

The page filters 100k events by walking typed arrays, so each filterable field travels as one
small integer per event (a code into a list of names), never as one object per event. Unknown
stays unknown: an event without fatalities or district carries null, not 0 or "". Actors go
as codes in compressed-row layout (`actor_ptr[i]:actor_ptr[i+1]` are event i's codes): the
popup shows them as text with their roles, which is no key to filter on.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd


def _codes(values: list[Any]) -> tuple[list[str], list[int | None]]:
    """Names sorted by how often they occur (then by name), and each value's code."""
    counts = Counter(v for v in values if isinstance(v, str) and v)
    names = sorted(counts, key=lambda n: (-counts[n], n))
    code = {n: k for k, n in enumerate(names)}
    return names, [code.get(v) if isinstance(v, str) else None for v in values]


def _actor_codes(lists: list[Any]) -> dict[str, Any]:
    """Actor names by how many events name them, and each event's distinct actors as codes."""
    per_event = [list(dict.fromkeys(n for n in (names if isinstance(names, list) else [])
                                    if isinstance(n, str) and n)) for names in lists]
    counts = Counter(n for names in per_event for n in names)
    order = sorted(counts, key=lambda n: (-counts[n], n))
    code = {n: k for k, n in enumerate(order)}
    ptr, ids = [0], []
    for names in per_event:
        ids += [code[n] for n in names]
        ptr.append(len(ids))
    return {"actor_names": order, "actor_counts": [counts[n] for n in order],
            "actor_ptr": ptr, "actor_ids": ids}


def filter_columns(rec: pd.DataFrame, frame: pd.DataFrame) -> dict[str, Any]:
    """District names with each event's code into them, fatalities (null: not reported), and
    the actors each event names."""
    admin1_names, admin1 = _codes(frame["admin1"].astype(object).tolist())
    fatal = [None if v is None or v != v else int(v) for v in rec["fatalities"].tolist()]
    return {"admin1_names": admin1_names, "admin1": admin1, "fatal": fatal,
            **_actor_codes(frame["actors"].tolist())}
