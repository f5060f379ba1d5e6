"""A new event from the `add` command's values: drafted, checked like any event file (the
model, then the offline geocoder), and written once, never over another.

Problems are told in the words the user typed, the flag names (`--place`, not
`location.name`), since nobody has a file to look at yet.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import store
from .errors import ConflictmapError
from .model import Event

# Event field -> the `add` flag that sets it.
FLAG_OF = {
    "id": "--id", "date": "--date", "end_date": "--end-date", "title": "--title",
    "event_type": "--type", "sub_event_type": "--sub-type", "location.name": "--place",
    "location.country": "--country", "location.lat": "--lat", "location.lon": "--lon",
    "location.precision": "--precision", "sources[0].url": "--source-url",
    "sources[0].publisher": "--publisher", "sources[0].published": "--published",
    "sources[0].quote": "--quote", "status": "--status", "fatalities": "--fatalities",
    "description": "--description", "date_precision": "--date-precision",
}


class AddError(ConflictmapError):
    """The values given to `add` do not make an event we can write."""


def draft(*, date_: str | None, title: str | None, event_type: str | None,
          place: str | None, country: str | None = None, lat: float | None = None,
          lon: float | None = None, precision: str | None = None, sub_type: str | None = None,
          source_url: str | None = None, publisher: str | None = None,
          published: str | None = None, quote: str | None = None,
          actors: list[str] | None = None, description: str | None = None,
          status: str | None = None, fatalities: int | None = None,
          tags: list[str] | None = None, event_id: str | None = None) -> Event:
    """The event these values describe (its id from the date and title unless given)."""
    record: dict[str, Any] = store.drop_none({
        "date": date_, "title": title, "event_type": event_type, "sub_event_type": sub_type,
        "actors": actors or [], "description": description, "status": status,
        "fatalities": fatalities, "tags": tags or [],
        "location": {"name": place or None, "country": country, "lat": lat, "lon": lon,
                     "precision": precision},
        "sources": [{"url": source_url, "publisher": publisher, "published": published,
                     "quote": quote, "accessed": date.today().isoformat()}],
    })
    if event_id is None and record.get("date") and record.get("title"):
        event_id = f"{str(record['date'])[:10]}-{store.slug(str(record['title']))}"
    record["id"] = event_id
    try:
        return Event.model_validate(record)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            name = store.field_name(tuple(e["loc"]))
            lines.append(f"add: {FLAG_OF.get(name, name)}: "
                         f"{'required' if e['type'] == 'missing' else e['msg']}")
        raise AddError(lines) from None


def resolve(event: Event, manifest: Path) -> None:
    """Refuse a place the offline geocoders cannot find now, not at the next build."""
    if event.location.lat is not None:
        return
    from .pipeline import events_places

    unresolved = events_places([event], manifest)
    if unresolved:
        raise AddError([f"add: --place: {str(u).split('location.name: ', 1)[1]}"
                        for u in unresolved])


def write(folder: Path, event: Event) -> Path:
    """The new file, created atomically; an id already used is refused."""
    try:
        return store.write_event(folder, event)
    except (FileExistsError, ValueError) as exc:
        raise AddError(f"add: {exc}") from None
