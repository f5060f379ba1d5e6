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
import pyogrio
from pydantic import ValidationError
from shapely import points

from .atomic import write_via_temp
from .model import Event
from .store import InvalidEvents, Problem, event_to_data, field_name

LAYER = "events"
JSON_FIELDS = ("location", "actors", "sources", "figures", "tags", "control_change")


def _flat(ev: Event) -> dict[str, Any]:
    data = event_to_data(ev)
    row = {k: v for k, v in data.items() if k not in JSON_FIELDS}
    for k in ("date", "end_date"):
        if k in row:
            row[k] = row[k].isoformat()
    for k in JSON_FIELDS:
        row[f"{k}_json"] = json.dumps(data.get(k), ensure_ascii=False, default=str)
    return row


COLUMNS = ["id", "date", "end_date", "date_precision", "title", "event_type", "sub_event_type",
           "description", "fatalities", "status", *(f"{k}_json" for k in JSON_FIELDS)]


def write_dataset(events: list[Event], target: Path) -> Path:
    """All events into one GPKG table (atomically). Each needs a lat/lon point."""
    rows = [_flat(ev) for ev in events]
    frame = gpd.GeoDataFrame(
        [{c: r.get(c) for c in COLUMNS} for r in rows], columns=COLUMNS,
        geometry=points([ev.location.lon for ev in events], [ev.location.lat for ev in events]),
        crs=4326)
    return write_via_temp(target, lambda t: pyogrio.write_dataframe(
        frame, t, driver="GPKG", layer=LAYER))


def read_dataset(path: Path) -> list[Event]:
    """Validated events from a dataset; every bad row is reported as path:row: field: msg."""
    frame = pyogrio.read_dataframe(path, layer=LAYER, read_geometry=False,
                                   datetime_as_string=True, fid_as_index=True)
    events, problems = [], []
    for fid, rec in zip(frame.index, frame.to_dict("records"), strict=True):
        data: dict[str, Any] = {}
        for k, v in rec.items():
            if v is None or v != v:
                continue
            if k.endswith("_json"):
                parsed = json.loads(v)
                if parsed is not None:
                    data[k[:-5]] = parsed
            else:
                data[k] = int(v) if k == "fatalities" else v
        try:
            ev = Event.model_validate(data)
        except ValidationError as exc:
            problems += [Problem(str(path), int(fid), 1, field_name(tuple(e["loc"])), e["msg"])
                         for e in exc.errors()]
            continue
        ev._origin = (str(path), int(fid))
        events.append(ev)
    if problems:
        raise InvalidEvents(problems)
    return events
