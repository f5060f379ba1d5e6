"""Spatial enrichment, vectorised: country, admin-1, distance to the border, side-uncertain,
and the controller of the area on the event's date.

Distances are computed in a metric CRS (UTM 38N fits this region); "side uncertain" is honest
arithmetic: a point closer to the border than the border data's accuracy could lie either side.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from .timeline import Timeline

METRIC_CRS = 32638  # UTM zone 38N: Armenia and Azerbaijan


CELL_DEG = 0.25  # polygons are cut into cells this size so each point test stays cheap


def subdivide(geoms: np.ndarray, cell: float = CELL_DEG) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons along a grid: (pieces, index of the polygon each piece came from).

    A country polygon with 10,000 vertices makes every point-in-polygon test slow and its huge
    bounding box defeats the spatial index; small pieces fix both.
    """
    if len(geoms) == 0:
        return geoms, np.zeros(0, dtype=np.int64)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    xs = np.arange(np.floor(x0 / cell) * cell, x1 + cell, cell)
    ys = np.arange(np.floor(y0 / cell) * cell, y1 + cell, cell)
    gx, gy = np.meshgrid(xs[:-1], ys[:-1])
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + cell, gy.ravel() + cell)
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


def _join_name(points: np.ndarray, polys: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """For each point, `column` of the polygon containing it (first by layer order), or None."""
    out = np.full(len(points), None, dtype=object)
    if len(polys) == 0 or len(points) == 0:
        return out
    pieces, owner = subdivide(np.asarray(polys.geometry.values))
    pt_idx, piece_idx = shapely.STRtree(pieces).query(points, predicate="intersects")
    poly_idx = owner[piece_idx]
    order = np.lexsort((poly_idx, pt_idx))
    pt_idx, poly_idx = pt_idx[order], poly_idx[order]
    first = np.unique(pt_idx, return_index=True)[1]
    out[pt_idx[first]] = polys[column].to_numpy(dtype=object)[poly_idx[first]]
    return out


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


def border_distance_km(points: np.ndarray, borders: gpd.GeoDataFrame) -> np.ndarray:
    """Kilometres from each WGS84 point to the nearest border line, in the metric CRS."""
    if len(borders) == 0 or len(points) == 0:
        return np.full(len(points), np.nan)
    to_metric = Transformer.from_crs(4326, METRIC_CRS, always_xy=True)
    lines = segments(np.asarray(borders.to_crs(METRIC_CRS).geometry.values))
    coords = shapely.get_coordinates(lines).reshape(-1, 4)
    xy = shapely.get_coordinates(points)
    px, py = to_metric.transform(xy[:, 0], xy[:, 1])
    return nearest_segment_distance(np.asarray(px), np.asarray(py), coords) / 1000.0


def enrich(events: gpd.GeoDataFrame, *, countries: gpd.GeoDataFrame,
           admin1: gpd.GeoDataFrame, borders: gpd.GeoDataFrame,
           handover: gpd.GeoDataFrame, timeline: Timeline,
           border_accuracy_km: float) -> gpd.GeoDataFrame:
    """Adds country, admin1, border_distance_km, side_uncertain, handover_area, controller.

    `events` needs point geometry (WGS84) and a `date` column of calendar days.
    """
    pts = events.geometry.values
    out = events.copy()
    out["country"] = _join_name(pts, countries, "iso")
    out["admin1"] = _join_name(pts, admin1, "name")
    dist = border_distance_km(pts, borders)
    out["border_distance_km"] = np.round(dist, 3)
    out["side_uncertain"] = dist < border_accuracy_km
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
