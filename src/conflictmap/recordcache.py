"""Validated YAML records kept between runs, so a rebuild re-reads only the files that changed.

An entry is what reading one file gave: its records-table rows, its problems and its warnings.
It is found by a hash of the file's path and bytes, so a changed file is never served stale,
and the whole cache sits under a key of the code that made it (the model's JSON Schema, the
package version and the source of the modules that read and validate), so any change to the
record's rules starts afresh instead of trusting old verdicts.

One pack file per set of event folders: one read and one write per build instead of one per
event file; entries are lines of JSON text, decoded only when used and written back as read.
It is written atomically (a concurrent build sees the old pack or the new one) and carries a
checksum of its body: a truncated or damaged pack, or an entry of the wrong shape, is ignored
and those files are validated again. JSON, not pickle: a cache file is data, never code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

from . import jsontext
from .yamlio import Problem, stat_signature

FORMAT = 2  # bump when the pack's layout changes
ENV = "CONFLICTMAP_RECORDS_CACHE"  # the records cache folder itself (tests, shared machines)
# the modules whose code decides a file's rows and problems, and the data they consult
_SOURCES = ("model.py", "record.py", "dataset.py", "store.py", "yamlio.py", "yamlrecords.py",
            "text.py", "jsontext.py", "data/country_bbox.json")


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


_ENCODE = jsontext.encoder((",", ":"))


@dataclass
class Entry:
    """What reading one file gave. Problems and warnings are kept without the path, which is
    part of the key, and given it back on the way out. `text` is the entry as stored in the
    pack, when already known (encoded by the worker that read the file, or read from the pack)
    so that writing the pack is only joining lines."""

    rows: list[list[Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    text: str | None = field(default=None, compare=False, repr=False)
    # the file's stat when it was read (not stored in the pack; see yamlrecords._KNOWN)
    signature: tuple[int, ...] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> list[Any]:
        def bare(ps: list[Problem]) -> list[list[Any]]:
            return [[p.line, p.col, p.field, p.message] for p in ps] if ps else []

        return [self.rows, bare(self.problems), bare(self.warnings)]

    def encoded(self) -> str:
        """The entry as one line of the pack (JSON escapes every line break inside it)."""
        if self.text is None:
            self.text = _ENCODE(self.to_json())
        return self.text

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


# The pack last read or written by this process, so that a rebuild in the same process
# (`build --watch`) neither reads nor decodes it again while the file is the one it saw.
_MEMO: dict[str, Any] = {}


# packs being written in the background (see `RecordCache.save`); not daemon threads, so the
# interpreter waits for them at exit
_PENDING: list[threading.Thread] = []


def settle() -> None:
    """Wait until every pack this process is writing is written."""
    while _PENDING:
        _PENDING.pop(0).join()


def in_background(thread: threading.Thread) -> None:
    """Start a cache writer that `settle` (and the interpreter's exit) waits for."""
    _PENDING.append(thread)
    thread.start()


def write_behind(path: Path, pieces: Callable[[], bytes | list[bytes | memoryview]],
                 tidy: Callable[[], None] | None = None, name: str = "cache-writer") -> None:
    """Write a cache file (`replace_file` of `pieces()`), then `tidy()`, in a thread `settle`
    waits for, while the build goes on. A cache file not written only costs speed: any error
    is swallowed."""
    def write() -> None:
        with contextlib.suppress(Exception):
            replace_file(path, pieces())
            if tidy is not None:
                tidy()

    in_background(threading.Thread(target=write, name=name))


class RecordCache:
    """The pack for one set of event folders.

    Layout: the SHA-256 of the body on the first line, then the body: a JSON header (the
    columns) and one line per entry, `key<TAB>entry JSON`. Entries are decoded only when
    asked for, and written back as the text they were read as.
    """

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
        self._stored: dict[str, str] = {}
        self._decoded: dict[str, Entry] = {}

    def load(self) -> None:
        """Read the pack; anything unreadable, damaged or of another layout counts as empty."""
        settle()
        signature = stat_signature(self.path)
        if signature is not None and _MEMO.get("key") == (str(self.path), signature):
            self._stored, self._decoded = _MEMO["stored"], dict(_MEMO["decoded"])
            return
        body = read_checksummed(self.path)
        if body is None:
            return
        try:
            head, *lines = str(body, "utf-8").split("\n")
            header = json.loads(head)
        except ValueError:
            return
        if not isinstance(header, dict) or header.get("columns") != self.columns:
            return
        stored = {}
        for line in lines:
            key, tab, text = line.partition("\t")
            if not tab:
                return
            stored[key] = text
        self._stored = stored

    def __bool__(self) -> bool:
        return bool(self._stored)

    def get(self, key: str, path: str) -> Entry | None:
        hit = self._decoded.get(key)
        if hit is not None:
            return hit
        text = self._stored.get(key)
        if text is None:
            return None
        try:
            entry = Entry.from_json(json.loads(text), path, self.width)
        except ValueError:
            return None
        if entry is not None:
            entry.text = text
            self._decoded[key] = entry
        return entry

    def save(self, entries: dict[str, Entry]) -> None:
        """Replace the pack with these entries (the files read this time: a deleted or changed
        file's old entry goes). A cache that cannot be written only costs speed next time.

        The text is made here; hashing and writing it (most of the time: 150 MB at 100k
        events) go on in a thread while the build goes on, as both let other Python code run.
        A later `load` in this process, and the interpreter's exit, wait for it."""
        settle()
        head = json.dumps({"format": FORMAT, "columns": self.columns}, ensure_ascii=False)
        stored = {k: e.encoded() for k, e in entries.items()}
        data = "\n".join([head, *(f"{k}\t{text}" for k, text in stored.items())]).encode()
        path = self.path

        def remember() -> None:
            _MEMO.clear()
            _MEMO.update(key=(str(path), stat_signature(path)), stored=stored,
                         decoded=dict(entries))

        write_behind(path, lambda: checksummed(data), remember, "records-cache")

    def unchanged(self, keys: Iterable[str]) -> bool:
        """Whether the pack already holds exactly these entries (then nothing is written)."""
        return set(keys) == set(self._stored)


def checksummed(body: bytes | memoryview) -> list[bytes | memoryview]:
    """A cache file's pieces, for `replace_file`: the SHA-256 of the body on the first line,
    then the body (not copied)."""
    return [hashlib.sha256(body).hexdigest().encode() + b"\n", body]


def read_checksummed(path: Path) -> memoryview | None:
    """The body of a file written as `checksummed` made it (not copied); None when it is
    missing, truncated or damaged."""
    try:
        raw = memoryview(path.read_bytes())
    except OSError:
        return None
    cut = bytes(raw[:80]).find(b"\n")
    body = raw[cut + 1:]
    if cut < 0 or hashlib.sha256(body).hexdigest().encode() != raw[:cut]:
        return None
    return body


def replace_file(path: Path, data: bytes | list[bytes | memoryview]) -> None:
    """Write through a temp file and a rename, so a reader sees the old pack or the new one;
    unlike outputs, without fsync (150 MB at 100k events): after a crash the checksum tells
    a torn pack from a whole one, and a torn pack only costs one cold build."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            for piece in [data] if isinstance(data, bytes) else data:
                fh.write(piece)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
