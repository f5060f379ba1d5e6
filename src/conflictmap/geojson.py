"""RFC 7946 GeoJSON written by us, so every property keeps its type.

GDAL's GeoJSON writer turns any text that parses as JSON (a title "[1, 2]") into an array, and
with that switched off writes list columns as Python reprs. Here lists are JSON arrays, text is
text, missing values are null; coordinates are WGS84 lon/lat to 6 decimals (~0.1 m), polygon
exteriors counter-clockwise, with a bbox. GDAL reads the result back (the tests check it).
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from .atomic import write_atomic

PRECISION = 6


def _plain(value: Any) -> Any:
    """A JSON value for a frame cell: numpy scalars as numbers, NaN/NA as null, dates as ISO."""
    if value is None:
        return None
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    try:
        if value != value:  # pandas NA / NaT
            return None
    except (TypeError, ValueError):
        pass
    return value if isinstance(value, str | int) else str(value)


def feature_collection(frame: gpd.GeoDataFrame, name: str | None = None) -> dict[str, Any]:
    """The frame as a FeatureCollection dict (reprojected to WGS84 when it is not)."""
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    geoms = np.asarray(frame.geometry.values)
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, PRECISION))
    texts = shapely.to_geojson(geoms)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    records = frame[columns].to_dict("records")
    features = [{"type": "Feature", "properties": {k: _plain(v) for k, v in rec.items()},
                 "geometry": None if g is None else json.loads(g)}
                for rec, g in zip(records, texts, strict=True)]
    doc: dict[str, Any] = {"type": "FeatureCollection"}
    if name:
        doc["name"] = name
    present = geoms[~shapely.is_missing(geoms)]
    if len(present):
        doc["bbox"] = [round(float(v), PRECISION) for v in shapely.total_bounds(present)]
    doc["features"] = features
    return doc


def write(frame: gpd.GeoDataFrame, target: Path) -> Path:
    """The frame as an RFC 7946 file, written atomically."""
    doc = feature_collection(frame, target.name.split(".")[0])
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return write_atomic(target, text + "\n")
