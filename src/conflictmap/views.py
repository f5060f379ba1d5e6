"""What the commands print, as plain rows: events, enriched events and places.

Kept out of the CLI so that every command shows a value the same way (dates in the record's
own form, admin-1 as a name, absent as null) and a library caller gets the same rows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .geocode.base import Place
from .model import Event
from .text import when

if TYPE_CHECKING:  # the pipeline pulls in geopandas; `list` never needs it
    from .pipeline import Result

LIST_COLUMNS = ("date", "id", "type", "place", "status")
ENRICH_COLUMNS = ("date", "id", "place_name", "geocoder", "country", "admin1", "admin1_uncertain",
                  "border_distance_km", "side_uncertain", "controller")


def event_json(events: list[Event]) -> list[dict[str, Any]]:
    """`list --json`: each record as its own fields, nothing absent invented."""
    return [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in events]


def event_cells(e: Event) -> tuple[str, ...]:
    """`list`: one table row (LIST_COLUMNS)."""
    place = e.location.name or f"{e.location.lat:.4f}, {e.location.lon:.4f}"
    return when(e.date), e.id or "", e.event_type, place, e.status


def enriched_json(result: Result) -> list[dict[str, Any]]:
    """`enrich --json`: one object per event; `date`/`end_date` as the record writes them (the
    frame holds the calendar day), lat/lon from the point, NaN as null."""
    frame = result.frame.drop(columns="geometry")
    rows = json.loads(frame.to_json(orient="records", date_format="iso", force_ascii=False))
    own = result.records[["date", "end_date"]].to_dict("records")
    points = zip(result.frame.geometry.y, result.frame.geometry.x, strict=True)
    for row, dates, (lat, lon) in zip(rows, own, points, strict=True):
        row["date"] = when(dates["date"])
        row["end_date"] = when(dates["end_date"]) or None
        row["lat"], row["lon"] = round(lat, 6), round(lon, 6)
    return rows


def enriched_cells(result: Result) -> list[list[str]]:
    """`enrich`: the table rows (ENRICH_COLUMNS), empty where a value is absent."""
    import pandas as pd

    def cell(v: Any) -> str:
        return "" if pd.isna(v) else str(v)

    frame = result.frame.assign(date=result.records["date"].map(when).to_numpy())
    return [[cell(v) for v in row] for row in frame[list(ENRICH_COLUMNS)].itertuples(index=False)]


def place_json(place: Place) -> dict[str, Any]:
    """`geocode --json`: the place and the candidates it was chosen over."""
    keys = ("name", "lat", "lon", "country", "admin1", "precision", "source")
    return {k: getattr(place, k) for k in keys} | {
        "candidates": [{k: getattr(c, k) for k in keys} for c in place.candidates]}
