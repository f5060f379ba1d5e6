"""Writers for a GeoDataFrame of events as the library hands it out (`api.to_file`).

The command line's exporters work from the build's tables; a notebook has only the frame
(often filtered), so these write the frame itself: GeoJSON through our RFC 7946 writer (types
kept), GPKG and FlatGeobuf through GDAL with lists as JSON text, and a conflictmap dataset file
made from the frame's record columns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from . import geojson
from .atomic import write_via_temp
from .dataset import write_table


def _is_list(v: Any) -> bool:
    return isinstance(v, list | tuple | np.ndarray)


def _flat(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Lists as JSON text (neither GPKG nor FlatGeobuf has a list type); event days as
    date-time fields, as `conflictmap export` writes them."""
    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name or out[col].dtype != object:
            continue
        if any(_is_list(v) for v in out[col]):
            out[col] = [None if v is None else json.dumps(list(v), ensure_ascii=False,
                                                          default=str) for v in out[col]]
    for col in ("date", "end_date"):
        if col in out.columns and out[col].astype(object).map(
                lambda v: v is None or (isinstance(v, str) and len(v) == 10)).all():
            out[col] = pd.to_datetime(out[col], format="%Y-%m-%d")
    return out


def write_frame(gdf: gpd.GeoDataFrame, target: Path, driver: str) -> Path:
    """`gdf` to `target` in `driver` (GeoJSON, GPKG, FlatGeobuf), atomically."""
    if driver == "GeoJSON":
        return geojson.write(gdf, target)
    frame = _flat(gdf)
    options = {"SPATIAL_INDEX": "NO"} if driver == "FlatGeobuf" else {}
    return write_via_temp(target, lambda t: pyogrio.write_dataframe(
        frame, t, driver=driver, layer="events", layer_options=options))


def write_dataset_of(gdf: gpd.GeoDataFrame, target: Path) -> Path:
    """Events (as `read_events` gives them) as a dataset file that reads back as them."""
    from .frames import records_of

    records = records_of(gdf.to_crs(4326))
    records["_loc"] = [json.loads(t) if t else {} for t in records["location_json"]]
    return write_table(records, target)
