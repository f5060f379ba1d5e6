"""Readers for the big conflict datasets: ACLED and UCDP GED CSV rows to our records.

A CSV is read once with the csv module (cells exactly as written, line numbers kept) into a
table of text columns. Each dataset's rules then derive the record's columns column by column,
with no object per row, and every original cell is kept in the record's `dataset` part, so an
export to the same dataset gives the row back unchanged. The records table becomes YAML files
(each row validated by the model) or one dataset file (checked in bulk, as `build --dataset`
does). A CSV that conflictmap exported carries our own columns after the dataset's; they win.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from json.encoder import py_encode_basestring as _py_quote
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from .codes import ACLED_GEO_BACK, ACLED_TIME_BACK, UCDP_DATE_BACK, UCDP_WHERE_BACK
from .csvsafe import unneutralise, unneutralise_column
from .errors import ConflictmapError, UsageError
from .model import ID_PATTERN, Event, country_table
from .record import SCHEMA, Schema, drop_none
from .store import slug, taken_ids, write_events
from .yamlio import field_name

if TYPE_CHECKING:
    from .engine import Engine
    from .geoparquet import Staging

try:  # the C encoder: ~10x faster on 100k rows of 30 cells
    from json.encoder import c_encode_basestring as _quote  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    _quote = _py_quote


class ImportFailed(ConflictmapError):
    """The import as a whole cannot go on; the message names the file (and line)."""


class DatasetFileError(ImportFailed):
    """The file as a whole cannot be read as the dataset (encoding, no header, no rows,
    repeated column names, a cell the csv module refuses)."""


@dataclass(frozen=True)
class Skipped:
    line: int
    row_id: str
    reason: str
    file: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: ({self.row_id or 'no id'}): {self.reason}"


@dataclass
class Table:
    """A dataset CSV as text columns, in the file's column order, with each row's line."""

    path: Path
    header: list[str]
    frame: pd.DataFrame
    lines: list[int]
    skipped: list[Skipped] = field(default_factory=list)
    ours: bool = False
    # the nested parts of the derived records, when built here (not parsed from JSON text)
    parts: dict[str, list[Any]] | None = None


def _is_hxl(cells: list[str]) -> bool:
    """The HXL hashtag row some exports carry under the header (`#event+code`, `#date+occurred`)."""
    filled = [v for v in cells if v]
    return bool(filled) and all(v.startswith("#") for v in filled)


# A cell may hold a whole report, but a cell of 10 MB is almost always a quote left open that
# swallowed the rest of the file; the csv module's own limit (128 KiB) is too low for real notes.
FIELD_LIMIT = 10_000_000

_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig"))


def _lines(path: Path) -> Iterator[str]:
    """The file's text line by line (line ends kept, for the csv module): UTF-16/32 when a
    BOM says so, else strict UTF-8 (BOM tolerated), decoded as it is read, so a file of any
    size streams.

    No guessing of Latin-1 or Windows-1252: a wrong guess changes every accented name without
    a word, so a file that is not UTF-8 is refused with the byte and line to look at."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise DatasetFileError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    with fh:
        encoding = next((e for bom, e in _BOMS if fh.peek(4)[:4].startswith(bom)), "utf-8")
        try:
            yield from io.TextIOWrapper(fh, encoding=encoding, newline="")
        except UnicodeDecodeError:
            line, byte = _bad_byte(path, encoding)
            raise DatasetFileError(
                f"{path}:{line}: not {encoding.upper().removesuffix('-SIG')} (byte "
                f"0x{byte:02x} at line {line}); save the file as UTF-8") from None


