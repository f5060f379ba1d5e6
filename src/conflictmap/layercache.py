"""Boundary layers as a build loaded them before, and what is made of them, kept between runs.

Reading and checking the bundled layers is a fixed cost of every build (0.25 s, most of it
GDAL parsing the 2.4 MB world layer and checking its polygons), paid again for the same bytes;
so are layers.geojson (0.2 s) and the page's drawn outlines (0.15 s). A layer set is kept as
Arrow tables (geometry as WKB) under a key of everything that decides what loading gives: the
manifest's path and bytes, every layer file's path and bytes, the checking code (`layerio`)
and the versions of GDAL, GEOS, PROJ and the Python libraries between them. The store sits in
the user cache beside the GeoNames index (`CONFLICTMAP_LAYERS_CACHE` names another folder):
like the index, it belongs to the layers and the machine, not to one events folder.

Only sets whose files are all GeoJSON are kept: for them the named file is all GDAL reads,
where a shapefile's sidecars or a GeoPackage's journal could change without it. A set is kept
only if it reads back exactly as loaded (columns, dtypes, values and their Python types, WKB);
anything else is loaded afresh every time. Each file carries its SHA-256 (`recordcache`): a
damaged one is ignored and rewritten. Files of other keys are removed when a set is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pyproj
import shapely
from platformdirs import user_cache_dir

from . import recordcache

FORMAT = 1  # bump when the file's layout changes
FOLDER = "layers"
ENV = "CONFLICTMAP_LAYERS_CACHE"  # the store's folder itself (tests, benchmarks)
KEPT_SUFFIXES = (".geojson", ".json")
KEEP_SETS = 8  # layer sets kept (several projects, or a manifest being edited)
KEEP_MADE = 16  # of each thing made of a set: views (events' bounds) of several projects
_LIBRARIES = ("geopandas", "pandas", "pyarrow", "pyogrio", "pyproj", "shapely", "numpy")


def _versions() -> str:
    out = [f"format {FORMAT}", f"GDAL {pyogrio.__gdal_version_string__}",
           f"GEOS {shapely.geos_version_string}", f"PROJ {pyproj.proj_version_str}"]
    for name in _LIBRARIES:
        with contextlib.suppress(PackageNotFoundError):
            out.append(f"{name} {version(name)}")
    return "\0".join(out)


def key_of(manifest: Path, raw: bytes, files: Sequence[Path]) -> str | None:
    """The digest of a layer set: the manifest (`raw`: the bytes its entries were parsed
    from) and its layers' files, in order; None when a file is not one we keep (not GeoJSON,
    not a regular file, unreadable) or our source is not there to read."""
    h = hashlib.sha256(_versions().encode())
    h.update(f"\0{manifest.resolve()}\0".encode() + raw)
    try:
        for name in ("layerio.py", "layercache.py"):  # what checks, and what stores
            h.update(Path(__file__).with_name(name).read_bytes())
        for path in files:
            if path.suffix.lower() not in KEPT_SUFFIXES or not path.is_file():
                return None  # a FIFO would block the read below
            h.update(f"\0{path.resolve()}\0".encode())
            h.update(path.read_bytes())
    except OSError:
        return None
    return h.hexdigest()[:32]


def _folder() -> Path:
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    return Path(os.environ.get("CONFLICTMAP_CACHE", user_cache_dir("conflictmap"))) / FOLDER


# ---------------------------------------------------------------- one frame <-> Arrow

_WKB = "__conflictmap_wkb"  # the geometry's column in the stored table


def _encode(frame: gpd.GeoDataFrame) -> pa.Table:
    """Attributes as Arrow columns (object columns as JSON text a value), then the WKB."""
    geometry = frame.geometry.name
    attrs = pd.DataFrame(frame.drop(columns=geometry))
    text = [c for c in attrs.columns if attrs[c].dtype == object]
    for c in text:
        attrs[c] = [json.dumps(v, allow_nan=True) for v in attrs[c].tolist()]
    table = pa.Table.from_pandas(attrs, preserve_index=None)
    wkb = shapely.to_wkb(np.asarray(frame.geometry.values), hex=False)
    table = table.append_column(_WKB, pa.array(wkb.tolist(), pa.binary()))
    meta = dict(table.schema.metadata or {})
    meta[b"conflictmap"] = json.dumps({"geometry": geometry, "json": text,
                                       "columns": list(map(str, frame.columns))}).encode()
    return table.replace_schema_metadata(meta)


def _decode(table: pa.Table) -> gpd.GeoDataFrame:
    meta = json.loads(table.schema.metadata[b"conflictmap"])
    wkb = table[_WKB].to_pylist()
    attrs = table.drop_columns([_WKB]).to_pandas()
    for c in meta["json"]:
        attrs[c] = pd.Series([json.loads(v) for v in attrs[c].tolist()], index=attrs.index,
                             dtype=object)
    geometry = meta["geometry"]
    attrs[geometry] = gpd.GeoSeries(shapely.from_wkb(wkb), index=attrs.index)
    frame = gpd.GeoDataFrame(attrs, geometry=geometry, crs=4326)
    return frame[meta["columns"]]


def _same_value(a: Any, b: Any) -> bool:
    if a is b:  # None, pd.NA, and the same object
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same_value, a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same_value(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # an array, or a value with no truth: not sure, not same
        return False


def same_frame(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> bool:
    """Whether two layer frames are the same in every way a build can see: columns and their
    order, dtypes, index, CRS, every value and its Python type, and the geometry's WKB."""
    if (list(a.columns) != list(b.columns) or not a.index.equals(b.index)
            or a.geometry.name != b.geometry.name or a.crs != b.crs):
        return False
    for c in a.columns:
        if a[c].dtype != b[c].dtype:
            return False
        if c == a.geometry.name:
            x = shapely.to_wkb(np.asarray(a[c].values), hex=False)
            y = shapely.to_wkb(np.asarray(b[c].values), hex=False)
            if x.tolist() != y.tolist():
                return False
        elif not all(map(_same_value, a[c].tolist(), b[c].tolist())):
            return False
    return True


