"""Names on the map: countries, districts, lakes and towns around the events, for `labels.js`.

Without a base map (the offline default) the page is grey shapes; these labels say which side
is Armenia and where Kalbajar or Vardenis is. Everything comes from data the build already has:
the boundary layers (Natural Earth) and the geocoder's GeoNames index, cut to the events'
surroundings so the page stays small. The page places them (screen-space collisions need the
zoom); here we only choose candidates, their priority and the zoom from which each may show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from html import escape
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import polylabel

from ..aggregate import Density
from ..layerio import Layer

PAD_DEG = 1.0  # labels for what lies this far around the events (the initial view and a bit)
TOWN_PAD_DEG = 1.5
MAX_TOWNS = 400
MIN_TOWN_POP = 1000
# (population at least, shown from zoom): a town of 50k shows from zoom 7, a village at 11
TOWN_ZOOMS = ((300_000, 5), (50_000, 7), (15_000, 8), (5_000, 9), (2_000, 10), (0, 11))
DISTRICT_ZOOM = 7
GEONAMES = ("GeoNames (CC BY 4.0)", "https://www.geonames.org/")


def _largest(geom: Any) -> Any:
    parts = getattr(geom, "geoms", [geom])
    return max(parts, key=lambda g: g.area)


def label_point(geom: Any) -> tuple[float, float] | None:
    """(lat, lon) of the pole of inaccessibility of the largest part: inside, and far from the
    edges, where a name reads as belonging to the area (a centroid can fall outside a C shape)."""
    if geom is None or geom.is_empty:
        return None
    part = _largest(shapely.make_valid(geom))
    if part.geom_type != "Polygon":
        return None
    p = polylabel(part, tolerance=0.01)
    return round(p.y, 4), round(p.x, 4)


def town_zoom(pop: int) -> int:
    return next(z for floor, z in TOWN_ZOOMS if pop >= floor)


def _area_items(layers: Iterable[Layer], kind: str, box: Any, zoom: int,
                seen: set[str]) -> list[list[Any]]:
    items = []
    for lyr in layers:
        frame = lyr.frame.cx[box.bounds[0]:box.bounds[2], box.bounds[1]:box.bounds[3]]
        texts = frame["name_en"].fillna(frame["name"]) if "name_en" in frame else frame["name"]
        for text, geom in zip(texts, frame.geometry, strict=True):
            if not isinstance(text, str) or text in seen:
                continue  # the same country in the regional and the world layer
            at = label_point(shapely.intersection(geom, box))
            if at is not None:
                seen.add(text)
                items.append([text, at[0], at[1], kind, zoom])
    return items


def _towns(index: Any, box: Any) -> list[list[Any]]:
    w, s, e, n = box.bounds
    rows = np.flatnonzero((index.lat >= s) & (index.lat <= n) & (index.lon >= w)
                          & (index.lon <= e) & (index.pop >= MIN_TOWN_POP))
    rows = rows[np.argsort(-index.pop[rows], kind="stable")][:MAX_TOWNS]
    return [[index.names[r], round(float(index.lat[r]), 4), round(float(index.lon[r]), 4),
             "town", town_zoom(int(index.pop[r]))] for r in rows]


def label_data(layers: dict[str, Layer], events: gpd.GeoDataFrame,
               geonames: Any | None) -> dict[str, Any]:
    """Candidates in priority order (countries, lakes, districts, towns by population), each
    `[text, lat, lon, class, min_zoom]`; `geonames` is the gazetteer index (None: no towns)."""
    if not len(events):
        return {"items": []}
    w, s, e, n = (float(v) for v in events.geometry.total_bounds)
    box = shapely.box(w - PAD_DEG, s - PAD_DEG, e + PAD_DEG, n + PAD_DEG)
    town_box = shapely.box(w - TOWN_PAD_DEG, s - TOWN_PAD_DEG, e + TOWN_PAD_DEG,
                           n + TOWN_PAD_DEG)
    return {"items": candidates(layers, box, town_box, geonames)}


def candidates(layers: dict[str, Layer], box: Any, town_box: Any,
               geonames: Any | None) -> list[list[Any]]:
    """`label_data`'s items for any area (WGS84 boxes): the static figure asks for its own
    view, so that a country's name lands inside what it shows."""
    by_kind: dict[str, list[Layer]] = {}
    for lyr in layers.values():
        by_kind.setdefault(lyr.spec.kind, []).append(lyr)
    seen: set[str] = set()
    items = (_area_items(by_kind.get("country", []), "country", box, 0, seen)
             + _area_items(by_kind.get("water", []), "lake", box, 7, seen)
             + _area_items(by_kind.get("admin1", []) + by_kind.get("admin2", []), "district",
                           box, DISTRICT_ZOOM, seen))
    if geonames is not None:
        items += _towns(geonames, town_box)
    return items