def _bad_byte(path: Path, encoding: str) -> tuple[int, int]:
    """The line and value of the first byte that does not decode (found again from the start:
    the text reader decodes in blocks, so its error does not say the line)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line, last = 1, 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return line + block.count(b"\n", 0, max(exc.start, 0)), block[max(exc.start, 0)]
            line += block.count(b"\n")
            last = block[-1]
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:  # a character cut short at the end of the file
            return line, last
    return line, 0


def read_table(path: Path, id_col: str) -> Table:
    """The whole CSV as one table (`iter_tables` without a chunk limit)."""
    return next(iter_tables(path, id_col, chunk_rows=sys.maxsize))


def _check_header(path: Path, line: int, header: list[str]) -> list[str]:
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise DatasetFileError(f"{path}:{line}: column(s) named twice: "
                               f"{', '.join(map(repr, repeated))}")
    return header


CHUNK_ROWS = 100_000  # rows per chunk of a streamed import: ~0.5 GB at ACLED's width


def iter_tables(path: Path, id_col: str, chunk_rows: int = CHUNK_ROWS) -> Iterator[Table]:
    """The CSV as `Table`s of at most `chunk_rows` rows each, holding one chunk at a time:
    cells exactly as written; the HXL tag row, when the second row is one, skipped by what it
    is; a row whose cell count differs from the header's reported, since its cells cannot be
    matched to columns; a CSV conflictmap exported gets its neutralised formula cells back as
    they were (see `unneutralise`)."""
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    reader = csv.reader(_lines(path))
    start, header, hxl_next, at, ours, sent = 1, [], False, None, False, 0
    rows: list[list[str]] = []
    lines: list[int] = []
    skipped: list[Skipped] = []

    def table() -> Table:
        frame = pd.DataFrame(rows, columns=header, dtype=object)
        if ours:
            frame.columns = [unneutralise(c) for c in header]
            for c in frame.columns:
                frame[c] = unneutralise_column(frame[c])
        return Table(path, list(frame.columns), frame, list(lines), list(skipped), ours)

    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not cells:
                continue
            if not header:
                header, hxl_next = _check_header(path, line, cells), True
                ours = "sources_json" in header and "id_cm" in header
                if not ours and id_col not in header:
                    shown = ", ".join(map(repr, header[:8])) + (", ..." if len(header) > 8
                                                                else "")
                    raise DatasetFileError(f"{path}:1: no {id_col!r} column; is it the right "
                                           f"dataset? (columns: {shown})")
                at = header.index(id_col) if id_col in header else None
                continue
            if hxl_next and _is_hxl(cells):
                hxl_next = False
                continue
            hxl_next = False
            if len(cells) != len(header):
                rid = cells[at] if at is not None and at < len(cells) else ""
                skipped.append(Skipped(line, rid, f"{len(cells)} cells where the header has "
                                                  f"{len(header)} columns", str(path)))
                continue
            rows.append(cells)
            lines.append(line)
            if len(rows) >= chunk_rows:
                yield table()
                sent += len(rows)
                rows.clear()
                lines.clear()
                skipped.clear()
    except csv.Error as exc:
        why = (f"a cell of over {FIELD_LIMIT:,} characters starts here; a quote left open?"
               if "field larger" in str(exc) else f"not readable as CSV: {exc}")
        raise DatasetFileError(f"{path}:{start}: {why}") from None
    if not header:
        raise DatasetFileError(f"{path}: no header row: the file is empty or blank")
    if not sent and not rows and not skipped:
        raise DatasetFileError(f"{path}: a header but no rows")
    if rows or skipped or not sent:
        yield table()


# ---------------------------------------------------------------- column helpers


class Derived:
    """Record columns derived from a table, and the problems found per row on the way."""

    def __init__(self, table: Table, schema: Schema = SCHEMA):
        self.table = table
        self.schema = schema
        self.f = table.frame
        self.n = len(self.f)
        self.errors: dict[int, list[str]] = {}

    def text(self, name: str) -> pd.Series:
        """A column's cells without surrounding spaces ("" where the dataset has no such
        column); for deriving our fields only, the cells themselves stay as they are."""
        if name not in self.f:
            return pd.Series([""] * self.n, index=self.f.index, dtype=object)
        return self.f[name].str.strip()

    def raw(self, name: str) -> pd.Series:
        """A column's cells exactly as written ("" where the file has no such column)."""
        if name not in self.f:
            return pd.Series([""] * self.n, index=self.f.index, dtype=object)
        return self.f[name]

    def optional(self, name: str) -> pd.Series:
        """A column's text, None where empty."""
        s = self.text(name)
        return s.where(s != "", None)

    def whole(self, name: str) -> pd.Series:
        """A column of whole numbers as floats (NaN where empty); other text (`inf`, `nan`,
        `1.5`) and numbers beyond what a float holds exactly (2**53) are problems."""
        s = self.text(name)
        num = pd.to_numeric(s, errors="coerce").astype(float)
        whole = np.isfinite(num) & (num == np.floor(num))
        bad = (s != "") & ~whole
        big = whole & (np.abs(num) >= 2**53)
        self.fail(bad, lambda i: f"{name}: {s.iat[i]!r} is not a whole number")
        self.fail(big, lambda i: f"{name}: {s.iat[i]!r} is too large")
        return num.where(~(bad | big))

    def number(self, name: str) -> pd.Series:
        """A column of numbers (NaN where empty); other text is a problem."""
        s = self.text(name)
        num = pd.to_numeric(s, errors="coerce").astype(float)
        self.fail((s != "") & ~np.isfinite(num), lambda i: f"{name}: {s.iat[i]!r} is not a number")
        return num.where(s != "")

    def flag(self, name: str) -> list[bool | None]:
        """A column of true/false (None where empty); other text is a problem."""
        s = self.text(name).str.lower()
        self.fail(~s.isin(["", "true", "false"]), lambda i: f"{name}: {s.iat[i]!r} is not "
                  "true or false")
        return [None if v not in ("true", "false") else v == "true" for v in s.tolist()]

    def real(self, name: str) -> pd.Series:
        s = self.text(name)
        num = pd.to_numeric(s, errors="coerce").astype(float)
        bad = ~np.isfinite(num)
        self.fail(bad, lambda i: f"{name}: {s.iat[i]!r} is not a number")
        return num

    def day(self, name: str) -> pd.Series:
        """ISO dates from the forms the datasets write (2020-11-26, 26 November 2020,
        2020-11-26 00:00:00.000, ...); a cell that is none of them is a problem."""
        s = self.text(name)
        out = pd.Series([None] * self.n, index=self.f.index, dtype=object)
        for fmt in ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y", "%m/%d/%Y"):
            todo = out.isna() & (s != "")
            if not todo.any():
                break
            part = s[todo].str.slice(0, 10) if fmt == "%Y-%m-%d" else s[todo]
            when = pd.to_datetime(part, format=fmt, errors="coerce")
            out[todo] = when.dt.strftime("%Y-%m-%d").where(when.notna(), None)
        self.fail(out.isna() & (s != ""), lambda i: f"{name}: {s.iat[i]!r} is not a date")
        return out

    def fail(self, mask: pd.Series | np.ndarray, message: Callable[[int], str]) -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)).tolist():
            self.errors.setdefault(i, []).append(message(i))


