"""Enrichment of datasets too big for one process, partition by partition on an engine.

A GeoParquet dataset's parts (and a GPKG dataset, or the YAML events, as one partition each)
are read, checked, geocoded and enriched each by one task, which writes its rows as GeoParquet
parts of the output. Every row's answer depends only on the row, the layers and the timeline
of control, so a partition needs nothing of the others: the layers, geocoders and timeline
are made once here and shared with each worker once (`Engine.share`). What needs every row
(ids used twice, the timeline's control changes, the missing-admin-1 sentence, unresolved
places) is gathered here from small per-partition answers. The output appears whole at its
target when every task succeeded, and not at all otherwise (a worker killed mid-run included).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pyogrio

from . import layerio as layer_io
from .dataset import LAYER, check_table, read_records
from .engine import Engine, shared
from .errors import UsageError
from .export import events_frame, for_parquet, write_parquet
from .geocode.gazetteer import GAZETTEER
from .geoparquet import Staging, _fs, is_parquet, is_url, parts, write_periods
from .pipeline import (
    Geocoders,
    Unresolved,
    UnresolvedPlaces,
    admin1_cover,
    layer_frames,
    load_records,
    locate_and_enrich,
    missing_admin1,
    timeline_of,
)
from .record import SCHEMA, Schema
from .store import InvalidEvents, Problem
from .timeline import Timeline


@dataclass
class Context:
    """What every partition's task reads: shared once per worker, not sent with each task."""

    loaded: dict[str, layer_io.Layer]
    frames: dict[str, gpd.GeoDataFrame]
    geocoders: Geocoders
    timeline: Timeline
    schema: Schema


@dataclass
class PartDone:
    """A task's answer: rows written, and what the whole run needs to know of them."""

    rows: int
    files: list[str]
    unresolved: list[Unresolved]
    warnings: list[str]
    cover: tuple[set[str], dict[str, int]]
    id_hashes: np.ndarray = field(repr=False)


@dataclass
class Enriched:
    target: str
    rows: int
    tasks: int
    unresolved: list[Unresolved]
    warnings: list[str]


def sources(datasets: list[str | Path]) -> list[str]:
    """The partitions of these datasets: each GeoParquet part, each GPKG whole."""
    out: list[str] = []
    for d in datasets:
        if is_parquet(d):
            found = parts(d)
            if not found:
                raise InvalidEvents([Problem(str(d), 1, 1, "(dataset)",
                                             "no GeoParquet parts (<period>/part-*.parquet)")])
            out += found
        else:
            out.append(str(d))
    return out


def _id_hashes(ids: pd.Series) -> np.ndarray:
    return pd.util.hash_array(np.asarray(ids.astype(str).str.casefold(), dtype=object))


# rows a task enriches: about 1 GB in a worker (measured at 1M rows), and the fixed cost of a
# task (the layers cut around its points, reading and writing parts) spread over enough rows.
# A part bigger than this (written by another tool) or a GPKG is still one task.
TASK_ROWS = 100_000


def tasks(files: list[str], rows: int = TASK_ROWS) -> list[list[str]]:
    """Consecutive partitions grouped into tasks of about `rows` rows (a part of a dataset
    whose dates are spread holds few rows a period: one task each would be mostly overhead).
    A GPKG is a task of its own."""
    out: list[list[str]] = []
    size = 0
    for f in files:
        n = pq.read_metadata(f, filesystem=_fs(f) if is_url(f) else None).num_rows \
            if is_parquet(f) else rows
        if not out or size + n > rows or not is_parquet(out[-1][0]) or not is_parquet(f):
            out.append([])
            size = 0
        out[-1].append(f)
        size += n
    return out


def enrich_part(source: list[str] | pd.DataFrame, staging: Staging, seq: int, by: str,
                token: str) -> PartDone:
    """One task: read and check its partitions (files, or the YAML events' records), sort
    them as the whole run would (day, id), geocode and enrich them, write them as parts of
    the output."""
    ctx: Context = shared(token)
    if isinstance(source, list):
        read = [read_records(f if is_url(f) else Path(f), ctx.schema) for f in source]
        records = pd.concat(read, ignore_index=True) if len(read) > 1 else read[0]
    else:
        records = source
    day = pd.to_datetime(records["date"].str.slice(0, 10), format="%Y-%m-%d")
    records = records.iloc[np.lexsort((records["id"].to_numpy(), day.to_numpy()))]
    hashes = _id_hashes(records["id"])
    result = locate_and_enrich(records.reset_index(drop=True), ctx.loaded, ctx.frames,
                               ctx.geocoders, ctx.timeline, allow_unresolved=True,
                               schema=ctx.schema, gap=False)
    files = write_periods(for_parquet(events_frame(result), ctx.schema), staging, seq, by)
    return PartDone(len(result.frame), files, result.unresolved, result.warnings,
                    admin1_cover(result.frame), hashes)


