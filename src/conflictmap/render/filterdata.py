"""Columns the page filters on besides those its popups carry: admin-1 and fatalities.

The page filters 100k events by walking typed arrays, so each filterable field travels as one
small integer per event (a code into a list of names), never as one object per event. Unknown
stays unknown: an event without fatalities or district carries null, not 0 or "". Actors are
not here: the popup chunks carry them as [name, role] pairs (the popup's "Actors" fact), and
the page indexes them from there when the actor filter is first opened.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd


def _codes(values: list[Any]) -> tuple[list[str], list[int | None]]:
    """Names sorted by how often they occur (then by name), and each value's code: counted and
    looked up by C-level calls (a name is a str; no other value can equal one)."""
    try:
        counts = Counter(values)
    except TypeError:  # an unhashable value: it is no name
        counts = Counter(v for v in values if isinstance(v, str))
    counts = Counter({v: k for v, k in counts.items() if isinstance(v, str) and v})
    names = sorted(counts, key=lambda n: (-counts[n], n))
    code = {n: k for k, n in enumerate(names)}
    try:
        return names, list(map(code.get, values))
    except TypeError:
        return names, [code.get(v) if isinstance(v, str) else None for v in values]


def filter_columns(rec: pd.DataFrame, frame: pd.DataFrame) -> dict[str, Any]:
    """District names with each event's code into them, and fatalities (null: not reported)."""
    admin1_names, admin1 = _codes(frame["admin1"].astype(object).tolist())
    fatalities = rec["fatalities"]
    plain_ints = isinstance(fatalities.dtype, np.dtype) and fatalities.dtype.kind in "iu"
    fatal = (fatalities.tolist() if plain_ints else  # numpy ints: none missing
             [None if v is None or v != v else int(v) for v in fatalities.tolist()])
    return {"admin1_names": admin1_names, "admin1": admin1, "fatal": fatal}