_ID_RE = re.compile(ID_PATTERN)


def ids(raw: pd.Series) -> pd.Series:
    """The dataset's ids as they are when our id rules allow, else a slug of them."""
    ok = raw.str.fullmatch(ID_PATTERN[1:-1]).fillna(False).astype(bool)
    slugged = raw.str.replace(r"[^A-Za-z0-9]+", "-", regex=True).str.strip("-")
    return raw.where(ok, slugged)


def _code(values: pd.Series, table: dict[int, str], default: str | None) -> list[str | None]:
    return [default if v != v else table.get(int(v), default) for v in values.tolist()]


def _opt_int(v: float) -> int | None:
    return None if v != v else int(v)


def _split(text: str, sep: str = ";") -> list[str]:
    return [part.strip() for part in text.split(sep) if part.strip()]


def _json(values: list[Any]) -> list[str]:
    return [json.dumps(v, ensure_ascii=False, separators=(", ", ": ")) for v in values]


def _dataset_json(table: Table, kind: str) -> list[str]:
    """Each row's cells, in the file's order, as the JSON of the record's `dataset` part."""
    keys = [_quote(c) for c in table.header]
    head = '{"name": ' + _quote(kind) + ', "columns": {'
    return [head + ", ".join(f"{k}: {_quote(v)}" for k, v in zip(keys, cells, strict=True))
            + "}}" for cells in table.frame.itertuples(index=False, name=None)]


def _location(name: pd.Series, country: list[str | None], lat: pd.Series, lon: pd.Series,
              precision: list[str | None]) -> list[dict[str, Any]]:
    out = []
    for n, c, y, x, p in zip(name.tolist(), country, lat.tolist(), lon.tolist(), precision,
                             strict=True):
        loc = {"name": n, "country": c, "lat": y, "lon": x, "precision": p}
        out.append({k: v for k, v in loc.items() if v is not None and v == v})
    return out


def _with_parts(d: Derived, cols: dict[str, Any], loc: list[dict[str, Any]],
                **parts: list[Any]) -> pd.DataFrame:
    """The records table, with the nested parts we built kept beside their JSON text, so the
    bulk checks need not parse back what we have just written (`Table.parts`)."""
    for name, values in parts.items():
        cols[f"{name}_json"] = _json(values)
    out = _frame(d, cols, loc)
    nothing = [None] * d.n  # parts this dataset never fills; `dataset` is ours, cell by cell
    d.table.parts = {k: parts.get(k, nothing) for k in d.schema.nested if k != "location"}
    return out


def _frame(d: Derived, cols: dict[str, Any], loc: list[dict[str, Any]]) -> pd.DataFrame:
    out = pd.DataFrame({c: cols.get(c) for c in d.schema.table_columns}, index=range(d.n),
                       dtype=object)
    out["location_json"] = _json(loc)
    out["_loc"] = loc
    return out


# ---------------------------------------------------------------- ACLED


