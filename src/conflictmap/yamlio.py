"""Read any YAML input safely, and say what is wrong with it as `path:line:col: field: message`.

Event files, the layer manifest and the gazetteer come from people and from other machines, so
nothing they hold may end in a traceback, a hang or a memory blow-up: only regular files are
read, never through a symbolic link, up to a size limit; anchors and aliases (the "billion
laughs" bomb) are refused before anything is built from them, and so are deep nesting and
numbers too long for Python to convert.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .text import printable

try:  # libyaml: ~10x faster; the product declares PyYAML built with it
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - pure-Python fallback keeps working, slower
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_BYTES = 1 << 20  # 1 MiB: an event is a few KB; a bigger file is a mistake or an attack
MAX_DEPTH = 20  # an event nests 3 levels; a deeper file is a mistake or an attack
MAX_DIGITS = 100  # Python refuses to convert ints over 4300 digits, with a ValueError
MAX_DOCUMENTS = 1_000  # events are one per file; 130k `---` of 7 bytes each took 19 s


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one input file, pointing at the line to fix."""

    path: str
    line: int
    col: int
    field: str
    message: str

    def __str__(self) -> str:
        # printed to terminals: a record's text must not move the cursor or write the clipboard
        return printable(f"{self.path}:{self.line}:{self.col}: {self.field}: {self.message}")


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader that leaves timestamps as text (the models parse dates themselves, so an
    impossible date like 2020-13-45 becomes a field error with a line number instead of a
    crash) and refuses integers too long to convert."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        digits = sum(c.isalnum() for c in node.value)  # 0x... and 1:30:00 forms too
        if digits > MAX_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number of {digits} digits is too long (at most {MAX_DIGITS})",
                node.start_mark)
        return super().construct_yaml_int(node)

    # The composer asks these for every node. Event files have no path resolvers, so the
    # answers are PyYAML's, from a table made once: half the time of the generic code.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], _WILDCARD):
                    if regexp.match(value):
                        return tag
            return self.DEFAULT_SCALAR_TAG
        return self.DEFAULT_SEQUENCE_TAG if kind is yaml.SequenceNode else (
            self.DEFAULT_MAPPING_TAG)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
assert not _Loader.yaml_path_resolvers  # the shortcut in _Loader.resolve relies on it
_WILDCARD = tuple(_Loader.yaml_implicit_resolvers.get(None, ()))
# by first character ('' for the empty value), followed by the wildcard resolvers
_IMPLICIT = {first: (*rs, *_WILDCARD) for first, rs in _Loader.yaml_implicit_resolvers.items()
             if first is not None}


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_SCALAR = yaml.ScalarNode
_PLAIN_SCALARS = {t: _Loader.yaml_constructors[t] for t in (
    "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null")}


class _Unusual(Exception):
    """A node the fast path leaves to PyYAML's constructor (its errors and its rules)."""


def _construct(loader: _Loader, node: yaml.Node, depth: int = 1,
               limit: int = 64) -> Any:
    """The data of a document as PyYAML's safe constructor builds it, for the shapes event
    files have (mappings with text keys, lists, strings, numbers, booleans, nulls), in about a
    third of the time: most nodes are strings, taken as they are. Anything else (other tags,
    merge keys, keys that are not text, a repeated key, nesting past `limit`) raises _Unusual,
    and the document goes the generic way, which also reports depth and repeated keys. So a
    document built here has no repeated key and no excess depth, and nothing needs to walk it
    again to look for them."""
    tag = node.tag
    if tag == _STR:
        if not isinstance(node, yaml.ScalarNode):
            raise _Unusual
        return node.value
    if depth > limit:
        raise _Unusual
    if tag == _MAP:
        if not isinstance(node, yaml.MappingNode):
            raise _Unusual
        out: dict[Any, Any] = {}
        for k, v in node.value:
            if k.tag != _STR or not isinstance(k, yaml.ScalarNode):
                raise _Unusual  # merge keys (<<), number or complex keys: PyYAML's rules
            key = k.value
            if key in out:
                raise _Unusual  # a repeated key: reported by duplicate_keys
            # most values are text: taken here, without a call (a tenth of the whole walk)
            out[key] = v.value if v.tag == _STR and v.__class__ is _SCALAR else _construct(
                loader, v, depth + 1, limit)
        return out
    if tag == _SEQ:
        if not isinstance(node, yaml.SequenceNode):
            raise _Unusual
        return [v.value if v.tag == _STR and v.__class__ is _SCALAR else _construct(
            loader, v, depth + 1, limit) for v in node.value]
    make = _PLAIN_SCALARS.get(tag)
    if make is None or not isinstance(node, yaml.ScalarNode):
        raise _Unusual
    return make(loader, node)


