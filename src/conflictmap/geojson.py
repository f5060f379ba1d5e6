"""RFC 7946 GeoJSON written by us, so every property keeps its type.

GDAL's GeoJSON writer turns any text that parses as JSON (a title "[1, 2]") into an array, and
with that switched off writes list columns as Python reprs. Here lists are JSON arrays, text is
text, missing values are null; coordinates are WGS84 lon/lat to 6 decimals (~0.1 m), polygon
exteriors counter-clockwise, with a bbox. GDAL reads the result back (the tests check it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from .atomic import write_atomic

PRECISION = 6
# cell values pandas' writer writes as they are (exact types: a numpy bool or NaN is not)
_AS_IS = frozenset({str, list, type(None), bool, int})


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


def feature_collection_text(frame: gpd.GeoDataFrame, name: str | None = None) -> str:
    """The frame as FeatureCollection text (reprojected to WGS84 when it is not)."""
    return "".join(p if isinstance(p, str) else p.decode("utf-8")
                   for p in feature_collection_pieces(frame, name))


CHUNK = 10_000  # rows a piece: ~20 MB of text at most; one 100k-row string cost 3x the time


def feature_collection_pieces(frame: gpd.GeoDataFrame, name: str | None = None,
                              chunk: int = CHUNK) -> Iterator[str | bytes]:
    """The frame as FeatureCollection text, in pieces of `chunk` features to write in turn.
    Pieces, not one string: on this kind of machine copying one 200 MB string took about as
    long as making it, and the whole text was copied four times on its way to the file."""
    frame = _wgs84(frame)
    yield collection_head(name, bounds(frame))
    yield from feature_pieces(frame, chunk)
    yield COLLECTION_TAIL


COLLECTION_TAIL = "]}\n"


def _wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        return frame.to_crs(4326)
    return frame


def bounds(frame: gpd.GeoDataFrame) -> list[float] | None:
    """The collection's bbox (WGS84, rounded as the coordinates are); None when no feature
    has a geometry."""
    geoms = np.asarray(_wgs84(frame).geometry.values)
    present = geoms[~shapely.is_missing(geoms)]
    if not len(present):
        return None
    return [round(float(v), PRECISION) for v in shapely.total_bounds(present)]


def collection_head(name: str | None, bbox: list[float] | None) -> str:
    """The text before the first feature."""
    head = '{"type":"FeatureCollection"'
    if name:
        head += ',"name":' + json.dumps(name, ensure_ascii=False)
    if bbox is not None:
        head += ',"bbox":' + json.dumps(bbox)
    return head + ',"features":['


def feature_pieces(frame: gpd.GeoDataFrame, chunk: int = CHUNK) -> Iterator[str | bytes]:
    """The frame's features as UTF-8 text, comma-separated, `chunk` features a piece.

    Properties are written by orjson, one call a chunk, from plain Python columns (pandas' C
    writer took twice as long at 100k events; per-cell Python took 10 s); a chunk orjson
    refuses (an integer past 64 bits, text that is not Unicode) and a frame with a column type
    we do not turn into plain values go through pandas' writer. Points are written from their
    coordinates, other shapes by GEOS.
    """
    frame = _wgs84(frame)
    geoms = np.asarray(frame.geometry.values)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    table = frame[columns].copy()
    for col in table.columns:  # what pandas' writer would not write as we want
        if table[col].dtype == object and pd.api.types.infer_dtype(
                table[col], skipna=True) not in ("string", "empty"):  # text is fine as it is
            table[col] = [v if type(v) in _AS_IS else _plain(v) for v in table[col].tolist()]
    shapes = _shapes(geoms)
    values = _plain_columns(table)
    for start in range(0, len(geoms), chunk):
        stop = start + chunk
        text = None if values is None else _dumped(
            columns, [v[start:stop] for v in values], shapes[start:stop])
        if text is None:
            props = _records(table.iloc[start:stop]) if columns else ["{}"] * len(
                shapes[start:stop])
            text = ",".join(f'{{"type":"Feature","properties":{p},"geometry":{g}}}'
                            for p, g in zip(props, shapes[start:stop], strict=True))
        if start:
            yield "," if isinstance(text, str) else b","
        yield text


def _plain_columns(table: pd.DataFrame) -> list[list[Any]] | None:
    """Each column's cells as plain Python values (missing: None or NaN, which orjson writes
    as null, as pandas does), or None when a column has a type left to pandas' writer (dates
    keep its ISO form) or the names repeat (pandas refuses those)."""
    if len(set(table.columns)) != len(table.columns) or not all(
            isinstance(c, str) for c in table.columns):
        return None
    out = []
    for col in table.columns:
        dtype = table[col].dtype
        if isinstance(dtype, np.dtype):
            if dtype.kind not in "Ofiub":
                return None
            out.append(table[col].tolist())
        elif (pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype)
              or pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
            out.append(table[col].to_numpy(dtype=object, na_value=None).tolist())
        else:
            return None
    return out


def _dumped(names: list[str], columns: list[list[Any]], shapes: list[str]) -> bytes | None:
    """The features of these rows as one text (no brackets), or None when orjson cannot write
    a value as pandas' writer would."""
    fragment = orjson.Fragment
    features = [{"type": "Feature", "properties": dict(zip(names, row, strict=True)),
                 "geometry": fragment(g)}
                for row, g in zip(zip(*columns, strict=True) if columns else [()] * len(shapes),
                                  shapes, strict=True)]
    try:
        return orjson.dumps(features, default=_unknown)[1:-1]
    except orjson.JSONEncodeError:
        return None


