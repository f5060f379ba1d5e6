"""The build's tables made back from an events GeoDataFrame (the columns of events.geojson).

`read_events` hands analysts one GeoDataFrame; they filter it, and `explore` draws what is
left. The page is made from the build's two tables (`pipeline.Result`), so this is the way
back: the enrichment columns become the frame, the record's columns (plain ones as they are,
nested ones from their `*_json` text, lists of text as JSON) the records table. A column the
frame lacks stays null: nothing is invented.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import UsageError
from .layerio import Layer
from .model import GeoPrecision
from .pipeline import COLUMNS, Result, timeline_of
from .record import FLAT_ELSEWHERE, SCHEMA, Schema

NEEDED = ("id", "date", "title", "event_type")
PRECISIONS = {p.value for p in GeoPrecision}


def _absent(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT


def _column(gdf: pd.DataFrame, name: str) -> list[Any]:
    """A column as plain Python values with None for missing; all None when there is none."""
    if name not in gdf.columns:
        return [None] * len(gdf)
    return [None if not isinstance(v, list | tuple | np.ndarray) and _absent(v) else v
            for v in gdf[name].astype(object).tolist()]


def _json(values: list[Any]) -> list[str | None]:
    return [None if v is None else json.dumps(list(v) if isinstance(v, tuple | np.ndarray)
                                               else v, ensure_ascii=False) for v in values]


def _day_text(v: Any) -> str | None:
    if v is None:
        return None
    return v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)[:10]


def _locations(gdf: pd.DataFrame) -> list[dict[str, Any] | None]:
    """Each event's location as the point it was mapped at, its place name and precision."""
    geoms = gpd.GeoSeries(gdf.geometry).to_crs(4326) if gdf.geometry.crs else gdf.geometry
    out: list[dict[str, Any] | None] = []
    for g, name, prec in zip(geoms, _column(gdf, "place_name"), _column(gdf, "geo_precision"),
                             strict=True):
        if g is None or g.is_empty:
            out.append(None)
            continue
        loc: dict[str, Any] = {"lat": round(g.y, 6), "lon": round(g.x, 6)}
        if name is not None:
            loc["name"] = name
        if prec in PRECISIONS:
            loc["precision"] = prec
        out.append(loc)
    return out


def records_of(gdf: pd.DataFrame, schema: Schema = SCHEMA) -> pd.DataFrame:
    """The records table of these events, as the pipeline holds it."""
    out: dict[str, list[Any]] = {}
    when = [t if t is not None else _day_text(d)
            for t, d in zip(_column(gdf, "date_time"), _column(gdf, "date"), strict=True)]
    for field in schema.fields:
        if field.name == "date":
            out["date"] = when
        elif field.name in FLAT_ELSEWHERE:
            out[field.column] = [None] * len(gdf)
        elif field.nested is None:
            values = _column(gdf, field.name)
            out[field.name] = ([_day_text(v) for v in values] if field.name == "end_date"
                               else values)
        elif field.column in gdf.columns:
            out[field.column] = _column(gdf, field.column)
        elif field.text_list or field.name == "actors":  # a list column: names, tags
            out[field.column] = _json(_column(gdf, field.name))
        else:
            out[field.column] = [None] * len(gdf)
    for name, default in schema.defaults.items():  # absence means the record's default
        out[name] = [default if v is None else v for v in out[name]]
    if "geometry" in gdf.columns and schema.by_name.get("location") is not None:
        out["location_json"] = _json(_locations(gdf))
    out["dataset_name"] = _column(gdf, "dataset")
    out["dataset_id"] = _column(gdf, "dataset_id")
    out["origin_path"] = [""] * len(gdf)
    out["origin_line"] = [0] * len(gdf)
    return pd.DataFrame(out)


def result_of(gdf: gpd.GeoDataFrame, loaded: dict[str, Layer],
              schema: Schema = SCHEMA) -> Result:
    """A `Result` for these events (any subset of what `read_events` gave) over these layers.

    The controller of each handed-over district on each day comes from the control changes
    among the events and the handover layer's dates, as in the build."""
    missing = [c for c in NEEDED if c not in gdf.columns]
    if missing:
        raise UsageError(f"not a conflictmap events frame: no column {', '.join(missing)} "
                         "(read_events() gives one)")
    if gdf.crs is None:
        raise UsageError("the events frame has no CRS; set one (gdf.set_crs(4326))")
    gdf = gdf.to_crs(4326).reset_index(drop=True)
    records = records_of(gdf, schema)
    handover = pd.concat([lyr.frame for lyr in loaded.values() if lyr.spec.kind == "handover"]
                         or [gpd.GeoDataFrame({"name": []}, geometry=[], crs=4326)],
                         ignore_index=True)
    handover = gpd.GeoDataFrame(handover, geometry="geometry", crs=4326)
    timeline = timeline_of(records, handover)
    frame = gpd.GeoDataFrame({c: _column(gdf, c) for c in COLUMNS}, geometry=gdf.geometry.values,
                             crs=4326)
    frame["date"] = pd.to_datetime(records["date"].str.slice(0, 10), format="%Y-%m-%d").dt.date
    for col in ("actors", "source_urls", "admin1_candidates"):
        frame[col] = [list(v) if v is not None else [] for v in frame[col]]
    frame["border_distance_km"] = pd.to_numeric(frame["border_distance_km"]).astype(float)
    hit = gpd.sjoin(frame[["geometry"]], handover[["name", "geometry"]], how="left",
                    predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]
    frame["handover_area"] = [None if _absent(v) else v for v in hit["name"].tolist()]
    frame = frame[[*COLUMNS, "handover_area", "geometry"]]
    return Result(frame, records, timeline, loaded, schema=schema)
