"""Spatial enrichment, vectorised: country, admin-1, distance to the border, side-uncertain,
district-uncertain, and the controller of the area on the event's date.

Distances are computed in the UTM zone of each point (so Syria is measured in zone 37 and
Armenia in 38), and only to the borders of the point's own country: a country without a border
layer gets no distance (null) rather than one to a border a thousand km away. "Side uncertain"
is honest arithmetic: a point closer to the border than the data's accuracy could lie either
side; where there is no border to measure, it is unknown (None), not False. "District
uncertain" is the same for admin-1 outlines: a point closer to another district than the
layer's accuracy could lie in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .timeline import Timeline

CELL_DEG = 0.25  # polygons are cut into cells this size so each point test stays cheap


def subdivide(geoms: np.ndarray, cell: float = CELL_DEG,
              near: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons along a grid: (pieces, index of the polygon each piece came from).

    A country polygon with 10,000 vertices makes every point-in-polygon test slow and its huge
    bounding box defeats the spatial index; small pieces fix both. With `near` (points), only
    the cells holding a point are cut, so a world layer costs what the events touch.
    """
    if len(geoms) == 0:
        return geoms, np.zeros(0, dtype=np.int64)
    if near is not None:
        ij = np.floor(shapely.get_coordinates(near) / cell).astype(np.int64)
        if not len(ij):
            return geoms[:0], np.zeros(0, dtype=np.int64)
        lo = ij.min(axis=0)
        rows = int(ij[:, 1].max() - lo[1]) + 1
        key = (ij[:, 0] - lo[0]) * rows + (ij[:, 1] - lo[1])  # one integer a cell: a 1-D unique
        cells = _dense(key, int(key.max()) + 1)[0]
        gx, gy = (cells // rows + lo[0]) * cell, (cells % rows + lo[1]) * cell
    else:
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        xs = np.arange(np.floor(x0 / cell) * cell, x1 + cell, cell)
        ys = np.arange(np.floor(y0 / cell) * cell, y1 + cell, cell)
        gx, gy = (a.ravel() for a in np.meshgrid(xs[:-1], ys[:-1]))
    boxes = shapely.box(gx, gy, gx + cell, gy + cell)
    box_idx, geom_idx = shapely.STRtree(boxes).query(geoms, predicate="intersects")[::-1]
    pieces = shapely.intersection(geoms[geom_idx], boxes[box_idx])
    keep = ~shapely.is_empty(pieces) & (shapely.area(pieces) > 0)
    return pieces[keep], geom_idx[keep]


def segment_coords(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lines as segments (N x 4: ax, ay, bx, by) and the index of the line each came from."""
    parts, line = shapely.get_parts(lines, return_index=True)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    same = part[1:] == part[:-1]
    return np.hstack([coords[:-1][same], coords[1:][same]]), line[part[:-1][same]]


def segments(lines: np.ndarray) -> np.ndarray:
    """Lines as two-point segments, so nearest-line queries touch only a few vertices."""
    return shapely.linestrings(segment_coords(lines)[0].reshape(-1, 2, 2))


def _inside_pairs(points: np.ndarray, polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point, polygon) for every polygon a point lies in (or on), sorted by point then polygon."""
    empty = np.zeros(0, dtype=np.int64)
    if len(polys) == 0 or len(points) == 0:
        return empty, empty
    pieces, owner = subdivide(polys, near=points)
    pt_idx, piece_idx = shapely.STRtree(pieces).query(points, predicate="intersects")
    poly_idx = owner[piece_idx]
    order = np.lexsort((poly_idx, pt_idx))
    pt_idx, poly_idx = pt_idx[order], poly_idx[order]
    new = np.ones(len(pt_idx), dtype=bool)
    new[1:] = (pt_idx[1:] != pt_idx[:-1]) | (poly_idx[1:] != poly_idx[:-1])
    return pt_idx[new], poly_idx[new]


def _first_of(pt: np.ndarray, poly: np.ndarray, n: int) -> np.ndarray:
    """For each of n points, the first polygon paired with it (pairs sorted by point), or -1."""
    out = np.full(n, -1, dtype=np.int64)
    first = np.unique(pt, return_index=True)[1]
    out[pt[first]] = poly[first]
    return out


def _first_by_layer(points: np.ndarray, polys: gpd.GeoDataFrame) -> np.ndarray:
    """For each point, the row of the first polygon containing it, layer by layer in manifest
    order: a later (coarser, wider) layer only sees the points the earlier ones left, so the
    world layer costs nothing where the regional one answers."""
    out = np.full(len(points), -1, dtype=np.int64)
    if len(polys) == 0 or len(points) == 0:
        return out
    layer = polys["layer"].to_numpy(dtype=object) if "layer" in polys else np.zeros(len(polys))
    geoms = np.asarray(polys.geometry.values)
    for name in pd.unique(layer):
        rows = np.flatnonzero(layer == name)
        todo = np.flatnonzero(out < 0)
        if not len(todo):
            break
        pt, poly = _inside_pairs(points[todo], geoms[rows])
        hit = _first_of(pt, poly, len(todo))
        found = hit >= 0
        out[todo[found]] = rows[hit[found]]
    return out


def _names_at(index: np.ndarray, polys: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """`column` of the polygon at each index; None where the index is -1."""
    out = np.full(len(index), None, dtype=object)
    found = index >= 0
    out[found] = polys[column].to_numpy(dtype=object)[index[found]]
    return out


def _join_name(points: np.ndarray, polys: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """For each point, `column` of the polygon containing it (first by layer order), or None."""
    pt, poly = _inside_pairs(points, np.asarray(polys.geometry.values))
    return _names_at(_first_of(pt, poly, len(points)), polys, column)


def _segment_distance(px, py, ax, ay, bx, by) -> np.ndarray:
    """Distance from points to segments, element-wise (all arrays the same shape)."""
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = np.where(length2 > 0, ((px - ax) * dx + (py - ay) * dy) / np.where(length2 > 0,
                                                                           length2, 1), 0)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy))


def nearest_segment_distance(px: np.ndarray, py: np.ndarray, seg: np.ndarray,
                             cell: float = 3000.0, chunk: int = 200_000) -> np.ndarray:
    """Exact distance from each point to the nearest segment (seg: N x 4 of ax, ay, bx, by).

    Points are bucketed in square cells; for each cell only the segments that can be nearest to
    some point of it are kept (distance from the cell centre within the best + one diagonal),
    so each point is compared with a handful of segments instead of walking a tree.
    """
    out = np.full(len(px), np.nan)
    if len(seg) == 0 or len(px) == 0:
        return out
    inverse, centres = _cells(px, py, cell)
    # candidate segments per cell: within the nearest one's distance plus a diagonal
    tree = shapely.STRtree(shapely.linestrings(seg.reshape(-1, 2, 2)))
    _, dmin = tree.query_nearest(centres, return_distance=True, all_matches=False)
    per_cell = _per_cell(tree, centres, dmin + cell * np.sqrt(2) + 1e-6)
    for lo in range(0, len(px), chunk):
        point, s_idx, first = _expand(inverse[lo:lo + chunk], *per_cell)
        d = _segment_distance(px[lo:lo + chunk][point], py[lo:lo + chunk][point], *seg[s_idx].T)
        out[lo:lo + chunk] = np.minimum.reduceat(d, first)
    return out


def lines_within(px: np.ndarray, py: np.ndarray, seg: np.ndarray, owner: np.ndarray,
                 within: float, cell: float = 2000.0, chunk: int = 200_000,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, owner, distance) for each point and line (the `owner` of its segments) closer
    than `within`, the nearest segment's distance once per pair.

    Same bucketing as `nearest_segment_distance`: a cell keeps the segments within `within`
    plus half a diagonal of its centre, sorted by owner, so points far from every line cost
    nothing and each pair's segments are adjacent rows.
    """
    found = [(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))]
    if len(seg) == 0 or len(px) == 0:
        return found[0]
    inverse, centres = _cells(px, py, cell)
    tree = shapely.STRtree(shapely.linestrings(seg.reshape(-1, 2, 2)))
    per_cell = _per_cell(tree, centres, np.full(len(centres), within + cell * np.sqrt(0.5)),
                         owner)
    for lo in range(0, len(px), chunk):
        point, s_idx, _ = _expand(inverse[lo:lo + chunk], *per_cell)
        if len(point) == 0:
            continue
        d = _segment_distance(px[lo:lo + chunk][point], py[lo:lo + chunk][point], *seg[s_idx].T)
        line = owner[s_idx]
        start = np.flatnonzero(np.r_[True, (point[1:] != point[:-1]) | (line[1:] != line[:-1])])
        d = np.minimum.reduceat(d, start)
        near = d < within
        found.append((point[start][near] + lo, line[start][near], d[near]))
    pt, line, d = (np.concatenate(c) for c in zip(*found, strict=True))
    return pt, line, d


def _cells(px: np.ndarray, py: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Points bucketed in square cells: (cell number of each point, the cells' centres)."""
    x0, y0 = px.min(), py.min()
    ix = ((px - x0) // cell).astype(np.int64)
    iy = ((py - y0) // cell).astype(np.int64)
    width = int(ix.max()) + 1
    cells, inverse = _dense(iy * width + ix, width * (int(iy.max()) + 1))
    centres = shapely.points(x0 + (cells % width + 0.5) * cell, y0 + (cells // width + 0.5) * cell)
    return inverse, centres


def _dense(ids: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(distinct ids sorted, index of each id among them), like np.unique(return_inverse)
    but without sorting all ids when the id range is small enough for a lookup table."""
    if size > 4 * len(ids) + 1_000_000:
        return np.unique(ids, return_inverse=True)
    present = np.zeros(size, dtype=bool)
    present[ids] = True
    cells = np.flatnonzero(present)
    rank = np.cumsum(present) - 1
    return cells, rank[ids]


def _per_cell(tree: shapely.STRtree, centres: np.ndarray, reach: np.ndarray,
              key: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate segments of each cell as CSR: (segments, count per cell, start per cell);
    within a cell in tree order, or by `key` of the segment when given."""
    rows, segs = tree.query(centres, predicate="dwithin", distance=reach)
    order = np.argsort(rows, kind="stable") if key is None else np.lexsort((key[segs], rows))
    counts = np.bincount(rows[order], minlength=len(centres))
    return segs[order], counts, np.concatenate([[0], np.cumsum(counts)])


def _expand(cid: np.ndarray, segs: np.ndarray, counts: np.ndarray, starts: np.ndarray,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per (point, candidate segment): (point, segment, first row of each point)."""
    n = counts[cid]
    first = np.cumsum(n) - n
    point = np.repeat(np.arange(len(cid)), n)
    offs = np.arange(n.sum()) - np.repeat(first, n)
    return point, segs[starts[cid][point] + offs], first


def utm_zones(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """EPSG code of the UTM zone of each lon/lat (326zz north, 327zz south).

    UTM's scale error stays under 0.1 % within a zone, so a border a few km away measures true;
    the polar caps (beyond 84 N / 80 S) are stretched, which no conflict record has needed yet.
    """
    zone = np.clip(np.floor((np.asarray(lon) + 180.0) / 6.0).astype(np.int64) + 1, 1, 60)
    return np.where(np.asarray(lat) >= 0, 32600, 32700) + zone


def border_distance_km(points: np.ndarray, borders: gpd.GeoDataFrame) -> np.ndarray:
    """Kilometres from each WGS84 point to the nearest border line, measured in each point's
    UTM zone (points and lines are projected zone by zone)."""
    out = np.full(len(points), np.nan)
    if len(borders) == 0 or len(points) == 0:
        return out
    lines = segments(np.asarray(borders.geometry.values))
    seg = shapely.get_coordinates(lines).reshape(-1, 4)
    xy = shapely.get_coordinates(points)
    epsg = utm_zones(xy[:, 0], xy[:, 1])
    for code in np.unique(epsg):
        mask = epsg == code
        to_metric = Transformer.from_crs(4326, int(code), always_xy=True)
        px, py = to_metric.transform(xy[mask, 0], xy[mask, 1])
        ax, ay = to_metric.transform(seg[:, 0], seg[:, 1])
        bx, by = to_metric.transform(seg[:, 2], seg[:, 3])
        metric = np.column_stack([ax, ay, bx, by])
        metric = metric[np.isfinite(metric).all(axis=1)]  # beyond the projection's reach
        out[mask] = nearest_segment_distance(np.asarray(px), np.asarray(py), metric) / 1000.0
    return out


def border_sides(iso: object) -> set[str]:
    """The countries a border line separates, from its `iso` ("AM-AZ"); empty when unknown."""
    return set(str(iso).split("-")) if isinstance(iso, str) and "-" in iso else set()


def own_border_distance_km(points: np.ndarray, country: np.ndarray,
                           borders: gpd.GeoDataFrame,
                           countries: gpd.GeoDataFrame | None = None) -> np.ndarray:
    """Kilometres from each point to the nearest border of its own country; NaN where the line
    layers do not hold every border of that country (a layer clipped to the Caucasus has
    Turkey's border with Armenia, not with Syria: a point in Kobani is not 500 km from a
    border), or the point has no country (at sea)."""
    out = np.full(len(points), np.nan)
    sides = [border_sides(v) for v in borders["iso"]] if "iso" in borders else []
    codes = sorted({c for c in country if isinstance(c, str)})
    whole = complete_borders(countries, sides, codes) if countries is not None else set(codes)
    for code in codes:
        lines = borders[[code in s for s in sides]]
        if len(lines) and code in whole:
            mask = country == code
            out[mask] = border_distance_km(points[mask], lines)
    return out


def complete_borders(countries: gpd.GeoDataFrame, sides: list[set[str]],
                     codes: list[str]) -> set[str]:
    """The countries among `codes` whose every land neighbour (a country polygon meeting
    theirs) has a line in `sides`. A neighbour met only through a coarse layer's overlap
    counts too, which can only make the answer 'unknown', never a wrong distance."""
    if len(countries) == 0:
        return set()
    iso = countries["iso"].to_numpy(dtype=object)
    geoms = np.asarray(countries.geometry.values)
    tree = shapely.STRtree(geoms)
    pairs = {frozenset(s) for s in sides if len(s) == 2}
    out = set()
    for code in codes:
        hits = tree.query(geoms[iso == code], predicate="intersects")[1]
        neighbours = {iso[h] for h in hits if isinstance(iso[h], str)} - {code}
        if neighbours and all(frozenset((code, n)) in pairs for n in neighbours):
            out.add(code)
    return out


def _accuracy(index: np.ndarray, polys: gpd.GeoDataFrame,
              km: float | Mapping[str, float]) -> np.ndarray:
    """The stated accuracy of the layer of the polygon at each index (NaN where -1)."""
    if not isinstance(km, Mapping):
        return np.full(len(index), float(km))
    per_poly = polys["layer"].map(km).to_numpy(dtype=float) if len(polys) else np.zeros(0)
    return np.where(index >= 0, per_poly[np.maximum(index, 0)] if len(per_poly) else np.nan,
                    np.nan)


def side_uncertain(dist: np.ndarray, accuracy_km: np.ndarray) -> np.ndarray:
    """True/False where a distance is known, None where it is not (unknown is not 'certain')."""
    out = np.full(len(dist), None, dtype=object)
    known = ~np.isnan(dist)
    out[known] = (dist[known] < accuracy_km[known]).tolist()
    return out


def _project(geoms: np.ndarray, epsg: int) -> np.ndarray:
    to_metric = Transformer.from_crs(4326, epsg, always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(
        to_metric.transform(xy[:, 0], xy[:, 1])))


def _reach_box(lonlat: np.ndarray, km: float) -> shapely.Polygon:
    """The points' bounding box grown by `km` (generously, in degrees at the poleward edge)."""
    x0, y0 = lonlat.min(axis=0)
    x1, y1 = lonlat.max(axis=0)
    dy = km / 110.0 * 1.01
    dx = dy / max(np.cos(np.radians(min(max(abs(y0), abs(y1)) + dy, 89.0))), 1e-3)
    return shapely.box(x0 - dx, y0 - dy, x1 + dx, y1 + dy)


def near_outlines(points: np.ndarray, polys: np.ndarray, within_km: float,
                  metric_crs: Callable[[np.ndarray, np.ndarray], np.ndarray] = utm_zones,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, polygon, km) for each WGS84 point and polygon whose outline is closer than
    `within_km`, the nearest distance once per pair, in the CRS `metric_crs` gives each point
    (points are grouped by CRS; each group sees the polygons projected to its own CRS).

    Only outlines are measured: a point inside a polygon is at distance 0 from it whatever its
    outline says, which the caller knows from the point-in-polygon join.
    """
    empty = np.zeros(0, dtype=np.int64)
    parts = [(empty, empty, np.zeros(0))]
    if len(polys) == 0 or len(points) == 0 or not within_km > 0:
        return parts[0]
    located = np.flatnonzero(~shapely.is_missing(points) & ~shapely.is_empty(points))
    xy = np.full((len(points), 2), np.nan)  # a point with no coordinates is near nothing
    xy[located] = shapely.get_coordinates(points[located])
    crs = metric_crs(xy[located, 0], xy[located, 1])
    tree = shapely.STRtree(polys)
    for code in np.unique(crs):
        idx = located[crs == code]
        near = tree.query(_reach_box(xy[idx], within_km))  # only polygons this zone can see
        seg, owner = segment_coords(_project(shapely.boundary(polys[near]), int(code)))
        px, py = Transformer.from_crs(4326, int(code), always_xy=True).transform(
            xy[idx, 0], xy[idx, 1])
        p, poly, d = lines_within(np.asarray(px), np.asarray(py), seg, owner,
                                  within_km * 1000.0)
        parts.append((idx[p], near[poly], d / 1000.0))
    pt, poly, km = (np.concatenate(c) for c in zip(*parts, strict=True))
    return pt, poly, km


def district_doubt(points: np.ndarray, polys: gpd.GeoDataFrame, accuracy_km: float,
                   ) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """(name of the containing polygon or None, uncertain, candidate names) per point.

    Uncertain where a district other than the containing one lies closer than the layer's
    accuracy (or the point lies in two): the data cannot tell which it is in. Candidates are
    the containing district first, then the others by distance.
    """
    geoms = np.asarray(polys.geometry.values)
    in_pt, in_poly = _inside_pairs(points, geoms)
    inside = _first_of(in_pt, in_poly, len(points))
    near_pt, near_poly, near_km = near_outlines(points, geoms, accuracy_km)
    # the other districts: any the point also lies in (0 km), then those near, by distance
    pt = np.concatenate([in_pt, near_pt])
    poly = np.concatenate([in_poly, near_poly])
    km = np.concatenate([np.zeros(len(in_pt)), near_km])
    other = poly != inside[pt]
    pt, poly, km = pt[other], poly[other], km[other]
    order = np.lexsort((km, pt))
    uncertain = np.zeros(len(points), dtype=bool)
    uncertain[pt] = True
    names = polys["name"].to_numpy(dtype=object)
    admin1 = _names_at(inside, polys, "name")
    candidates = [[] if i is None else [i] for i in admin1.tolist()]
    for p, name in zip(pt[order].tolist(), names[poly[order]].tolist(), strict=True):
        if name not in candidates[p]:
            candidates[p].append(name)
    return admin1, uncertain, candidates


# what `enrich` finds from a point and the layers alone (the controller also needs the day)
FACTS = ("country", "admin1", "admin1_uncertain", "admin1_candidates", "border_distance_km",
         "side_uncertain", "handover_area")


def enrich(events: gpd.GeoDataFrame, *, countries: gpd.GeoDataFrame,
           admin1: gpd.GeoDataFrame, borders: gpd.GeoDataFrame,
           handover: gpd.GeoDataFrame, timeline: Timeline,
           border_accuracy_km: float | Mapping[str, float],
           admin1_accuracy_km: float,
           facts: Callable[..., dict[str, np.ndarray]] | None = None) -> gpd.GeoDataFrame:
    """Adds country, admin1, admin1_uncertain, admin1_candidates, border_distance_km,
    side_uncertain, handover_area, controller.

    `events` needs point geometry (WGS84) and a `date` column of calendar days.
    `border_accuracy_km` is one figure, or one per layer name: then a point's side is uncertain
    within the larger of its country layer's and its border layers' stated accuracy.
    `facts`: what finds the `FACTS` of the points, called as `point_facts` is (the build
    passes `enrichcache.Memo.facts`, which answers the points it has seen from its store).
    """
    found = (facts or point_facts)(
        np.asarray(events.geometry.values), countries=countries, admin1=admin1,
        borders=borders, handover=handover, border_accuracy_km=border_accuracy_km,
        admin1_accuracy_km=admin1_accuracy_km)
    out = events.copy()
    for name in FACTS:
        out[name] = found[name]
    area = found["handover_area"]
    dates = events["date"].to_numpy()
    controller = np.full(len(out), None, dtype=object)
    for name in timeline.areas:
        mask = area == name
        if mask.any():  # days of the few points in handed-over areas only
            days = np.asarray(dates[mask], dtype="datetime64[D]")
            controller[mask] = timeline.controllers(name, days)
    out["controller"] = controller
    return out


def point_facts(pts: np.ndarray, *, countries: gpd.GeoDataFrame, admin1: gpd.GeoDataFrame,
                borders: gpd.GeoDataFrame, handover: gpd.GeoDataFrame,
                border_accuracy_km: float | Mapping[str, float],
                admin1_accuracy_km: float) -> dict[str, np.ndarray]:
    """The `FACTS` of each point, one array each (objects, None where unknown; the distance
    as floats, NaN where unknown)."""
    in_country = _first_by_layer(pts, countries)
    country = _names_at(in_country, countries, "iso")
    country[pd.isna(country)] = None  # a feature without a code (Bir Tawil) is no country
    names, uncertain, candidates = district_doubt(pts, admin1, admin1_accuracy_km)
    # in no district and near none (a country without an admin-1 layer, or offshore): whether
    # the district is certain is unknown, not "no"
    doubt = uncertain.astype(object)
    doubt[pd.isna(names) & ~uncertain] = None
    dist = own_border_distance_km(pts, country, borders, countries)
    accuracy = _accuracy(in_country, countries, border_accuracy_km)
    if isinstance(border_accuracy_km, Mapping) and len(borders):
        codes = [c for c in pd.unique(country) if isinstance(c, str)]
        line_acc = {c: max((border_accuracy_km.get(n, 0.0) for n, i in
                            zip(borders["layer"], borders["iso"], strict=True)
                            if c in border_sides(i)), default=0.0) for c in codes}
        accuracy = np.fmax(accuracy, pd.Series(country).map(line_acc).to_numpy(dtype=float))
    listed = np.fromiter(candidates, dtype=object, count=len(pts))  # one list a point
    return {"country": country, "admin1": names, "admin1_uncertain": doubt,
            "admin1_candidates": listed, "border_distance_km": np.round(dist, 3),
            "side_uncertain": side_uncertain(dist, accuracy),
            "handover_area": _join_name(pts, handover, "name")}