@cache
def _country_codes() -> tuple[dict[str, str], dict[str, str]]:
    """ISO numeric -> ISO2, and English name (case-folded) -> ISO2."""
    table = country_table()
    return table["iso_n3"], {v.casefold(): k for k, v in table["name"].items()}


def _acled_country(d: Derived) -> list[str | None]:
    by_number, by_name = _country_codes()
    numbers = d.whole("iso").tolist()
    names = d.text("country").str.casefold().tolist()
    return [(by_number.get(str(int(k))) if k == k else None) or by_name.get(m)
            for k, m in zip(numbers, names, strict=True)]


def acled_table(table: Table, schema: Schema = SCHEMA,
                ) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """An ACLED export as records: roles from actor1/2 and assoc_actor_1/2 (with inter codes),
    `source` as provenance (not a quote), fatalities only where the row has them."""
    d = Derived(table, schema)
    when = d.day("event_date")
    inter1, inter2 = d.whole("inter1").tolist(), d.whole("inter2").tolist()
    actors = []
    for a1, s1, i1, a2, s2, i2 in zip(d.text("actor1"), d.text("assoc_actor_1"), inter1,
                                      d.text("actor2"), d.text("assoc_actor_2"), inter2,
                                      strict=True):
        row = [{"name": a1, "role": "side_a", "inter": _opt_int(i1)}] if a1 else []
        row += [{"name": n, "role": "assoc_a"} for n in _split(s1)]
        row += [{"name": a2, "role": "side_b", "inter": _opt_int(i2)}] if a2 else []
        row += [{"name": n, "role": "assoc_b"} for n in _split(s2)]
        actors.append([{k: v for k, v in a.items() if v is not None} for a in row])
    stamp = d.whole("timestamp")
    d.fail((stamp < 0) | (stamp >= 2**33), lambda i: f"timestamp: {d.text('timestamp').iat[i]!r}"
           " is not a time in seconds from 1970 (to 2242)")
    published = [datetime.fromtimestamp(s, UTC).date().isoformat()
                 if s == s and 0 <= s < 2**33 else w for s, w in zip(stamp, when, strict=True)]
    place, sub = d.optional("location"), d.optional("sub_event_type")
    etype = d.text("event_type")
    provenance = d.optional("source").tolist()
    loc = _location(place, _acled_country(d), d.real("latitude"), d.real("longitude"),
                    _code(d.whole("geo_precision"), ACLED_GEO_BACK, None))
    fatalities = d.whole("fatalities")
    cols = {
        "id": ids(d.text("event_id_cnty")),
        "date": when,
        "date_precision": _code(d.whole("time_precision"), ACLED_TIME_BACK, "day"),
        "title": (sub.fillna(etype) + ": " + place.fillna("")).str.rstrip(": "),
        "event_type": etype, "sub_event_type": sub,
        "description": d.optional("notes"),
        "fatalities": [None if v != v else int(v) for v in fatalities.tolist()],
        "status": "reported",
        "dataset_json": _dataset_json(table, "acled"),
    }
    sources = [[{k: v for k, v in (("publisher", "ACLED"), ("published", p),
                                   ("provenance", s)) if v is not None}]
               for p, s in zip(published, provenance, strict=True)]
    return _with_parts(d, cols, loc, actors=actors, sources=sources,
                       tags=[_split(t) for t in d.text("tags")]), d.errors


# ---------------------------------------------------------------- UCDP GED

UCDP_VIOLENCE = {1: ("Battles", "Armed clash"), 2: ("Battles", "Armed clash"),
                 3: ("Violence against civilians", "Attack")}
UCDP_FIGURES = ("best", "low", "high", "deaths_a", "deaths_b", "deaths_civilians",
                "deaths_unknown")


