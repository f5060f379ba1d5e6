"""Writers for GIS tools and spreadsheets: GeoJSON (RFC 7946), GPKG, KML, CSV, FlatGeobuf.

Everything is written through GDAL (pyogrio) into a temp file beside the target and renamed,
so a reader never sees half a file. Nothing is written into the events folder.
"""

from __future__ import annotations

import csv
import html
import io
import json
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from .atomic import write_atomic, write_via_temp
from .codes import ACLED_GEO, ACLED_TIME, UCDP_DATE, UCDP_WHERE
from .model import Event, country_table
from .pipeline import COLUMNS, Result
from .store import event_to_data

FORMATS = ("geojson", "gpkg", "kml", "csv", "fgb", "ucdp-csv")
SUFFIX = {"geojson": ".geojson", "gpkg": ".gpkg", "kml": ".kml", "csv": ".csv", "fgb": ".fgb",
          "ucdp-csv": ".ucdp.csv"}


class ExportError(RuntimeError):
    pass


def _iso(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    return v.isoformat() if isinstance(v, date | datetime) else str(v)


def events_frame(result: Result) -> gpd.GeoDataFrame:
    """One row per event: the flat DESIGN properties, dates as ISO text, lists kept as lists."""
    f = result.frame[[*COLUMNS, "geometry"]].copy()
    # from the records table: no model object per event needed for these
    f["date"] = result.records["date"].astype(str).tolist()
    f["end_date"] = [None if v is None or v != v else str(v)
                     for v in result.records["end_date"].tolist()]
    f["border_distance_km"] = f["border_distance_km"].astype(float).round(3)
    f["side_uncertain"] = f["side_uncertain"].astype("boolean")  # null: no border to measure
    for col in ("country", "admin1", "controller", "sub_event_type"):
        f[col] = [None if v is None or v != v else str(v) for v in f[col]]
    f["actors"] = [list(a) for a in f["actors"]]
    f["source_urls"] = [list(u) for u in f["source_urls"]]
    return gpd.GeoDataFrame(f, geometry="geometry", crs=4326)


def write_geojson(frame: gpd.GeoDataFrame, target: Path) -> Path:
    return write_via_temp(target, lambda t: pyogrio.write_dataframe(
        frame, t, driver="GeoJSON", layer=target.name.split(".")[0],
        layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "6", "WRITE_BBOX": "YES"}))


def write_layers_geojson(result: Result, target: Path) -> Path:
    parts = [lyr.frame[["layer", "name", "iso", "kind", "source", "geometry"]]
             for lyr in result.layers.values()]
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)
    return write_geojson(frame, target)


def sources_table(events: list[Event]) -> pd.DataFrame:
    rows = [{"event_id": ev.id, "n": i + 1, "url": s.url, "publisher": s.publisher,
             "published": s.published.isoformat(), "quote": s.quote,
             "archive_url": s.archive_url,
             "accessed": s.accessed.isoformat() if s.accessed else None}
            for ev in events for i, s in enumerate(ev.sources)]
    return pd.DataFrame(rows, columns=["event_id", "n", "url", "publisher", "published", "quote",
                                       "archive_url", "accessed"])


def write_gpkg(result: Result, target: Path) -> Path:
    frame = events_frame(result)
    for col in ("actors", "source_urls"):  # GPKG has no list type: JSON text
        frame[col] = [json.dumps(v, ensure_ascii=False) for v in frame[col]]

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
    frame = events_frame(result)
    for col in ("actors", "source_urls"):
        frame[col] = [json.dumps(v, ensure_ascii=False) for v in frame[col]]
    return write_via_temp(target, lambda t: pyogrio.write_dataframe(
        frame, t, driver="FlatGeobuf", layer="events", layer_options={"SPATIAL_INDEX": "NO"}))


# ---------------------------------------------------------------- CSV in the datasets' words

# Our own columns, after the dataset's: together they carry the whole record, so a CSV that
# went out can come back in without loss.
OWN = ["title", "status", "event_type_cm", "sub_event_type_cm", "date_cm", "date_precision_cm",
       "end_date_cm", "location_json", "description", "actors_json", "sources_json",
       "figures_json", "tags_json", "control_change_json", "fatalities_cm",
       "geo_precision_cm", "geocoder", "admin1_layer", "border_distance_km", "side_uncertain",
       "controller"]
ACLED_COLUMNS = ["event_id_cnty", "event_date", "year", "time_precision", "event_type",
                 "sub_event_type", "actor1", "assoc_actor_1", "actor2", "iso", "country",
                 "admin1", "location", "latitude", "longitude", "geo_precision", "source",
                 "notes", "fatalities", "tags", "timestamp"]
UCDP_COLUMNS = ["id", "year", "type_of_violence", "conflict_name", "dyad_name", "side_a",
                "side_b", "source_article", "source_headline", "source_date", "where_prec",
                "where_description", "adm_1", "latitude", "longitude", "country", "date_prec",
                "date_start", "date_end", "best", "low", "high"]