def _unknown(value: Any) -> Any:
    """A cell orjson has no rule for: pandas' NA and NaT are null; anything else stops the
    chunk (it goes through pandas' writer)."""
    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(type(value).__name__)


def _shapes(geoms: np.ndarray) -> list[str]:
    """Each geometry as GeoJSON text ("null" when missing): coordinates rounded to
    PRECISION, polygon exteriors counter-clockwise."""
    missing = shapely.is_missing(geoms)
    points = shapely.get_type_id(geoms) == 0
    shapes = ["null"] * len(geoms)
    xy = np.round(shapely.get_coordinates(geoms[points]), PRECISION).tolist()
    for i, (x, y) in zip(np.flatnonzero(points).tolist(), xy, strict=True):
        shapes[i] = f'{{"type":"Point","coordinates":[{x!r},{y!r}]}}'
    other = np.flatnonzero(~points & ~missing)
    if len(other):
        parts = shapely.orient_polygons(geoms[other], exterior_cw=False)
        parts = shapely.transform(parts, lambda c: np.round(c, PRECISION))
        for i, text in zip(other.tolist(), shapely.to_geojson(parts), strict=True):
            shapes[i] = text
    return shapes


def _records(table: Any) -> list[str]:
    """Each row as JSON object text, from one call of pandas' C writer.

    The rows are cut apart at `},{"`: inside a string the quote would be escaped, so that
    text only ever joins two objects, and it joins two rows unless a cell holds a list of
    objects; then the count is off and pandas' own (slower) line splitting is used.
    """
    if not len(table):
        return []
    options = {"orient": "records", "force_ascii": False, "double_precision": 15,
               "date_format": "iso"}
    text = table.to_json(**options)
    if text.startswith('[{"') and text.endswith("}]"):
        rows = text[3:-2].split('},{"')
        if len(rows) == len(table):
            return ['{"' + r + "}" for r in rows]
    return table.to_json(lines=True, **options).rstrip("\n").split("\n")


def write(frame: gpd.GeoDataFrame, target: Path) -> Path:
    """The frame as an RFC 7946 file, written atomically, piece by piece."""
    return write_atomic(target, feature_collection_pieces(frame, target.name.split(".")[0]))