def ucdp_table(table: Table, schema: Schema = SCHEMA,
               ) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """A UCDP GED export as records: sides as roles, best/low/high and the death splits as
    figures (fatalities = best), `source_headline` as provenance, the row kept whole."""
    d = Derived(table, schema)
    start, end = d.day("date_start"), d.day("date_end")
    violence = d.whole("type_of_violence")
    d.fail(~violence.isin(list(UCDP_VIOLENCE)),
           lambda i: f"type_of_violence: {d.text('type_of_violence').iat[i]!r} is not 1, 2 or 3")
    kinds = [UCDP_VIOLENCE.get(int(v), (None, None)) if v == v else (None, None)
             for v in violence.tolist()]
    counts = {k: d.whole(k).tolist() for k in UCDP_FIGURES}
    figures = [{k: int(counts[k][i]) for k in UCDP_FIGURES if counts[k][i] == counts[k][i]}
               for i in range(d.n)]
    source_date = d.day("source_date")
    actors = [[{"name": a, "role": r} for a, r in ((x, "side_a"), (y, "side_b")) if a]
              for x, y in zip(d.text("side_a"), d.text("side_b"), strict=True)]
    sources = [[{k: v for k, v in (("publisher", p or "UCDP GED"), ("published", s or w),
                                   ("provenance", h)) if v is not None}]
               for p, s, w, h in zip(d.optional("source_article"), source_date, start,
                                     d.optional("source_headline"), strict=True)]
    loc = _location(d.optional("where_description").fillna(d.optional("adm_1")),
                    [None] * d.n, d.real("latitude"), d.real("longitude"),
                    _code(d.whole("where_prec"), UCDP_WHERE_BACK, None))
    title = d.optional("dyad_name").fillna(d.optional("conflict_name")).fillna("UCDP GED event")
    cols = {
        "id": ids(d.text("id")),
        "date": start,
        "end_date": end.where((end != start) & end.notna(), None),
        "date_precision": _code(d.whole("date_prec"), UCDP_DATE_BACK, "day"),
        "title": title,
        "event_type": [k[0] for k in kinds], "sub_event_type": [k[1] for k in kinds],
        "fatalities": [f.get("best") for f in figures],
        "status": "reported",

        "dataset_json": _dataset_json(table, "ucdp"),
    }
    return _with_parts(d, cols, loc, actors=actors, sources=sources, figures=figures), d.errors


# ---------------------------------------------------------------- our own columns


def own_table(table: Table, schema: Schema = SCHEMA) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """A CSV conflictmap exported: our columns (`schema.own_columns`) carry the record whole.
    The dataset part is the row's own cells unless the CSV was written for another dataset.
    Each `*_json` cell is checked here (strict JSON, not nested beyond the parser's limit, the
    part's shape), so a hand-edited or hostile cell is a reason for its row. An empty cell is
    an absent value (null), never an empty text."""
    from .dataset import WHITESPACE, parse_checked

    d = Derived(table, schema)
    parsed: dict[str, list[Any]] = {}
    for k, shape in schema.nested.items():
        parsed[k], errors = parse_checked(d.optional(schema[k].exported).tolist(), shape)
        for i, message in errors.items():
            d.errors.setdefault(i, []).append(f"{k}_json: {message}")
    dataset_cells = [c for c in table.header if c not in schema.own_columns]
    parts = []
    for part, cells in zip(parsed["dataset"], table.frame[dataset_cells]
                           .itertuples(index=False, name=None), strict=True):
        if part is not None and "columns" not in part:
            part["columns"] = dict(zip(dataset_cells, cells, strict=True))
        parts.append(None if part is None else json.dumps(part, ensure_ascii=False))
    cols: dict[str, Any] = {}
    for f in schema.fields:
        if f.nested:
            cols[f.column] = d.optional(f.exported)
        elif f.scalar == "int":
            cols[f.name] = [None if v != v else int(v) for v in d.whole(f.exported).tolist()]
        elif f.scalar == "float":
            cols[f.name] = [None if v != v else v for v in d.number(f.exported).tolist()]
        elif f.scalar == "bool":
            cols[f.name] = d.flag(f.exported)
        else:  # the cell as written (the model strips it); empty or blank is absent
            raw = d.raw(f.exported)
            cols[f.name] = raw.where(raw.str.strip(WHITESPACE) != "", None)
    cols["id"] = d.text(schema["id"].exported)  # the key: compared before the model sees it
    cols["dataset_json"] = parts
    out = _frame(d, cols, [v or {} for v in parsed["location"]])
    out["location_json"] = d.optional("location_json")
    return out, d.errors


READERS: dict[str, tuple[Callable[..., tuple[pd.DataFrame, dict[int, list[str]]]], str]] = {
    "acled": (acled_table, "event_id_cnty"), "ucdp": (ucdp_table, "id")}


def derive(kind: str, path: Path, schema: Schema = SCHEMA,
           ) -> tuple[Table, pd.DataFrame, dict[int, list[str]]]:
    """The file as a records table (the schema's columns, plus `_loc` and `_line`), the
    problems found per row, and the table it came from."""
    table = read_table(path, READERS[kind][1])
    return table, *derive_table(kind, table, schema)


def derive_table(kind: str, table: Table, schema: Schema = SCHEMA,
                 ) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """A table's records (plus `_loc` and `_line`) and the problems found per row."""
    ours = "sources_json" in table.header and "id_cm" in table.header
    records, errors = own_table(table, schema) if ours else READERS[kind][0](table, schema)
    records["_line"] = table.lines
    return records, errors