# set on a document's root node built by _construct: no key of it is repeated
_UNIQUE_KEYS = "_conflictmap_unique_keys"


# ---------------------------------------------------------------- the file


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def stat_signature(path: Path, follow: bool = True) -> tuple[int, ...] | None:
    """What tells a file changed without reading it: inode, device, size, modification and
    change times (the change time no program can set back); None when it cannot be stat'ed.
    `follow=False` describes a symbolic link itself, not what it points at."""
    try:
        st = os.stat(path, follow_symlinks=follow)
    except OSError:
        return None
    return signature_of(st)


def signature_of(st: os.stat_result) -> tuple[int, ...]:
    """A `stat_signature` from a stat result (of a name, or of an open file)."""
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read_bytes(path: Path, follow: bool = True, max_bytes: int = MAX_BYTES,
               ) -> tuple[bytes | None, Problem | None]:
    """A regular file's bytes, or the problem that stops reading it. Never blocks (a FIFO is
    opened non-blocking and refused), never reads past `max_bytes` (/dev/zero is endless), and
    with `follow=False` refuses a symbolic link instead of reading whatever it points at."""
    raw, problem, _ = read_signed(path, follow, max_bytes)
    return raw, problem


def read_signed(path: Path, follow: bool = True, max_bytes: int = MAX_BYTES,
                ) -> tuple[bytes | None, Problem | None, tuple[int, ...] | None]:
    """`read_bytes`, and the `stat_signature` of the file read (from the open file: one
    system call, not another lookup by name)."""
    where = str(path)
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    flags = os.O_RDONLY | os.O_NONBLOCK | nofollow * (not follow)
    try:
        if not follow and not nofollow and os.path.islink(path):
            return None, Problem(where, 1, 1, "(file)", "is a symbolic link; not followed"), None
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            return None, Problem(where, 1, 1, "(file)", "is a symbolic link; not followed"), None
        return None, Problem(where, 1, 1, "(file)", f"cannot read: {exc.strerror}"), None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, Problem(where, 1, 1, "(file)",
                                 f"is {_kind(info.st_mode)}, not a regular file; not read"), None
        if info.st_size > max_bytes:
            return None, Problem(where, 1, 1, "(file)", _too_big(info.st_size, max_bytes)), None
        # one read of the size fstat gave, plus one to see the end (os.read, not a buffered
        # file object: a tenth of the cost for the few KB of an event); a read that returns
        # less than it asked for has met the end
        want = info.st_size + 1
        chunks = [os.read(fd, want)]
        while len(chunks[-1]) == want and sum(map(len, chunks)) <= max_bytes:
            want = max_bytes + 1 - sum(map(len, chunks))
            chunks.append(os.read(fd, want))
        raw = b"".join(chunks)
    except OSError as exc:
        return None, Problem(where, 1, 1, "(file)", f"cannot read: {exc.strerror}"), None
    finally:
        os.close(fd)
    if len(raw) > max_bytes:  # grew while we read it
        return None, Problem(where, 1, 1, "(file)", _too_big(len(raw), max_bytes)), None
    return raw, None, signature_of(info)


def _too_big(size: int, limit: int) -> str:
    return f"file is {size:,} bytes; at most {limit:,} are read (one event is a few KB)"


def decode(path: str, raw: bytes) -> tuple[str | None, Problem | None]:
    """UTF-8 text (a BOM is allowed), or where the first byte that is not UTF-8 sits."""
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Problem(path, line, col, "(file)",
                             f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                             f"{exc.start}); save the file as UTF-8")


def read_text(path: Path, follow: bool = True, max_bytes: int = MAX_BYTES,
              ) -> tuple[str | None, Problem | None]:
    """A file's text as UTF-8, or the problem that stops reading it (see `read_bytes`)."""
    raw, problem = read_bytes(path, follow, max_bytes)
    if raw is None:
        return None, problem
    return decode(str(path), raw)


# ---------------------------------------------------------------- the YAML