def attribution(layers: dict[str, Layer], with_towns: bool) -> str:
    """HTML for Leaflet's attribution control: every data source with its licence, escaped.

    Natural Earth's layers collapse into one credit; any other part of a licence (our handover
    dates) or a user's own layer is named with its title, source and licence as written."""
    credits = ["Natural Earth (public domain)"] if any(
        "Natural Earth" in f"{lyr.spec.source} {lyr.spec.licence}" for lyr in layers.values()
    ) else []
    for lyr in layers.values():
        parts = [p.strip() for p in lyr.spec.licence.split(";")]
        own = [p for p in parts if "Natural Earth" not in p]
        title = lyr.spec.title or lyr.spec.name
        if "Natural Earth" not in lyr.spec.source and len(own) == len(parts):
            credits.append(f"{title}: {lyr.spec.source} ({lyr.spec.licence})")
        elif own:
            credits.append(f"{title}: {'; '.join(own)}")
    html = [escape(c) for c in dict.fromkeys(credits)]
    if with_towns:
        html.append(f'towns: <a href="{GEONAMES[1]}">{GEONAMES[0]}</a>')
    return " · ".join(html)


def area_names(layers: dict[str, Layer], codes: Iterable[Any]) -> list[str]:
    """Country names of the events' ISO codes, most events first (a code no layer names stays
    as written)."""
    names: dict[str, str] = {}
    for lyr in layers.values():
        if lyr.spec.kind == "country":
            for iso, name in zip(lyr.frame["iso"], lyr.frame["name"], strict=True):
                if isinstance(iso, str) and isinstance(name, str):
                    names.setdefault(iso, name)
    values = codes.tolist() if isinstance(codes, pd.Series) else codes  # not arrow's __iter__
    counts = {c: n for c, n in Counter(values).items() if isinstance(c, str) and c}
    return [names.get(c, c) for c in sorted(counts, key=lambda c: (-counts[c], c))]


def page_title(events: gpd.GeoDataFrame, countries: Iterable[str],
               counted: Density | None = None) -> str:
    """`Events 2020-11-10 to 2020-12-01, Armenia and Azerbaijan`: the span and the area
    (with a density layer: every event's span, and how many are in detail)."""
    if counted is not None and counted.located:
        return (f"{counted.total:,} events {counted.start} to {counted.end} "
                f"({counted.detail:,} in detail), {_area(countries)} (conflictmap)")
    if not len(events):
        return "conflictmap: no events"
    days = pd.Series(pd.unique(events["date"]), dtype=object).astype(str)  # each day once
    return f"Events {days.min()} to {days.max()}, " \
           f"{_area(countries)} (conflictmap)"


def _area(countries: Iterable[str]) -> str:
    names = [c for c in countries if isinstance(c, str) and c]
    area = (", ".join(names[:-1]) + " and " + names[-1]) if len(names) > 1 else (
        names[0] if names else "unknown area")
    if len(names) > 4:
        area = ", ".join(names[:3]) + f" and {len(names) - 3} more countries"
    return area