# ---------------------------------------------------------------- imports


@dataclass
class ImportReport:
    written: list[Path]
    events: list[Event]
    skipped: list[Skipped]


def convert(kind: str, path: Path, schema: Schema = SCHEMA,
            ) -> tuple[list[Event], list[Skipped]]:
    """Validated events from a dataset CSV, and the rows skipped with their reasons."""
    events, _, skipped = _convert(kind, path, schema)
    return events, skipped


def _convert(kind: str, path: Path, schema: Schema = SCHEMA,
             ) -> tuple[list[Event], list[int], list[Skipped]]:
    """Validated events, the line each came from, and the rows skipped."""
    from .dataset import record_from_row

    table, records, errors = derive(kind, path, schema)
    events, lines, skipped = [], [], list(table.skipped)
    id_col = READERS[kind][1]
    raw_ids = table.frame[id_col].tolist() if id_col in table.frame else [""] * len(records)
    for i, rec in enumerate(records.drop(columns=["_loc"]).to_dict("records")):
        line, rid = int(rec["_line"]), raw_ids[i]
        if i in errors:
            skipped.append(Skipped(line, rid, "; ".join(errors[i]), str(path)))
            continue
        if not _ID_RE.match(rec["id"] or ""):
            skipped.append(Skipped(line, rid, f"cannot make an id from {rid!r}", str(path)))
            continue
        try:
            events.append(schema.model.model_validate(drop_none(record_from_row(rec, schema))))
            lines.append(line)
        except (ValidationError, ValueError) as exc:
            why = ("; ".join(f"{field_name(tuple(e['loc']))}: {e['msg']}" for e in exc.errors())
                   if isinstance(exc, ValidationError) else str(exc))
            skipped.append(Skipped(line, rid, why, str(path)))
    return events, lines, skipped


def import_csv(kind: str, path: Path, events_dir: Path, dry_run: bool = False,
               schema: Schema = SCHEMA) -> ImportReport:
    """Write one event file per row; never overwrites (ids in use are skipped and reported,
    also when another import writes the same ids at the same time).

    The folder's ids are read once and the files written in one pass, so N rows cost O(N).
    """
    if events_dir.exists() and not events_dir.is_dir():
        raise ImportFailed(f"{events_dir}: not a folder; --events names the events folder")
    events, lines, skipped = _convert(kind, path, schema)
    taken = taken_ids(events_dir)
    first: dict[str, int] = {}  # id or file name -> the line that had it first
    kept, line_of = [], {}
    for ev, line in zip(events, lines, strict=True):
        key, name = (ev.id or "").casefold(), import_file_name(kind, ev)
        if key in taken:
            why = f"id already in use ({taken[key]})"
        elif key in first:
            why = f"id {ev.id} already on line {first[key]}"
        elif name in first:  # ids that differ only in punctuation share a file name
            why = f"its file name {name} is that of line {first[name]}"
        else:
            first[key] = first[name] = line
            kept.append(ev)
            line_of[id(ev)] = line
            continue
        skipped.append(Skipped(line, ev.id or "", why, str(path)))
    if dry_run:
        return ImportReport([], kept, sorted(skipped, key=lambda s: s.line))
    try:
        written, clashes = write_events(events_dir, kept,
                                        name=lambda ev: import_file_name(kind, ev))
    except OSError as exc:
        raise ImportFailed(f"{events_dir}: cannot write event files: "
                           f"{exc.strerror or exc}") from None
    for ev, reason in clashes:
        skipped.append(Skipped(line_of[id(ev)], ev.id or "", reason, str(path)))
    lost = {id(e) for e, _ in clashes}
    return ImportReport(written, [ev for ev in kept if id(ev) not in lost],
                        sorted(skipped, key=lambda s: s.line))


def import_file_name(kind: str, ev: Event) -> str:
    """`YYYY-MM-DD-<dataset>-<its id>.yaml`: sorted by date, the row findable by its id."""
    return f"{ev.day.isoformat()}-{slug(f'{kind}-{ev.id}')}.yaml"


@dataclass
class DatasetReport:
    written: list[Path]
    rows: int
    skipped: list[Skipped]


