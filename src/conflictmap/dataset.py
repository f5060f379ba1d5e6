"""Many events as one file: a GeoPackage table holding whole records, for imports too big to
keep as one YAML file each (ACLED has tens of thousands of rows per country-year).

Each row is one record (the same fields as a YAML file, nested parts as JSON text) plus a point,
so any GIS opens it, and `build --dataset` validates it with the same model as the YAML.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
from pydantic import ValidationError
from shapely import points

from . import jsontext
from .atomic import write_via_temp
from .datasetcache import cached
from .geoparquet import Staging, _fs, is_parquet, is_url, parts, read_part, write_periods
from .model import (
    ACLED_TYPES,
    BBOX_MARGIN_DEG,
    ID_PATTERN,
    MAX_COUNT,
    MAX_QUOTE_CHARS,
    DatePrecision,
    Event,
    GeoPrecision,
    Role,
    Status,
    check_http_url,
    country_bboxes,
)
from .record import DATASET_ID, SCHEMA, Schema, event_to_data, schema_of
from .store import InvalidEvents
from .yamlio import Problem, field_name

if TYPE_CHECKING:
    from .aggregate import Window

LAYER = "events"
# the standard record's lists, for callers that only handle it
JSON_SHAPES = SCHEMA.nested
JSON_FIELDS = tuple(JSON_SHAPES)
COLUMNS = SCHEMA.table_columns
SCALAR_DEFAULTS = SCHEMA.defaults


# json.dumps(v, ensure_ascii=False, default=str), nine times a record
_to_json = jsontext.encoder(default=str)


def flat_record(ev: Event) -> dict[str, Any]:
    """One event as a dataset row: plain fields, nested parts as JSON text (its own model's
    fields, so a subclass's extra field gets its column too)."""
    return flat_and_data(ev)[0]


def flat_and_data(ev: Event) -> tuple[dict[str, Any], dict[str, Any]]:
    """`flat_record`, and the event's plain data (`event_to_data`) it was made from."""
    nested = schema_of(type(ev)).nested
    data = event_to_data(ev)
    row = {k: v for k, v in data.items() if k not in nested}
    for k in ("date", "end_date"):
        if k in row:
            row[k] = row[k].isoformat()
    for k in nested:
        row[f"{k}_json"] = _to_json(data.get(k))
    return row, data


def write_dataset(events: list[Event], target: Path, schema: Schema | None = None) -> Path:
    """All events into one GPKG table (atomically). Each needs a lat/lon point. The columns are
    those of `schema` (by default the events' own model's)."""
    schema = schema or schema_of(type(events[0]) if events else Event)
    rows = pd.DataFrame([flat_record(ev) for ev in events], columns=schema.table_columns)
    rows["_loc"] = [ev.location.model_dump() for ev in events]
    return write_table(rows, target, schema=schema)


def write_table(records: pd.DataFrame, target: Path, *, overwrite: bool = True,
                schema: Schema = SCHEMA, by: str = "year") -> Path:
    """A records table (the schema's columns, and `_loc` with each row's point) as one GPKG
    table, or a GeoParquet dataset partitioned `by` year or month when `target` ends in
    .parquet; atomically (never over a file that exists unless `overwrite`)."""
    frame = table_frame(records, schema)
    if is_parquet(target):
        staging = Staging.open(target, overwrite)
        try:
            write_periods(typed_text(frame, schema), staging, 0, by)
            return Path(staging.commit())
        finally:
            staging.abort()
    return write_via_temp(target, lambda t: pyogrio.write_dataframe(
        frame, t, driver="GPKG", layer=LAYER), overwrite=overwrite)


def table_frame(records: pd.DataFrame, schema: Schema = SCHEMA) -> gpd.GeoDataFrame:
    """A records table as the dataset's rows: its columns, nullable types, a WGS84 point."""
    loc = records["_loc"].tolist()
    lon = np.array([_number(x.get("lon")) for x in loc], dtype=float)
    lat = np.array([_number(x.get("lat")) for x in loc], dtype=float)
    geometry = points(lon, lat)
    geometry[np.isnan(lon) | np.isnan(lat)] = None  # a place named, not yet geocoded: no point
    frame = gpd.GeoDataFrame(records[schema.table_columns].reset_index(drop=True),
                             geometry=geometry, crs=4326)
    for f in schema.fields:  # nullable types: an absent count is null, not NaN or 0
        if f.nested is None and f.scalar in NULLABLE:
            frame[f.name] = pd.array(frame[f.name].tolist(), dtype=NULLABLE[f.scalar])
    return frame


def typed_text(frame: gpd.GeoDataFrame, schema: Schema = SCHEMA) -> gpd.GeoDataFrame:
    """Text columns typed as text: a part whose rows all lack a value (no end date in a
    chunk) must still say `string`, or the parts of one dataset would disagree on the type."""
    text = [c for c in schema.table_columns if c in frame and frame[c].dtype == object]
    return frame.astype(dict.fromkeys(text, "str")) if text else frame


NULLABLE = {"int": "Int64", "float": "Float64", "bool": "boolean"}
# Python-backed text for the bulk checks: with pyarrow installed pandas' "string" is
# Arrow-backed, whose comparisons give Arrow booleans that do not mix with masked ones
TEXT = pd.StringDtype("python")


def model_verdict(row: dict[str, Any], schema: Schema = SCHEMA,
                  ) -> tuple[Event | None, list[tuple[str, str]]]:
    """The model's verdict on a table row: the event it makes of it, or the problems (field,
    message). A row needs its id: unlike a YAML file, it has no file name to default to."""
    ident = row.get("id")
    if ident is None or ident != ident:
        return None, [("id", "a dataset row needs an id")]
    try:
        return schema.model.model_validate(record_from_row(row, schema)), []
    except ValidationError as exc:
        return None, [(field_name(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
    except ValueError as exc:  # JSON text that does not parse
        return None, [("(row)", str(exc))]


def explain(row: dict[str, Any], schema: Schema = SCHEMA) -> str | None:
    """Why the model refuses a row the bulk checks failed (its messages, field by field), or
    None when the model accepts it: the bulk checks only pre-filter, the model decides."""
    problems = model_verdict(row, schema)[1]
    return "; ".join(f"{f}: {m}" for f, m in problems) if problems else None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# Python's json accepts NaN and Infinity; browsers' JSON.parse and other tools do not
_STRICT = json.JSONDecoder(parse_constant=_not_json)


def parse_column(values: list[str | None]) -> list[Any]:
    """Many JSON texts parsed in one C-level call instead of one call per row.

    The texts are joined with a token string between them that no cell can predict (a new
    one each call): a cell such as `1],[2` that would shift values into its neighbours' rows
    moves a token, and the column is then parsed cell by cell, each as one value.
    """
    mark = secrets.token_hex(16)
    joined = f',"{mark}",'.join(v if isinstance(v, str) else "null" for v in values)
    parsed = _STRICT.decode("[" + joined + "]")
    cells, marks = parsed[0::2], parsed[1::2]
    if len(cells) == len(values) and marks.count(mark) == len(marks):
        return cells
    return [_STRICT.decode(v) if isinstance(v, str) else None for v in values]


_BROKEN = object()  # marks a row whose text did not parse
_DEEP = object()  # marks a row nested deeper than the parser's recursion limit


def parse_checked(values: list[str | None], shape: type) -> tuple[list[Any], dict[int, str]]:
    """Parse a column of JSON texts; rows that are not strict JSON of the expected shape come
    back as None, with a message by row number. Nesting too deep for the parser (a hostile
    or mangled file) is a message for that row too, not a RecursionError."""
    try:
        parsed = parse_column(values)
    except (ValueError, RecursionError):  # find the culprits one by one: only when one is bad
        parsed = []
        for v in values:
            try:
                parsed.append(parse_column([v])[0])
            except ValueError:
                parsed.append(_BROKEN)
            except RecursionError:
                parsed.append(_DEEP)
    errors: dict[int, str] = {}
    for i, v in enumerate(parsed):
        if v is _BROKEN:
            errors[i] = f"not valid JSON: {values[i]!r:.60}"
        elif v is _DEEP:
            errors[i] = f"JSON nested too deeply: {values[i]!r:.60}"
        elif v is not None and not isinstance(v, shape):
            errors[i] = f"expected a JSON {'object' if shape is dict else 'array'}"
        else:
            continue
        parsed[i] = None
    return parsed, errors


def record_from_row(rec: dict[str, Any], schema: Schema = SCHEMA) -> dict[str, Any]:
    """A dataset row (flat, JSON text for nested parts) as record data for the model."""
    data: dict[str, Any] = {}
    columns = set(schema.table_columns)
    for k, v in rec.items():
        if k not in columns or v is None or v != v:
            continue
        if k.endswith("_json"):
            parsed = parse_column([v])[0]
            if parsed is not None:
                data[k[:-5]] = parsed
        else:
            data[k] = v  # as stored: the model says whether 1.5 deaths is a count
    return data


_PAIRS = {f"{t}|{s}" for t, subs in ACLED_TYPES.items() for s in subs}

# The characters pydantic's `str_strip_whitespace` strips (Rust's `trim`, Unicode White_Space;
# measured with pydantic 2.12): Python's `str.strip` also strips \x1c-\x1f, which the model
# keeps, so a length or emptiness check with Python's strip would disagree with the model.
WHITESPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
              "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def bulk_ok(frame: pd.DataFrame, loc: list[dict[str, Any]],
            parts: dict[str, list[Any]] | None = None, schema: Schema = SCHEMA) -> np.ndarray:
    """Fast checks of the model's rules (ids, vocabularies, dates, points in their country,
    links, text lengths, the nested parts' shapes): True where a row passes all of them and is
    already in the form the model would give it (text stripped, country codes upper case), so a
    row kept as it is equals the model's output. A pre-filter: a row it refuses goes to the
    model, whose verdict and output stand. Fields the standard record lacks (a subclass's) are
    left to the model: a row filling one is refused here."""
    if parts is None:
        parts = {k: parse_checked(frame[f"{k}_json"].tolist(), shape)[0]
                 for k, shape in schema.nested.items() if k != "location"}
    text = [c for c in TEXT_COLUMNS if c in frame]
    ok = np.logical_and.reduce([frame[c].map(lambda v: v is None or isinstance(v, str)
                                             or v != v).to_numpy(dtype=bool) for c in text])
    for f in schema.fields:
        if f.name not in Event.model_fields:
            ok &= frame[f.column].isna().to_numpy(dtype=bool)
    ids = frame["id"].astype(TEXT)
    ok &= ids.str.fullmatch(ID_PATTERN[1:-1]).fillna(False).to_numpy()
    ok &= (ids.str.len() <= 120).fillna(False).to_numpy()
    ok &= frame["event_type"].isin(list(ACLED_TYPES)).to_numpy()
    sub = frame["sub_event_type"]
    ok &= (sub.isna() | (frame["event_type"].astype(str) + "|" + sub.astype(str)).isin(_PAIRS)
           ).to_numpy()
    ok &= frame["status"].isin([s.value for s in Status]).to_numpy()
    ok &= frame["date_precision"].isin([d.value for d in DatePrecision]).to_numpy()
    titles = frame["title"].astype(TEXT)
    ok &= (titles.str.strip(WHITESPACE).eq(titles) & (titles.str.len() >= 1)
           & (titles.str.len() <= 300)).fillna(False).to_numpy()
    desc = frame["description"].astype(TEXT)
    ok &= (desc.isna() | (desc.str.strip(WHITESPACE).eq(desc) & (desc.str.len() >= 1))
           ).fillna(False).to_numpy()
    start, end = frame["date"].astype(TEXT), frame["end_date"].astype(TEXT)
    ok &= _when_ok(start).to_numpy()
    ok &= (end.isna() | (_when_ok(end) & (end.str.slice(0, 10) >= start.str.slice(0, 10)))
           ).fillna(False).to_numpy()
    fat = pd.to_numeric(frame["fatalities"], errors="coerce")
    numeric = frame["fatalities"].map(lambda v: v is None or v != v or type(v) in (int, float))
    ok &= (frame["fatalities"].isna() | (numeric & np.isfinite(fat) & (fat >= 0)
                                         & (fat < float(MAX_COUNT + 1))  # 2**63: exact
                                         & (fat == np.floor(fat)))).to_numpy(dtype=bool)
    lat = np.array([_number(x.get("lat")) for x in loc], dtype=float)
    lon = np.array([_number(x.get("lon")) for x in loc], dtype=float)
    ok &= (lat >= -90) & (lat <= 90) & (lon >= -180) & (lon <= 180)
    ok &= np.array([_precision_ok(x.get("precision")) and set(x) <= LOCATION_KEYS
                    and _place_ok(x) for x in loc], dtype=bool)
    ok &= np.array([_sources_ok(v) for v in parts["sources"]], dtype=bool)
    ok &= np.array([_actors_ok(v) for v in parts["actors"]], dtype=bool)
    ok &= np.array([v is None or _texts_ok(v) for v in parts["tags"]], dtype=bool)
    ok &= np.array([v is None or _change_ok(v) for v in parts["control_change"]], dtype=bool)
    ok &= np.array([v is None or _figures_ok(v) for v in parts["figures"]], dtype=bool)
    ok &= np.array([v is None or _dataset_ok(v) for v in parts["dataset"]], dtype=bool)
    return ok


# ---------------------------------------------------------------- the model's rules, fast

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*(?:[+-]\d{2}:?\d{2}|Z)")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
TEXT_COLUMNS = ("id", "date", "end_date", "date_precision", "title", "event_type",
                "sub_event_type", "description", "status")
SOURCE_KEYS = {"url", "publisher", "published", "quote", "provenance", "archive_url",
               "accessed"}
ACTOR_KEYS = {"name", "role", "inter"}
ROLES = {r.value for r in Role} | {None}


def _when_ok(values: pd.Series) -> pd.Series:
    """An ISO date, or a date-time with its UTC offset (as `model._parse_when` wants)."""
    plain = values.str.len() == 10
    parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce").notna()
    return (parsed & (plain & values.str.fullmatch(_DATE.pattern).fillna(False)
                      | ~plain & values.str.fullmatch(_OFFSET.pattern).fillna(False))
            ).fillna(False)


def _stripped(v: Any) -> bool:
    """Text as the model leaves it: nothing for its whitespace stripping to take off."""
    return isinstance(v, str) and v == v.strip(WHITESPACE)


def _text(v: Any, limit: int | None = None) -> bool:
    """Non-empty stripped text within `limit` characters."""
    return _stripped(v) and len(v) >= 1 and (limit is None or len(v) <= limit)


def _url_ok(v: Any) -> bool:
    """The model's own link check (urlsplit's IPv6 and NFKC rules included), on stripped text."""
    if not _stripped(v):
        return False
    try:
        check_http_url(v)
    except ValueError:  # PydanticCustomError and urlsplit's errors are both ValueErrors
        return False
    return True


def _day(v: Any) -> bool:
    if not isinstance(v, str) or not _DATE.fullmatch(v):
        return False
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


def _number(v: Any) -> float:
    """A coordinate as the model takes it (a JSON number); NaN for anything else, which the
    range check then refuses (a NaN compares false)."""
    return float(v) if type(v) in (int, float) else np.nan


PRECISIONS = {p.value for p in GeoPrecision}


def _precision_ok(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v in PRECISIONS)


def _place_ok(loc: dict[str, Any]) -> bool:
    lat, lon, country = loc.get("lat"), loc.get("lon"), loc.get("country")
    if (lat is None) != (lon is None) or (lat is None and not _text(loc.get("name"))):
        return False
    if lat is not None and not (type(lat) in (int, float) and type(lon) in (int, float)):
        return False  # text or lists: the model says what it makes of them
    if "name" in loc and loc["name"] is not None and not _text(loc["name"]):
        return False
    if country is None:
        return True
    box = country_bboxes().get(country) if isinstance(country, str) else None
    if box is None:  # unknown, or not yet upper case as the model writes it
        return False
    if lat is None:
        return True
    m = BBOX_MARGIN_DEG
    return box[0] - m <= lon <= box[2] + m and box[1] - m <= lat <= box[3] + m


def _sources_ok(sources: Any) -> bool:
    if not isinstance(sources, list) or not sources:
        return False
    for s in sources:
        if not isinstance(s, dict) or not set(s) <= SOURCE_KEYS:
            return False
        if not _text(s.get("publisher")) or not _day(s.get("published")):
            return False
        for key in ("url", "archive_url"):
            if s.get(key) is not None and not _url_ok(s[key]):
                return False
        quote = s.get("quote")
        if quote is not None and not (_stripped(quote) and len(quote) <= MAX_QUOTE_CHARS):
            return False
        if s.get("provenance") is not None and not _stripped(s["provenance"]):
            return False
        if s.get("accessed") is not None and not _day(s["accessed"]):
            return False
    return True


def _actors_ok(actors: Any) -> bool:
    if actors is None:
        return True
    if not isinstance(actors, list):
        return False
    for a in actors:
        if isinstance(a, str):
            if not _text(a):
                return False
        elif not (isinstance(a, dict) and set(a) <= ACTOR_KEYS and _text(a.get("name"))
                  and (a.get("role") is None or (isinstance(a["role"], str)
                                                 and a["role"] in ROLES))
                  and (a.get("inter") is None or (type(a["inter"]) is int
                                                  and 0 <= a["inter"] <= 9))):
            return False
    return True


def _texts_ok(values: Any) -> bool:
    return isinstance(values, list) and all(_text(v) for v in values)


def _change_ok(change: Any) -> bool:
    return (isinstance(change, dict) and set(change) == {"area", "from", "to"}
            and all(_text(v) for v in change.values()))


def _figures_ok(figures: Any) -> bool:
    return isinstance(figures, dict) and all(
        _stripped(k) and (_stripped(v) or (type(v) in (int, float) and math.isfinite(v)))
        for k, v in figures.items())


def _dataset_ok(part: Any) -> bool:
    return (isinstance(part, dict) and set(part) <= {"name", "release", "columns"}
            and isinstance(part.get("name"), str) and bool(_NAME.fullmatch(part["name"]))
            and (part.get("release") is None or isinstance(part["release"], str))
            and isinstance(part.get("columns"), dict)
            and set(map(type, part["columns"].values())) <= {str})


LOCATION_KEYS = {"name", "country", "lat", "lon", "precision"}


TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")  # exports to import, not datasets


def named_as_dataset(path: Path | str) -> bool:
    """A path meant as a dataset (or a table export mistaken for one), by its name: what
    `validate` sends to the dataset checks instead of the YAML reader."""
    return is_parquet(path) or Path(path).suffix.lower() in (".gpkg", *TABLE_SUFFIXES)


def require(path: Path | str) -> None:
    """Refuse, by name and with the way out, a dataset path that is not one: missing, a CSV
    export not yet imported, a folder, a file GDAL cannot open or one without our table.
    (GDAL's own errors name the file but not what the user should do.) URLs are left to
    their filesystem."""
    if is_url(path):
        return
    p = Path(path)
    table = p if p.suffix.lower() in TABLE_SUFFIXES else None
    target = p.name if p.suffix.lower() in (".gpkg", ".parquet") else f"{p.stem or 'NAME'}.gpkg"
    make = f"conflictmap import acled|ucdp {table or 'FILE.csv'} --to {target}"
    if not p.exists():
        raise InvalidEvents([Problem(str(p), 1, 1, "(dataset)",
                                     f"no such dataset; make one with `{make}`")])
    if is_parquet(p):  # a dataset's folder of parts, or one part (GeoParquet file)
        if p.is_file():
            try:
                pq.read_metadata(p)
            except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
                raise InvalidEvents([Problem(str(p), 1, 1, "(dataset)", "not a Parquet file "
                                             f"({str(exc)[:120]})")]) from None
        return
    if p.is_dir():
        raise InvalidEvents([Problem(str(p), 1, 1, "(dataset)", "a folder: a dataset is a "
                                     ".gpkg file or a NAME.parquet folder")])
    if table is not None:
        raise InvalidEvents([Problem(str(p), 1, 1, "(dataset)", "a table export, not a "
                                     f"dataset; import it first: `{make}`")])
    try:
        layers = [str(name) for name, _kind in pyogrio.list_layers(p)]
    except (pyogrio.errors.DataSourceError, OSError) as exc:
        raise InvalidEvents([Problem(str(p), 1, 1, "(dataset)", "not a GeoPackage GDAL can "
                                     f"open ({str(exc).splitlines()[0][:120]})")]) from None
    if LAYER not in layers:
        raise InvalidEvents([Problem(str(p), 1, 1, "(dataset)", f"no '{LAYER}' table (it has "
                                     f"{', '.join(layers) or 'none'}): not a dataset from "
                                     f"`{make}`")])


def read_records(path: Path | str, schema: Schema = SCHEMA,
                 window: Window | None = None, cache: bool = False) -> pd.DataFrame:
    """A dataset (GPKG, or GeoParquet parts) as a records table (the record's columns),
    checked in bulk; rows that fail a bulk check are validated by the model, which gives the
    precise message or the row as it keeps it, and any problem stops the build. Building 100k
    events this way avoids 100k model objects. `window`: only its rows, selected by the GPKG
    driver (SQL and the spatial index) or from the parts' date and bbox columns, so a window
    of a large set is checked without the rest. `cache`: a local file's checked table is
    kept by its bytes (`datasetcache`) and a build from an unchanged file reads it instead;
    windowed reads are not kept (a window is a slice that changes as the view moves)."""
    require(path)
    keep = cache and window is None
    if is_parquet(path):  # each part checked as its own file: problems name it and its row
        checked, found = [], False
        for part in parts(path):
            found = True
            rows = None if window is None else window_rows(part, window)
            if rows is not None and not len(rows):
                continue

            def check(part: str = part, rows: np.ndarray | None = rows) -> pd.DataFrame:
                frame = read_part(part, rows=rows)
                frame.index = (pd.RangeIndex(1, len(frame) + 1) if rows is None
                               else pd.Index(rows + 1))
                return check_table(frame, part, schema)

            checked.append(cached(part, schema, check) if keep and not is_url(part)
                           else check())
        if not found:
            raise InvalidEvents([Problem(str(path), 1, 1, "(dataset)",
                                         "no GeoParquet parts (<period>/part-*.parquet)")])
        if not checked:  # nothing in the window: an empty table of the record's columns
            return check_table(pd.DataFrame(columns=schema.table_columns), str(path), schema)
        return pd.concat(checked, ignore_index=True) if len(checked) > 1 else checked[0]
    where, bbox = (window.where(), window.bbox) if window else (None, None)

    def check() -> pd.DataFrame:
        return check_table(read_attributes(path, where, bbox), str(path), schema)

    return cached(str(path), schema, check) if keep and not is_url(path) else check()


def read_attributes(path: Path | str, where: str | None = None,
                    bbox: tuple[float, float, float, float] | None = None) -> pd.DataFrame:
    """A GPKG's attribute table, indexed by feature id, its text as plain Python strings:
    with pyarrow installed pandas would make every text column Arrow-backed on the way in,
    which doubles the read (100k rows: 1.37 s against 0.74 s) for checks that then work
    on Python strings anyway."""
    meta, fids, _geom, values = pyogrio.raw.read(path, layer=LAYER, read_geometry=False,
                                                 datetime_as_string=True, return_fids=True,
                                                 where=where, bbox=bbox)
    frame = pd.DataFrame({name: pd.Series(col, dtype=object if col.dtype == object
                                          else col.dtype, copy=False)
                          for name, col in zip(meta["fields"], values, strict=True)})
    frame.index = pd.Index(fids, name="fid")
    return frame


def window_rows(part: str, window: Window) -> np.ndarray:
    """The rows (0-based) of one GeoParquet part inside the window, from its date text and
    bbox covering column only (the same bounds as the GPKG's SQL: a date-time on the last
    day is still that day; a point on the box's edge is inside)."""
    from .chunks import _day_bounds

    table = pq.read_table(part, columns=["date", "bbox"],
                          filesystem=_fs(part) if is_url(part) else None)
    keep = np.ones(table.num_rows, dtype=bool)
    day = pd.Series(table.column("date").to_numpy(zero_copy_only=False)).astype(object)
    text = day.where(day.notna(), "").astype(str)
    lo, hi = _day_bounds(window.start, window.end)
    if lo is not None:
        keep &= (text >= lo).to_numpy()
    if hi is not None:
        keep &= (text < hi).to_numpy()
    if window.bbox is not None:
        west, south, east, north = window.bbox
        box = table.column("bbox").combine_chunks()
        x = box.field("xmin").to_numpy(zero_copy_only=False)
        y = box.field("ymin").to_numpy(zero_copy_only=False)
        keep &= (x >= west) & (x <= east) & (y >= south) & (y <= north)
    return np.flatnonzero(keep)


def check_table(frame: pd.DataFrame, path: str, schema: Schema = SCHEMA) -> pd.DataFrame:
    """A table of rows as read from a dataset (index: each row's feature id) as a records
    table: every row the bulk checks accept as it is, every other row as the model makes it;
    raises InvalidEvents with every problem (the model's messages, at path:fid)."""
    missing = [c for c in schema.required_columns if c not in frame.columns]
    if missing:
        raise InvalidEvents([Problem(path, 1, 1, c, "column missing from the dataset")
                             for c in missing])
    frame = frame.copy()
    for c in schema.table_columns:  # an optional part a dataset leaves out is absent in every row
        if c not in frame.columns:
            frame[c] = None
    for c, default in schema.defaults.items():  # as the model does for an absent value
        frame[c] = frame[c].astype(object).where(frame[c].notna(), default)
    parsed: dict[str, list[Any]] = {}
    broken: dict[int, list[tuple[str, str]]] = {}
    for k, shape in schema.nested.items():
        parsed[k], errors = parse_checked(frame[f"{k}_json"].tolist(), shape)
        for i, message in errors.items():
            broken.setdefault(i, []).append((f"{k}_json", message))
    ok = bulk_ok(frame, [v or {} for v in parsed["location"]], parsed, schema)
    ok[list(broken)] = False
    problems = []
    fids = frame.index.to_numpy()
    remade: dict[int, Event] = {}
    for i in np.flatnonzero(~ok).tolist():
        fid = int(fids[i])
        if i in broken:
            problems += [Problem(path, fid, 1, column, message) for column, message in broken[i]]
            continue
        ev, found = model_verdict(frame.iloc[i].to_dict(), schema)
        problems += [Problem(path, fid, 1, name, message) for name, message in found]
        if ev is not None:
            remade[i] = ev
    if problems:
        raise InvalidEvents(problems)
    out = frame.reset_index(drop=True)
    if remade:
        out = remake(out, remade, schema, parsed)
    out["origin_path"] = path
    out["origin_line"] = fids
    out["location"] = [v or {} for v in parsed["location"]]
    out["actors"] = actor_names(parsed["actors"])
    out["source_urls"] = source_urls(parsed["sources"])
    # the dataset's name and the row's own id, read once here for every output
    refs = [dataset_ref_of(p) for p in parsed["dataset"]]
    out["dataset_name"] = [r[0] for r in refs]
    out["dataset_id"] = [r[1] for r in refs]
    return out


def remake(table: pd.DataFrame, remade: dict[int, Event], schema: Schema = SCHEMA,
           parsed: dict[str, list[Any]] | None = None) -> pd.DataFrame:
    """The table with these rows (by position) replaced by the model's output, and their
    parsed parts in `parsed` too: a row the model had to tidy (stripped text, an upper-case
    country) is kept as the model made it, never as it was written."""
    table = table.copy()
    flats = {i: flat_record(ev) for i, ev in remade.items()}
    for c in schema.table_columns:
        values = table[c].astype(object).tolist()
        for i, flat in flats.items():
            values[i] = flat.get(c)
        table[c] = pd.Series(values, index=table.index, dtype=object)
    for i, ev in remade.items() if parsed is not None else ():
        data = event_to_data(ev)
        for k in schema.nested:
            parsed[k][i] = data.get(k)
    return table


def actor_names(actors: list[list[Any] | None]) -> list[list[str]]:
    """Each row's actor names (an actor is a name, or a mapping with one)."""
    return [[a if type(a) is str else str(a.get("name")) for a in x
             if type(a) is str or type(a) is dict] if x else [] for x in actors]


def source_urls(sources: list[list[dict[str, Any]] | None]) -> list[list[str]]:
    """Each row's source links (rows without sources give an empty list)."""
    return [[s["url"] for s in (x or []) if isinstance(s, dict) and s.get("url")]
            for x in sources]


def dataset_ref_of(part: Any) -> tuple[str | None, str | None]:
    """(dataset name, the row's own id in it) of a parsed `dataset` part, or (None, None)."""
    if not isinstance(part, dict):
        return None, None
    name = part.get("name")
    return name, (part.get("columns") or {}).get(DATASET_ID.get(name, "id"))
