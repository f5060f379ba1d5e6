"""Checked dataset tables kept between runs, so a build from an unchanged dataset skips the
read and the bulk checks (at 100k rows, 3 s of a 4.75 s build).

What `dataset.check_table` returned for one file (a GPKG, or one GeoParquet part) is stored
under the records cache (`recordcache.cache_dir()`, folder `datasets/`), beside the YAML packs
and under the same `code_key()` (the model's schema and the code that decides a row's
verdict), in one entry per file and schema (a subclass model has entries of its own). The
entry carries the SHA-256 of the file's bytes (and of a SQLite `-wal` beside it, which holds
a GPKG's latest writes), so a changed file is read and checked afresh and its entry replaced;
only tables that passed are stored, so a problem is always found again. Writing an entry
removes the file's entries made by other code (other `code_key()` folders), so the cache holds
one table per file and model, not one per version.

An entry is Arrow IPC data, never code (no pickle): plain columns as Arrow types, text columns
as Arrow text, the lists of actors and links as Arrow lists, the parsed `location` mappings
as an Arrow struct when every row has the same keys (in the same order) with one plain type a
key, and any other Python values (other mappings, columns the model remade) as JSON text,
which keeps None, NaN, bool, int and float apart: a read gives back exactly what was stored.
It is written atomically, and the SHA-256 of its body on its first line tells a truncated or
damaged entry, which is ignored like one of another layout.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from . import jsontext
from .record import Schema
from .recordcache import cache_dir, checksummed, code_key, read_checksummed, replace_file
from .yamlio import signature_of

FORMAT = 1  # bump when an entry's layout changes
FOLDER = "datasets"
_CHUNK = 1 << 20

# a file's digest by its path while its stat signature holds, in this process; across runs
# a note beside the entry keeps it (`_noted`)
_KNOWN: dict[str, tuple[tuple[tuple[int, ...] | None, ...], str]] = {}
# a file changed this recently may change again within its timestamps' tick (same size, same
# times): its digest is not remembered ("racily clean", as git calls it)
_SETTLED_NS = 2_000_000_000


def _stats(files: list[Path]) -> tuple[tuple[int, ...] | None, ...]:
    """The files' stat signatures (None for one that is not there): what tells a change.
    Taken from the opened file, not by name: opening makes a network filesystem (NFS) ask
    the server, where a stat by name may answer from its client's cache for a minute."""
    out = []
    for f in files:
        try:
            fd = os.open(f, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            out.append(None)
            continue
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
        out.append(signature_of(st))
    return tuple(out)


def content_digest(path: Path, note: Path | None = None) -> str | None:
    """SHA-256 of the file's bytes, and of its SQLite write-ahead log when there is one (the
    newest rows of a GPKG opened in WAL mode live there); None when it cannot be read.
    120 MB (100k rows) in ~0.12 s here. With `note` (a file of ours), a digest taken in an
    earlier run is reused while the files' stat is the one it was taken at (`_noted`)."""
    files = [path, path.with_name(path.name + "-wal")]
    signature = _stats(files)
    known = _KNOWN.get(str(path))
    if known is not None and known[0] == signature:
        return known[1]
    noted = _noted(note, signature) if note is not None else None
    if noted is not None:
        _KNOWN[str(path)] = (signature, noted)
        return noted
    started = time.time_ns()
    h = hashlib.sha256()
    try:
        for f in files:
            if f is not path and not f.exists():
                continue
            h.update(f"\0{f.name[len(path.name):]}\0".encode())
            with open(f, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    h.update(chunk)
    except OSError:
        return None
    digest = h.hexdigest()
    times = [t for st in signature if st is not None for t in st[3:5]]  # modified, changed
    if signature == _stats(files) and max(times, default=started) < started - _SETTLED_NS:
        _KNOWN[str(path)] = (signature, digest)  # unchanged while read, and settled
        if note is not None:
            with contextlib.suppress(OSError):
                replace_file(note, json.dumps([_signature_json(signature), digest]).encode())
    return digest


def _signature_json(signature: tuple[tuple[int, ...] | None, ...]) -> list[Any]:
    return [None if st is None else list(st) for st in signature]


def _noted(note: Path, signature: tuple[tuple[int, ...] | None, ...]) -> str | None:
    """The digest noted for exactly this stat signature, settled when noted (inode, size,
    modified and changed times: any write moves the change time, which no program can set
    back), so the same bytes; None for anything else. As git trusts its index."""
    try:
        noted_signature, digest = json.loads(note.read_bytes())
    except (OSError, ValueError, TypeError):
        return None
    if signature[0] is None or noted_signature != _signature_json(signature) or not isinstance(
            digest, str):
        return None
    return digest


def schema_key(schema: Schema) -> str:
    """What tells one model's tables from another's: its class and JSON Schema."""
    model = schema.model
    h = hashlib.sha256(f"{model.__module__}.{model.__qualname__}\0".encode())
    h.update(json.dumps(model.model_json_schema(), sort_keys=True).encode())
    h.update(",".join(schema.table_columns).encode())
    return h.hexdigest()


def entry_path(source: str, schema: Schema, folder: Path | None = None) -> Path:
    """The one entry of a file for a schema and this code. By the path as given (the table
    names it in `origin_path`), and the folder a relative one starts from."""
    where = "" if os.path.isabs(source) else os.getcwd()
    h = hashlib.sha256(f"{where}\0{source}\0{schema_key(schema)}".encode())
    return (folder or cache_dir()) / FOLDER / code_key() / f"{h.hexdigest()[:32]}.arrow"


def cached(source: str, schema: Schema, check: Callable[[], pd.DataFrame],
           folder: Path | None = None) -> pd.DataFrame:
    """The checked table of the local file `source`: from its entry when the file's bytes
    are those it was made from, else `check()` (which raises on a problem), stored for next
    time. A cache that cannot be read or written only costs the check."""
    target = entry_path(source, schema, folder)
    digest = content_digest(Path(source), target.with_suffix(".stat"))
    if digest is None:
        return check()
    hit = load(target, digest)
    if hit is not None:
        return hit
    table = check()
    if content_digest(Path(source)) != digest:  # changed while read: which bytes made it?
        return table
    with contextlib.suppress(OSError):
        data = dump(table, digest)
        if data is not None:
            replace_file(target, data)
            for old in target.parent.parent.glob(f"*/{target.stem}.*"):  # by older code
                if old.parent != target.parent:
                    old.unlink(missing_ok=True)
    return table


_ENCODE = jsontext.encoder((",", ":"))


def _native(dtype: Any) -> bool:
    """A column type Arrow stores and gives back as it was."""
    if isinstance(dtype, np.dtype):
        return dtype.kind in "iufb"
    return str(dtype) in ("Int64", "Float64", "boolean", "str", "string")


_ARROW = {str: pa.string(), float: pa.float64(), int: pa.int64(), bool: pa.bool_()}


def _object_kind(values: list[Any]) -> tuple[str, list[tuple[str, pa.DataType]]]:
    """How a column of Python values other than text is stored, decided on the whole column:
    lists of text (actors, links) as Arrow lists; mappings of one set of keys (in one order)
    with one plain type a key (locations) as an Arrow struct (with its fields); anything else
    as JSON text (which keeps None, NaN, bool, int and float apart)."""
    if values and all(type(v) is list for v in values) and all(
            type(x) is str for v in values for x in v):
        return "textlists", []
    if values and all(type(v) is dict for v in values) and len(keys := {tuple(v) for v in
                                                                       values}) == 1:
        (names,) = keys
        fields = []
        for k in names:
            column = [v[k] for v in values]
            kinds = {type(x) for x in column} - {type(None)}
            if len(kinds) > 1 or (kinds and next(iter(kinds)) not in _ARROW) or (
                    float in kinds and any(x != x for x in column if x is not None)):
                break  # mixed, nested or NaN: JSON says it exactly
            if int in kinds and any(not -2**63 <= x < 2**63 for x in column if x is not None):
                break  # an int past 64 bits: JSON
            fields.append((k, _ARROW[next(iter(kinds))] if kinds else pa.null()))
        else:
            return "mappings", fields
    return "json", []


def _array(values: list[Any], kind: str, fields: list[tuple[str, pa.DataType]]) -> pa.Array:
    """One batch of a column as its kind says (raises when a value does not fit it)."""
    if kind == "text":
        return pa.array(values, type=pa.string())
    if kind == "textlists":
        return pa.array(values, type=pa.list_(pa.string()))
    if kind == "mappings":
        arrays = [pa.array([v[k] for v in values], type=t) for k, t in fields]
        return pa.StructArray.from_arrays(arrays, fields=[pa.field(k, t) for k, t in fields])
    return pa.array([_ENCODE(v) for v in values], type=pa.string())


BATCH = 10_000  # rows a record batch: Arrow's copy of the table is made a slice at a time


def dump(frame: pd.DataFrame, digest: str) -> list[bytes | memoryview] | None:
    """The entry's bytes in two pieces (checksum line, then an Arrow IPC file), or None for
    a table this layout cannot give back exactly (then it is not stored). Each column's kind
    is decided on the whole column, and the Arrow data is made and compressed BATCH rows at
    a time; the body is hashed and written from Arrow's own buffer. Made whole and copied
    twice, it added a third of a GB to a 100k-row build's peak memory."""
    if not (isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
            and frame.index.step == 1 and frame.columns.is_unique
            and all(isinstance(c, str) for c in frame.columns)):
        return None
    plan: list[tuple[str, str, list[tuple[str, pa.DataType]]]] = []
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object:
            values = column.tolist()
            if all(v is None or type(v) is str for v in values):
                plan.append((name, "text", []))
            else:
                plan.append((name, *_object_kind(values)))
        elif _native(column.dtype):
            plan.append((name, str(column.dtype), []))
        else:
            return None
    meta = {"format": FORMAT, "digest": digest, "rows": len(frame),
            "kinds": [kind for _, kind, _ in plan]}
    sink = pa.BufferOutputStream()
    writer = None
    try:
        for start in range(0, max(len(frame), 1), BATCH):
            part = frame.iloc[start:start + BATCH]
            arrays = [pa.Array.from_pandas(part[name]) if kind not in _OBJECT_KINDS
                      else _array(part[name].tolist(), kind, fields)
                      for name, kind, fields in plan]
            batch = pa.RecordBatch.from_arrays(arrays, names=list(frame.columns))
            if writer is None:
                schema = batch.schema.with_metadata({"conflictmap": json.dumps(meta)})
                writer = pa.ipc.new_file(sink, schema, options=pa.ipc.IpcWriteOptions(
                    compression="lz4"))
            writer.write_batch(batch.replace_schema_metadata(schema.metadata))
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None  # a value past 64 bits, one JSON cannot hold, a batch of other types
    finally:
        if writer is not None:
            writer.close()
    return checksummed(memoryview(sink.getvalue()))  # Arrow's buffer itself: not copied


_OBJECT_KINDS = ("text", "textlists", "mappings", "json")


def load(path: Path, digest: str) -> pd.DataFrame | None:
    """The table stored at `path` when it is whole, of this layout and made from a file of
    this digest; None for anything else (missing, truncated, damaged, foreign, stale)."""
    body = read_checksummed(path)
    if body is None:
        return None
    try:
        table = pa.ipc.open_file(pa.py_buffer(body)).read_all()
        meta = json.loads(table.schema.metadata[b"conflictmap"])
        if not (meta["format"] == FORMAT and meta["digest"] == digest
                and meta["rows"] == table.num_rows
                and len(meta["kinds"]) == table.num_columns):
            return None
        columns = {}
        for name, kind, array in zip(table.column_names, meta["kinds"], table.columns,
                                     strict=True):
            columns[name] = _column(kind, array, table.num_rows)
        frame = pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))
    except (pa.ArrowException, ValueError, TypeError, KeyError, RecursionError):
        return None  # ArrowInvalid and JSON errors are ValueErrors
    return frame if len(frame.columns) == table.num_columns else None


