"""Offline geocoding: the names reports use resolve to the right place, honestly."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conflictmap.geocode.base import normalize
from conflictmap.geocode.gazetteer import GeoNames, load_index, read_gazetteer

from .conftest import ROOT

EXE = Path(sys.executable).with_name("conflictmap")


def km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 6371 * 2 * math.asin(math.sqrt(a))


def geocode_json(*args: str) -> tuple[int, dict | None, str]:
    r = subprocess.run([str(EXE), "geocode", *args, "--json"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else None), r.stderr


def test_zod_is_sotk():
    rc, place, _ = geocode_json("Zod", "--country", "AM")
    assert rc == 0 and place["name"] == "Sotk"
    assert km(place["lat"], place["lon"], 40.2031, 45.8647) < 2
    assert place["source"].startswith("geonames:") and place["precision"] == "settlement"


@pytest.mark.parametrize(("alias", "canonical"), [
    ("Karvachar", "Kalbajar"), ("Kəlbəcər", "Kalbajar"), ("Shushi", "Shusha"),
    ("Khankendi", "Khankendi"), ("Stepanakert", "Khankendi"), ("Berdzor", "Laçın"),
])
def test_aliases_resolve_to_one_place(alias, canonical):
    rc, place, err = geocode_json(alias)
    assert rc == 0, err
    assert place["name"] == canonical


def test_khankendi_and_stepanakert_are_the_same_place():
    a = geocode_json("Khankendi")[1]
    b = geocode_json("Stepanakert")[1]
    assert a == b


def test_agdam_in_azerbaijan_is_the_town():
    rc, place, _ = geocode_json("Agdam", "--country", "AZ")
    assert rc == 0
    assert abs(place["lat"] - 39.99) < 0.01 and abs(place["lon"] - 46.93) < 0.01


def test_nonsense_exits_1_with_suggestions():
    r = subprocess.run([str(EXE), "geocode", "Xyzzyplop"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1
    assert "no place called 'Xyzzyplop'; did you mean:" in r.stderr


def test_misspelling_suggests_the_real_name():
    r = subprocess.run([str(EXE), "geocode", "Kalbajr", "--country", "AZ"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Kalbajar (AZ)" in r.stderr


def test_curated_site_beats_the_town():
    rc, place, _ = geocode_json("Zod gold mine")
    assert rc == 0 and place["source"] == "gazetteer:sotk-gold-mine"
    assert (place["lat"], place["lon"]) == (40.2330, 45.9680)
    assert place["precision"] == "site"


def test_ambiguity_is_reported_not_hidden():
    gn = GeoNames(load_index())
    place = gn.geocode("Vardenis")  # two in Armenia: the town (12,651) and a village (527)
    assert place is not None and place.source == "geonames:616108"
    assert not place.ambiguous  # population settles it
    springfield = gn.geocode("Springfield", "US")
    assert springfield is not None and springfield.ambiguous
    assert len(springfield.candidates) >= 2


def test_every_gazetteer_entry_has_source_and_licence():
    gaz = read_gazetteer(ROOT / "geodata" / "gazetteer.yaml")
    assert gaz.features and gaz.aliases
    for e in gaz.features:
        assert e.source.strip() and e.licence.strip()
    for a in gaz.aliases:
        assert a.source.strip()


@given(st.text(max_size=30))
def test_normalize_is_idempotent(text):
    assert normalize(normalize(text)) == normalize(text)


@pytest.mark.parametrize(("a", "b"), [("Kəlbəcər", "kalbacar"), ("Laçın", "LACIN"),
                                      ("K'arvachar", "karvachar"), ("Şuşa", "susa"),
                                      ("Xankəndi", "xankandi"), ("Ağdam", "agdam")])
def test_normalize_folds_azerbaijani_letters_and_apostrophes(a, b):
    assert normalize(a) == normalize(b)
