"""Read a folder of event YAML into validated records; write one new event safely.

Every problem in every file is collected before failing, each as `path:line:col: field: message`
with the line of the offending key, because an analyst fixing 30 files wants all 30 at once.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

try:
    from json.encoder import c_encode_basestring as _json_quote  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    from json.encoder import py_encode_basestring as _json_quote

from . import progress
from .atomic import write_atomic, write_new_files
from .errors import ConflictmapError
from .model import ID_RE, Event
from .record import drop_none, event_to_data  # noqa: F401 - re-exported for callers
from .yamlio import (  # noqa: F401 - Problem, field_name, load_yaml, validation_problems: re-exported
    Problem,
    documents,
    duplicate_keys,
    field_name,
    load_yaml,
    locate,
    read_bytes,
    read_text,
    validation_problems,
)

try:  # libyaml: ~10x faster; the product declares PyYAML built with it
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover - pure-Python fallback keeps working, slower
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]


class _NoAliasDumper(_Dumper):  # type: ignore[misc,valid-type]
    """Writes a shared value (one date object as `date` and `published`) out in full each
    time: we refuse anchors and aliases when reading, so we never write them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


SCHEMA_FILE = "event.schema.json"
SUFFIXES = (".yaml", ".yml")
_NAME_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})-")


class InvalidEvents(ConflictmapError):
    """Raised with every problem found, so callers can print them all."""

    def __init__(self, problems: list[Problem]):
        files = len({p.path for p in problems})
        super().__init__(sorted(problems), f"{len(problems)} problem(s) in {files} file(s)")


# ---------------------------------------------------------------- reading


@dataclass
class Found:
    """What a walk over event folders found: the files to read, what stops the run (a folder
    that cannot be listed, a symbolic link) and what is only worth a word (a file skipped)."""

    files: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _symlink(path: Path) -> Problem:
    return Problem(str(path), 1, 1, "(file)", "is a symbolic link; not followed")


def walk_events(paths: Iterable[Path | str]) -> Found:
    """The YAML files under `paths` (files or folders, recursively), sorted; a path that does
    not exist is a problem. Hidden files and
    folders and the schema are passed over; symbolic links inside a folder are refused, since
    `x.yaml -> /etc/shadow` or `-> /dev/zero` must not be read; other files are skipped with a
    warning, so a `.YAML` or `.yml~` never vanishes without a word."""
    found = Found()
    for p in map(Path, paths):
        try:
            mode = os.stat(p).st_mode
        except OSError as exc:  # missing, or a name too long to look up
            found.problems.append(Problem(str(p), 1, 1, "(path)", "no such file or folder"
                                          if exc.errno == errno.ENOENT else exc.strerror))
            continue
        if not stat.S_ISDIR(mode):
            found.files.append(p)
            continue
        _walk(p, found)
    return found


def _walk(folder: Path, found: Found) -> None:
    """One folder's files (sorted), then its subfolders'; a directory entry says whether it
    is a link without another system call, which is most of a walk's cost at 100k files."""
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        found.problems.append(Problem(str(folder), 1, 1, "(folder)",
                                      f"cannot list: {exc.strerror}; its events are not read"))
        return
    subfolders = []
    for e in entries:
        if e.name.startswith("."):
            continue
        path = folder / e.name
        try:
            link, is_dir = e.is_symlink(), e.is_dir(follow_symlinks=False)
        except OSError:  # vanished: the read reports it
            link, is_dir = False, False
        if link:
            found.problems.append(_symlink(path))
        elif is_dir:
            subfolders.append(path)
        elif e.name == SCHEMA_FILE:
            continue
        elif e.name.endswith(SUFFIXES):
            found.files.append(path)
        else:
            found.warnings.append(Problem(str(path), 1, 1, "(file)",
                                          "skipped: not a .yaml/.yml file"))
    for sub in subfolders:
        _walk(sub, found)


def field_position(path: str, doc_line: int, loc: tuple[Any, ...]) -> tuple[int, int]:
    """(line, column) of a field of the document starting at `doc_line` in a YAML file, for
    problems found after reading (an unknown place); the document's line when not found."""
    text, problem = read_text(Path(path))
    if problem or text is None:
        return doc_line, 1
    docs, _ = documents(path, text)
    for node, _data in docs:
        if node is not None and node.start_mark.line + 1 == doc_line:
            target, whole = locate(node, loc)
            if whole:
                return target.start_mark.line + 1, target.start_mark.column + 1
    return doc_line, 1


def event_files(paths: Iterable[Path | str]) -> list[Path]:
    """The YAML files under `paths` (see `walk_events`)."""
    return walk_events(paths).files