def import_to_dataset(kind: str, path: Path, target: Path, schema: Schema = SCHEMA, *,
                      engine: Engine | None = None, by: str = "year",
                      chunk_rows: int = CHUNK_ROWS) -> DatasetReport:
    """All valid rows into one dataset file, checked in bulk like `build --dataset` (the model
    has the last word on the rows that fail: its reasons, or the row as it makes it); never
    overwrites an existing file. A `.parquet` target is a GeoParquet dataset (partitioned `by`
    year or month) written from the CSV streamed in chunks, on `engine` (the chunks checked
    and written by its workers); any other is one GPKG, read whole."""
    from .geoparquet import is_parquet

    if not is_parquet(target) and Path(target).suffix.lower() != ".gpkg":
        raise UsageError(f"--to {target}: a dataset is NAME.gpkg (GeoPackage) or NAME.parquet "
                         "(GeoParquet); for other formats import, then `conflictmap export`")
    if is_parquet(target):
        return stream_to_parquet(kind, path, target, schema, engine=engine, by=by,
                                 chunk_rows=chunk_rows)
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file name")
    table, records, errors = derive(kind, path, schema)
    good, skipped = checked_rows(kind, table, records, errors, schema)
    if len(good):  # no row kept: no empty file that would refuse the corrected rerun
        _write_gpkg(good, target, schema)
    return DatasetReport([target] if len(good) else [], len(good),
                         sorted(skipped, key=lambda s: s.line))


def checked_rows(kind: str, table: Table, records: pd.DataFrame, errors: dict[int, list[str]],
                 schema: Schema = SCHEMA) -> tuple[pd.DataFrame, list[Skipped]]:
    """The rows to keep (valid, each id's first row) and the others with their reasons."""
    from .dataset import bulk_ok, model_verdict, remake

    path = table.path
    skipped = list(table.skipped)
    ok = bulk_ok(records, records["_loc"].tolist(), table.parts, schema)
    ok[list(errors)] = False
    id_col = READERS[kind][1]
    raw = table.frame[id_col] if id_col in table.frame else records["id"]
    line = records["_line"]
    remade: dict[int, Event] = {}
    for i in np.flatnonzero(~ok).tolist():
        if i in errors:
            reason = "; ".join(errors[i])
        else:  # the bulk checks only pre-filter: the model has the last word
            ev, found = model_verdict(records.iloc[i].to_dict(), schema)
            if ev is not None:
                ok[i], remade[i] = True, ev
                continue
            reason = "; ".join(f"{f}: {m}" for f, m in found)
        skipped.append(Skipped(int(line.iat[i]), str(raw.iat[i]), reason, str(path)))
    if remade:  # kept as the model makes them (stripped text, upper-case country)
        records = remake(records, remade, schema)
        records["_loc"] = [remade[i].location.model_dump() if i in remade else v
                           for i, v in enumerate(records["_loc"].tolist())]
    # an id seen before on a row that is kept: the later row goes, naming the first one's line
    key = records["id"].str.casefold().where(ok)
    dup = (key.duplicated(keep="first") & key.notna()).to_numpy()
    first_line = line.groupby(key).transform("first")
    for i in np.flatnonzero(dup).tolist():
        skipped.append(Skipped(int(line.iat[i]), str(raw.iat[i]),
                               f"id {records['id'].iat[i]} already on line "
                               f"{int(first_line.iat[i])}", str(path)))
    return records[ok & ~dup], skipped


def _write_gpkg(good: pd.DataFrame, target: Path, schema: Schema) -> None:
    from .dataset import write_table

    try:
        write_table(good, target, overwrite=False, schema=schema)
    except FileExistsError as exc:
        if not target.exists():  # a file where a folder on the way should be
            raise ImportFailed(f"{target}: cannot write the dataset: {exc.strerror}: "
                               f"{exc.filename}") from None
        raise FileExistsError(f"{target} exists (written meanwhile by another import?); "
                              "choose a new file name") from None
    except OSError as exc:
        raise ImportFailed(f"{target}: cannot write the dataset: {exc.strerror or exc}") from None


@dataclass
class ChunkDone:
    """What a chunk's task hands back: the parts it wrote and its kept rows' ids and lines
    (for the ids seen in earlier chunks), and the rows it skipped."""

    parts: list[str]
    ids: list[str]
    raw_ids: list[str]
    lines: list[int]
    skipped: list[Skipped]


def import_chunk(kind: str, table: Table, schema: Schema, staging: Staging, seq: int,
                 by: str) -> ChunkDone:
    """One chunk of a streamed import: derive, check, keep each id's first row, write the
    rows as parts (one per period). Runs on a worker; needs nothing but its arguments."""
    from .dataset import table_frame, typed_text
    from .geoparquet import write_periods

    records, errors = derive_table(kind, table, schema)
    good, skipped = checked_rows(kind, table, records, errors, schema)
    parts = write_periods(typed_text(table_frame(good, schema), schema), staging, seq, by)
    id_col = READERS[kind][1]
    raw = (table.frame[id_col] if id_col in table.frame else records["id"]).to_numpy()
    return ChunkDone(parts, good["id"].tolist(), [str(v) for v in raw[good.index.to_numpy()]],
                     good["_line"].astype(int).tolist(), skipped)


