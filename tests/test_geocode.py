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
    ("Сотк", "Sotk"), ("сотк", "Sotk"), ("Սոթք", "Sotk"),  # Russian and Armenian reports
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


@pytest.fixture(scope="module", params=[(), ("AM", "AZ")], ids=["anywhere", "home AM AZ"])
def geonames(request) -> GeoNames:
    aliases = read_gazetteer(ROOT / "geodata" / "gazetteer.yaml").aliases
    return GeoNames(load_index(), aliases, home=request.param)


def test_a_name_at_home_beats_a_bigger_namesake_abroad_and_says_so():
    home = GeoNames(load_index(), home=("AM", "AZ"))
    shusha = home.geocode("Şuşa")
    assert shusha is not None and shusha.country == "AZ" and shusha.name == "Shusha"
    assert "TN" in {c.country for c in shusha.candidates}  # Sousse, bigger: named, not chosen
    jermuk = home.geocode("Jermuk")
    assert jermuk is not None and jermuk.country == "AM" and jermuk.ambiguous
    assert home.geocode("Jermuk", "TR").country == "TR"  # a hint still rules
    assert home.geocode("Paris").country == "FR"  # nothing at home: the biggest anywhere
    vardenis = home.geocode("Vardenis")
    assert vardenis.source == "geonames:616108" and not vardenis.ambiguous
    anywhere = GeoNames(load_index())
    assert anywhere.geocode("Şuşa").country == "TN"  # why the project's countries matter


def test_the_project_countries_come_from_its_admin1_layers():
    import geopandas as gpd

    from conflictmap.pipeline import Geocoders

    admin1 = gpd.read_file(ROOT / "geodata" / "admin1.geojson")
    chain = Geocoders.offline(admin1, ROOT / "geodata" / "gazetteer.yaml")
    assert chain.geonames.geocode("Şuşa").country == "AZ"


def _reference(gn: GeoNames, name: str, country: str | None) -> tuple[str, list[str]] | None:
    """The rule spelled out one name at a time: the most populous match (then lowest id; an
    unknown population ranks last), at home first; rivals are the others with at least half
    its population more than 5 km away, as much at home as the pick or bigger than it.
    Sources, as the places cite them."""
    key = normalize(name)
    rows = set(gn.idx.rows_for(key)) | set(gn.extra.get(key, []))
    if country:
        rows = {i for i in rows if gn.idx.country[i] == country}
    if not rows:
        return None
    pop, ids, lat, lon = gn.idx.pop, gn.idx.ids, gn.idx.lat, gn.idx.lon
    def away(i: int) -> bool:
        return bool(gn.home) and gn.idx.country[i] not in gn.home

    best, *rest = sorted(rows, key=lambda i: (away(i), -pop[i], ids[i]))
    rivals = [gn.idx.source(i) for i in rest if pop[i] >= 0.5 * max(pop[best], 1)
              and (away(i) == away(best) or pop[i] >= pop[best])
              and km(lat[best], lon[best], lat[i], lon[i]) > 5]
    return gn.idx.source(best), rivals


def test_batch_lookup_follows_the_rule_name_by_name(geonames):
    import numpy as np

    idx = geonames.idx
    rng = np.random.default_rng(11)
    picks = rng.choice(len(idx.names), 3000, replace=False).tolist()
    picks[:len(idx.names) - idx.n_cities] = range(idx.n_cities, len(idx.names))  # 2016 rows
    queries = [(idx.names[i], None) for i in picks[:1000]]
    queries += [(idx.names[i], idx.country[i]) for i in picks[1000:2000]]  # right hint
    queries += [(idx.names[i], "AQ") for i in picks[2000:2200]]  # a hint that rules it out
    queries += [("Springfield", "US"), ("Springfield", None), ("Karvachar", None),
                ("Karvachar", "AZ"), ("Agdam", "AZ"), ("Zod", "AM"), ("", None),
                ("Xyzzyplop", None), ("Vardenis", None), ("Gori", "GE"), ("Agarak", "AM")]
    queries += queries[:50]  # repeats answer alike
    got = geonames.geocode_many(queries)
    assert len(got) == len(queries)
    ambiguous = 0
    for (name, country), place in zip(queries, got, strict=True):
        want = _reference(geonames, name, country)
        if want is None:
            assert place is None, (name, country)
            continue
        assert place is not None, (name, country)
        ambiguous += bool(want[1])
        assert (place.source, [c.source for c in place.candidates]) == want
        assert place == geonames.geocode(name, country)
    assert ambiguous > 10  # the sample does exercise the rivals rule


def test_chain_passes_on_only_what_earlier_geocoders_left(geonames):
    from conflictmap.geocode.base import Chain
    from conflictmap.geocode.gazetteer import Curated

    chain = Chain([Curated(ROOT / "geodata" / "gazetteer.yaml"), geonames])
    queries = [("Zod gold mine", None), ("Zod", "AM"), ("Xyzzyplop", None), ("Zod", "AM")]
    mine, town, nothing, again = chain.geocode_many(queries)
    assert mine is not None and mine.source == "gazetteer:sotk-gold-mine"
    assert town is not None and town.name == "Sotk" and town.source.startswith("geonames:")
    assert nothing is None and again == town
    assert [chain.geocode(n, c) for n, c in queries] == [mine, town, nothing, again]


# Towns whose GeoNames province and Natural Earth polygon agree (Lachin town lies in NE's Şuşa
# polygon and GeoNames puts Stepanakert in Xocalı: there the sources disagree, not the names).
SAME_PROVINCE = [("Kalbajar", "AZ", "Kəlbəcər"), ("Vardenis", "AM", "Gegharkunik"),
                 ("Sotk", "AM", "Gegharkunik"), ("Goris", "AM", "Syunik"),
                 ("Ganja", "AZ", "Gəncə"), ("Aghdam", "AZ", "Ağdam")]


def test_geocode_names_the_province_as_enrich_does(geonames):
    from .conftest import enrich_points

    places = [geonames.geocode(name, country) for name, country, _ in SAME_PROVINCE]
    enriched = enrich_points([(p.lat, p.lon) for p in places])["admin1"].tolist()
    assert [p.admin1 for p in places] == enriched == [a for _, _, a in SAME_PROVINCE]
    code, place, _ = geocode_json("Lachin", "--country", "AZ")
    assert code == 0 and place["admin1"] == "Laçın"  # AZ.28, labelled "Lankaran" in NE


@pytest.mark.parametrize(("name", "lat", "lon"), [("Martakert", 40.2124, 46.8209),
                                                  ("Hadrut", 39.5200, 47.0318)])
def test_towns_current_geonames_lost_resolve_from_the_2016_snapshot(name, lat, lon):
    """Reports name them; GeoNames' cities500 no longer lists them (population zeroed)."""
    import conflictmap as cm

    place = cm.geocode(name)
    assert (place.name, place.country, place.precision) == (name, "AZ", "settlement")
    assert km(place.lat, place.lon, lat, lon) < 0.1
    assert place.source.startswith("geonames-2016:") and place.admin1 is None


def test_a_2016_row_never_outranks_a_counted_namesake(geonames):
    """Unknown population ranks below every counted one and is nobody's rival: "Gori" is the
    Georgian city, not the 2016 village of that name in Racha."""
    idx = geonames.idx
    old = [i for i in idx.rows_for(normalize("Gori")) if i >= idx.n_cities]
    assert old and idx.population(old[0]) is None  # the 2016 village is in the index
    gori = geonames.geocode("Gori", "GE")
    assert gori is not None and gori.source.startswith("geonames:")
    assert all(c.source.startswith("geonames:") for c in gori.candidates)
