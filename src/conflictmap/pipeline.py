"""build(): events (YAML and datasets) + layer manifest -> enriched GeoDataFrame.

load -> geocode -> enrich, one way. Events travel as a records table (one row per event, the
record's fields as columns, nested parts as JSON text), so 100k dataset rows never become 100k
model objects; YAML events are validated by the model as they are read, dataset rows in bulk.
Places that cannot be resolved are collected (file, name, suggestions) and fail the build
together unless the caller allows them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import enrichcache, gcpause, progress, recordcache
from . import layerio as layer_io
from .aggregate import Density, Window, density
from .dataset import read_records, record_from_row
from .enrich import enrich
from .errors import ConflictmapError
from .geocode.areas import AREA_PRECISIONS, Areas
from .geocode.base import Chain, Geocoder, Place, Query
from .geocode.gazetteer import GAZETTEER, Curated, GeoNames
from .model import Event, GeoPrecision
from .record import SCHEMA, Schema
from .store import InvalidEvents, Problem, field_position
from .timeline import Change, Timeline
from .yamlrecords import read_yaml

COLUMNS = ["id", "date", "end_date", "date_precision", "title", "event_type", "sub_event_type",
           "actors", "status", "place_name", "geo_precision", "geocoder", "country", "admin1",
           "admin1_uncertain", "admin1_candidates", "border_distance_km", "side_uncertain",
           "controller", "source_urls"]


@dataclass(frozen=True)
class Unresolved:
    path: str
    line: int
    name: str
    suggestions: list[str]
    col: int = 1
    country: str | None = None
    elsewhere: str | None = None  # where the name is found without the country hint

    def __str__(self) -> str:
        where = f" in {self.country}" if self.country else ""
        if self.elsewhere:
            hint = f"; the country hint rules out {self.elsewhere}: is the hint right?"
        else:
            hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        return (f"{self.path}:{self.line}:{self.col}: location.name: no place called "
                f"{self.name!r}{where}{hint}")


class UnresolvedPlaces(ConflictmapError):
    """Places no geocoder could find, each with where it is written and close names."""

    def __init__(self, unresolved: list[Unresolved]):
        self.unresolved = unresolved
        super().__init__(unresolved, f"{len(unresolved)} unresolved place(s); fix them or "
                                     "pass --allow-unresolved")


@dataclass
class Result:
    frame: gpd.GeoDataFrame  # one row per located event, COLUMNS + helpers + geometry
    records: pd.DataFrame  # the same rows: the record's own fields (nested parts as JSON)
    timeline: Timeline
    layers: dict[str, layer_io.Layer]
    unresolved: list[Unresolved] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    schema: Schema = SCHEMA  # the record's fields: every output's columns come from it
    density: Density | None = None  # a set larger than a page: every event, counted

    @cached_property
    def events(self) -> list[Event]:
        """Model objects for the rows, made on demand (exporters want them; the map does not)."""
        out = []
        for rec in self.records.to_dict("records"):
            ev = self.schema.model.model_validate(record_from_row(rec, self.schema))
            ev._origin = (rec["origin_path"], int(rec["origin_line"]))
            out.append(ev)
        return out


class LazyGeoNames:
    """GeoNames, loaded on the first lookup: its index costs ~0.5 s and ~400 MB, and a
    dataset whose events all carry coordinates never needs it."""

    name = "geonames"

    def __init__(self, aliases: list, home: Sequence[str] = ()):
        self._aliases = aliases
        self._home = home
        self._real: GeoNames | None = None

    def _get(self) -> GeoNames:
        if self._real is None:
            self._real = GeoNames(aliases=self._aliases, home=self._home)
        return self._real

    def geocode(self, name: str, country: str | None = None) -> Place | None:
        return self._get().geocode(name, country)

    def geocode_many(self, queries: Sequence[Query]) -> list[Place | None]:
        return self._get().geocode_many(queries)

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
        home = sorted(admin1["country"].dropna().astype(str).unique()) if (
            "country" in admin1) else []  # the project's own countries, by its layers
        return cls(Areas(admin1), curated, LazyGeoNames(curated.data.aliases, home), online)

    def chain(self, precision: str | None = None) -> Chain:
        order: list[Geocoder] = [self.areas] if precision in AREA_PRECISIONS else []
        order += [self.curated] + ([self.online] if self.online else []) + [self.geonames]
        if precision not in AREA_PRECISIONS:
            order.append(self.areas)  # a district named without precision still resolves
        return Chain(order)


def load_records(paths: list[Path], datasets: Sequence[Path | str],
                 warn: Callable[[str], None] | None = None, cache: bool = True,
                 schema: Schema = SCHEMA, window: Window | None = None) -> pd.DataFrame:
    """All events as one records table sorted by date and id; an id used twice is an error
    naming both places. Each YAML file is read once (and not at all when the records cache
    has it): its problems, those of the other files and the duplicate ids fail together,
    as `validate` reports them; skipped files and doubtful dates go to `warn` either way.
    `schema`: the record's fields (`record.schema_of` a model); `window`: only the dataset
    rows in it (every YAML event is kept)."""
    file_warnings: list[Problem] = []
    records, problems = read_yaml(paths, file_warnings, cache, schema)
    for w in file_warnings:
        (warn or (lambda _m: None))(str(w))
    parts = [records]
    for p in datasets:  # read and checked in bulk
        with progress.step(f"reading and checking {str(p).rstrip('/').rsplit('/', 1)[-1]}"):
            parts.append(read_records(p, schema, window, cache))
    records = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    key = records["id"].str.casefold()  # ids differing only in case are the same id
    dup = key.duplicated(keep="first")
    if dup.any():
        first = records.assign(_key=key).drop_duplicates("_key").set_index("_key")
        problems += [Problem(r.origin_path, int(r.origin_line), 1, "id",
                             f"duplicate id {r.id!r}: also in {first.at[k, 'origin_path']}:"
                             f"{int(first.at[k, 'origin_line'])}")
                     for k, r in zip(key[dup], records[dup].itertuples(), strict=True)]
    if problems:
        raise InvalidEvents(problems)
    day = pd.to_datetime(records["date"].str.slice(0, 10), format="%Y-%m-%d")
    order = np.lexsort((records["id"].to_numpy(), day.to_numpy()))
    return records.iloc[order].reset_index(drop=True)


_PRECISION_ORDER = [p.value for p in GeoPrecision]  # finest first


def coarser(claim: str | None, found: str) -> str:
    """The precision a geocoded point stands for: the record's claim, unless the place the
    name resolved to is coarser (a `site` named "Zod" is the village centre of Sotk, so it is
    drawn with a settlement's ring, not as an exact site)."""
    if claim is None:
        return found
    if claim in _PRECISION_ORDER and found in _PRECISION_ORDER:
        return max(claim, found, key=_PRECISION_ORDER.index)
    return claim


def _locate_missing(records: pd.DataFrame, geocoders: Geocoders,
                    ) -> tuple[np.ndarray, list[Unresolved], list[str]]:
    """Points for rows without lat/lon (names only): geocoder results, or unresolved."""
    n = len(records)
    source = np.full(n, "record", dtype=object)
    keep = np.ones(n, dtype=bool)
    unresolved, warnings = [], []
    locations = records["location"].tolist()
    # column by column (a checked location's lat and lon are numbers or absent): a point's
    # name is its place name, else its coordinates
    lat = np.array([loc.get("lat") for loc in locations], dtype=float)
    lon = np.array([loc.get("lon") for loc in locations], dtype=float)
    given = ~(np.isnan(lat) | np.isnan(lon))
    lat[~given], lon[~given] = np.nan, np.nan
    place_name = np.array([loc.get("name") for loc in locations] + [None], dtype=object)[:-1]
    precision = np.array([loc.get("precision") for loc in locations] + [None],
                         dtype=object)[:-1]
    claims = precision.copy()
    for i in np.flatnonzero(given & ~place_name.astype(bool)).tolist():
        place_name[i] = f"{lat[i]:.4f}, {lon[i]:.4f}"
    precision[given & ~precision.astype(bool)] = "unspecified"
    place_name[~given], precision[~given] = None, None
    # rows that name a place without a point, by chain (area precisions try the areas first)
    missing = np.flatnonzero(~given)
    area = np.isin(claims[missing].astype(str), AREA_PRECISIONS)
    wanted = {True: missing[area].tolist(), False: missing[~area].tolist()}
    for is_area, rows in wanted.items():
        if not rows:
            continue
        chain = geocoders.chain(AREA_PRECISIONS[0] if is_area else None)
        queries = [(locations[i].get("name") or "", locations[i].get("country")) for i in rows]
        for i, (name, country), place in zip(rows, queries, chain.geocode_many(queries),
                                             strict=True):
            where = (records.at[i, "origin_path"], int(records.at[i, "origin_line"]))
            if place is None:
                unresolved.append(_unresolved(chain, where, name, country))
                keep[i] = False
                continue
            if place.ambiguous:
                others = "; ".join(f"{c.name} ({c.source}, {c.lat:.4f}, {c.lon:.4f})"
                                   for c in place.candidates)
                warnings.append(f"{where[0]}:{where[1]}: {name!r} is ambiguous: chose "
                                f"{place.name} ({place.source}); also {others}. "
                                "Add lat/lon or a country hint.")
            lat[i], lon[i], source[i] = place.lat, place.lon, place.source
            place_name[i] = name or place.name
            claim = locations[i].get("precision")
            precision[i] = coarser(claim, place.precision)
            if precision[i] != (claim or precision[i]):  # the point cannot back the claim
                warnings.append(f"{where[0]}:{where[1]}: {name!r} says precision {claim}, but "
                                f"its point is that of a {place.precision} ({place.source}): "
                                f"mapped as {place.precision}; give lat/lon for the {claim}")
    records["_lat"], records["_lon"] = lat, lon
    records["_place"], records["_precision"], records["_geocoder"] = place_name, precision, source
    return keep, unresolved, warnings


def _unresolved(chain: Chain, where: tuple[str, int], name: str,
                country: str | None) -> Unresolved:
    """The problem, pointing at the `location.name` line, with what would have matched."""
    line, col = field_position(where[0], where[1], ("location", "name"))
    found = chain.geocode(name, None) if country else None
    elsewhere = (f"{found.name} in {found.country or '?'} ({found.source})"
                 if found is not None else None)
    return Unresolved(where[0], line, name, chain.suggest(name, country), col, country,
                      elsewhere)


def check_places(records: pd.DataFrame, manifest: Path,
                 gazetteer: Path | None = None) -> list[Unresolved]:
    """The names no offline geocoder resolves, exactly as `build` would report them."""
    loaded = layer_io.load_layers(manifest)
    admin1 = concat_layers(layer_io.of_kind(loaded, "admin1"))
    geocoders = Geocoders.offline(admin1, gazetteer or Path(manifest).parent / GAZETTEER.name)
    return _locate_missing(records.copy(), geocoders)[1]


@gcpause.paused()
def validate(paths: list[Path], manifest: Path, warn: Callable[[str], None] | None = None,
             cache: bool = True, datasets: Sequence[Path | str] = ()) -> int:
    """What `conflictmap validate` checks, read the way `build` reads (in parallel, through
    the records cache; datasets in bulk): every file and row, duplicate ids, and the place
    names offline. Returns the number of events; raises InvalidEvents or UnresolvedPlaces."""
    records = load_records(paths, datasets, warn, cache)
    unresolved = check_places(records, manifest) if len(records) else []
    if unresolved:  # the same offline chain and messages as build
        raise UnresolvedPlaces(unresolved)
    return len(records)


def events_places(events: list[Event], manifest: Path) -> list[Unresolved]:
    """`check_places` for events already read (by `validate`, `add`): no file parsed twice."""
    from .yamlrecords import row

    return check_places(pd.DataFrame([row(e) for e in events]), manifest) if events else []


def timeline_of(records: pd.DataFrame, handover: gpd.GeoDataFrame) -> Timeline:
    """Control changes from the rows that carry one; the handover layer fills the gaps."""
    changes = []
    has = records["control_change_json"].notna() & (records["control_change_json"] != "null")
    for ident, when, text in records.loc[has, ["id", "date", "control_change_json"]].itertuples(
            index=False):
        cc = json.loads(text)
        changes.append(Change(cc["area"], date.fromisoformat(when[:10]), cc["from"], cc["to"],
                              ident))
    return Timeline.with_layer(changes, handover)


@gcpause.paused()
def build(events_dir: Path | list[Path], manifest: Path = layer_io.MANIFEST, *,
          datasets: Sequence[Path | str] | None = None,
          gazetteer: Path | None = None, online: Geocoder | None = None,
          allow_unresolved: bool = False,
          warn: Callable[[str], None] | None = None, cache: bool = True,
          schema: Schema = SCHEMA, window: Window | None = None,
          engine: Any = None) -> Result:
    """load -> geocode -> enrich. `warn` hears what is worth a word but fails nothing;
    `cache=False` validates every YAML file and dataset afresh instead of trusting the records
    cache (`recordcache`, `datasetcache`).
    `window`: the datasets are larger than a page (`aggregate.plan`): only their rows in it
    are mapped in detail, and every event is counted in `Result.density` (on `engine`, an
    `engine.Engine`: the counting is the one step that reads every row)."""
    paths = events_dir if isinstance(events_dir, list) else [events_dir]
    records = load_records(paths, datasets or [], warn, cache, schema, window)
    loaded = layer_io.load_layers(manifest)
    frames = layer_frames(loaded)
    # the curated gazetteer sits beside the manifest: a project is one folder, wherever it is
    gazetteer = gazetteer or Path(manifest).parent / GAZETTEER.name
    geocoders = Geocoders.offline(frames["admin1"], gazetteer, online)
    timeline = timeline_of(records, frames["handover"])
    result = locate_and_enrich(records, loaded, frames, geocoders, timeline,
                               allow_unresolved=allow_unresolved, warn=warn, schema=schema,
                               cache=cache)
    # the records cache is written while the steps above run; done before any output is made,
    # so no thread of ours runs while outputs are written and forked writers start
    recordcache.settle()
    if window is not None:
        with progress.step("counting every event for the density layer"):
            result.density = _density(datasets or [], result.records, result.frame, window,
                                      engine)
    return result


def locate_and_enrich(records: pd.DataFrame, loaded: dict[str, layer_io.Layer],
                      frames: dict[str, gpd.GeoDataFrame], geocoders: Geocoders,
                      timeline: Timeline, *, allow_unresolved: bool = False,
                      warn: Callable[[str], None] | None = None, schema: Schema = SCHEMA,
                      gap: bool = True, cache: bool = False) -> Result:
    """geocode -> enrich for a records table (all events, or one partition of them: each
    row's answer depends only on the row, the layers and the timeline). `gap=False` leaves
    the missing-admin-1 sentence to the caller, who sees every partition (`admin1_cover`);
    `cache`: points are answered from the enrichment store where it has them."""
    with progress.step(f"geocoding {len(records):,} events"):
        keep, unresolved, warnings = _locate_missing(records, geocoders)
    if unresolved and not allow_unresolved:
        raise UnresolvedPlaces(unresolved)
    for w in warnings:
        (warn or (lambda _m: None))(w)
    if not keep.all():  # (a copy of every column otherwise)
        records = records[keep].reset_index(drop=True)
    # the DESIGN's flat columns the record has as they are (its plain fields, the actors' names
    # and the source links parsed at load), then what geocoding found; of Python values, as
    # the records table holds them: letting pandas infer its Arrow text type cost ~0.12 s at
    # 100k events, and every writer turned it back
    plain = {c: records[c].to_numpy() for c in COLUMNS
             if c in schema.scalars or c in ("actors", "source_urls")}
    plain.update(place_name=records["_place"].to_numpy(),
                 geo_precision=records["_precision"].to_numpy(),
                 geocoder=records["_geocoder"].to_numpy())
    frame = gpd.GeoDataFrame({
        **{c: pd.Series(v, dtype=v.dtype, copy=False) for c, v in plain.items()},
        "date": pd.to_datetime(records["date"].str.slice(0, 10), format="%Y-%m-%d").dt.date,
    }, geometry=gpd.points_from_xy(records["_lon"], records["_lat"]), crs=4326)
    with progress.step(f"enriching {len(frame):,} events"):
        enriched = enrich_with(frame, loaded, timeline, frames, cache=cache)
    enriched = enriched[[*COLUMNS, "handover_area", "geometry"]]
    message = missing_admin1(enriched, frames["admin1"]) if gap else None
    if message:
        warnings.append(message)
        (warn or (lambda _m: None))(message)
    records = records.drop(columns=["_lat", "_lon", "_place", "_precision", "_geocoder"])
    return Result(enriched, records, timeline, loaded, unresolved, warnings, schema)


def _density(datasets: Sequence[Path | str], records: pd.DataFrame, frame: gpd.GeoDataFrame,
             window: Window, engine: Any = None) -> Density:
    """Every dataset row counted where it is stored, with the YAML events as located."""
    # a dataset row's origin is its file, or a part inside a GeoParquet dataset's folder
    own = ~records["origin_path"].astype(str).str.startswith(tuple(str(p) for p in datasets)
                                                             ).to_numpy()
    extra = list(zip(frame["date"][own], frame["event_type"][own], frame.geometry.x[own],
                     frame.geometry.y[own], strict=True))
    out = density(datasets, extra, engine=engine)
    out.window, out.detail = window, len(frame)
    return out


def layer_frames(loaded: dict[str, layer_io.Layer]) -> dict[str, gpd.GeoDataFrame]:
    """The layers enrichment joins against, one WGS84 frame per kind."""
    return {kind: concat_layers(layer_io.of_kind(loaded, kind))
            for kind in ("country", "admin1", "line", "handover")}


def enrich_with(frame: gpd.GeoDataFrame, loaded: dict[str, layer_io.Layer], timeline: Timeline,
                frames: dict[str, gpd.GeoDataFrame] | None = None, *,
                cache: bool = False) -> gpd.GeoDataFrame:
    """`enrich` against these layers (`frames`: their `layer_frames`, when already made), each
    kind doubted by its own stated accuracy. `cache`: points an earlier build enriched on the
    same layers are answered from its store (`enrichcache`)."""
    frames = frames or layer_frames(loaded)
    border = {name: lyr.spec.accuracy_km for name, lyr in loaded.items()}
    admin1 = accuracy_of(loaded, "admin1")
    used = {k: frames[k] for k in ("country", "admin1", "line", "handover")}
    return enrich(frame, countries=frames["country"], admin1=frames["admin1"],
                  borders=frames["line"], handover=frames["handover"], timeline=timeline,
                  border_accuracy_km=border, admin1_accuracy_km=admin1,
                  facts=enrichcache.memo_for(used, [border, admin1]) if cache else None)


def accuracy_of(loaded: dict[str, layer_io.Layer], *kinds: str) -> float:
    """The stated accuracy (km) of the least accurate layer of these kinds; 0 when none."""
    return max((lyr.spec.accuracy_km for lyr in loaded.values() if lyr.spec.kind in kinds),
               default=0.0)


def admin1_cover(frame: pd.DataFrame) -> tuple[set[str], dict[str, int]]:
    """(countries with an event in a district, events by country with none): what
    `missing_admin1` needs, summed over partitions by the caller that has them all."""
    covered = set(frame.loc[frame["admin1"].notna(), "country"].dropna())
    lacking = frame.loc[frame["country"].notna() & frame["admin1"].isna(), "country"]
    return covered, {str(k): int(v) for k, v in lacking.value_counts().items()}


def missing_admin1(frame: pd.DataFrame, admin1: gpd.GeoDataFrame,
                   cover: tuple[set[str], dict[str, int]] | None = None) -> str | None:
    """One sentence naming the countries whose events have no admin-1 layer, with the fix.

    A country counts as covered when an admin-1 layer says so (its `country` attribute) or one
    of its events landed in a district; events with no country (at sea) are not missing.
    `cover`: `admin1_cover` of all the events, when `frame` is not all of them.
    """
    covered, counts = cover if cover is not None else admin1_cover(frame)
    covered = set(covered)
    if "country" in admin1.columns:
        covered |= {c for c in admin1["country"] if isinstance(c, str)}
    lacking = {c: n for c, n in sorted(counts.items()) if c not in covered}
    if not lacking:
        return None
    listed = ", ".join(f"{code} ({n} event{'s' if n > 1 else ''})" for code, n in lacking.items())
    return (f"no admin-1 layer for {listed}: their events have no district (admin1) and no "
            f"border distance. Fetch them with: conflictmap layers fetch {' '.join(lacking)}")


def concat_layers(parts: list[layer_io.Layer]) -> gpd.GeoDataFrame:
    """The features of several layers as one WGS84 frame (an empty one when there are none)."""
    if not parts:
        return gpd.GeoDataFrame({"name": [], "iso": []}, geometry=[], crs=4326)
    return gpd.GeoDataFrame(pd.concat([p.frame for p in parts], ignore_index=True),
                            geometry="geometry", crs=4326)
