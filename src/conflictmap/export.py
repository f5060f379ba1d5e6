"""Writers for GIS tools and spreadsheets: GeoJSON (RFC 7946), GPKG, KML, CSV, FlatGeobuf.

Everything is written through GDAL (pyogrio) into a temp file beside the target and renamed,
so a reader never sees half a file. Nothing is written into the events folder.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from . import geojson, layercache
from .atomic import write_atomic, write_via_temp
from .codes import ACLED_GEO, ACLED_TIME, UCDP_DATE, UCDP_WHERE
from .csvsafe import neutralise
from .dataset import NULLABLE, parse_column
from .errors import ConflictmapError
from .forking import Child, can_fork
from .model import Event, country_table
from .pipeline import COLUMNS, Result
from .record import FLAT_ELSEWHERE, SCHEMA, Schema, cell_text

FORMATS = ("geojson", "gpkg", "kml", "csv", "fgb", "ucdp-csv")
SUFFIX = {"geojson": ".geojson", "gpkg": ".gpkg", "kml": ".kml", "csv": ".csv", "fgb": ".fgb",
          "ucdp-csv": ".ucdp.csv"}


class ExportError(ConflictmapError):
    """An export that cannot be written as asked (format, target)."""


def _iso(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    return v.isoformat() if isinstance(v, date | datetime) else str(v)


def _text(v: Any) -> str | None:
    return None if v is None or (isinstance(v, float) and v != v) else str(v)


def _day(value: str | None) -> str | None:
    """The local calendar day of a record's date text: `2020-11-10T00:00:00+03:00` is the
    10th wherever the file is opened, so the offset is never applied to it."""
    return None if value is None or value != value else str(value)[:10]


def events_frame(result: Result, rows: slice | None = None) -> gpd.GeoDataFrame:
    """One row per event: the flat DESIGN properties plus every field of the record (plain
    ones typed, nullable; lists of text as lists; other nested parts as JSON text in `*_json`),
    and the dataset's own id. Read from the built tables, field list from `result.schema`.
    `rows`: only these events (by position), made the same way."""
    schema = result.schema
    base = result.frame[[*COLUMNS, "geometry"]]
    rec = result.records
    if rows is not None:
        base, rec = base.iloc[rows], rec.iloc[rows]
    # built as plain Python columns (pandas would make every text column Arrow-backed, which
    # every writer then turns back: a third of this step at 100k events)
    f: dict[str, Any] = {c: base[c] for c in base.columns}
    # from the records table: no model object per event needed for these
    f["date"] = [_day(v) for v in rec["date"].tolist()]
    f["end_date"] = [_day(v) for v in rec["end_date"].tolist()]
    f["date_time"] = [v if isinstance(v, str) and len(v) > 10 else None
                      for v in rec["date"].tolist()]
    f["border_distance_km"] = base["border_distance_km"].astype(float).round(3)
    for col in ("side_uncertain", "admin1_uncertain"):
        f[col] = [None if v is None or v != v else bool(v) for v in base[col].tolist()]
    for col in ("country", "admin1", "controller", "sub_event_type"):
        f[col] = [_text(v) for v in base[col].tolist()]
    f["actors"] = [list(a) for a in base["actors"].tolist()]
    f["source_urls"] = [list(u) for u in base["source_urls"].tolist()]
    sources = [x or [] for x in parse_column(rec["sources_json"].tolist())]
    f["source_publishers"] = [[s.get("publisher") or "" for s in x] for x in sources]
    f["source_dates"] = [[str(s.get("published") or "") for s in x] for x in sources]
    for field in schema.fields:  # every other field of the record, as the schema says
        if field.name in FLAT_ELSEWHERE:
            continue
        if field.text_list:
            f[field.name] = [x or [] for x in parse_column(rec[field.column].tolist())]
        elif field.nested:
            f[field.column] = [t if isinstance(t, str) and t != "null" else None
                               for t in rec[field.column].tolist()]
        elif field.name not in f:
            f[field.name] = typed_column(rec[field.name], field.scalar)
    f["dataset"], f["dataset_id"] = rec["dataset_name"].tolist(), rec["dataset_id"].tolist()
    # and the dataset's own row, every column the user brought, as the other parts: JSON text
    f["dataset_json"] = [t if isinstance(t, str) and t != "null" else None
                         for t in rec["dataset_json"].tolist()]
    for col in list_columns(schema):  # always a list, empty when the record has none
        if isinstance(f[col], pd.Series):  # the others were made above, as new lists
            f[col] = [list(v) if v else [] for v in f[col].tolist()]
    index = base.index
    frame = pd.DataFrame({c: v if isinstance(v, pd.Series | pd.api.extensions.ExtensionArray)
                          else pd.Series(v, index=index, dtype=object)
                          for c, v in f.items()}, index=index)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)


def typed_column(values: pd.Series, scalar: str) -> Any:
    """A plain field's values as a nullable column of its type: absent stays null (never 0,
    NaN or "")."""
    plain = [None if v is None or (isinstance(v, float) and v != v) else v
             for v in values.tolist()]
    if scalar in NULLABLE:
        return pd.array(plain, dtype=NULLABLE[scalar])
    return [None if v is None else str(v) for v in plain]


def _typed(frame: gpd.GeoDataFrame, schema: Schema = SCHEMA) -> gpd.GeoDataFrame:
    """For GPKG and FlatGeobuf: dates as date-time fields (the local day at 00:00, no offset
    applied), lists as JSON text (neither format has a list type)."""
    out = frame.copy()
    for col in ("date", "end_date"):
        out[col] = pd.to_datetime(out[col], format="%Y-%m-%d")
    for col in list_columns(schema):
        out[col] = [json.dumps(v, ensure_ascii=False) for v in out[col]]
    return out


# list columns besides the record's lists of text: derived by enrichment and from the sources
LIST_COLUMNS = ("actors", "admin1_candidates", "source_urls", "source_publishers",
                "source_dates")


def list_columns(schema: Schema = SCHEMA) -> tuple[str, ...]:
    return (*LIST_COLUMNS, *(f.name for f in schema.fields if f.text_list))


def for_parquet(frame: gpd.GeoDataFrame, schema: Schema = SCHEMA) -> gpd.GeoDataFrame:
    """The events frame typed for GeoParquet, so each part says the same types whatever its
    rows hold: the doubt flags as nullable booleans, loose columns other than lists as text
    (`geoparquet.to_arrow` types what is left: all-null columns, lists all empty)."""
    out = frame.copy()
    lists = set(list_columns(schema))
    for col in ("side_uncertain", "admin1_uncertain"):  # bool or object, by the rows' nulls
        out[col] = pd.array(out[col].tolist(), dtype="boolean")
    for col in out.columns:
        if col != out.geometry.name and out[col].dtype == object and col not in lists:
            out[col] = out[col].astype("str")
    return out


def write_parquet(result: Result, target: Path | str, by: str = "year") -> Path:
    """The events (as `events_frame`) as a GeoParquet dataset partitioned `by` year or month,
    replacing the old one whole."""
    from .geoparquet import Staging, write_periods

    staging = Staging.open(target, overwrite=True)
    try:
        write_periods(for_parquet(events_frame(result), result.schema), staging, 0, by)
        return Path(staging.commit())
    finally:
        staging.abort()


def write_geojson(frame: gpd.GeoDataFrame, target: Path) -> Path:
    return geojson.write(frame, target)


SPLIT_MIN = 4_000  # events: ~0.1 s of work; below that a second process saves nothing


def write_events_geojson(result: Result, target: Path) -> Path:
    """The events as GeoJSON (`events_frame`), written atomically. Past SPLIT_MIN events the
    second half of the features is made by a forked child while this process makes the
    first half (100k events: about 3.5 s of work either way), then appended to it; the text
    is the same as one process writes."""
    n = len(result.frame)
    if n < SPLIT_MIN or not can_fork():
        return write_geojson(events_frame(result), target)
    cut = n // 2
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tail", dir=target.parent)
    os.close(fd)
    tail = Path(name)

    def write_tail() -> None:
        with tail.open("wb") as fh:
            fh.write(b",")
            for piece in geojson.feature_pieces(events_frame(result, slice(cut, None))):
                fh.write(piece if isinstance(piece, bytes) else piece.encode("utf-8"))

    child = Child(write_tail)

    def pieces() -> Iterator[str | bytes]:
        yield geojson.collection_head(target.name.split(".")[0], geojson.bounds(result.frame))
        yield from geojson.feature_pieces(events_frame(result, slice(0, cut)))
        child.wait()
        with tail.open("rb") as fh:
            while block := fh.read(1 << 23):
                yield block
        yield geojson.COLLECTION_TAIL

    try:
        return write_atomic(target, pieces())
    finally:
        child.stop()  # no-op when it has ended
        tail.unlink(missing_ok=True)


# the text of the last layer set written, with that set: `load_layers` gives the same objects
# while the manifest is unchanged, so a rebuild (`build --watch`) writes it without redoing it
_LAYERS_TEXT: list[Any] = [None, "", ""]


def write_layers_geojson(result: Result, target: Path) -> Path:
    name = target.name.split(".")[0]
    if _LAYERS_TEXT[0] is not result.layers or _LAYERS_TEXT[2] != name:
        def make() -> str:
            parts = [lyr.frame[["layer", "name", "iso", "kind", "source", "geometry"]]
                     for lyr in result.layers.values()]
            frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                                     crs=4326)
            return geojson.feature_collection_text(frame, name)

        # kept with the layer set between runs (the same bytes each time: 0.2 s saved)
        text = layercache.derived(getattr(result.layers, "key", None), "layers-geojson",
                                  [layercache.source_of("export.py", "geojson.py"), name], make)
        _LAYERS_TEXT[:] = [result.layers, text, name]
    return write_atomic(target, _LAYERS_TEXT[1])


def sources_table(events: list[Event]) -> pd.DataFrame:
    rows = [{"event_id": ev.id, "n": i + 1, "url": s.url, "publisher": s.publisher,
             "published": s.published, "quote": s.quote, "provenance": s.provenance,
             "archive_url": s.archive_url, "accessed": s.accessed}
            for ev in events for i, s in enumerate(ev.sources)]
    frame = pd.DataFrame(rows, columns=["event_id", "n", "url", "publisher", "published",
                                        "quote", "provenance", "archive_url", "accessed"])
    for col in ("published", "accessed"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def write_gpkg(result: Result, target: Path) -> Path:
    frame = _typed(events_frame(result), result.schema)

    def write(t: Path) -> None:
        pyogrio.write_dataframe(frame, t, driver="GPKG", layer="events")
        pyogrio.write_dataframe(sources_table(result.events), t, driver="GPKG",
                                layer="sources", append=True)

    return write_via_temp(target, write)


def _balloon(ev: Event, row: Any) -> str:
    """The KML description: our own markup around escaped user text."""
    e = html.escape
    parts = [f"<p><b>{e(ev.title)}</b></p>",
             f"<p>{e(str(ev.date))} ({e(ev.date_precision)}) · {e(ev.event_type)}"
             + (f" / {e(ev.sub_event_type)}" if ev.sub_event_type else "") + "</p>",
             f"<p>Status: {e(ev.status)}; place: {e(row.place_name)} "
             f"({e(row.geo_precision)}, {e(row.geocoder)})</p>"]
    if ev.description:
        parts.append(f"<p>{e(ev.description)}</p>")
    items = []
    for s in ev.sources:
        label = e(f"{s.publisher}, {s.published}")
        link = f'<a href="{e(s.url)}">{label}</a>' if s.url else label
        items.append(f"<li>{link}</li>")
    parts.append("<ol>" + "".join(items) + "</ol>")
    return "".join(parts)


def write_kml(result: Result, target: Path) -> Path:
    f = events_frame(result)
    rows = list(result.frame.itertuples(index=False))
    kml = gpd.GeoDataFrame({
        "name": [ev.title for ev in result.events],
        "description": [_balloon(ev, r) for ev, r in zip(result.events, rows, strict=True)],
        "timestamp": [None if ev.end_date else _when(ev.date) for ev in result.events],
        "begin": [_when(ev.date) if ev.end_date else None for ev in result.events],
        "end": [_when(ev.end_date) if ev.end_date else None for ev in result.events],
        "id": f["id"], "status": f["status"], "geo_precision": f["geo_precision"],
        "side_uncertain": [{True: "true", False: "false"}.get(v)
                           for v in f["side_uncertain"].astype(object)],
    }, geometry=f.geometry.values, crs=4326)
    return write_via_temp(target, lambda t: pyogrio.write_dataframe(kml, t, driver="LIBKML",
                                                                   layer="events"))


def _when(v: date | datetime | None) -> str | None:
    if v is None:
        return None
    return v.isoformat() if isinstance(v, datetime) else f"{v.isoformat()}T00:00:00Z"


def write_fgb(result: Result, target: Path) -> Path:
    frame = _typed(events_frame(result), result.schema)
    return write_via_temp(target, lambda t: pyogrio.write_dataframe(
        frame, t, driver="FlatGeobuf", layer="events", layer_options={"SPATIAL_INDEX": "NO"}))


# ---------------------------------------------------------------- CSV in the datasets' words

# the columns we fill for events that did not come from the dataset (the codebooks' order)
ACLED_COLUMNS = ["event_id_cnty", "event_date", "year", "time_precision", "event_type",
                 "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2",
                 "assoc_actor_2", "inter2", "iso", "country", "admin1", "location",
                 "latitude", "longitude", "geo_precision", "source", "notes", "fatalities",
                 "tags", "timestamp"]
UCDP_COLUMNS = ["id", "year", "type_of_violence", "conflict_name", "dyad_name", "side_a",
                "side_b", "source_article", "source_headline", "source_date", "where_prec",
                "where_description", "adm_1", "latitude", "longitude", "country", "date_prec",
                "date_start", "date_end", "best", "low", "high"]


def _own(rec: dict[str, Any], row: Any, kind: str, schema: Schema) -> dict[str, Any]:
    """Our columns of one event (`schema.own_columns`), from its row in the records table and
    in the enriched frame: every field of the record, then what enrichment found."""
    out: dict[str, Any] = {}
    for f in schema.fields:
        value = rec.get(f.column)
        if f.nested is None:
            out[f.exported] = cell_text(value)
            continue
        text = value if isinstance(value, str) and value != "null" else ""
        if f.name == "dataset" and text:
            part = json.loads(text)
            if part.get("name") == kind:  # its cells are the dataset's columns already
                part.pop("columns", None)
                text = json.dumps(part, ensure_ascii=False)
        out[f.exported] = text
    derived = {
        "geo_precision_cm": row.geo_precision, "geocoder": row.geocoder,
        "admin1_layer": _iso(row.admin1) or "",
        "admin1_uncertain": _flag(getattr(row, "admin1_uncertain", None)),
        "admin1_candidates_json": json.dumps(list(row.admin1_candidates), ensure_ascii=False),
        "border_distance_km": "" if row.border_distance_km != row.border_distance_km
        else f"{row.border_distance_km:.3f}",
        "side_uncertain": _flag(row.side_uncertain),
        "controller": _iso(row.controller) or "",
    }
    return {**out, **derived}  # the names listed in record.DERIVED_EXPORT


def _flag(v: Any) -> str:
    return "" if v is None or v != v else str(bool(v)).lower()


def _role(ev: Event, role: str) -> list[str]:
    return [a.name for a in ev.actors if a.role == role]


def _sides(ev: Event) -> tuple[list[str], list[str], list[str], list[str]]:
    """(side A, its associates, side B, its associates): actors without a role fill the sides
    in the order written, the rest go with side A's associates."""
    a, b = _role(ev, "side_a"), _role(ev, "side_b")
    assoc_a, assoc_b = _role(ev, "assoc_a"), _role(ev, "assoc_b")
    for actor in ev.actors:
        if actor.role in (None, "other"):
            (a if not a else b if not b and actor.role is None else assoc_a).append(actor.name)
    return a, assoc_a, b, assoc_b