def control_rows(source: str, schema: Schema) -> pd.DataFrame:
    """The rows of a partition that carry a control change, checked as `read_records` checks
    them (a row's verdict is its own): the timeline is made from every partition's."""
    if is_parquet(source):
        fs = _fs(source) if is_url(source) else None
        data = ds.dataset(source, format="parquet", filesystem=fs)
        cols = [c for c in data.schema.names if c not in ("geometry", "bbox")]
        frame = data.to_table(columns=cols, filter=ds.field("control_change_json").is_valid()
                              & (ds.field("control_change_json") != "null")
                              ).to_pandas(ignore_metadata=True)
        if len(frame):  # their row numbers in the part, for messages naming one
            ids = data.to_table(columns=["id"]).column("id").to_pylist()
            at = {v: i + 1 for i, v in enumerate(ids)}
            frame.index = pd.Index([at[v] for v in frame["id"]], dtype="int64")
    else:
        frame = pyogrio.read_dataframe(source, layer=LAYER, read_geometry=False,
                                       datetime_as_string=True, fid_as_index=True,
                                       where="control_change_json IS NOT NULL AND "
                                             "control_change_json != 'null'")
    if frame.empty:
        return pd.DataFrame({"id": [], "date": [], "control_change_json": []})
    return check_table(frame, source, schema)[["id", "date", "control_change_json"]]


def _duplicates(yaml_records: pd.DataFrame, files: list[str], schema: Schema) -> list[Problem]:
    """The duplicate-id problems `load_records` reports, in its order (YAML first, then the
    datasets' partitions): only read when two ids' hashes met."""
    tables = [yaml_records[["id", "origin_path", "origin_line"]]]
    for f in files:
        ids = read_records(Path(f), schema)[["id", "origin_path", "origin_line"]]
        tables.append(ids)
    records = pd.concat(tables, ignore_index=True)
    key = records["id"].str.casefold()
    dup = key.duplicated(keep="first")
    first = records.assign(_key=key).drop_duplicates("_key").set_index("_key")
    return [Problem(r.origin_path, int(r.origin_line), 1, "id",
                    f"duplicate id {r.id!r}: also in {first.at[k, 'origin_path']}:"
                    f"{int(first.at[k, 'origin_line'])}")
            for k, r in zip(key[dup], records[dup].itertuples(), strict=True)]


def enrich_to_parquet(events: list[Path], datasets: list[str | Path], manifest: Path,
                      target: str | Path, *, engine: Engine, allow_unresolved: bool = False,
                      by: str = "year", warn: Callable[[str], None] | None = None,
                      cache: bool = True, schema: Schema = SCHEMA,
                      task_rows: int = TASK_ROWS) -> Enriched:
    """The YAML events and the datasets, enriched, as a GeoParquet dataset at `target` (the
    columns of `export`'s events, partitioned `by` year or month), replacing what is there
    only when the whole run succeeded. On the pandas engine: `build` in this process; on
    dask: a task per partition (or per `task_rows` rows of partitions), as the module says.
    Raises as `build` does."""
    say = warn or (lambda _m: None)
    if engine.name == "pandas":
        from .pipeline import build

        result = build(events, manifest, datasets=list(datasets),
                       allow_unresolved=allow_unresolved, warn=warn, cache=cache, schema=schema)
        write_parquet(result, target, by)
        return Enriched(str(target), len(result.frame), 1, result.unresolved, result.warnings)
    yaml_records = load_records(events, [], warn, cache, schema)
    files = sources(datasets)
    loaded = layer_io.load_layers(manifest)
    frames = layer_frames(loaded)
    changes = pd.concat([yaml_records[["id", "date", "control_change_json"]],
                         *(control_rows(f, schema) for f in files)], ignore_index=True)
    day = pd.to_datetime(changes["date"].str.slice(0, 10), format="%Y-%m-%d")
    changes = changes.iloc[np.lexsort((changes["id"].to_numpy(), day.to_numpy()))]  # as build
    timeline = timeline_of(changes, frames["handover"])
    geocoders = Geocoders.offline(frames["admin1"], Path(manifest).parent / GAZETTEER.name)
    token = f"enrich-{secrets.token_hex(4)}"
    engine.share(token, Context(loaded, frames, geocoders, timeline, schema))
    staging = Staging.open(target, overwrite=True)
    try:
        work = [*([yaml_records] if len(yaml_records) else []), *tasks(files, task_rows)]
        done = list(engine.map(enrich_part, ((w, staging, seq, by, token)
                                             for seq, w in enumerate(work))))
        hashes = np.concatenate([d.id_hashes for d in done]) if done else np.zeros(0)
        if len(np.unique(hashes)) < len(hashes):
            raise InvalidEvents(_duplicates(yaml_records, files, schema))
        unresolved = [u for d in done for u in d.unresolved]
        if unresolved and not allow_unresolved:
            raise UnresolvedPlaces(unresolved)
        warnings = [w for d in done for w in d.warnings]
        for w in warnings:
            say(w)
        covered = set().union(*(d.cover[0] for d in done)) if done else set()
        counts: dict[str, int] = {}
        for d in done:
            for k, v in d.cover[1].items():
                counts[k] = counts.get(k, 0) + v
        gap = missing_admin1(pd.DataFrame(), frames["admin1"], (covered, counts))
        if gap:
            warnings.append(gap)
            say(gap)
        staging.commit()
    finally:
        staging.abort()
    return Enriched(str(target), sum(d.rows for d in done), len(work), unresolved, warnings)


def check_engine_format(engine: str, fmt: str) -> None:
    """The dask engine writes GeoParquet parts; the other formats are one file by one
    process."""
    if engine != "pandas" and fmt != "parquet":
        raise UsageError("--engine dask writes a GeoParquet dataset: use --format parquet "
                         "(other formats are one file, written by one process)")
