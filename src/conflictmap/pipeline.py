"""build(): events folder + layer manifest -> enriched GeoDataFrame. Used by the CLI and tests.

load -> geocode -> enrich, one way. Places that cannot be resolved are collected (file, name,
suggestions) and fail the build together unless the caller allows them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import Point

from . import layers as layer_io
from .dataset import read_dataset
from .enrich import enrich
from .geocode.areas import AREA_PRECISIONS, Areas
from .geocode.base import Chain, Geocoder, Place
from .geocode.gazetteer import GAZETTEER, Curated, GeoNames
from .model import Event
from .store import InvalidEvents, Problem, add_unique, load_events
from .timeline import Timeline

COLUMNS = ["id", "date", "end_date", "date_precision", "title", "event_type", "sub_event_type",
           "actors", "status", "place_name", "geo_precision", "geocoder", "country", "admin1",
           "border_distance_km", "side_uncertain", "controller", "source_urls"]


@dataclass(frozen=True)
class Unresolved:
    path: str
    line: int
    name: str
    suggestions: list[str]

    def __str__(self) -> str:
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        return f"{self.path}:{self.line}: location.name: no place called {self.name!r}{hint}"


class UnresolvedPlaces(Exception):
    def __init__(self, unresolved: list[Unresolved]):
        self.unresolved = unresolved
        super().__init__("\n".join(map(str, unresolved)))


@dataclass
class Result:
    frame: gpd.GeoDataFrame  # one row per located event, COLUMNS + helpers + geometry
    events: list[Event]  # aligned with frame rows
    timeline: Timeline
    layers: dict[str, layer_io.Layer]
    unresolved: list[Unresolved] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class LazyGeoNames:
    """GeoNames, loaded on the first lookup: its index costs ~0.5 s and ~400 MB, and a
    dataset whose events all carry coordinates never needs it."""

    name = "geonames"

    def __init__(self, aliases: list):
        self._aliases = aliases
        self._real: GeoNames | None = None

    def _get(self) -> GeoNames:
        if self._real is None:
            self._real = GeoNames(aliases=self._aliases)
        return self._real

    def geocode(self, name: str, country: str | None = None) -> Place | None:
        return self._get().geocode(name, country)

    def suggest(self, name: str, country: str | None = None, n: int = 5) -> list[str]:
        return self._get().suggest(name, country, n)


@dataclass
class Geocoders:
    """The offline chain, with an optional online service slotted in before GeoNames."""

    areas: Areas
    curated: Curated
    geonames: Geocoder
    online: Geocoder | None = None

    @classmethod
    def offline(cls, admin1: gpd.GeoDataFrame, gazetteer: Path = GAZETTEER,
                online: Geocoder | None = None) -> Geocoders:
        curated = Curated(gazetteer)
        return cls(Areas(admin1), curated, LazyGeoNames(curated.data.aliases), online)

    def chain(self, precision: str | None = None) -> Chain:
        order: list[Geocoder] = [self.areas] if precision in AREA_PRECISIONS else []
        order += [self.curated] + ([self.online] if self.online else []) + [self.geonames]
        if precision not in AREA_PRECISIONS:
            order.append(self.areas)  # a district named without precision still resolves
        return Chain(order)


def locate(event: Event, geocoders: Geocoders) -> tuple[Place | None, Chain]:
    loc = event.location
    chain = geocoders.chain(loc.precision)
    if loc.lat is not None and loc.lon is not None:
        return Place(loc.lat, loc.lon, loc.name or f"{loc.lat:.4f}, {loc.lon:.4f}", loc.country,
                     None, loc.precision or "unspecified", "record"), chain
    assert loc.name is not None  # the model guarantees a name or a point
    return chain.geocode(loc.name, loc.country), chain


def load_all(paths: list[Path], datasets: list[Path]) -> list[Event]:
    """YAML events and dataset events together; an id used twice is an error naming both."""
    events = load_events(paths)
    seen = {ev.id or "": ev for ev in events}
    problems: list[Problem] = []
    for path in datasets:
        for ev in read_dataset(path):
            add_unique(ev, seen, events, problems)
    if problems:
        raise InvalidEvents(problems)
    return sorted(events, key=lambda e: (e.day, e.id or ""))


def build(events_dir: Path | list[Path], manifest: Path = layer_io.MANIFEST, *,
          datasets: list[Path] | None = None,
          gazetteer: Path = GAZETTEER, online: Geocoder | None = None,
          allow_unresolved: bool = False,
          warn: Callable[[str], None] | None = None) -> Result:
    paths = events_dir if isinstance(events_dir, list) else [events_dir]
    events = load_all(paths, datasets or [])
    loaded = layer_io.load_layers(manifest)
    frames = {kind: _concat(layer_io.of_kind(loaded, kind))
              for kind in ("country", "admin1", "line", "handover")}
    geocoders = Geocoders.offline(frames["admin1"], gazetteer, online)
    rows, kept, unresolved, warnings = [], [], [], []
    for ev in events:
        place, chain = locate(ev, geocoders)
        path, line = ev.origin or ("?", 0)
        if place is None:
            name = ev.location.name or ""
            hints = chain.suggest(name, ev.location.country)
            unresolved.append(Unresolved(path, line, name, hints))
            continue
        if place.ambiguous:
            others = "; ".join(f"{c.name} ({c.source}, {c.lat:.4f}, {c.lon:.4f})"
                               for c in place.candidates)
            warnings.append(f"{path}:{line}: {ev.location.name!r} is ambiguous: chose "
                            f"{place.name} ({place.source}); also {others}. Add lat/lon or "
                            "a country hint.")
        rows.append(_row(ev, place))
        kept.append(ev)
    if unresolved and not allow_unresolved:
        raise UnresolvedPlaces(unresolved)
    for w in warnings:
        (warn or (lambda _m: None))(w)
    timeline = Timeline.from_events(events, frames["handover"])
    frame = gpd.GeoDataFrame(rows, columns=[*COLUMNS, "geometry"], geometry="geometry",
                             crs=4326)
    frame["date"] = [ev.day for ev in kept]
    accuracy = max((lyr.spec.accuracy_km for lyr in loaded.values()
                    if lyr.spec.kind in ("line", "country")), default=0.0)
    enriched = enrich(frame.drop(columns=["country", "admin1", "border_distance_km",
                                          "side_uncertain", "controller"]),
                      countries=frames["country"], admin1=frames["admin1"],
                      borders=frames["line"], handover=frames["handover"],
                      timeline=timeline, border_accuracy_km=accuracy)
    enriched = enriched[[*COLUMNS, "handover_area", "geometry"]]
    return Result(enriched, kept, timeline, loaded, unresolved, warnings)


def _concat(parts: list[layer_io.Layer]) -> gpd.GeoDataFrame:
    if not parts:
        return gpd.GeoDataFrame({"name": [], "iso": []}, geometry=[], crs=4326)
    import pandas as pd

    return gpd.GeoDataFrame(pd.concat([p.frame for p in parts], ignore_index=True),
                            geometry="geometry", crs=4326)


def _row(ev: Event, place: Place) -> list[object]:
    return [
        ev.id, ev.day, ev.end_date, ev.date_precision, ev.title, ev.event_type,
        ev.sub_event_type, list(ev.actors), ev.status, ev.location.name or place.name,
        ev.location.precision or place.precision, place.source, None, None, np.nan, False,
        None, [s.url for s in ev.sources if s.url], Point(place.lon, place.lat),
    ]