def _inter(ev: Event, role: str) -> str:
    codes = [a.inter for a in ev.actors if a.role == role and a.inter is not None]
    return str(codes[0]) if codes else ""


def _country_name(code: str | None) -> str:
    return country_table()["name"].get(code or "", code or "")


@cache
def _numeric_of() -> dict[str, str]:
    """ISO2 -> ISO numeric, the first code listed for each country (built once, not per row)."""
    out: dict[str, str] = {}
    for n, c in country_table()["iso_n3"].items():
        out.setdefault(c, n)
    return out


def _iso_numeric(code: str | None) -> str:
    return _numeric_of().get(code or "", "")


def _rows(result: Result, kind: str, derive: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """CSV rows in a dataset's words and the header: a row that came from this dataset gives
    back its own cells unchanged, in its own column order; other events are derived."""
    out: list[dict[str, Any]] = []
    header: dict[str, None] = {}
    derived = False
    records = result.records.to_dict("records")
    for ev, rec, row in zip(result.events, records, result.frame.itertuples(index=False),
                            strict=True):
        if ev.dataset is not None and ev.dataset.name == kind:
            cells = dict(ev.dataset.columns)
        else:
            cells, derived = derive(ev, row), True
        header.update(dict.fromkeys(cells))
        out.append({**cells, **_own(rec, row, kind, result.schema)})
    if derived or not header:
        default = ACLED_COLUMNS if kind == "acled" else UCDP_COLUMNS
        header.update(dict.fromkeys(default))
    return out, list(header)


def acled_row(ev: Event, row: Any) -> dict[str, Any]:
    """An event of ours in ACLED's columns (codes translated; absent values left empty)."""
    country = _iso(row.country) or ev.location.country
    side_a, assoc_a, side_b, assoc_b = _sides(ev)
    return {
        "event_id_cnty": ev.id, "event_date": ev.day.isoformat(), "year": ev.day.year,
        "time_precision": ACLED_TIME[ev.date_precision], "event_type": ev.event_type,
        "sub_event_type": ev.sub_event_type or "",
        "actor1": "; ".join(side_a), "assoc_actor_1": "; ".join(assoc_a),
        "inter1": _inter(ev, "side_a"),
        "actor2": "; ".join(side_b), "assoc_actor_2": "; ".join(assoc_b),
        "inter2": _inter(ev, "side_b"),
        "iso": _iso_numeric(country), "country": _country_name(country),
        "admin1": _iso(row.admin1) or "", "location": row.place_name,
        "latitude": f"{row.geometry.y:.6f}", "longitude": f"{row.geometry.x:.6f}",
        "geo_precision": ACLED_GEO.get(row.geo_precision, 2),
        "source": "; ".join(s.publisher for s in ev.sources),
        "notes": ev.description or ev.title,
        "fatalities": "" if ev.fatalities is None else ev.fatalities,
        "tags": "; ".join(ev.tags), "timestamp": "",
    }


UCDP_VIOLENCE_OF = {"Violence against civilians": 3}


def ucdp_row(ev: Event, row: Any) -> dict[str, Any]:
    """An event of ours in UCDP GED's columns; best/low/high only from what the record says."""
    first = ev.sources[0]
    end = ev.end_date if ev.end_date is not None else ev.date
    side_a, _, side_b, _ = _sides(ev)
    fig = ev.figures

    def count(key: str, fallback: int | None = None) -> Any:
        v = fig.get(key, fallback)
        return "" if v is None else v

    return {
        "id": ev.id, "year": ev.day.year,
        "type_of_violence": UCDP_VIOLENCE_OF.get(ev.event_type, 1),
        "conflict_name": "", "dyad_name": " - ".join([*side_a[:1], *side_b[:1]]),
        "side_a": "; ".join(side_a), "side_b": "; ".join(side_b),
        "source_article": first.publisher,
        "source_headline": first.provenance or first.quote or "",
        "source_date": first.published.isoformat(),
        "where_prec": UCDP_WHERE.get(row.geo_precision, 5),
        "where_description": row.place_name, "adm_1": _iso(row.admin1) or "",
        "latitude": f"{row.geometry.y:.6f}", "longitude": f"{row.geometry.x:.6f}",
        "country": _country_name(_iso(row.country) or ev.location.country),
        "date_prec": UCDP_DATE[ev.date_precision],
        "date_start": ev.day.isoformat(),
        "date_end": (end.date() if isinstance(end, datetime) else end).isoformat(),
        "best": count("best", ev.fatalities), "low": count("low"), "high": count("high"),
    }


def csv_text(rows: list[dict[str, Any]], columns: list[str],
             own: tuple[str, ...] = SCHEMA.own_columns) -> str:
    """The rows as CSV, the dataset's `columns` then our `own`, every text cell (column names
    too) neutralised against spreadsheet formulas (see `csvsafe`); our own import takes the
    neutralising quote off again."""
    buf = io.StringIO()
    # RFC 4180 line ends: the writer then quotes every cell holding a CR or LF
    w = csv.writer(buf, lineterminator="\r\n")
    fields = [*columns, *own]
    w.writerow([neutralise(c) for c in fields])
    w.writerows([neutralise(v) if isinstance(v, str) else v for v in
                 (row.get(c, "") for c in fields)] for row in rows)
    return buf.getvalue()


def refuse_inside(target: Path, events_dir: Path) -> None:
    """Outputs never go into the events folder: a build there would mix generated files with
    the records, and an export could overwrite one."""
    if target.resolve().is_relative_to(events_dir.resolve()):
        raise ExportError(f"refusing to write {target} inside the events folder {events_dir}")


def export(result: Result, fmt: str, target: Path, events_dir: Path | None = None) -> Path:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if events_dir is not None:
        refuse_inside(target, events_dir)
    if fmt == "geojson":
        return write_events_geojson(result, target)
    if fmt == "gpkg":
        return write_gpkg(result, target)
    if fmt == "kml":
        return write_kml(result, target)
    if fmt == "fgb":
        return write_fgb(result, target)
    kind = "acled" if fmt == "csv" else "ucdp"
    rows, header = _rows(result, kind, acled_row if kind == "acled" else ucdp_row)
    return write_atomic(target, csv_text(rows, header, result.schema.own_columns))
