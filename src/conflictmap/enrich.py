"""Spatial enrichment, vectorised: country, admin-1, distance to the border, side-uncertain,
and the controller of the area on the event's date.

Distances are computed in a metric CRS (UTM 38N fits this region); "side uncertain" is honest
arithmetic: a point closer to the border than the border data's accuracy could lie either side.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

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


def border_distance_km(points: np.ndarray, borders: gpd.GeoDataFrame) -> np.ndarray:
    if len(borders) == 0:
        return np.full(len(points), np.nan)
    lines = segments(np.asarray(borders.to_crs(METRIC_CRS).geometry.values))
    pts = gpd.GeoSeries(points, crs=4326).to_crs(METRIC_CRS).values
    tree = shapely.STRtree(lines)
    (pt_idx, _), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    out = np.full(len(points), np.nan)
    out[pt_idx] = dist / 1000.0
    return out


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
