"""Boundary layers derived from Natural Earth: country codes, shared-edge borders, and GeoJSON
written by our own serializer (sorted, fixed precision) so the bytes do not depend on GDAL.

Shared by `geodata/build.py` (the bundled layers) and `layers fetch` (one country on demand),
so a border drawn at build time and one fetched later are the same line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd
import shapely
from shapely.geometry import mapping

DIGITS = 5  # 1e-5 degree, ~1 m: far below the data's accuracy, keeps shared edges shared


def iso2_codes(admin0: pd.DataFrame) -> pd.Series:
    """ISO 3166-1 alpha-2 per Natural Earth feature: ISO_A2_EH (which fills France, Norway,
    Kosovo ...), else ISO_A2; None where neither has one (bases, Bir Tawil): not invented."""
    iso = admin0["ISO_A2_EH"].where(admin0["ISO_A2_EH"] != "-99", admin0["ISO_A2"])
    return iso.where(iso.str.fullmatch(r"[A-Z]{2}").fillna(False).astype(bool), None)


def iso3_codes(admin0: pd.DataFrame) -> pd.Series:
    """ISO 3166-1 alpha-3 the same way (ISO_A3_EH, else ISO_A3; None where neither)."""
    iso = admin0["ISO_A3_EH"].where(admin0["ISO_A3_EH"] != "-99", admin0["ISO_A3"])
    return iso.where(iso.str.fullmatch(r"[A-Z]{3}").fillna(False).astype(bool), None)


def geometry_json(g, digits: int = DIGITS) -> dict:
    """Valid, snapped to the grid, CCW exteriors (RFC 7946), coordinates rounded."""
    g = shapely.set_precision(shapely.make_valid(g), 10.0 ** -digits)
    g = shapely.orient_polygons(g) if g.geom_type in ("Polygon", "MultiPolygon") else g
    return json.loads(json.dumps(mapping(g)), parse_float=lambda s: round(float(s), digits))


def feature(props: dict, geom, digits: int = DIGITS) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry_json(geom, digits)}


def feature_collection(features: list[dict], name: str) -> bytes:
    """Deterministic GeoJSON (RFC 7946: WGS84 lon/lat, CCW exteriors, no crs member)."""
    fc = {"type": "FeatureCollection", "name": name, "features": features}
    return (json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def shared_borders(geoms: dict[str, object], names: dict[str, str],
                   pairs: Iterable[tuple[str, str]] | None = None,
                   clip=None) -> list[dict]:
    """International land borders as features: the edges two countries' polygons share.

    `geoms` maps ISO2 to a polygon; `pairs` limits the work to some neighbours (default: every
    pair); `clip` cuts the lines to an area. Each feature's `iso` is "AA-BB", sorted.
    """
    feats = []
    todo = sorted({tuple(sorted(p)) for p in pairs} if pairs is not None
                  else ((a, b) for i, a in enumerate(sorted(geoms)) for b in sorted(geoms)[i + 1:]))
    for a, b in todo:
        shared = shapely.intersection(geoms[a].boundary, geoms[b].boundary)
        lines = [g for g in getattr(shared, "geoms", [shared])
                 if g.geom_type in ("LineString", "MultiLineString")]
        if not lines:
            continue
        merged = shapely.line_merge(shapely.union_all(lines))
        if clip is not None:
            merged = shapely.intersection(merged, clip)
        if merged.is_empty or merged.length == 0:
            continue
        name = f"{names.get(a, a)} – {names.get(b, b)}"
        feats.append(feature({"name": name, "iso": f"{a}-{b}"}, merged))
    return feats