def _own(ev: Event, row: Any) -> dict[str, Any]:
    data = event_to_data(ev)

    def js(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, default=str)

    return {
        "title": ev.title, "status": ev.status, "event_type_cm": ev.event_type,
        "sub_event_type_cm": ev.sub_event_type or "", "date_cm": ev.date.isoformat(),
        "date_precision_cm": ev.date_precision, "end_date_cm": _iso(ev.end_date) or "",
        "location_json": js(data["location"]), "description": ev.description or "",
        "actors_json": js(list(ev.actors)), "sources_json": js(data["sources"]),
        "figures_json": js(ev.figures), "tags_json": js(list(ev.tags)),
        "control_change_json": js(data.get("control_change")),
        "fatalities_cm": "" if ev.fatalities is None else str(ev.fatalities),
        "geo_precision_cm": row.geo_precision, "geocoder": row.geocoder,
        "admin1_layer": _iso(row.admin1) or "",
        "border_distance_km": "" if row.border_distance_km != row.border_distance_km
        else f"{row.border_distance_km:.3f}",
        "side_uncertain": str(bool(row.side_uncertain)).lower(),
        "controller": _iso(row.controller) or "",
    }


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


def acled_rows(result: Result) -> list[dict[str, Any]]:
    out = []
    for ev, row in zip(result.events, result.frame.itertuples(index=False), strict=True):
        country = _iso(row.country) or ev.location.country
        out.append({
            "event_id_cnty": ev.id, "event_date": ev.day.isoformat(), "year": ev.day.year,
            "time_precision": ACLED_TIME[ev.date_precision], "event_type": ev.event_type,
            "sub_event_type": ev.sub_event_type or "",
            "actor1": ev.actors[0] if ev.actors else "",
            "assoc_actor_1": "; ".join(ev.actors[2:]),
            "actor2": ev.actors[1] if len(ev.actors) > 1 else "",
            "iso": _iso_numeric(country), "country": _country_name(country),
            "admin1": _iso(row.admin1) or "", "location": row.place_name,
            "latitude": f"{row.geometry.y:.6f}", "longitude": f"{row.geometry.x:.6f}",
            "geo_precision": ACLED_GEO.get(row.geo_precision, 2),
            "source": "; ".join(s.publisher for s in ev.sources),
            "notes": ev.description or ev.title, "fatalities": ev.fatalities or 0,
            "tags": "; ".join(ev.tags), "timestamp": "",
            **_own(ev, row),
        })
    return out


def ucdp_rows(result: Result) -> list[dict[str, Any]]:
    out = []
    for ev, row in zip(result.events, result.frame.itertuples(index=False), strict=True):
        first = ev.sources[0]
        end = ev.end_date if ev.end_date is not None else ev.date
        out.append({
            "id": ev.id, "year": ev.day.year,
            "type_of_violence": 3 if ev.event_type == "Violence against civilians" else 1,
            "conflict_name": "", "dyad_name": " - ".join(ev.actors[:2]),
            "side_a": ev.actors[0] if ev.actors else "",
            "side_b": ev.actors[1] if len(ev.actors) > 1 else "",
            "source_article": first.publisher, "source_headline": first.quote or "",
            "source_date": first.published.isoformat(),
            "where_prec": UCDP_WHERE.get(row.geo_precision, 5),
            "where_description": row.place_name, "adm_1": _iso(row.admin1) or "",
            "latitude": f"{row.geometry.y:.6f}", "longitude": f"{row.geometry.x:.6f}",
            "country": _country_name(_iso(row.country) or ev.location.country),
            "date_prec": UCDP_DATE[ev.date_precision],
            "date_start": ev.day.isoformat(),
            "date_end": (end.date() if isinstance(end, datetime) else end).isoformat(),
            "best": ev.fatalities or 0, "low": ev.fatalities or 0, "high": ev.fatalities or 0,
            **_own(ev, row),
        })
    return out


def csv_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=[*columns, *OWN], lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def export(result: Result, fmt: str, target: Path, events_dir: Path | None = None) -> Path:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if events_dir is not None:
        inside = target.resolve().is_relative_to(events_dir.resolve())
        if inside:
            raise ExportError(f"refusing to write {target} inside the events folder {events_dir}")
    if fmt == "geojson":
        return write_geojson(events_frame(result), target)
    if fmt == "gpkg":
        return write_gpkg(result, target)
    if fmt == "kml":
        return write_kml(result, target)
    if fmt == "fgb":
        return write_fgb(result, target)
    if fmt == "csv":
        return write_atomic(target, csv_text(acled_rows(result), ACLED_COLUMNS))
    return write_atomic(target, csv_text(ucdp_rows(result), UCDP_COLUMNS))