def _dump(parts: list[tuple[gpd.GeoDataFrame, int]]) -> bytes | None:
    """The set as one Arrow stream (a table per layer, in order), or None when a frame would
    not read back exactly as it is."""
    tables = []
    try:
        for frame, repaired in parts:
            if _WKB in frame.columns:
                return None  # a layer attribute of that name: not kept
            table = _encode(frame)
            if not same_frame(_decode(table), frame):
                return None
            meta = dict(table.schema.metadata)
            meta[b"conflictmap_repaired"] = str(repaired).encode()
            tables.append(table.replace_schema_metadata(meta))
        sink = pa.BufferOutputStream()
        for table in tables:  # one stream a table: the layers' columns differ
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
        return sink.getvalue().to_pybytes()
    except Exception:  # a value JSON or Arrow does not hold, or any other surprise: not kept
        return None


def _load(body: memoryview, count: int) -> list[tuple[gpd.GeoDataFrame, int]] | None:
    out = []
    reader = pa.BufferReader(pa.py_buffer(body))
    try:
        for _ in range(count):
            table = pa.ipc.open_stream(reader).read_all()
            repaired = int(table.schema.metadata[b"conflictmap_repaired"])
            out.append((_decode(table.replace_schema_metadata(
                {k: v for k, v in table.schema.metadata.items()
                 if k != b"conflictmap_repaired"})), repaired))
        if reader.tell() != len(body):
            return None
    except Exception:  # damaged or foreign in any way: read afresh
        return None
    return out


# ---------------------------------------------------------------- the store


def load(key: str, count: int) -> list[tuple[gpd.GeoDataFrame, int]] | None:
    """The `count` layers kept under `key` (frame and repaired-geometry count, in manifest
    order), or None when not kept, damaged or of another layout."""
    body = recordcache.read_checksummed(_folder() / f"{key}.arrow")
    return None if body is None else _load(body, count)


def save(key: str, parts: list[tuple[gpd.GeoDataFrame, int]]) -> bool:
    """Keep a layer set (in a thread that `recordcache.settle` waits for); past KEEP_SETS
    sets, the least recently written go, with what was made of them. A set that is not kept
    only costs speed."""
    data = _dump(parts)
    if data is None:
        return False
    folder = _folder()

    def tidy() -> None:
        for old in _past(p for p in folder.glob("*.arrow") if p.stem != key):
            for other in folder.glob(f"{old.stem}.*"):
                other.unlink(missing_ok=True)
        stale = time.time() - 3600  # a writer killed mid-write left its temp file
        for tmp in folder.glob(".*.tmp"):
            if tmp.stat().st_mtime < stale:
                tmp.unlink(missing_ok=True)

    recordcache.write_behind(folder / f"{key}.arrow",
                             lambda: recordcache.checksummed(memoryview(data)), tidy,
                             "layer-cache")
    return True


def _past(others: Iterable[Path], keep: int = KEEP_SETS) -> list[Path]:
    """Of these files, those past the `keep - 1` most recently written: with the file just
    written, which is never among them (the clock's tick can tie), `keep` stay."""
    older = sorted(others, key=lambda p: p.stat().st_mtime_ns)
    return older[:max(0, len(older) - (keep - 1))]


def derived(key: str | None, name: str, parts: Sequence[object],
            make: Callable[[], str]) -> str:
    """Text made from a kept layer set (`make()`), kept beside it under `name` and a digest
    of `parts` (the code that makes it, and whatever else it depends on): the last KEEP_MADE
    made per name. Without a key (a set not kept), or with a part None, it is made every
    time."""
    if key is None or any(p is None for p in parts):
        return make()
    h = hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()[:16]
    path = _folder() / f"{key}.{name}.{h}.txt"
    body = recordcache.read_checksummed(path)
    if body is not None:
        with contextlib.suppress(UnicodeDecodeError):
            return str(body, "utf-8")
    text = make()
    data = text.encode("utf-8")

    def tidy() -> None:
        for old in _past((p for p in path.parent.glob(f"{key}.{name}.*.txt") if p != path),
                         KEEP_MADE):
            old.unlink(missing_ok=True)

    recordcache.write_behind(path, lambda: recordcache.checksummed(memoryview(data)), tidy,
                             "layer-cache")
    return text


def source_of(*modules: str) -> str | None:
    """A digest of these modules' source (by file name in this package), for `derived`; None
    where the source is not there to read (then nothing is kept)."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    try:
        for name in modules:
            h.update(name.encode() + b"\0" + (here / name).read_bytes())
    except OSError:
        return None
    return h.hexdigest()[:16]
