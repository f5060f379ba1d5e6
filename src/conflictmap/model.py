"""The event record: one conflict event as analysts write it in YAML.

The model is strict on purpose: unknown keys, out-of-vocabulary types and impossible points are
errors, because a typo that passes silently puts a wrong dot on a map people trust.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .text import when

# Letters of either case: datasets' own ids (ACLED `ARM4949`) are kept as they are. Ids are
# unique regardless of case (files of two ids differing only in case clash on some systems).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]*$"
ID_RE = re.compile(ID_PATTERN)

# ACLED codebook: 6 event types and their 25 sub-event types.
ACLED_TYPES: dict[str, tuple[str, ...]] = {
    "Battles": (
        "Armed clash",
        "Government regains territory",
        "Non-state actor overtakes territory",
    ),
    "Explosions/Remote violence": (
        "Chemical weapon",
        "Air/drone strike",
        "Suicide bomb",
        "Shelling/artillery/missile attack",
        "Remote explosive/landmine/IED",
        "Grenade",
    ),
    "Violence against civilians": (
        "Sexual violence",
        "Attack",
        "Abduction/forced disappearance",
    ),
    "Protests": (
        "Peaceful protest",
        "Protest with intervention",
        "Excessive force against protesters",
    ),
    "Riots": ("Violent demonstration", "Mob violence"),
    "Strategic developments": (
        "Agreement",
        "Arrests",
        "Change to group/activity",
        "Disrupted weapons use",
        "Headquarters or base established",
        "Looting/property destruction",
        "Non-violent transfer of territory",
        "Other",
    ),
}


class DatePrecision(StrEnum):
    """How exactly `date` is known (ACLED time_precision 1 = day, 2 = week/month, 3 = year)."""

    day = "day"
    week = "week"
    month = "month"
    year = "year"


class Status(StrEnum):
    reported = "reported"
    confirmed = "confirmed"
    disputed = "disputed"
    denied = "denied"
    # drafted by `extract` from an article's text: every field awaits a reviewer
    draft = "draft"


class GeoPrecision(StrEnum):
    """What the point stands for: a claim about a site is not a claim about a province."""

    site = "site"
    settlement = "settlement"
    near_settlement = "near-settlement"
    district = "district"
    province = "province"
    country = "country"


# Padding around a country's bounding box: Natural Earth 10m is good to a few hundred metres,
# and a point on a border river must not be rejected.
BBOX_MARGIN_DEG = 0.1
MAX_QUOTE_CHARS = 300

Finite = Annotated[float, Field(allow_inf_nan=False)]
Text = Annotated[str, Field(min_length=1)]
MAX_COUNT = 2**63 - 1  # a count (fatalities) as every table format stores it: 64-bit


@cache
def country_table() -> dict[str, Any]:
    """Derived from Natural Earth by geodata/build.py: bbox and English name by ISO2, and
    ISO2 by ISO numeric code."""
    raw = resources.files("conflictmap").joinpath("data/country_bbox.json").read_text("utf-8")
    return json.loads(raw)


@cache
def country_bboxes() -> dict[str, tuple[float, float, float, float]]:
    """ISO2 -> (min lon, min lat, max lon, max lat)."""
    return {k: tuple(v) for k, v in country_table()["bbox"].items()}


def suggest(word: str, choices: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """Closest choices to `word`, case-insensitive, for 'did you mean' messages."""
    lower = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(word.lower(), list(lower), n=n, cutoff=0.5)
    return [lower[h] for h in hits]


def _did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    hits = suggest(word, choices)
    if hits:
        return "did you mean " + " or ".join(repr(h) for h in hits) + "?"
    return "expected one of: " + ", ".join(repr(c) for c in choices)


_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


# What nearly every link is: plain ASCII http(s), a host of letters, digits, dots and hyphens,
# an optional port. urlsplit accepts all of these with scheme http(s) and a netloc (no brackets,
# no non-ASCII host for its NFKC check, no spaces or controls), so they skip it: at 100k
# dataset rows urlsplit was half the time of the bulk checks.
_PLAIN_HTTP = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]*)?(?:[/?#][!-~]*)?")


def check_http_url(value: str | None) -> str | None:
    """Only absolute http(s) links: a `javascript:` or `data:` link in a popup is an attack."""
    if value is None:
        return None
    if _PLAIN_HTTP.fullmatch(value):
        return value
    if _SPACE_OR_CONTROL.search(value):
        raise PydanticCustomError("url", "URL must not contain spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise PydanticCustomError(
            "url", "only absolute http(s) URLs are allowed, got '{value}'", {"value": value}
        )
    return value


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _shown_number(value: float) -> str:
    """A number as a message shows it: in full, or its length when that would flood a line."""
    text = str(value)
    return text if len(text) <= 40 else f"a number of {len(text)} digits"


def _not_a_date(value: Any) -> PydanticCustomError:
    """One message for anything that is not written as a date: YAML reads 20201126 as a number,
    which pydantic would take for seconds since 1970 (1970-08-22), and 29/11/2020 as text."""
    if isinstance(value, bool):
        shown = str(value).lower()
    elif isinstance(value, str):
        shown = repr(value if len(value) <= 40 else value[:40] + "...")
    elif isinstance(value, (int, float)):
        shown = _shown_number(value)
    else:
        shown = {dict: "a mapping", list: "a list"}.get(type(value), type(value).__name__)
    return PydanticCustomError("iso_date", "expected YYYY-MM-DD, got {value}", {"value": shown})


def _parse_day(value: Any) -> Any:
    """A calendar date written YYYY-MM-DD (a date object passes as it is)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value.strip()):
        raise _not_a_date(value)
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise PydanticCustomError("iso_date", "'{value}' is not a real date ({why})",
                                  {"value": value.strip(), "why": str(exc)}) from None


