"""The geocoder contract: a name (and a country hint) in, a Place with honest precision out."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple, Protocol

# Letters NFKD does not take apart, and the apostrophes transliterations use.
_FOLD = str.maketrans({"ə": "a", "Ə": "a", "ı": "i", "İ": "i", "ł": "l", "ø": "o", "đ": "d",
                       "ß": "ss", "æ": "ae", "œ": "oe"})
_APOSTROPHES = re.compile(r"[\'’‘ʻʼʹ`´\"]")
_SEPARATORS = re.compile(r"[\s\-_.,/()]+")
_ASCII = str.maketrans({**{c: None for c in "'`\""}, **{c: " " for c in "-_.,/()"}})


def normalize(name: str) -> str:
    """Key for matching: case-, accent- and apostrophe-insensitive ("Kəlbəcər" == "kalbacar")."""
    if name.isascii():  # most names: no accents to strip
        return " ".join(name.lower().translate(_ASCII).split())
    s = unicodedata.normalize("NFKD", name.casefold().translate(_FOLD))
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold().translate(_FOLD)
    s = _APOSTROPHES.sub("", s)
    return _SEPARATORS.sub(" ", s).strip()


class Place(NamedTuple):
    """A resolved place. `source` says which gazetteer or service and its id.

    A NamedTuple, not a dataclass: 100k lookups build 100k of these, and tuple construction is
    several times cheaper than a frozen dataclass's.
    """

    lat: float
    lon: float
    name: str
    country: str | None
    admin1: str | None
    precision: str
    source: str
    candidates: tuple[Place, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return bool(self.candidates)

    def with_candidates(self, others: list[Place]) -> Place:
        return self._make((*self[:-1], tuple(others)))  # 3x cheaper than _replace


class Geocoder(Protocol):
    name: str

    def geocode(self, name: str, country: str | None = None) -> Place | None: ...

    def suggest(self, name: str, country: str | None = None, n: int = 5) -> list[str]: ...


Query = tuple[str, str | None]  # (name, ISO2 country hint)


def geocode_many(geocoder: Geocoder, queries: Sequence[Query]) -> list[Place | None]:
    """All queries through one geocoder: its batch method when it has one (GeoNames answers
    100k names in one array pass), else one call a query."""
    batch = getattr(geocoder, "geocode_many", None)
    if batch is not None:
        return batch(queries)
    return [geocoder.geocode(name, country) for name, country in queries]


class Chain:
    """Tries geocoders in order; the first answer wins. Suggestions come from all of them."""

    def __init__(self, geocoders: list[Geocoder]):
        self.geocoders = geocoders

    @property
    def name(self) -> str:
        return " > ".join(g.name for g in self.geocoders)

    def geocode(self, name: str, country: str | None = None) -> Place | None:
        return self.geocode_many([(name, country)])[0]

    def geocode_many(self, queries: Sequence[Query]) -> list[Place | None]:
        """Each geocoder gets, in one batch, the distinct queries the ones before it left
        unanswered."""
        unique = list(dict.fromkeys(queries))
        found: list[Place | None] = [None] * len(unique)
        todo = list(range(len(unique)))
        for g in self.geocoders:
            if not todo:
                break
            answers = geocode_many(g, [unique[i] for i in todo])
            for i, place in zip(todo, answers, strict=True):
                found[i] = place
            todo = [i for i in todo if found[i] is None]
        by_query = dict(zip(unique, found, strict=True))
        return [by_query[q] for q in queries]

    def suggest(self, name: str, country: str | None = None, n: int = 5) -> list[str]:
        seen: list[str] = []
        for g in self.geocoders:
            for s in g.suggest(name, country, n):
                if s not in seen:
                    seen.append(s)
        return seen[:n]