def yaml_problem(path: str, text: str, exc: yaml.YAMLError) -> Problem:
    """A PyYAML error as a Problem at its mark, with a hint for the usual tab mistake."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = getattr(exc, "problem", None) or str(exc)
    lines = text.splitlines()
    if mark and mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
        what += " (a tab: YAML does not allow tabs for indentation, use spaces)"
    ctx = getattr(exc, "context", None)
    return Problem(path, line, col, "(yaml)", f"{ctx + ': ' if ctx else ''}{what}")


def _anchor_problem(path: str, text: str) -> Problem | None:
    """The first anchor (&a) or alias (*a): a few hundred bytes of nested aliases expand to
    billions of nodes for whatever walks the data afterwards. Only text holding `&` or `*` is
    scanned, so ordinary files pay nothing."""
    if "&" not in text and "*" not in text:
        return None
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                return Problem(path, mark.line + 1, mark.column + 1, "(yaml)",
                               "anchors and aliases (&name, *name) are not allowed; "
                               "write the value out in full")
    except yaml.YAMLError:
        return None  # composing reports it, with the same mark
    return None


def _too_deep(path: str, node: yaml.Node, limit: int) -> Problem | None:
    """The first mapping or list nested more than `limit` levels deep; iterative, so depth
    cannot crash it."""
    stack: list[tuple[yaml.Node, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, yaml.ScalarNode):
            continue
        if depth > limit:
            mark = current.start_mark
            return Problem(path, mark.line + 1, mark.column + 1, "(yaml)",
                           f"nested more than {limit} levels deep")
        if isinstance(current, yaml.MappingNode):
            stack += [(v, depth + 1) for _, v in current.value]
        elif isinstance(current, yaml.SequenceNode):
            stack += [(v, depth + 1) for v in current.value]
    return None


def documents(path: str, text: str, max_depth: int = MAX_DEPTH,
              ) -> tuple[list[tuple[yaml.Node, Any]], list[Problem]]:
    """(node, data) per document, or the problem that stops reading the text."""
    problem = _anchor_problem(path, text)
    if problem:
        return [], [problem]
    out: list[tuple[yaml.Node, Any]] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if len(out) == MAX_DOCUMENTS:
                mark = node.start_mark
                return [], [Problem(path, mark.line + 1, mark.column + 1, "(yaml)",
                                    f"more than {MAX_DOCUMENTS:,} documents in one file; "
                                    "give each event a file of its own")]
            try:
                data = _construct(loader, node, limit=max_depth)
                setattr(node, _UNIQUE_KEYS, True)
            except _Unusual:
                problem = _too_deep(path, node, max_depth)
                if problem:
                    return [], [problem]
                data = loader.construct_document(node)
            out.append((node, data))
    except yaml.YAMLError as exc:
        return [], [yaml_problem(path, text, exc)]
    finally:
        loader.dispose()
    return out, []


def load_yaml(path: Path, max_bytes: int = MAX_BYTES, raw: bytes | None = None,
              ) -> tuple[list[tuple[yaml.Node, Any]], list[Problem]]:
    """(node, data) per non-empty document of a UTF-8 YAML file, or the problems that stop
    reading it; `raw`: the file's bytes, already read by the caller."""
    text, problem = (read_text(path, max_bytes=max_bytes) if raw is None
                     else decode(str(path), raw))
    if text is None:
        return [], [problem] if problem else []
    docs, problems = documents(str(path), text)
    return [(n, d) for n, d in docs if d is not None], problems


# ---------------------------------------------------------------- model errors


def field_name(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as the user writes it: `sources[0].url`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(event)"


def locate(node: yaml.Node, loc: tuple[Any, ...]) -> tuple[yaml.Node, bool]:
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


def duplicate_keys(node: yaml.Node, path: str, trail: str = "") -> Iterator[Problem]:
    """PyYAML keeps the last of two equal keys; a typo'd copy must not win silently."""
    if getattr(node, _UNIQUE_KEYS, False):
        return
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
                yield from duplicate_keys(v, path, name)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from duplicate_keys(item, path, f"{trail}[{i}]")


def validation_problems(path: str, node: yaml.Node, exc: ValidationError) -> list[Problem]:
    """Pydantic errors as Problems pointing at the line of the offending key."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        extra = (err.get("ctx") or {}).get("field")
        if extra:
            loc += (extra,)
        mark = locate(node, loc)[0].start_mark
        message = err["msg"]
        if err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] == "extra_forbidden":
            message = "unknown field (typo?)"
        out.append(Problem(path, mark.line + 1, mark.column + 1, field_name(loc), message))
    return out
