"""Read a folder of event YAML into validated records; write one new event safely.

Every problem in every file is collected before failing, each as `path:line:col: field: message`
with the line of the offending key, because an analyst fixing 30 files wants all 30 at once.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

try:
    from json.encoder import c_encode_basestring as _json_quote  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    from json.encoder import py_encode_basestring as _json_quote

from .atomic import write_atomic, write_new_files
from .errors import ConflictmapError
from .model import ID_RE, Event

try:  # libyaml: ~10x faster; the product declares PyYAML built with it
    from yaml import CSafeDumper as _Dumper
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - pure-Python fallback keeps working, slower
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]



class _EventLoader(_Loader):  # type: ignore[misc,valid-type]
    """Safe loader that leaves timestamps as text: the model parses dates itself, so an impossible
    date like 2020-13-45 becomes a field error with a line number instead of a crash."""


_EventLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}

SCHEMA_FILE = "event.schema.json"
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one input file, pointing at the line to fix."""

    path: str
    line: int
    col: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.field}: {self.message}"


class InvalidEvents(ConflictmapError):
    """Raised with every problem found, so callers can print them all."""

    def __init__(self, problems: list[Problem]):
        files = len({p.path for p in problems})
        super().__init__(sorted(problems), f"{len(problems)} problem(s) in {files} file(s)")


# ---------------------------------------------------------------- reading


def event_files(paths: Iterable[Path | str]) -> list[Path]:
    """The YAML files under `paths` (files or folders, recursively), sorted, hidden ones skipped."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [Path(root) / f for f in sorted(files)
                          if f.endswith(SUFFIXES) and not f.startswith(".")]
        else:
            found.append(p)
    return found


def field_position(path: str, doc_line: int, loc: tuple[Any, ...]) -> tuple[int, int]:
    """(line, column) of a field of the document starting at `doc_line` in a YAML file, for
    problems found after reading (an unknown place); the document's line when not found."""
    text, problem = read_text(Path(path))
    if problem or text is None:
        return doc_line, 1
    try:
        for node, _ in _documents(text):
            if node is not None and node.start_mark.line + 1 == doc_line:
                target, whole = _locate(node, loc)
                if whole:
                    return target.start_mark.line + 1, target.start_mark.column + 1
    except yaml.YAMLError:
        pass
    return doc_line, 1