def _name_date_warning(path: str, node: yaml.Node, event: Event) -> Problem | None:
    """A file named 2020-11-26-... holding `date: 2020-11-27`: one of the two is a typo."""
    m = _NAME_DATE.match(os.path.basename(path))  # not Path(): this runs for every file
    if not m or event.day.isoformat() == m.group(1):
        return None
    mark = locate(node, ("date",))[0].start_mark
    return Problem(path, mark.line + 1, mark.column + 1, "date",
                   f"{event.day.isoformat()} disagrees with the file name's date {m.group(1)}")


def parse_text(text: str, path: str, default_id: str | None,
               warnings: list[Problem] | None = None,
               model: type[Event] = Event) -> tuple[list[Event], list[Problem]]:
    """Events and problems from one file's text. `default_id` applies to a single-event file;
    things worth a word that do not stop the run go to `warnings`. `model`: Event, or a
    subclass with more fields (see `record.schema_of`)."""
    docs, problems = documents(path, text)
    if problems:
        return [], problems
    docs = [(n, d) for n, d in docs if d is not None]
    if not docs:
        return [], [Problem(path, 1, 1, "(file)", "empty file: expected one event (a mapping)")]
    events: list[Event] = []
    several = len(docs) > 1
    for node, data in docs:
        line0 = node.start_mark.line + 1
        if not isinstance(data, dict):
            kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
            problems.append(Problem(path, line0, node.start_mark.column + 1, "(event)",
                                    f"expected a mapping of event fields, got {kind}"))
            continue
        dups = list(duplicate_keys(node, path))
        problems += dups
        if "id" not in data:
            if several:
                problems.append(Problem(path, line0, 1, "id",
                                        "required when a file holds several events"))
                continue
            if default_id is None or not ID_RE.match(default_id):
                problems.append(Problem(
                    path, line0, 1, "id",
                    f"file name {default_id!r} is not a valid id ([a-z0-9][a-z0-9-]*): "
                    "rename the file or set `id:`"))
                continue
            data = {"id": default_id, **data}
        try:
            event = model.model_validate(data)
        except ValidationError as exc:
            problems += validation_problems(path, node, exc)
            continue
        if not dups:
            event._origin = (path, line0)
            events.append(event)
            warning = None if several else _name_date_warning(path, node, event)
            if warning and warnings is not None:
                warnings.append(warning)
    return events, problems


def load_file(path: Path, follow: bool = True, warnings: list[Problem] | None = None,
              model: type[Event] = Event) -> tuple[list[Event], list[Problem]]:
    """Events and problems from one file; `follow=False` refuses a symbolic link."""
    text, problem = read_text(path, follow=follow)
    if text is None:
        return [], [problem] if problem else []
    return parse_text(text, str(path), path.stem, warnings, model)


def add_unique(ev: Event, seen: dict[str, Event], events: list[Event],
               problems: list[Problem]) -> None:
    """Append `ev` unless its id is taken; then report it at its origin, naming the first."""
    first = seen.get((ev.id or "").casefold())
    if first is not None and first.origin and ev.origin:
        problems.append(Problem(ev.origin[0], ev.origin[1], 1, "id",
                                f"duplicate id {ev.id!r}: also in "
                                f"{first.origin[0]}:{first.origin[1]}"))
        return
    seen[(ev.id or "").casefold()] = ev
    events.append(ev)


def _load(paths: Iterable[Path | str], warnings: list[Problem] | None = None,
          ) -> tuple[list[Event], list[Problem]]:
    events: list[Event] = []
    problems: list[Problem] = []
    seen: dict[str, Event] = {}
    roots = list(paths)
    found = walk_events(roots)
    problems += found.problems
    if warnings is not None:
        warnings += found.warnings
    named = {Path(r) for r in roots}
    for f in progress.track(found.files, "checking event files", len(found.files)):
        evs, probs = load_file(f, follow=f in named, warnings=warnings)
        problems += probs
        for ev in evs:
            add_unique(ev, seen, events, problems)
    return events, problems


def load_events(paths: Iterable[Path | str], warnings: list[Problem] | None = None,
                ) -> list[Event]:
    """All events under `paths`, sorted by date then id; raises InvalidEvents with every problem.
    Skipped files and doubtful dates go to `warnings` when given."""
    events, problems = _load(paths, warnings)
    if problems:
        raise InvalidEvents(problems)
    return sorted(events, key=lambda e: (e.day, e.id or ""))


_ID_LINE = re.compile(r"^id:[ \t]*['\"]?([A-Za-z0-9][A-Za-z0-9-]*)", re.MULTILINE)


