"""Spatial enrichment, vectorised: country, admin-1, distance to the border, side-uncertain,
and the controller of the area on the event's date.

Distances are computed in the UTM zone of each point (so Syria is measured in zone 37 and
Armenia in 38), and only to the borders of the point's own country: a country without a border
layer gets no distance (null) rather than one to a border a thousand km away. "Side uncertain"
is honest arithmetic: a point closer to the border than the data's accuracy could lie either
side; where there is no border to measure, it is unknown (None), not False.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
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
        xy = shapely.get_coordinates(near)
        ij = np.unique(np.floor(xy / cell).astype(np.int64), axis=0)
        gx, gy = ij[:, 0] * cell, ij[:, 1] * cell
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


def segments(lines: np.ndarray) -> np.ndarray:
    """Lines as two-point segments, so nearest-line queries touch only a few vertices."""
    parts = shapely.get_parts(lines)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    same = part[1:] == part[:-1]
    return shapely.linestrings(np.stack([coords[:-1][same], coords[1:][same]], axis=1))


def _join_index(points: np.ndarray, polys: gpd.GeoDataFrame) -> np.ndarray:
    """For each point, the row of the polygon containing it (first by layer order), or -1."""
    out = np.full(len(points), -1, dtype=np.int64)
    if len(polys) == 0 or len(points) == 0:
        return out
    pieces, owner = subdivide(np.asarray(polys.geometry.values), near=points)
    pt_idx, piece_idx = shapely.STRtree(pieces).query(points, predicate="intersects")
    poly_idx = owner[piece_idx]
    order = np.lexsort((poly_idx, pt_idx))
    pt_idx, poly_idx = pt_idx[order], poly_idx[order]
    first = np.unique(pt_idx, return_index=True)[1]
    out[pt_idx[first]] = poly_idx[first]
    return out


def _pick(polys: gpd.GeoDataFrame, idx: np.ndarray, column: str) -> np.ndarray:
    out = np.full(len(idx), None, dtype=object)
    hit = idx >= 0
    if hit.any():
        out[hit] = polys[column].to_numpy(dtype=object)[idx[hit]]
    return out


def _join_name(points: np.ndarray, polys: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """For each point, `column` of the polygon containing it (first by layer order), or None."""
    return _pick(polys, _join_index(points, polys), column)


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
    x0, y0 = px.min(), py.min()
    ix = ((px - x0) // cell).astype(np.int64)
    iy = ((py - y0) // cell).astype(np.int64)
    width = int(ix.max()) + 1
    cell_id = iy * width + ix
    cells, inverse = np.unique(cell_id, return_inverse=True)
    cx = x0 + (cells % width + 0.5) * cell
    cy = y0 + (cells // width + 0.5) * cell
    ax, ay, bx, by = seg.T
    # candidate segments per cell (CSR): within the nearest one's distance plus a diagonal
    tree = shapely.STRtree(shapely.linestrings(seg.reshape(-1, 2, 2)))
    centres = shapely.points(cx, cy)
    _, dmin = tree.query_nearest(centres, return_distance=True, all_matches=False)
    rows, segs = tree.query(centres, predicate="dwithin", distance=dmin + cell * np.sqrt(2) + 1e-6)
    order = np.argsort(rows, kind="stable")
    rows, segs = rows[order], segs[order]
    counts = np.bincount(rows, minlength=len(cells))
    starts = np.concatenate([[0], np.cumsum(counts)])
    for lo in range(0, len(px), chunk):
        cid = inverse[lo:lo + chunk]
        n = counts[cid]
        point = np.repeat(np.arange(len(cid)), n)
        offs = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        s_idx = segs[starts[cid][point] + offs]
        d = _segment_distance(px[lo:lo + chunk][point], py[lo:lo + chunk][point],
                              ax[s_idx], ay[s_idx], bx[s_idx], by[s_idx])
        out[lo:lo + chunk] = np.minimum.reduceat(d, np.cumsum(n) - n)
    return out


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
                           borders: gpd.GeoDataFrame) -> np.ndarray:
    """Kilometres from each point to the nearest border of its own country; NaN where no line
    layer covers that country (or the point has no country: at sea)."""
    out = np.full(len(points), np.nan)
    sides = [border_sides(v) for v in borders["iso"]] if "iso" in borders else []
    for code in sorted({c for c in country if isinstance(c, str)}):
        lines = borders[[code in s for s in sides]]
        if len(lines):
            mask = country == code
            out[mask] = border_distance_km(points[mask], lines)
    return out


def _accuracy(names: np.ndarray, km: float | Mapping[str, float]) -> np.ndarray:
    if not isinstance(km, Mapping):
        return np.full(len(names), float(km))
    return np.array([km.get(n, np.nan) if isinstance(n, str) else np.nan for n in names])


def side_uncertain(dist: np.ndarray, accuracy_km: np.ndarray) -> np.ndarray:
    """True/False where a distance is known, None where it is not (unknown is not 'certain')."""
    out = np.full(len(dist), None, dtype=object)
    known = ~np.isnan(dist)
    out[known] = (dist[known] < accuracy_km[known]).tolist()
    return out


def enrich(events: gpd.GeoDataFrame, *, countries: gpd.GeoDataFrame,
           admin1: gpd.GeoDataFrame, borders: gpd.GeoDataFrame,
           handover: gpd.GeoDataFrame, timeline: Timeline,
           border_accuracy_km: float | Mapping[str, float]) -> gpd.GeoDataFrame:
    """Adds country, admin1, border_distance_km, side_uncertain, handover_area, controller.

    `events` needs point geometry (WGS84) and a `date` column of calendar days.
    `border_accuracy_km` is one figure, or one per layer name: then a point's side is uncertain
    within the larger of its country layer's and its border layers' stated accuracy.
    """
    pts = events.geometry.values
    out = events.copy()
    in_country = _join_index(pts, countries)
    country = _pick(countries, in_country, "iso")
    country = np.array([c if isinstance(c, str) else None for c in country], dtype=object)
    out["country"] = country
    out["admin1"] = _join_name(pts, admin1, "name")
    dist = own_border_distance_km(pts, country, borders)
    out["border_distance_km"] = np.round(dist, 3)
    accuracy = _accuracy(_pick(countries, in_country, "layer"), border_accuracy_km)
    if isinstance(border_accuracy_km, Mapping) and len(borders):
        line_acc = {c: max((border_accuracy_km.get(n, 0.0) for n, i in
                            zip(borders["layer"], borders["iso"], strict=True)
                            if c in border_sides(i)), default=0.0) for c in set(country) if c}
        accuracy = np.fmax(accuracy, np.array([line_acc.get(c, np.nan) for c in country]))
    out["side_uncertain"] = side_uncertain(dist, accuracy)
    area = _join_name(pts, handover, "name")
    out["handover_area"] = area
    days = np.asarray(events["date"].to_numpy(), dtype="datetime64[D]")
    controller = np.full(len(out), None, dtype=object)
    for name in timeline.areas:
        mask = area == name
        if mask.any():
            controller[mask] = timeline.controllers(name, days[mask])
    out["controller"] = controller
    return out