def field_name(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(event)"


def _locate(node: yaml.Node, loc: tuple[Any, ...]) -> tuple[yaml.Node, bool]:
    """The node for `loc` (key node for a mapping entry) and whether it was found whole."""
    current: yaml.Node = node
    target = node
    for part in loc:
        if isinstance(current, yaml.MappingNode) and isinstance(part, str):
            hit = next(((k, v) for k, v in current.value
                        if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            if hit is None:
                return target, False
            target, current = hit
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(current.value):
                return target, False
            target = current = current.value[part]
        else:
            return target, False
    return target, True


def _duplicate_keys(node: yaml.Node, path: str, trail: str = "") -> Iterator[Problem]:
    """PyYAML keeps the last of two equal keys; a typo'd copy must not win silently."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                name = f"{trail}.{k.value}" if trail else k.value
                if k.value in seen:
                    yield Problem(path, k.start_mark.line + 1, k.start_mark.column + 1, name,
                                  f"duplicate key (first at line {seen[k.value]})")
                else:
                    seen[k.value] = k.start_mark.line + 1
                yield from _duplicate_keys(v, path, name)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, path, f"{trail}[{i}]")


def _yaml_problem(path: str, text: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = getattr(exc, "problem", None) or str(exc)
    lines = text.splitlines()
    if mark and mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
        what += " (a tab: YAML does not allow tabs for indentation, use spaces)"
    ctx = getattr(exc, "context", None)
    return Problem(path, line, col, "(yaml)", f"{ctx + ': ' if ctx else ''}{what}")


def validation_problems(path: str, node: yaml.Node, exc: ValidationError) -> list[Problem]:
    """Pydantic errors as Problems pointing at the line of the offending key."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        extra = (err.get("ctx") or {}).get("field")
        if extra:
            loc += (extra,)
        mark = _locate(node, loc)[0].start_mark
        message = err["msg"]
        if err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] == "extra_forbidden":
            message = "unknown field (typo?)"
        out.append(Problem(path, mark.line + 1, mark.column + 1, field_name(loc), message))
    return out


def read_text(path: Path) -> tuple[str | None, Problem | None]:
    """A file's text as UTF-8, or the problem that stops reading it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, Problem(str(path), 1, 1, "(file)", f"cannot read: {exc.strerror}")
    return _decode(str(path), raw)


def load_yaml(path: Path) -> tuple[list[tuple[yaml.Node, Any]], list[Problem]]:
    """(node, data) per document of a UTF-8 YAML file, or the problem that stops reading it."""
    text, problem = read_text(path)
    if problem or text is None:
        return [], [problem] if problem else []
    try:
        return [(n, d) for n, d in _documents(text) if d is not None], []
    except yaml.YAMLError as exc:
        return [], [_yaml_problem(str(path), text, exc)]


def _decode(path: str, raw: bytes) -> tuple[str | None, Problem | None]:
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Problem(path, line, col, "(file)",
                             f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                             f"{exc.start}); save the file as UTF-8")


def _documents(text: str) -> Iterator[tuple[yaml.Node, Any]]:
    loader = _EventLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            yield node, loader.construct_document(node)
    finally:
        loader.dispose()


def parse_text(text: str, path: str, default_id: str | None) -> tuple[list[Event], list[Problem]]:
    """Events and problems from one file's text. `default_id` applies to a single-event file."""
    try:
        docs = [(n, d) for n, d in _documents(text) if n is not None]
    except yaml.YAMLError as exc:
        return [], [_yaml_problem(path, text, exc)]
    docs = [(n, d) for n, d in docs if d is not None]
    if not docs:
        return [], [Problem(path, 1, 1, "(file)", "empty file: expected one event (a mapping)")]
    events: list[Event] = []
    problems: list[Problem] = []
    several = len(docs) > 1
    for node, data in docs:
        line0 = node.start_mark.line + 1
        if not isinstance(data, dict):
            kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
            problems.append(Problem(path, line0, node.start_mark.column + 1, "(event)",
                                    f"expected a mapping of event fields, got {kind}"))
            continue
        dups = list(_duplicate_keys(node, path))
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
            event = Event.model_validate(data)
        except ValidationError as exc:
            problems += validation_problems(path, node, exc)
            continue
        if not dups:
            event._origin = (path, line0)
            events.append(event)
    return events, problems


def load_file(path: Path) -> tuple[list[Event], list[Problem]]:
    text, problem = read_text(path)
    if problem or text is None:
        return [], [problem] if problem else []
    return parse_text(text, str(path), path.stem)


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


def _load(paths: Iterable[Path | str]) -> tuple[list[Event], list[Problem]]:
    events: list[Event] = []
    problems: list[Problem] = []
    seen: dict[str, Event] = {}
    roots = list(paths)
    for root in roots:
        if not Path(root).exists():
            problems.append(Problem(str(root), 1, 1, "(path)", "no such file or folder"))
    for f in event_files(r for r in roots if Path(r).exists()):
        evs, probs = load_file(f)
        problems += probs
        for ev in evs:
            add_unique(ev, seen, events, problems)
    return events, problems


def load_events(paths: Iterable[Path | str]) -> list[Event]:
    """All events under `paths`, sorted by date then id; raises InvalidEvents with every problem."""
    events, problems = _load(paths)
    if problems:
        raise InvalidEvents(problems)
    return sorted(events, key=lambda e: (e.day, e.id or ""))


_ID_LINE = re.compile(r"^id:[ \t]*['\"]?([A-Za-z0-9][A-Za-z0-9-]*)", re.MULTILINE)


def taken_ids(folder: Path) -> dict[str, str]:
    """Ids in use in `folder` (case-folded) -> the file using it: each file's top-level `id:`
    lines, or its name. Read as text, not validated, so a folder of 100k files costs seconds,
    and a file that fails validation still holds its id."""
    taken: dict[str, str] = {}
    for f in event_files([folder]) if folder.exists() else []:
        try:
            text = f.read_text("utf-8", errors="replace")
        except OSError:
            text = ""
        for ident in _ID_LINE.findall(text) or [f.stem]:
            taken.setdefault(ident.casefold(), str(f))
    return taken


def known_ids(folder: Path) -> set[str]:
    """Ids in use in `folder`, case-folded."""
    return set(taken_ids(folder))


# ---------------------------------------------------------------- writing


def drop_none(value: Any) -> Any:
    """Record data without unset parts, so the model applies its defaults."""
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value]
    return value


def event_to_data(event: Event) -> dict[str, Any]:
    """Plain data for YAML: aliases ('from'), no empty or unset optional parts, and an actor
    with nothing but a name written as the plain name."""
    data = event.model_dump(mode="python", by_alias=True, exclude_none=True)
    if "actors" in data:
        data["actors"] = [a["name"] if set(a) == {"name"} else a for a in data["actors"]]
    columns = data.get("dataset", {}).get("columns")

    def prune(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: prune(v) for k, v in value.items() if v not in ({}, [], None)}
        if isinstance(value, list):
            return [prune(v) for v in value]
        return value

    data = prune(data)
    if columns is not None:  # a dataset's empty cells are part of its row
        data["dataset"]["columns"] = columns
    return data


def event_to_yaml(event: Event, schema_ref: str | None = SCHEMA_FILE) -> str:
    data = event_to_data(event)
    columns = data.get("dataset", {}).pop("columns", None)
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True,
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


def slug(text: str, limit: int = 60) -> str:
    """Lower-case ASCII words joined by hyphens: a file name any system accepts."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return s[:limit].rstrip("-") or "event"
