"""CSV cells a spreadsheet would run as formulas (OWASP "CSV injection"), made inert and back.

Export prefixes a single quote to every text cell that starts, after any quotes, with one of
`= + - @`, tab, carriage return or their full-width forms (`＝ ＋ － ＠`, which some spreadsheets
fold into the ASCII ones). Import of a CSV conflictmap wrote removes that one quote again. The
pair is exact: a cell written as `'` + X always had X matching the pattern, and a cell we leave
alone never starts with quotes followed by a trigger, so `'=x` goes out as `''=x` and comes
back as `'=x`. Cells that are plain numbers (`-1.5`, `+3`, `-2e5`) are data, not formulas, and
stay as they are, so coordinates and counts read as numbers everywhere.
"""

from __future__ import annotations

import re

import pandas as pd

TRIGGERS = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"
_RISKY = re.compile(f"'*[{re.escape(TRIGGERS)}]")
_NEUTRALISED = re.compile(f"'+[{re.escape(TRIGGERS)}]")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FIRST = frozenset(TRIGGERS + "'")


def neutralise(cell: str) -> str:
    """The cell as a spreadsheet may open it: a quote before anything that could be a formula."""
    if cell[:1] in _FIRST and _RISKY.match(cell) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def unneutralise(cell: str) -> str:
    """The cell as it was before `neutralise`."""
    return cell[1:] if cell[:1] == "'" and _NEUTRALISED.match(cell) else cell


def unneutralise_column(cells: pd.Series) -> pd.Series:
    """`unneutralise` over a column of text, touching only cells that start with a quote."""
    quoted = cells.str.startswith("'").fillna(False).astype(bool)
    if not quoted.any():
        return cells
    out = cells.copy()
    out[quoted] = [unneutralise(c) for c in cells[quoted].tolist()]
    return out
