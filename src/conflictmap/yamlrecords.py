"""YAML event files as records-table rows, on all cores when there are many.

Reading and validating one file costs ~0.25 ms in one process, so 100k files take ~25 s. A
file read before with the same bytes is not parsed again (`recordcache`). The other
files are independent: worker processes each take a share and send back plain columns, which
pickle in a fraction of the time model objects would. Model objects for export are rebuilt
from the rows on demand (`pipeline.Result.events`), exactly as for dataset rows.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from . import progress
from .dataset import dataset_ref_of, flat_and_data
from .forking import die_with_parent
from .model import Event
from .record import SCHEMA, Schema
from .recordcache import Entry, RecordCache, file_key
from .store import InvalidEvents, Problem, parse_text, walk_events
from .yamlio import decode, read_bytes, read_signed, stat_signature

# besides the record's own columns: where each row comes from, and the nested parts the
# pipeline needs, parsed once at load
PARSED_COLUMNS = ["origin_path", "origin_line", "location", "actors", "source_urls",
                  "dataset_name", "dataset_id"]
ALL_COLUMNS = [*SCHEMA.table_columns, *PARSED_COLUMNS]
PARALLEL_MIN = 2_000  # files a worker must have to pay for its start-up
CHUNK = 1_000  # files a task: small enough to balance two cores, big enough to batch


def row(ev: Event) -> dict[str, Any]:
    """One event as a records-table row."""
    out, data = flat_and_data(ev)
    out["origin_path"], out["origin_line"] = ev.origin or ("?", 0)
    out["location"] = data["location"]  # the plain data: no empty or unset part
    out["actors"] = [a.name for a in ev.actors]
    out["source_urls"] = [s.url for s in ev.sources if s.url]
    out["dataset_name"], out["dataset_id"] = dataset_ref_of(data.get("dataset"))
    return out


def _entry(path: Path, follow: bool, raw: bytes | None = None, schema: Schema = SCHEMA,
           ) -> tuple[str | None, Entry]:
    """Read (unless `raw` is given), validate and turn into rows one file; the key is None
    when the file could not be read, so nothing is cached for it."""
    signature = None
    if raw is None:
        raw, problem, signature = read_signed(path, follow=follow)
        if raw is None:
            return None, Entry(problems=[problem] if problem else [])
        if follow:
            signature = None  # see _KNOWN: a link named on the command line may change target
    where = str(path)
    text, problem = decode(where, raw)
    warnings: list[Problem] = []
    if text is None:
        events, problems = [], [problem] if problem else []
    else:
        events, problems = parse_text(text, where, path.stem, warnings, model=schema.model)
    names = [*schema.table_columns, *PARSED_COLUMNS]
    rows = []
    for ev in events:
        r = row(ev)
        rows.append([r.get(c) for c in names])  # a part the record leaves out is None
    entry = Entry(rows, problems, warnings)
    entry.encoded()  # here, in the worker: the pack is then written by joining lines
    entry.signature = signature
    return file_key(path, raw), entry


# an entry as it crosses from a worker: plain tuples and lists pickle in a third of the time
# a dataclass does, and the parent unpickles every file's entry while the workers read
_Sent = tuple[str | None, list[list[Any]], list[Problem], list[Problem], str | None,
              tuple[int, ...] | None]


def _entries(files: list[tuple[str, bool]], schema: Schema = SCHEMA) -> list[_Sent]:
    out = []
    for f, follow in files:
        key, e = _entry(Path(f), follow, None, schema)
        out.append((key, e.rows, e.problems, e.warnings, e.text, e.signature))
    return out


def _workers(n_files: int) -> int:
    return max(1, min(os.cpu_count() or 1, n_files // PARALLEL_MIN))


# Files this process has read, by path: their stat signature then, and their cache key. A
# rebuild in the same process (`build --watch`) takes the key from here when the signature is
# unchanged, instead of reading and hashing the bytes again. The signature includes the inode
# and the change time, which no program can set back; a file changed within RACY_NS of being
# read is not remembered (file times are coarse: two writes in one tick look alike), as git
# does for its index.
_KNOWN: dict[str, tuple[tuple[int, ...], str]] = {}
RACY_NS = 2_000_000_000


def _remember(path: Path, signature: tuple[int, ...] | None, key: str | None) -> None:
    if signature is None or key is None:
        return
    if time.time_ns() - max(signature[3], signature[4]) < RACY_NS:
        _KNOWN.pop(str(path), None)
    else:
        _KNOWN[str(path)] = (signature, key)


def yaml_records(paths: list[Path], warnings: list[Problem] | None = None,
                 cache: bool = True, schema: Schema = SCHEMA) -> pd.DataFrame:
    """Every event under `paths` as a row, in file order; raises InvalidEvents with every
    problem of every file. Skipped files and doubtful dates go to `warnings` when given.
    Duplicate ids are left to the caller, which sees all sources."""
    records, problems = read_yaml(paths, warnings, cache, schema)
    if problems:
        raise InvalidEvents(problems)
    return records


def read_yaml(paths: list[Path], warnings: list[Problem] | None = None, cache: bool = True,
              schema: Schema = SCHEMA) -> tuple[pd.DataFrame, list[Problem]]:
    """The rows of every event that passed, and the problems of those that did not.

    With `cache`, files read before with the same path and bytes are not parsed again (see
    `recordcache`); the rows and problems are the same either way.
    """
    found = walk_events(paths)
    problems = list(found.problems)
    if warnings is not None:
        warnings += found.warnings
    named = {Path(p) for p in paths}
    names = [*schema.table_columns, *PARSED_COLUMNS]
    own = None if schema.model is Event else schema.model  # Event's schema is in the code key
    store = RecordCache(paths, names, model=own) if cache else None
    if store is not None:
        store.load()
    entries: list[tuple[str | None, Entry] | None] = [None] * len(found.files)
    misses: list[int] = []
    raws: dict[int, bytes] = {}
    with progress.step("checking event files", len(found.files)) as advance:
        for i, f in enumerate(found.files):
            advance(1)
            if not store:  # nothing stored: every file is read below, once
                misses.append(i)
                continue
            follow = f in named  # a link named on the command line: its target may change
            signature = None if follow else stat_signature(f, follow=False)
            known = _KNOWN.get(str(f))
            if signature is not None and known is not None and known[0] == signature:
                hit = store.get(known[1], str(f))
                if hit is not None:
                    entries[i] = (known[1], hit)
                    continue
            raw, _ = read_bytes(f, follow=follow)
            key = file_key(f, raw) if raw is not None else None
            _remember(f, signature, key)
            hit = store.get(key, str(f)) if key is not None else None
            if hit is None:
                misses.append(i)
                if raw is not None and len(raws) < PARALLEL_MIN:
                    raws[i] = raw  # read once: a few misses are parsed here, from these bytes
            else:
                entries[i] = (key, hit)
    read = _read_misses([(found.files[i], found.files[i] in named) for i in misses],
                        [raws.get(i) for i in misses], schema)
    for i, got in zip(misses, read, strict=True):
        entries[i] = got
        _remember(found.files[i], got[1].signature, got[0])
    rows: list[list[Any]] = []
    fresh: dict[str, Entry] = {}
    for key, entry in entries:  # type: ignore[misc]
        rows += entry.rows
        problems += entry.problems
        if warnings is not None:
            warnings += entry.warnings
        if key is not None:
            fresh[key] = entry
    if store is not None and (misses or not store.unchanged(fresh)):
        store.save(fresh)
    # plain Python values, as a dataset's attributes are read (`dataset.read_attributes`):
    # letting pandas infer Arrow-backed text columns took 0.86 s of 1.0 at 100k files
    table = pd.DataFrame(rows, columns=names, dtype=object)
    table["origin_line"] = table["origin_line"].astype("int64")
    return table, problems


def _read_misses(files: list[tuple[Path, bool]], raws: list[bytes | None],
                 schema: Schema = SCHEMA) -> list[tuple[str | None, Entry]]:
    """Read the files the cache did not have: on all cores when there are many."""
    workers = _workers(len(files))
    out: list[tuple[str | None, Entry]] = []
    with progress.step("reading event files", len(files)) as advance:
        if workers == 1:
            for (f, follow), raw in zip(files, raws, strict=True):
                out.append(_entry(f, follow, raw, schema))
                advance(1)
            return out
        chunks = [files[i:i + CHUNK] for i in range(0, len(files), CHUNK)]
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 initializer=die_with_parent) as pool:
            parts = pool.map(partial(_entries, schema=schema),
                             [[(str(f), follow) for f, follow in c] for c in chunks])
            for chunk, part in zip(chunks, parts, strict=True):
                out += [(key, Entry(rows, problems, warnings, text, signature))
                        for key, rows, problems, warnings, text, signature in part]
                advance(len(chunk))
    return out
