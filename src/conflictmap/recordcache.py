"""Validated YAML records kept between runs, so a rebuild re-reads only the files that changed.

An entry is what reading one file gave: its records-table rows, its problems and its warnings.
It is found by a hash of the file's path and bytes, so a changed file is never served stale,
and the whole cache sits under a key of the code that made it (the model's JSON Schema, the
package version and the source of the modules that read and validate), so any change to the
record's rules starts afresh instead of trusting old verdicts.

One pack file per set of event folders: one read and one write per build instead of one per
event file. It is written atomically (a concurrent build sees the old pack or the new one) and
carries a checksum of its body: a truncated or damaged pack, or an entry of the wrong shape,
is ignored and those files are validated again. JSON, not pickle: a cache file is data, never
code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

from .yamlio import Problem

FORMAT = 1  # bump when the pack's layout changes
ENV = "CONFLICTMAP_RECORDS_CACHE"  # the records cache folder itself (tests, shared machines)
# the modules whose code decides a file's rows and problems, and the data they consult
_SOURCES = ("model.py", "record.py", "dataset.py", "store.py", "yamlio.py", "yamlrecords.py",
            "text.py", "data/country_bbox.json")


def cache_dir() -> Path:
    """CONFLICTMAP_RECORDS_CACHE when set; else `records/` in the user cache (or under
    CONFLICTMAP_CACHE, like the geocoder index)."""
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    return Path(os.environ.get("CONFLICTMAP_CACHE", user_cache_dir("conflictmap"))) / "records"


@cache
def code_key() -> str:
    """A digest of everything besides a file's bytes that decides what reading it gives."""
    from .model import Event

    h = hashlib.sha256(f"format {FORMAT}\n".encode())
    with contextlib.suppress(PackageNotFoundError):  # run from a source tree
        h.update(version("conflictmap").encode())
    h.update(json.dumps(Event.model_json_schema(), sort_keys=True).encode())
    here = Path(__file__).parent
    for name in _SOURCES:
        with contextlib.suppress(OSError):
            h.update(name.encode() + b"\0" + (here / name).read_bytes())
    return h.hexdigest()[:32]


def file_key(path: Path, raw: bytes) -> str:
    """The entry's name: the path (problems and the default id come from it) and the bytes."""
    h = hashlib.blake2b(os.fsencode(path), digest_size=20)
    h.update(b"\0")
    h.update(raw)
    return h.hexdigest()


@dataclass
class Entry:
    """What reading one file gave. Problems and warnings are kept without the path, which is
    part of the key, and given it back on the way out."""

    rows: list[list[Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def to_json(self) -> list[Any]:
        def bare(ps: list[Problem]) -> list[list[Any]]:
            return [[p.line, p.col, p.field, p.message] for p in ps]

        return [self.rows, bare(self.problems), bare(self.warnings)]

    @classmethod
    def from_json(cls, data: Any, path: str, width: int) -> Entry | None:
        """The entry for `path`, or None when the stored shape is not what we write."""
        try:
            rows, problems, warnings = data

            def full(ps: list[Any]) -> list[Problem]:
                out = []
                for line, col, name, message in ps:
                    if not (isinstance(line, int) and isinstance(col, int)
                            and isinstance(name, str) and isinstance(message, str)):
                        raise ValueError("problem")
                    out.append(Problem(path, line, col, name, message))
                return out

            if not all(isinstance(r, list) and len(r) == width for r in rows):
                return None
            return cls(rows, full(problems), full(warnings))
        except (TypeError, ValueError):
            return None


class RecordCache:
    """The pack for one set of event folders."""

    def __init__(self, roots: Iterable[Path], columns: list[str], folder: Path | None = None,
                 model: type | None = None):
        names = "\0".join(sorted(os.path.abspath(r) for r in roots))
        self.columns = columns
        self.width = len(columns)
        h = hashlib.sha256(f"{names}\0{','.join(columns)}".encode())
        if model is not None:  # a model of one's own (a subclass) has packs of its own
            h.update(f"\0{model.__module__}.{model.__qualname__}\0".encode())
            h.update(json.dumps(model.model_json_schema(), sort_keys=True).encode())
        tag = h.hexdigest()[:24]
        self.path = (folder or cache_dir()) / code_key() / f"{tag}.json"
        self._stored: dict[str, Any] = {}

    def load(self) -> None:
        """Read the pack; anything unreadable, damaged or of another layout counts as empty."""
        try:
            raw = self.path.read_bytes()
        except OSError:
            return
        digest, _, body = raw.partition(b"\n")
        if hashlib.sha256(body).hexdigest().encode() != digest:
            return
        try:
            data = json.loads(body)
        except ValueError:
            return
        if isinstance(data, dict) and data.get("columns") == self.columns:
            entries = data.get("entries")
            self._stored = entries if isinstance(entries, dict) else {}

    def __bool__(self) -> bool:
        return bool(self._stored)

    def get(self, key: str, path: str) -> Entry | None:
        data = self._stored.get(key)
        return None if data is None else Entry.from_json(data, path, self.width)

    def save(self, entries: dict[str, Entry]) -> None:
        """Replace the pack with these entries (the files read this time: a deleted or changed
        file's old entry goes). A cache that cannot be written only costs speed next time."""
        body = json.dumps({"columns": self.columns,
                           "entries": {k: e.to_json() for k, e in entries.items()}},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        data = hashlib.sha256(body).hexdigest().encode() + b"\n" + body
        with contextlib.suppress(OSError):
            _replace(self.path, data)

    def unchanged(self, keys: Iterable[str]) -> bool:
        """Whether the pack already holds exactly these entries (then nothing is written)."""
        return set(keys) == set(self._stored)


def _replace(path: Path, data: bytes) -> None:
    """Write through a temp file and a rename, so a reader sees the old pack or the new one;
    unlike outputs, without fsync (150 MB at 100k events): after a crash the checksum tells
    a torn pack from a whole one, and a torn pack only costs one cold build."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
