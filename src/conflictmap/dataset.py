"""Many events as one file: a GeoPackage table holding whole records, for imports too big to
keep as one YAML file each (ACLED has tens of thousands of rows per country-year).

Each row is one record (the same fields as a YAML file, nested parts as JSON text) plus a point,
so any GIS opens it, and `build --dataset` validates it with the same model as the YAML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pydantic import ValidationError
from shapely import points

from .atomic import write_via_temp
from .model import ACLED_TYPES, ID_PATTERN, DatePrecision, Event, GeoPrecision, Status
from .record import NESTED as JSON_SHAPES
from .record import REQUIRED_COLUMNS, TABLE_COLUMNS
from .store import InvalidEvents, Problem, event_to_data, field_name

LAYER = "events"
# plain fields whose absence means a default value (status: reported, date_precision: day)
SCALAR_DEFAULTS = {n: f.default for n, f in Event.model_fields.items()
                   if n in TABLE_COLUMNS and f.default is not None and not f.is_required()
                   and isinstance(f.default, str)}
JSON_FIELDS = tuple(JSON_SHAPES)


def flat_record(ev: Event) -> dict[str, Any]:
    """One event as a dataset row: plain fields, nested parts as JSON text."""
    data = event_to_data(ev)
    row = {k: v for k, v in data.items() if k not in JSON_FIELDS}
    for k in ("date", "end_date"):
        if k in row:
            row[k] = row[k].isoformat()
    for k in JSON_FIELDS:
        row[f"{k}_json"] = json.dumps(data.get(k), ensure_ascii=False, default=str)
    return row


COLUMNS = TABLE_COLUMNS


def write_dataset(events: list[Event], target: Path) -> Path:
    """All events into one GPKG table (atomically). Each needs a lat/lon point."""
    rows = pd.DataFrame([flat_record(ev) for ev in events], columns=COLUMNS)
    rows["_loc"] = [ev.location.model_dump() for ev in events]
    return write_table(rows, target)


def write_table(records: pd.DataFrame, target: Path, *, overwrite: bool = True) -> Path:
    """A records table (COLUMNS, and `_loc` with each row's point) as one GPKG table,
    atomically (never over a file that exists unless `overwrite`)."""
    loc = records["_loc"].tolist()
    frame = gpd.GeoDataFrame(
        records[COLUMNS].reset_index(drop=True),
        geometry=points([x.get("lon") for x in loc], [x.get("lat") for x in loc]), crs=4326)
    frame["fatalities"] = pd.array(frame["fatalities"].tolist(), dtype="Int64")
    return write_via_temp(target, lambda t: pyogrio.write_dataframe(
        frame, t, driver="GPKG", layer=LAYER), overwrite=overwrite)


def explain(row: dict[str, Any]) -> str:
    """Why the model refuses a row the bulk checks failed: its messages, field by field."""
    try:
        Event.model_validate(record_from_row(row))
    except ValidationError as exc:
        return "; ".join(f"{field_name(tuple(e['loc']))}: {e['msg']}" for e in exc.errors())
    except ValueError as exc:
        return str(exc)
    return "fails a dataset check (vocabulary, date, link or point)"


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# Python's json accepts NaN and Infinity; browsers' JSON.parse and other tools do not
_STRICT = json.JSONDecoder(parse_constant=_not_json)


def parse_column(values: list[str | None]) -> list[Any]:
    """Many JSON texts parsed in one call (one C-level parse instead of one call per row)."""
    return _STRICT.decode("[" + ",".join(v if isinstance(v, str) else "null"
                                         for v in values) + "]")


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


def record_from_row(rec: dict[str, Any]) -> dict[str, Any]:
    """A dataset row (flat, JSON text for nested parts) as record data for the model."""
    data: dict[str, Any] = {}
    for k, v in rec.items():
        if k not in COLUMNS or v is None or v != v:
            continue
        if k.endswith("_json"):
            parsed = parse_column([v])[0]
            if parsed is not None:
                data[k[:-5]] = parsed
        else:
            data[k] = int(v) if k == "fatalities" else v
    return data


_PAIRS = {f"{t}|{s}" for t, subs in ACLED_TYPES.items() for s in subs}
_BAD_URL = r'"(?:url|archive_url)":\s*"(?!https?://)|"(?:url|archive_url)":\s*"[^"]*[\s\x00-\x1f]'


def bulk_ok(frame: pd.DataFrame, loc: list[dict[str, Any]]) -> np.ndarray:
    """Vectorised checks of the rules a map depends on (ids, vocabularies, dates, points, link
    schemes, text lengths): True where a row passes all of them."""
    ok = frame["id"].astype("string").str.fullmatch(ID_PATTERN[1:-1]).fillna(False).to_numpy()
    ok &= frame["event_type"].isin(list(ACLED_TYPES)).to_numpy()
    sub = frame["sub_event_type"]
    ok &= (sub.isna() | (frame["event_type"].astype(str) + "|" + sub.astype(str)).isin(_PAIRS)
           ).to_numpy()
    ok &= frame["status"].isin([s.value for s in Status]).to_numpy()
    ok &= frame["date_precision"].isin([d.value for d in DatePrecision]).to_numpy()
    titles = frame["title"].astype("string").str.len()
    ok &= ((titles >= 1) & (titles <= 300)).fillna(False).to_numpy()
    when = pd.to_datetime(frame["date"], format="ISO8601", utc=True, errors="coerce")
    ok &= when.notna().to_numpy()
    ok &= (frame["end_date"].isna() | (pd.to_datetime(
        frame["end_date"], format="ISO8601", utc=True, errors="coerce").dt.normalize()
        >= when.dt.normalize())).to_numpy()
    ok &= ~frame["sources_json"].astype(str).str.contains(_BAD_URL, regex=True).to_numpy()
    ok &= frame["sources_json"].astype(str).str.startswith('[{').to_numpy()
    fat = pd.to_numeric(frame["fatalities"], errors="coerce")
    ok &= (frame["fatalities"].isna() | (fat >= 0)).to_numpy()
    lat = np.array([x.get("lat", np.nan) if x.get("lat") is not None else np.nan for x in loc],
                   dtype=float)
    lon = np.array([x.get("lon", np.nan) if x.get("lon") is not None else np.nan for x in loc],
                   dtype=float)
    ok &= (lat >= -90) & (lat <= 90) & (lon >= -180) & (lon <= 180)
    precisions = {p.value for p in GeoPrecision} | {None}
    ok &= np.array([x.get("precision") in precisions and set(x) <= LOCATION_KEYS for x in loc])
    return ok


LOCATION_KEYS = {"name", "country", "lat", "lon", "precision"}


def read_records(path: Path) -> pd.DataFrame:
    """A dataset as a records table (the YAML record's columns), checked in bulk; rows that
    fail a bulk check are validated by the model for the precise message, and any problem
    stops the build. Building 100k events this way avoids 100k model objects."""
    frame = pyogrio.read_dataframe(path, layer=LAYER, read_geometry=False,
                                   datetime_as_string=True, fid_as_index=True)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidEvents([Problem(str(path), 1, 1, c, "column missing from the dataset")
                             for c in missing])
    for c in COLUMNS:  # an optional part a dataset leaves out is absent in every row
        if c not in frame.columns:
            frame[c] = None
    for c, default in SCALAR_DEFAULTS.items():  # as the model does for an absent value
        frame[c] = frame[c].astype(object).where(frame[c].notna(), default)
    parsed: dict[str, list[Any]] = {}
    broken: dict[int, list[tuple[str, str]]] = {}
    for k, shape in JSON_SHAPES.items():
        parsed[k], errors = parse_checked(frame[f"{k}_json"].tolist(), shape)
        for i, message in errors.items():
            broken.setdefault(i, []).append((f"{k}_json", message))
    loc = [v or {} for v in parsed["location"]]
    ok = bulk_ok(frame, loc)
    ok[list(broken)] = False
    problems = []
    fids = frame.index.to_numpy()
    for i in np.flatnonzero(~ok).tolist():
        fid = int(fids[i])
        if i in broken:
            problems += [Problem(str(path), fid, 1, column, message)
                         for column, message in broken[i]]
            continue
        try:
            Event.model_validate(record_from_row(frame.iloc[i].to_dict()))
            problems.append(Problem(str(path), fid, 1, "(row)",
                                    "fails a dataset check (vocabulary, date, link or point)"))
        except ValidationError as exc:
            problems += [Problem(str(path), fid, 1, field_name(tuple(e["loc"])), e["msg"])
                         for e in exc.errors()]
    if problems:
        raise InvalidEvents(problems)
    out = frame.reset_index(drop=True)
    out["origin_path"] = str(path)
    out["origin_line"] = fids
    out["location"] = loc
    out["actors"] = actor_names(parsed["actors"])
    out["source_urls"] = source_urls(parsed["sources"])
    return out


def actor_names(actors: list[list[Any] | None]) -> list[list[str]]:
    """Each row's actor names (an actor is a name, or a mapping with one)."""
    return [[a if isinstance(a, str) else str(a.get("name")) for a in (x or [])
             if isinstance(a, str | dict)] for x in actors]


def source_urls(sources: list[list[dict[str, Any]] | None]) -> list[list[str]]:
    """Each row's source links (rows without sources give an empty list)."""
    return [[s["url"] for s in (x or []) if isinstance(s, dict) and s.get("url")]
            for x in sources]
