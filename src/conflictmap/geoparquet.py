"""GeoParquet datasets: the format for datasets too big for one GPKG read whole (issue 15).

A dataset is a folder named like a file (`acled.parquet/`) with one folder per time period
(`2020/`, or `2020-11/` by month) holding parts (`part-000003.parquet`): each part a GeoParquet
1.1 file written by geopandas, with a `bbox` covering column, so readers filter by period and
box from the files' statistics without reading the rows. A folder of parts, not one file,
because a CSV streamed in chunks writes one part per chunk and period (memory stays bounded),
and dask workers write their parts side by side without a shared writer.

Writes are atomic: parts go into a hidden staging folder beside the target, each under a temp
name renamed when whole, and the staging folder is renamed onto the target at the end. A reader
finds the whole dataset or none (or, with `overwrite`, the old one). On an object store
(s3://, gs://, through fsspec) a part appears whole (one PUT) but the dataset part by part:
there is no rename of a folder there.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

SUFFIXES = (".parquet", ".geoparquet")
PERIODS = {"year": 4, "month": 7}  # characters of an ISO date that name the period
PART = "part-{seq:06d}.parquet"
STAGING = ".cm-staging-"
GEOMETRY_COLUMNS = ("geometry", "bbox")


def is_parquet(path: str | Path) -> bool:
    """A dataset path meant as GeoParquet (by its name: the target may not exist yet)."""
    return str(path).rstrip("/").lower().endswith(SUFFIXES)


def is_url(path: str | Path) -> bool:
    """An fsspec URL (s3://, gs://, memory://...), not a local path."""
    return "://" in str(path) and not str(path).startswith("file://")


def _fs(path: str) -> Any:
    """The fsspec filesystem of a URL (imported only when one is given)."""
    import fsspec

    return fsspec.core.url_to_fs(path)[0]


def period_of(dates: pd.Series, by: str) -> pd.Series:
    """Each row's period (`2020`, `2020-11`) from its ISO date text."""
    return dates.astype(str).str.slice(0, PERIODS[by])


@dataclass
class Staging:
    """A dataset being written: parts go under `path`; `commit` puts it at `target`."""

    target: str
    path: str
    overwrite: bool = False

    @classmethod
    def open(cls, target: str | Path, overwrite: bool = False) -> Staging:
        """Refuse an existing target unless `overwrite`; make the staging folder beside it."""
        target = str(target).rstrip("/")
        if not overwrite and exists(target):
            raise FileExistsError(f"{target} exists; choose a new name")
        if is_url(target):
            path = f"{target}/{STAGING}{secrets.token_hex(4)}"
            _fs(target).makedirs(path, exist_ok=True)
        else:
            parent = Path(target).parent
            parent.mkdir(parents=True, exist_ok=True)
            path = str(parent / f"{STAGING}{Path(target).name}-{secrets.token_hex(4)}")
            os.mkdir(path)
        return cls(target, path, overwrite)

    def part(self, period: str, seq: int) -> str:
        return f"{self.path}/{period}/{PART.format(seq=seq)}"

    def commit(self) -> str:
        """The staged dataset at its target, whole (locally one rename)."""
        if is_url(self.target):
            fs = _fs(self.target)
            staged = self.path.rstrip("/").rsplit("/", 1)[-1]
            for name in fs.ls(self.target, detail=False) if self.overwrite else ():
                if name.rstrip("/").rsplit("/", 1)[-1] != staged:  # no old period outlives it
                    fs.rm(name, recursive=True)
            for name in fs.ls(self.path, detail=False):
                period = name.rstrip("/").rsplit("/", 1)[-1]
                if fs.exists(f"{self.target}/{period}"):
                    fs.rm(f"{self.target}/{period}", recursive=True)
                fs.mv(name, f"{self.target}/{period}", recursive=True)
            fs.rm(self.path, recursive=True)
            return self.target
        old = None
        if self.overwrite and os.path.lexists(self.target):
            old = f"{self.path}.old"
            os.rename(self.target, old)
        try:
            os.rename(self.path, self.target)  # fails on a non-empty folder: never merged
        except OSError:
            if old is not None:
                os.rename(old, self.target)
            raise FileExistsError(f"{self.target} exists (written meanwhile?); choose a new "
                                  "name") from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.target

    def abort(self) -> None:
        """Remove what was staged; the target is untouched."""
        if is_url(self.target):
            with contextlib.suppress(FileNotFoundError):
                _fs(self.target).rm(self.path, recursive=True)
        else:
            # a task of the failed run may still be writing (a running task cannot be
            # cancelled): a part it adds while the folder is removed stops the removal, so try
            # again; it cannot make the folder anew (`write_part` makes only a period's folder)
            for _ in range(20):
                shutil.rmtree(self.path, ignore_errors=True)
                if not os.path.lexists(self.path):
                    break
                time.sleep(0.1)


def exists(path: str | Path) -> bool:
    return _fs(str(path)).exists(str(path)) if is_url(path) else os.path.lexists(path)


def to_arrow(frame: gpd.GeoDataFrame) -> pa.Table:
    """The frame as geopandas writes GeoParquet 1.1 (WKB, `geo` metadata, bbox covering),
    with the types a part cannot infer from its rows made definite: a column whose rows are
    all null is text, a list column whose lists are all empty a list of text. Otherwise two
    parts of one dataset would disagree (null against string) and no reader could join them.
    """
    from geopandas.io.arrow import _geopandas_to_arrow  # the writer of `to_parquet`

    table = _geopandas_to_arrow(frame, index=False, schema_version="1.1.0",
                                write_covering_bbox=True)
    for i, f in enumerate(table.schema):
        if pa.types.is_null(f.type):
            typed = pa.large_string()
        elif pa.types.is_list(f.type) and (pa.types.is_null(f.type.value_type)
                                           or pa.types.is_string(f.type.value_type)):
            typed = pa.list_(pa.large_string())
        else:
            continue
        table = table.set_column(i, f.name, table.column(i).cast(typed))
    return table


def write_part(frame: gpd.GeoDataFrame, path: str) -> str:
    """One GeoParquet 1.1 file with a bbox covering column, appearing whole (temp + rename)."""
    table = to_arrow(frame)
    if is_url(path):
        pq.write_table(table, path, filesystem=_fs(path))
        return path
    # the period's folder only, never the staging folder itself: a task still running after
    # its run failed must not make the removed staging folder again
    Path(path).parent.mkdir(exist_ok=True)
    tmp = f"{Path(path).parent}/.{Path(path).name}.{secrets.token_hex(4)}.tmp"
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def write_periods(frame: gpd.GeoDataFrame, staging: Staging, seq: int, by: str = "year",
                  date_column: str = "date") -> list[str]:
    """`frame` as one part per period of its dates (rows in their order), numbered `seq`."""
    if frame.empty:
        return []
    periods = period_of(frame[date_column], by)
    return [write_part(frame[(periods == p).to_numpy()].reset_index(drop=True),
                       staging.part(p, seq)) for p in sorted(periods.unique())]


def parts(path: str | Path) -> list[str]:
    """The part files of a dataset in order (period, then part); a single file is its own."""
    path = str(path).rstrip("/")
    if is_url(path):
        fs = _fs(path)
        if fs.isfile(path):
            return [path]
        proto = path.split("://", 1)[0]
        found = sorted(fs.glob(f"{path}/*/part-*.parquet"))
        return [f if "://" in f else f"{proto}://{f}" for f in found]
    if os.path.isfile(path):
        return [path]
    return sorted(str(p) for p in Path(path).glob("*/part-*.parquet"))


def read_part(path: str, columns: list[str] | None = None,
              rows: Any = None) -> pd.DataFrame:
    """A part's attribute columns (no geometry) as pandas, as pyogrio gives a GPKG's;
    `rows` (0-based positions): only those, taken before any text becomes Python."""
    fs = _fs(path) if is_url(path) else None
    names = pq.read_schema(path, filesystem=fs).names
    wanted = [c for c in (columns or names) if c in names and c not in GEOMETRY_COLUMNS]
    table = pq.read_table(path, columns=wanted, filesystem=fs)
    if rows is not None:
        table = table.take(rows)
    # without the pandas metadata: plain numpy types with NaN for null, as pyogrio reads a GPKG
    return table.to_pandas(ignore_metadata=True)