def _column(kind: str, array: pa.ChunkedArray, rows: int) -> pd.Series:
    """One stored column as the pandas column it was."""
    if kind == "text":
        if array.type != pa.string():
            raise TypeError(kind)
        return pd.Series(array.to_numpy(zero_copy_only=False), dtype=object, copy=False)
    if kind == "textlists":
        if array.type != pa.list_(pa.string()) or array.null_count:
            raise TypeError(kind)
        lists = array.combine_chunks()
        flat = lists.values.to_numpy(zero_copy_only=False).tolist()
        ends = lists.offsets.to_numpy().tolist()
        if len(ends) != rows + 1 or None in flat:
            raise ValueError(kind)
        return pd.Series([flat[a:b] for a, b in itertools.pairwise(ends)], dtype=object)
    if kind == "mappings":
        if not pa.types.is_struct(array.type) or array.null_count:
            raise TypeError(kind)
        struct = array.combine_chunks()
        names = [struct.type.field(i).name for i in range(struct.type.num_fields)]
        columns = [_plain(struct.field(i)) for i in range(len(names))]
        if len(set(names)) != len(names):
            raise ValueError(kind)
        return pd.Series([dict(zip(names, vs, strict=True)) for vs in zip(*columns, strict=True)]
                         if names else [{} for _ in range(rows)], dtype=object)
    if kind == "json":
        if array.type != pa.string() or array.null_count:
            raise TypeError(kind)
        texts = array.to_numpy(zero_copy_only=False).tolist()
        values = json.loads("[" + ",".join(texts) + "]") if texts else []
        if len(values) != rows:  # a cell of two values: not what we wrote
            raise ValueError(kind)
        return pd.Series(values, dtype=object)
    dtype = pd.api.types.pandas_dtype(kind)
    if isinstance(dtype, np.dtype):
        if not _native(dtype):
            raise TypeError(kind)
        values = array.to_numpy(zero_copy_only=False)
        if dtype.kind in "iub" and array.null_count:
            raise ValueError(kind)
        return pd.Series(values.astype(dtype, copy=False), copy=False)
    if not _native(dtype):
        raise TypeError(kind)
    column = pd.Series(array.to_pandas(types_mapper=lambda _t: dtype))
    if str(column.dtype) != kind:
        raise TypeError(kind)
    return column


def _plain(array: pa.Array) -> list[Any]:
    """An Arrow field as Python values (None where null), fast when nothing is null."""
    t = array.type
    if array.null_count or not (pa.types.is_floating(t) or pa.types.is_integer(t)
                                or pa.types.is_string(t) or pa.types.is_boolean(t)):
        return array.to_pylist()
    return array.to_numpy(zero_copy_only=False).tolist()
