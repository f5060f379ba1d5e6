"""Readers for the big conflict datasets: ACLED and UCDP GED CSV rows to our event records.

Rows stream (csv module, one row at a time). When a row carries our own columns (a CSV that
conflictmap exported), they win and the record comes back whole; otherwise the dataset's columns
are mapped, with precision codes translated and provenance kept.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .codes import ACLED_GEO_BACK, ACLED_TIME_BACK, UCDP_DATE_BACK, UCDP_WHERE_BACK
from .model import ID_RE, Event, country_table
from .store import drop_none, field_name, known_ids, write_event


@dataclass(frozen=True)
class Skipped:
    line: int
    row_id: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.row_id or 'no id'}): {self.reason}"


def rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each CSV row, streamed; BOMs tolerated."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}


def _date(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return date.fromisoformat(text[:10])  # raises with a clear message


def _int(text: str, default: int | None = None) -> int | None:
    try:
        return int(float(text)) if text != "" else default
    except ValueError:
        return default


def _slug_id(raw: str, prefix: str = "") -> str:
    s = re.sub(r"[^a-z0-9]+", "-", f"{prefix}{raw}".lower()).strip("-")
    return s


def _own(row: dict[str, str], rid: str) -> dict[str, Any] | None:
    """The record exactly as conflictmap exported it, when the row carries our columns."""
    if not row.get("sources_json"):
        return None
    rec: dict[str, Any] = {
        "id": rid, "date": row["date_cm"], "title": row["title"], "status": row["status"],
        "event_type": row["event_type_cm"], "sub_event_type": row.get("sub_event_type_cm") or None,
        "date_precision": row["date_precision_cm"], "end_date": row.get("end_date_cm") or None,
        "location": json.loads(row["location_json"]),
        "description": row.get("description") or None,
        "actors": json.loads(row["actors_json"]), "sources": json.loads(row["sources_json"]),
        "figures": json.loads(row["figures_json"]), "tags": json.loads(row["tags_json"]),
        "control_change": json.loads(row.get("control_change_json") or "null"),
        "fatalities": _int(row.get("fatalities_cm", "")),
    }
    return rec


def acled_record(row: dict[str, str]) -> dict[str, Any]:
    own = _own(row, row["event_id_cnty"])  # a CSV we exported carries the whole record
    if own:
        return own
    iso2 = country_table()["iso_n3"].get(str(_int(row.get("iso", "")) or ""))
    when = _date(row["event_date"])
    actors = [a for a in (row.get("actor1"), row.get("actor2")) if a]
    actors += [a.strip() for a in row.get("assoc_actor_1", "").split(";") if a.strip()]
    stamp = _int(row.get("timestamp", ""))
    published = datetime.fromtimestamp(stamp, UTC).date() if stamp else when
    rec: dict[str, Any] = {
        "id": _slug_id(row["event_id_cnty"]),
        "date": when.isoformat(),
        "date_precision": ACLED_TIME_BACK.get(_int(row.get("time_precision", "1")) or 1, "day"),
        "title": f"{row.get('sub_event_type') or row['event_type']}: {row.get('location', '')}",
        "event_type": row["event_type"],
        "sub_event_type": row.get("sub_event_type") or None,
        "actors": actors,
        "location": {"name": row.get("location") or None, "country": iso2,
                     "lat": float(row["latitude"]), "lon": float(row["longitude"]),
                     "precision": ACLED_GEO_BACK.get(_int(row.get("geo_precision", "")) or 0)},
        "description": row.get("notes") or None,
        "fatalities": _int(row.get("fatalities", "")),
        "sources": [{"publisher": f"ACLED ({row['source']})" if row.get("source") else "ACLED",
                     "published": published.isoformat()}],
        "tags": [t.strip() for t in row.get("tags", "").split(";") if t.strip()],
    }
    return rec


UCDP_VIOLENCE = {1: ("Battles", "Armed clash"), 2: ("Battles", "Armed clash"),
                 3: ("Violence against civilians", "Attack")}


def ucdp_record(row: dict[str, str]) -> dict[str, Any]:
    own = _own(row, row["id"])
    if own:
        return own
    start = _date(row["date_start"])
    end = _date(row["date_end"]) if row.get("date_end") else start
    etype, sub = UCDP_VIOLENCE.get(_int(row.get("type_of_violence", "1")) or 1, UCDP_VIOLENCE[1])
    figures = {k: _int(row[k]) for k in ("deaths_a", "deaths_b", "deaths_civilians",
                                         "deaths_unknown", "low", "high")
               if row.get(k, "") != "" and _int(row[k]) is not None}
    source_date = row.get("source_date", "")
    rec: dict[str, Any] = {
        "id": _slug_id(row["id"], "ucdp-"),
        "date": start.isoformat(),
        "date_precision": UCDP_DATE_BACK.get(_int(row.get("date_prec", "1")) or 1, "day"),
        "title": row.get("dyad_name") or row.get("conflict_name") or "UCDP GED event",
        "event_type": etype, "sub_event_type": sub,
        "actors": [a for a in (row.get("side_a"), row.get("side_b")) if a],
        "location": {"name": row.get("where_description") or row.get("adm_1") or None,
                     "lat": float(row["latitude"]), "lon": float(row["longitude"]),
                     "precision": UCDP_WHERE_BACK.get(_int(row.get("where_prec", "")) or 0)},
        "fatalities": _int(row.get("best", "")),
        "figures": figures,
        "sources": [{"publisher": row.get("source_article") or "UCDP GED",
                     "published": (_date(source_date[:10]) if source_date else start).isoformat(),
                     "quote": (row.get("source_headline") or None)}],
    }
    if end != start:
        rec["end_date"] = end.isoformat()
    return rec


READERS = {"acled": (acled_record, "event_id_cnty"), "ucdp": (ucdp_record, "id")}


@dataclass
class ImportReport:
    written: list[Path]
    events: list[Event]
    skipped: list[Skipped]


def convert(kind: str, path: Path) -> tuple[list[Event], list[Skipped]]:
    """Validated events from a dataset CSV, and the rows skipped with their reasons."""
    to_record, id_col = READERS[kind]
    events, skipped = [], []
    for line, row in rows(path):
        rid = row.get(id_col, "")
        try:
            rec = to_record(row)
        except (KeyError, ValueError, TypeError, json.JSONDecodeError) as exc:
            skipped.append(Skipped(line, rid, f"unreadable row: {type(exc).__name__}: {exc}"))
            continue
        if not ID_RE.match(rec.get("id") or ""):
            skipped.append(Skipped(line, rid, f"cannot make an id from {rid!r}"))
            continue
        try:
            events.append(Event.model_validate(drop_none(rec)))
        except ValidationError as exc:
            why = "; ".join(f"{field_name(tuple(e['loc']))}: {e['msg']}" for e in exc.errors())
            skipped.append(Skipped(line, rid, why))
    return events, skipped


def import_csv(kind: str, path: Path, events_dir: Path, dry_run: bool = False) -> ImportReport:
    """Write one event file per row; never overwrites (existing ids are skipped and reported)."""
    events, skipped = convert(kind, path)
    taken = known_ids(events_dir) if events_dir.exists() else set()
    written, kept = [], []
    for ev in events:
        if ev.id in taken:
            skipped.append(Skipped(0, ev.id or "", "id already exists in the events folder"))
            continue
        taken.add(ev.id or "")
        kept.append(ev)
        if not dry_run:
            written.append(write_event(events_dir, ev))
    return ImportReport(written, kept, skipped)


def import_to_dataset(kind: str, path: Path, target: Path) -> ImportReport:
    """All valid rows into one dataset file (never overwrites an existing one)."""
    from .dataset import write_dataset

    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file name")
    events, skipped = convert(kind, path)
    write_dataset(events, target)
    return ImportReport([target], events, skipped)