def _parse_when(value: Any) -> Any:
    """ISO 8601 date, or date-time with a UTC offset; anything else gets one clear message."""
    if isinstance(value, str) and _ISO_TIME.match(value.strip()):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError as exc:
            raise PydanticCustomError(
                "iso_date", "not an ISO 8601 date-time: '{value}' ({why})",
                {"value": text, "why": str(exc)},
            ) from None
    elif not isinstance(value, datetime):
        value = _parse_day(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        raise PydanticCustomError(
            "naive_datetime", "a date-time needs a UTC offset (e.g. 2020-11-10T00:00:00+03:00)"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        validate_by_name=True,
        validate_by_alias=True,
        use_enum_values=True,  # plain strings in dumps and YAML
        validate_default=True,
    )


class Location(_Strict):
    """Where it happened: a name to geocode, an explicit point, or both."""

    name: Text | None = None
    country: str | None = Field(None, description="ISO 3166-1 alpha-2 hint, e.g. AM")
    lat: Finite | None = Field(None, ge=-90, le=90)
    lon: Finite | None = Field(None, ge=-180, le=180)
    precision: GeoPrecision | None = None

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.upper()
        known = country_bboxes()
        if code not in known:
            raise PydanticCustomError(
                "country",
                "unknown ISO 3166-1 alpha-2 code '{value}'; {hint}",
                {"value": value, "hint": _did_you_mean(code, sorted(known))},
            )
        return code

    @model_validator(mode="after")
    def _point_is_plausible(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            missing = "lon" if self.lon is None else "lat"
            raise PydanticCustomError(
                "point", "lat and lon go together; {missing} is missing", {"missing": missing,
                                                                           "field": missing}
            )
        if self.name is None and self.lat is None:
            raise PydanticCustomError("place", "give a place `name`, or `lat` and `lon`, or both")
        if self.lat is not None and self.lon is not None and self.country:
            box = country_bboxes()[self.country]
            if not _in_box(self.lon, self.lat, box):
                hint = ""
                if -90 <= self.lon <= 90 and _in_box(self.lat, self.lon, box):
                    hint = " - lat/lon swapped? swapping them puts it inside"
                raise PydanticCustomError(
                    "outside_country",
                    "point lat={lat}, lon={lon} lies outside {country}{hint}",
                    {"lat": self.lat, "lon": self.lon, "country": self.country, "hint": hint,
                     "field": "lat"},
                )
        return self


def _in_box(lon: float, lat: float, box: tuple[float, float, float, float]) -> bool:
    m = BBOX_MARGIN_DEG
    return box[0] - m <= lon <= box[2] + m and box[1] - m <= lat <= box[3] + m


class Source(_Strict):
    """Where a fact comes from. A quote is a short phrase, never a copied paragraph."""

    url: str | None = None
    publisher: Text
    published: date
    quote: str | None = Field(None, max_length=MAX_QUOTE_CHARS)
    # a dataset's own citation (ACLED `source`, UCDP `source_headline`): provenance, not a quote
    provenance: str | None = None
    archive_url: str | None = None
    accessed: date | None = None

    @field_validator("published", "accessed", mode="before")
    @classmethod
    def _iso_day(cls, value: Any) -> Any:
        return None if value is None else _parse_day(value)

    @field_validator("url", "archive_url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        return check_http_url(value)


class Evidence(_Strict):
    """Where in the cited article a drafted field was read: the reviewer checks it there.

    Offsets count characters of the article's main text (after HTML extraction), end exclusive.
    """

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    quote: str = Field(max_length=MAX_QUOTE_CHARS)
    field: str | None = Field(None, description="the record field it supports, e.g. date")
    note: str | None = Field(None, description="how it was read: candidates beaten and why")

    @model_validator(mode="after")
    def _ordered(self) -> Evidence:
        if self.end < self.start:
            raise PydanticCustomError("span", "end {end} is before start {start}",
                                      {"end": self.end, "start": self.start, "field": "end"})
        return self


class Role(StrEnum):
    """An actor's part in the event: ACLED actor1/2 and assoc_actor_1/2, UCDP side_a/side_b."""

    side_a = "side_a"
    side_b = "side_b"
    assoc_a = "assoc_a"
    assoc_b = "assoc_b"
    other = "other"


class Actor(_Strict):
    """Who took part, and in what role. A hand-written record may list plain names."""

    name: Text
    role: Role | None = None
    inter: int | None = Field(None, ge=0, le=9, description="ACLED inter code (1-8)")


class DatasetRow(_Strict):
    """An imported row as the dataset wrote it: every column, as the text it was, in order.

    Our fields are derived from it and never replace it, so an export to the same dataset gives
    the row back unchanged.
    """

    # cells are kept exactly, spaces included
    model_config = ConfigDict(**{**_Strict.model_config, "str_strip_whitespace": False})

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="acled, ucdp, ...")
    release: str | None = Field(None, description="the dataset's version, when known")
    columns: dict[str, str]


class ControlChange(_Strict):
    """A change of who controls an area (a feature of the handover layer)."""

    area: Text
    from_: Text = Field(alias="from")
    to: Text


class Event(_Strict):
    """One conflict event. Field names follow the YAML record in DESIGN.md."""

    # Tables, exports and the page's data are derived from these fields (record.py): a new
    # optional field is one line here; a `title` also lists it in the map's popup as its label.

    id: str | None = Field(None, pattern=ID_PATTERN, max_length=120)
    date: date | AwareDatetime
    end_date: date | AwareDatetime | None = None
    date_precision: DatePrecision = DatePrecision.day
    title: Text = Field(max_length=300)
    event_type: str
    sub_event_type: str | None = None
    actors: list[Actor] = Field(default_factory=list, title="Actors")
    location: Location
    control_change: ControlChange | None = None
    description: str | None = None
    figures: dict[str, int | Finite | str] = Field(default_factory=dict, title="Figures")
    fatalities: int | None = Field(None, ge=0, title="Fatalities")
    status: Status = Status.reported
    sources: list[Source] = Field(min_length=1)
    tags: list[Text] = Field(default_factory=list, title="Tags")
    dataset: DatasetRow | None = None
    evidence: list[Evidence] = Field(default_factory=list)

    # Where the record was read from (file, line), for error messages downstream.
    _origin: tuple[str, int] | None = PrivateAttr(default=None)

    @field_validator("id", mode="before")
    @classmethod
    def _id_form(cls, value: Any) -> Any:
        """Say what an id looks like instead of showing the pattern's regular expression."""
        if isinstance(value, str) and not ID_RE.match(value.strip()):
            raise PydanticCustomError(
                "id", "expected letters, digits and hyphens, starting with a letter or digit "
                "(like 2020-11-26-sotk-mine-entry), got '{value}'", {"value": value[:60]})
        return value

    @field_validator("description")
    @classmethod
    def _blank_is_absent(cls, value: str | None) -> str | None:
        """An empty description says nothing: it is absent (null in every output), not ""."""
        return value or None

    @field_validator("fatalities", mode="before")
    @classmethod
    def _fits_a_table(cls, value: Any) -> Any:
        """Every table format we write (GPKG, Parquet, CSV read back) holds whole numbers in 64
        bits, and so does the page; a larger count is a typo, not a figure. Checked before the
        type, so a dataset's real number past 64 bits gets these words too."""
        if (isinstance(value, int | float) and not isinstance(value, bool)
                and math.isfinite(value) and value > MAX_COUNT):
            shown = _shown_number(int(value))
            raise PydanticCustomError("too_large", "{value} is too large: at most {limit}",
                                      {"value": shown, "limit": f"{MAX_COUNT:,}"})
        return value

    @field_validator("date", "end_date", mode="before")
    @classmethod
    def _with_offset(cls, value: Any) -> Any:
        return None if value is None else _parse_when(value)

    @field_validator("actors", mode="before")
    @classmethod
    def _plain_names(cls, value: Any) -> Any:
        """`actors: [A, B]` is short for `[{name: A}, {name: B}]` (roles unknown)."""
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("event_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in ACLED_TYPES:
            raise PydanticCustomError(
                "event_type",
                "unknown ACLED event type '{value}'; {hint}",
                {"value": value, "hint": _did_you_mean(value, tuple(ACLED_TYPES))},
            )
        return value

    @field_validator("sub_event_type")
    @classmethod
    def _sub_type_of_type(cls, value: str | None, info: ValidationInfo) -> str | None:
        etype = info.data.get("event_type")
        if value is None or etype is None or value in ACLED_TYPES[etype]:
            return value
        owner = next((t for t, subs in ACLED_TYPES.items() if value in subs), None)
        hint = f"it belongs to '{owner}'" if owner else _did_you_mean(value, ACLED_TYPES[etype])
        raise PydanticCustomError(
            "sub_event_type",
            "'{value}' is not a sub-event type of '{etype}'; {hint}",
            {"value": value, "etype": etype, "hint": hint},
        )

    @field_validator("end_date")
    @classmethod
    def _ends_after_start(cls, value: date | datetime | None, info: ValidationInfo):
        start = info.data.get("date")
        if value is not None and start is not None and _as_date(value) < _as_date(start):
            raise PydanticCustomError(
                "end_date", "end_date {end} is before date {start}",
                {"end": when(value), "start": when(start)},
            )
        return value

    @property
    def day(self) -> date:
        """The calendar date of the event (the local date written in the record)."""
        return _as_date(self.date)

    @property
    def origin(self) -> tuple[str, int] | None:
        # straight from the private dict: pydantic's __getattr__ costs ~25 us a call
        return (self.__pydantic_private__ or {}).get("_origin")


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema editors use to complete and check event files."""
    schema = Event.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "conflictmap event"
    props = schema["properties"]
    props["event_type"]["enum"] = list(ACLED_TYPES)
    props["sub_event_type"]["anyOf"][0]["enum"] = [s for v in ACLED_TYPES.values() for s in v]
    # a plain name is short for {name: ...}
    props["actors"]["items"] = {"anyOf": [{"type": "string", "minLength": 1},
                                          props["actors"]["items"]]}
    return schema