def drop_ids(parts: list[str], ids: set[str]) -> None:
    """Rewrite parts without the rows of these ids (casefolded): ids an earlier chunk kept."""
    import geopandas as gpd

    from .geoparquet import write_part

    for part in parts:
        frame = gpd.read_parquet(part)
        frame = frame.drop(columns=[c for c in ("bbox",) if c in frame])
        keep = ~frame["id"].str.casefold().isin(ids).to_numpy()
        if not keep.all():
            write_part(frame[keep].reset_index(drop=True), part)


class SeenIds:
    """The ids kept so far (casefolded) with their lines, in bounded memory: 64-bit hashes
    in one sorted array (16 bytes an id: 10M ids in 160 MB instead of ~1 GB of strings).
    Two different ids with one hash would be reported as a duplicate of that line (odds
    ~3e-6 for 10M ids), never dropped without a word."""

    def __init__(self) -> None:
        self.hashes = np.zeros(0, dtype=np.uint64)
        self.lines = np.zeros(0, dtype=np.int64)

    @staticmethod
    def hash(ids: list[str]) -> np.ndarray:
        return pd.util.hash_array(np.asarray([i.casefold() for i in ids], dtype=object))

    def first_lines(self, hashes: np.ndarray) -> np.ndarray:
        """The line each hash was first kept on, or 0."""
        at = np.searchsorted(self.hashes, hashes)
        at = np.minimum(at, max(len(self.hashes) - 1, 0))
        if not len(self.hashes):
            return np.zeros(len(hashes), dtype=np.int64)
        return np.where(self.hashes[at] == hashes, self.lines[at], 0)

    def add(self, hashes: np.ndarray, lines: np.ndarray) -> None:
        """Merged into place (one copy of each array at a time, not a sort of all of them:
        at 10M ids the difference is ~300 MB of the command's peak)."""
        order = np.argsort(hashes, kind="stable")
        at = np.searchsorted(self.hashes, hashes[order])
        self.hashes = np.insert(self.hashes, at, hashes[order])
        self.lines = np.insert(self.lines, at, np.asarray(lines)[order])


def stream_to_parquet(kind: str, path: Path, target: Path | str, schema: Schema = SCHEMA, *,
                      engine: Engine | None = None, by: str = "year",
                      chunk_rows: int = CHUNK_ROWS) -> DatasetReport:
    """The CSV, streamed in chunks, as a GeoParquet dataset: each chunk checked and written
    as parts by the engine (in order on the pandas engine, on the workers with dask, a few
    chunks in flight so memory stays bounded); an id an earlier chunk kept is then taken out
    of the later chunk's parts. Appears whole at `target` or not at all."""
    from .engine import local
    from .geoparquet import Staging

    engine = engine or local()
    try:
        staging = Staging.open(target)
    except FileExistsError:
        raise FileExistsError(f"{target} exists; choose a new file name") from None
    except OSError as exc:
        raise ImportFailed(f"{target}: cannot write the dataset: {exc.strerror or exc}") from None
    seen, skipped, rows = SeenIds(), [], 0
    try:
        tables = iter_tables(path, READERS[kind][1], chunk_rows)
        done = engine.map(import_chunk, ((kind, t, schema, staging, seq, by)
                                         for seq, t in enumerate(tables)),
                          ahead=engine.workers + 1)  # a chunk is ~0.3 GB here until sent
        for chunk in done:
            skipped += chunk.skipped
            hashes = SeenIds.hash(chunk.ids)
            first = seen.first_lines(hashes)
            again = first > 0
            if again.any():
                for i in np.flatnonzero(again).tolist():
                    skipped.append(Skipped(chunk.lines[i], chunk.raw_ids[i],
                                           f"id {chunk.ids[i]} already on line {first[i]}",
                                           str(path)))
                engine.run(drop_ids, chunk.parts,
                           {chunk.ids[i].casefold() for i in np.flatnonzero(again)})
            seen.add(hashes[~again], np.asarray(chunk.lines, dtype=np.int64)[~again])
            rows += int((~again).sum())
        if rows:  # no row kept: nothing to publish, and the name stays free for the rerun
            staging.commit()
    except FileExistsError:
        raise
    except OSError as exc:
        raise ImportFailed(f"{target}: cannot write the dataset: {exc.strerror or exc}") from None
    finally:
        staging.abort()
    return DatasetReport([Path(target)] if rows else [], rows,
                         sorted(skipped, key=lambda s: s.line))