def taken_ids(folder: Path) -> dict[str, str]:
    """Ids in use in `folder` (case-folded) -> the file using it: each file's top-level `id:`
    lines, or its name. Read as text, not validated, so a folder of 100k files costs seconds,
    and a file that fails validation still holds its id."""
    taken: dict[str, str] = {}
    for f in event_files([folder]):
        raw = read_bytes(f, follow=False)[0] or b""  # never a FIFO or a device
        text = raw.decode("utf-8", errors="replace")
        for ident in _ID_LINE.findall(text) or [f.stem]:
            taken.setdefault(ident.casefold(), str(f))
    return taken


# ---------------------------------------------------------------- writing


def event_to_yaml(event: Event, schema_ref: str | None = SCHEMA_FILE) -> str:
    data = event_to_data(event)
    columns = data.get("dataset", {}).pop("columns", None)
    body = yaml.dump(data, Dumper=_NoAliasDumper, allow_unicode=True,
                     sort_keys=False, width=100, default_flow_style=False)
    if columns is not None:  # `dataset` is the record's last part: its cells go last
        body += "  columns:\n" + "".join(f"    {_yaml_key(k)}: {_yaml_str(v)}\n"
                                         for k, v in columns.items())
    head = f"# yaml-language-server: $schema={schema_ref}\n" if schema_ref else ""
    return head + body


# A dataset row has ~30 cells: PyYAML's representer costs ~20 us a cell, JSON's C quoting
# well under 1. A JSON string is a YAML double-quoted scalar once the characters YAML reads
# as line breaks or forbids unescaped are escaped too.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _yaml_str(text: str) -> str:
    quoted = _json_quote(text)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _yaml_key(key: str) -> str:
    plain = _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML_WORDS
    return key if plain else _yaml_str(key)


def event_path(folder: Path, event_id: str) -> Path:
    """Where an event with this id lives; refuses anything that would leave `folder`."""
    if not ID_RE.match(event_id):
        raise ValueError(f"invalid id {event_id!r}: use [a-z0-9][a-z0-9-]*")
    target = (folder / f"{event_id}.yaml").resolve()
    if target.parent != folder.resolve():
        raise ValueError(f"id {event_id!r} would write outside {folder}")
    return target


def write_event(folder: Path, event: Event) -> Path:
    """Create the event's file atomically; never overwrites a file or reuses an id."""
    if event.id is None:
        raise ValueError("event has no id")
    target = event_path(folder, event.id)
    if event.id.casefold() in taken_ids(folder):
        raise FileExistsError(f"id {event.id!r} already exists in {folder}")
    return write_atomic(target, event_to_yaml(event), overwrite=False)


def write_events(folder: Path, events: list[Event], name: Callable[[Event], str],
                 ) -> tuple[list[Path], list[tuple[Event, str]]]:
    """Create one file per event (the caller has checked the ids), each atomically and never
    over an existing file; events whose file name is taken come back with the reason."""
    files = {name(ev): event_to_yaml(ev).encode("utf-8") for ev in events}
    written, taken = write_new_files(folder, files)
    by_name = {name(ev): ev for ev in events}
    return written, [(by_name[n], f"{folder / n} exists; not overwritten") for n in taken]


# Letters that NFKD does not take apart into a Latin base, for the region's scripts (Russian
# and Ukrainian Cyrillic, Armenian, Georgian; Azerbaijani's ə and ı), written the way English
# reports spell names from them. Without it a Russian or Armenian title lost every letter.
_TO_LATIN = str.maketrans({
    **dict(zip("абвгдезийклмнопрстуфыэ", "abvgdeziyklmnoprstufye", strict=True)),
    "ё": "yo", "ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "",
    "ь": "", "ю": "yu", "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g",
    **dict(zip("աբգդեզէըթիլկհմյնոպջռսվտրփքօֆ", "abgdezeytilkhmynopjrsvtrpkof", strict=True)),
    "ժ": "zh", "խ": "kh", "ծ": "ts", "ձ": "dz", "ղ": "gh", "ճ": "ch", "շ": "sh", "չ": "ch",
    "ց": "ts", "ւ": "v", "և": "ev",
    **dict(zip("აბგდევზთიკლმნოპრსტუფქყ", "abgdevztiklmnoprstupkq", strict=True)),
    "ჟ": "zh", "ღ": "gh", "შ": "sh", "ჩ": "ch", "ც": "ts", "ძ": "dz", "წ": "ts", "ჭ": "ch",
    "ხ": "kh", "ჯ": "j", "ჰ": "h",
    "ə": "e", "ı": "i", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d",
})


def slug(text: str, limit: int = 60) -> str:
    """Lower-case ASCII words joined by hyphens: a file name any system accepts. Letters of
    other scripts are written in Latin (`_TO_LATIN`; Armenian ու is u), not dropped."""
    latin = text.lower().replace("ու", "u").translate(_TO_LATIN)
    ascii_text = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return s[:limit].rstrip("-") or "event"
