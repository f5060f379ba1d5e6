"""A dataset (GPKG or GeoParquet) read in chunks of bounded size, filtered by date and box.

For steps that must see every row of a dataset too big to hold (counts per bin and day for a
map of millions of events): the filters are pushed down to the reader, to Parquet's row-group
statistics (date text, the bbox covering column) or to GDAL's SQL and spatial index, so rows
outside the window are never decoded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyarrow as pa
import pyarrow.dataset as ds
import pyogrio
from pyproj import CRS

from .dataset import LAYER
from .geoparquet import _fs, is_parquet, is_url, parts

CHUNK_ROWS = 100_000


def iter_chunks(path: str | Path, *, columns: list[str] | None = None,
                start: date | None = None, end: date | None = None,
                bbox: tuple[float, float, float, float] | None = None,
                chunk_rows: int = CHUNK_ROWS) -> Iterator[gpd.GeoDataFrame]:
    """The rows of a dataset as GeoDataFrames (WGS84) of at most `chunk_rows` rows each.

    `columns`: the attribute columns wanted (default all; the point always comes);
    `start`/`end`: the first and last calendar day of the event's `date` (inclusive);
    `bbox`: (west, south, east, north) in the dataset's CRS (degrees: conflictmap writes
    WGS84), points on its edge included. Chunks come back in WGS84.

    >>> import conflictmap as cm, tempfile, pathlib
    >>> from conflictmap.frameio import write_dataset_of
    >>> from conflictmap.chunks import iter_chunks
    >>> events = cm.read_events(cm.example_events())
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_dataset_of(events, folder / "ev.parquet")
    >>> sum(len(c) for c in iter_chunks(folder / "ev.parquet", chunk_rows=5)) == len(events)
    True
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    if is_parquet(path):
        yield from _parquet_chunks(str(path), columns, start, end, bbox, chunk_rows)
    else:
        yield from _gpkg_chunks(Path(path), columns, start, end, bbox, chunk_rows)


def _day_bounds(start: date | None, end: date | None) -> tuple[str | None, str | None]:
    """ISO text bounds on the `date` text: a date-time of the last day (`2020-11-10T09:00`)
    sorts before the next day, so `< next day` keeps it."""
    return (start.isoformat() if start else None,
            (end + timedelta(days=1)).isoformat() if end else None)


def day_where(start: date | None, end: date | None) -> str | None:
    """The days as SQL on a GPKG's `date` text (`_day_bounds`), or None for all."""
    lo, hi = _day_bounds(start, end)
    return " AND ".join(t for t in ((f"date >= '{lo}'" if lo else ""),
                                    (f"date < '{hi}'" if hi else "")) if t) or None


def _parquet_chunks(path: str, columns: list[str] | None, start: date | None,
                    end: date | None, bbox: tuple[float, float, float, float] | None,
                    chunk_rows: int) -> Iterator[gpd.GeoDataFrame]:
    files = parts(path)
    if not files:
        return
    data = ds.dataset(files, format="parquet", filesystem=_fs(path) if is_url(path) else None)
    names = data.schema.names
    cond = None
    lo, hi = _day_bounds(start, end)
    for test in ((ds.field("date") >= lo) if lo else None,
                 (ds.field("date") < hi) if hi else None):
        if test is not None:
            cond = test if cond is None else cond & test
    if bbox is not None:
        west, south, east, north = bbox
        box = ((ds.field("bbox", "xmax") >= west) & (ds.field("bbox", "xmin") <= east)
               & (ds.field("bbox", "ymax") >= south) & (ds.field("bbox", "ymin") <= north))
        cond = box if cond is None else cond & box
    wanted = [c for c in (columns or names) if c in names and c not in ("geometry", "bbox")]
    crs = _crs(data.schema)
    scanner = data.scanner(columns=[*wanted, "geometry"], filter=cond, batch_size=chunk_rows)
    for batch in scanner.to_batches():
        if batch.num_rows:
            yield _frame(batch, wanted, crs)


def _crs(schema: pa.Schema) -> Any:
    """The geometry's CRS from the GeoParquet metadata (absent means OGC:CRS84, lon/lat)."""
    geo = json.loads((schema.metadata or {}).get(b"geo", b"{}"))
    column = geo.get("columns", {}).get(geo.get("primary_column", "geometry"), {})
    crs = column.get("crs", "OGC:CRS84")
    return CRS.from_user_input(crs) if crs is not None else CRS.from_epsg(4326)


def _frame(batch: pa.RecordBatch, wanted: list[str], crs: Any) -> gpd.GeoDataFrame:
    attrs = batch.select(wanted).to_pandas(ignore_metadata=True)
    geometry = gpd.GeoSeries.from_wkb(batch.column("geometry").to_numpy(zero_copy_only=False),
                                      crs=crs)
    return gpd.GeoDataFrame(attrs, geometry=geometry.to_crs(4326).values, crs=4326)


def _gpkg_chunks(path: Path, columns: list[str] | None, start: date | None, end: date | None,
                 bbox: tuple[float, float, float, float] | None,
                 chunk_rows: int) -> Iterator[gpd.GeoDataFrame]:
    where = day_where(start, end)
    with pyogrio.open_arrow(path, layer=LAYER, columns=columns, where=where, bbox=bbox,
                            batch_size=chunk_rows, use_pyarrow=True) as (meta, reader):
        geom = meta["geometry_name"] or "wkb_geometry"
        for batch in reader:
            if not batch.num_rows:
                continue
            wanted = [c for c in batch.schema.names if c != geom]
            attrs = batch.select(wanted).to_pandas(ignore_metadata=True)
            points = gpd.GeoSeries.from_wkb(batch.column(geom).to_numpy(zero_copy_only=False),
                                            crs=meta["crs"] or 4326).to_crs(4326)
            yield gpd.GeoDataFrame(attrs, geometry=points.values, crs=4326)
