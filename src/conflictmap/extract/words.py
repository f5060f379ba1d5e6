"""The data tables the extractor reads (`conflictmap/data/*.yaml`), compiled once.

Patterns are data so that an analyst extends them without touching code; here they only
become regular expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from ..model import ACLED_TYPES, country_table


def _load(name: str) -> Any:
    text = resources.files("conflictmap").joinpath(f"data/{name}").read_text("utf-8")
    return yaml.safe_load(text)


def _alternation(phrases: list[str]) -> str:
    return "|".join(sorted(phrases, key=len, reverse=True))


@dataclass(frozen=True)
class TypeRule:
    event_type: str
    sub_event_type: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class ActorRule:
    name: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Words:
    """Context words: demonyms, non-places, titles, cue and modality lists, units."""

    demonyms: dict[str, str]
    countries: dict[str, str]  # normalized country name -> ISO2
    not_places: frozenset[str]
    person_title: re.Pattern[str]  # matches when a text ends with a title
    area_words: tuple[str, ...]
    site_words: tuple[str, ...]
    settlement_words: tuple[str, ...]
    anaphora: dict[str, str]
    place_cue: re.Pattern[str]  # matches when a text ends with a cue
    negation: re.Pattern[str]
    hedge: re.Pattern[str]
    denial: re.Pattern[str]
    units: dict[str, str]  # unit word -> figure key
    unit_pattern: re.Pattern[str]


@cache
def type_rules() -> tuple[TypeRule, ...]:
    """The event-type table, in priority order; every type is checked against ACLED's."""
    out = []
    for rule in _load("extract_types.yaml")["rules"]:
        etype, sub = rule["event_type"], rule["sub_event_type"]
        if sub not in ACLED_TYPES.get(etype, ()):
            raise ValueError(f"extract_types.yaml: {sub!r} is not an ACLED sub-event of {etype!r}")
        out.append(TypeRule(etype, sub, re.compile(
            rf"\b(?:{_alternation(rule['patterns'])})\b", re.IGNORECASE)))
    return tuple(out)


@cache
def actor_rules() -> tuple[ActorRule, ...]:
    return tuple(ActorRule(a["name"], re.compile(rf"\b(?:{_alternation(a['patterns'])})\b",
                                                 re.IGNORECASE))
                 for a in _load("known_actors.yaml")["actors"])


@cache
def words() -> Words:
    raw = _load("extract_words.yaml")
    names = country_table()["name"]
    units = {w: key for key, ws in raw["units"].items() for w in ws}
    number = (r"(?:\d{1,3}(?:,\d{3})+|\d+|a dozen|dozens of|"
              + "|".join(NUMBER_WORDS) + ")")
    return Words(
        demonyms=dict(raw["demonyms"]),
        countries={v.lower(): k for k, v in names.items()},
        not_places=frozenset(raw["not_places"].lower().split()),
        person_title=re.compile(rf"\b(?:{_alternation(raw['person_titles'])})\.?\s+$"),
        area_words=tuple(raw["area_words"]),
        site_words=tuple(raw["site_words"]),
        settlement_words=tuple(raw["settlement_words"]),
        anaphora=dict(raw["anaphora"]),
        place_cue=re.compile(rf"\b(?:{_alternation(raw['place_cues'])})\s+(?:the\s+)?$",
                             re.IGNORECASE),
        negation=re.compile(rf"\b(?:{_alternation(raw['negations'])})\b", re.IGNORECASE),
        hedge=re.compile(rf"\b(?:{_alternation(raw['hedges'])})\b"),
        denial=re.compile(rf"\b(?:{_alternation(raw['denials'])})\b", re.IGNORECASE),
        units=units,
        unit_pattern=re.compile(
            rf"\b(?:(?:over|more than|at least|about|some|around|nearly|almost|up to)\s+)?"
            rf"(?P<n>{number})\s+(?:[A-Za-z-]+\s+){{0,2}}?(?P<u>{_alternation(list(units))})\b",
            re.IGNORECASE),
    )


NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
                "fourteen": 14, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
                "fifty": 50, "hundred": 100, "a dozen": 12, "dozens of": 24}


def number_value(text: str) -> int | None:
    """'80', '1,200', 'three' as an int; 'dozens of' has no exact value (None)."""
    t = text.lower().strip()
    if t == "dozens of":
        return None
    if t in NUMBER_WORDS:
        return NUMBER_WORDS[t]
    return int(t.replace(",", "")) if t.replace(",", "").isdigit() else None
