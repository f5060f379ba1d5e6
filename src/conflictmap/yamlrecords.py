"""YAML event files as records-table rows, on all cores when there are many.

Reading and validating one file costs ~0.25 ms in one process, so 100k files take ~25 s. The
files are independent: worker processes each take a share and send back plain columns, which
pickle in a fraction of the time model objects would. Model objects for export are rebuilt
from the rows on demand (`pipeline.Result.events`), exactly as for dataset rows.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from .dataset import dataset_ref_of, flat_record
from .model import Event
from .record import SCHEMA, Schema
from .store import InvalidEvents, Problem, load_file, walk_events

# besides the record's own columns: where each row comes from, and the nested parts the
# pipeline needs, parsed once at load
PARSED_COLUMNS = ["origin_path", "origin_line", "location", "actors", "source_urls",
                  "dataset_name", "dataset_id"]
ALL_COLUMNS = [*SCHEMA.table_columns, *PARSED_COLUMNS]
PARALLEL_MIN = 2_000  # files a worker must have to pay for its start-up
CHUNK = 1_000  # files a task: small enough to balance two cores, big enough to batch


def row(ev: Event) -> dict[str, Any]:
    """One event as a records-table row."""
    out = flat_record(ev)
    out["origin_path"], out["origin_line"] = ev.origin or ("?", 0)
    out["location"] = ev.location.model_dump(exclude_none=True)
    out["actors"] = [a.name for a in ev.actors]
    out["source_urls"] = [s.url for s in ev.sources if s.url]
    ref = dataset_ref_of(ev.dataset.model_dump() if ev.dataset else None)
    out["dataset_name"], out["dataset_id"] = ref
    return out


def _columns(files: list[Path], schema: Schema = SCHEMA,
             ) -> tuple[dict[str, list[Any]], list[Problem]]:
    names = [*schema.table_columns, *PARSED_COLUMNS]
    cols: dict[str, list[Any]] = {c: [] for c in names}
    problems: list[Problem] = []
    for f in files:
        events, found = load_file(f, model=schema.model)
        problems += found
        for ev in events:
            r = row(ev)
            for c in names:
                cols[c].append(r.get(c))  # a part the record leaves out is missing (None)
    return cols, problems


def _die_with_parent() -> None:
    """A worker ends when the build that started it is killed (Linux), instead of waiting
    forever on a queue nobody will fill."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown still applies
        pass


PR_SET_PDEATHSIG = 1


def _workers(n_files: int) -> int:
    return max(1, min(os.cpu_count() or 1, n_files // PARALLEL_MIN))


def yaml_records(paths: list[Path], schema: Schema = SCHEMA) -> pd.DataFrame:
    """Every event under `paths` as a row, in file order; raises InvalidEvents with every
    problem of every file. Duplicate ids are left to the caller, which sees all sources."""
    names = [*schema.table_columns, *PARSED_COLUMNS]
    found = walk_events(paths)
    problems, files = found.problems, found.files
    workers = _workers(len(files))
    if workers == 1:
        parts = [_columns(files, schema)]
    else:
        chunks = [files[i:i + CHUNK] for i in range(0, len(files), CHUNK)]
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 initializer=_die_with_parent) as pool:
            parts = list(pool.map(partial(_columns, schema=schema), chunks))
    cols: dict[str, list[Any]] = {c: [] for c in names}
    for part, found in parts:
        problems += found
        for c in names:
            cols[c] += part[c]
    if problems:
        raise InvalidEvents(problems)
    return pd.DataFrame(cols, columns=names)
