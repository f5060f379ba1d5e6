"""Enrichment of the bundled events: country, district, border distance, side, controller."""

from __future__ import annotations

import shutil
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from conflictmap import layerio as layers
from conflictmap.enrich import border_distance_km, near_outlines, utm_zones
from conflictmap.pipeline import COLUMNS, UnresolvedPlaces, build
from conflictmap.timeline import Change, Timeline

from .conftest import ROOT, enrich_points

MANIFEST = ROOT / "geodata" / "layers.yaml"


@pytest.fixture(scope="module")
def result():
    return build(ROOT / "events", MANIFEST, gazetteer=ROOT / "geodata" / "gazetteer.yaml")


def row(result, event_id):
    f = result.frame.set_index("id")
    return f.loc[event_id]


def test_frame_has_the_design_columns(result):
    assert list(result.frame.columns[: len(COLUMNS)]) == COLUMNS
    assert len(result.frame) == 8 and result.frame.crs.to_epsg() == 4326


@pytest.mark.parametrize(("event_id", "country", "admin1"), [
    ("2020-11-10-trilateral-ceasefire", "AZ", "Stepanakert"),
    ("2020-11-20-aghdam-handover", "AZ", "Ağdam"),
    ("2020-11-25-kalbajar-handover", "AZ", "Kəlbəcər"),
    ("2020-11-26-sotk-mine-entry", "AM", "Gegharkunik"),
    ("2020-11-26-armenian-mod-statements", "AM", "Gegharkunik"),
    ("2020-11-26-sotk-posts-established", "AM", "Gegharkunik"),
    ("2020-11-27-sotk-troops-leave", "AM", "Gegharkunik"),
    ("2020-12-01-lachin-handover", "AZ", "Laçın"),
])
def test_country_and_district(result, event_id, country, admin1):
    r = row(result, event_id)
    assert (r["country"], r["admin1"]) == (country, admin1)


def test_mine_is_side_uncertain(result):
    r = row(result, "2020-11-26-sotk-mine-entry")
    assert r["side_uncertain"] is True or r["side_uncertain"] == np.True_
    assert 0.05 < r["border_distance_km"] < 0.3
    far = row(result, "2020-11-20-aghdam-handover")
    assert not far["side_uncertain"] and far["border_distance_km"] > 30


def test_district_precision_places_resolve_to_the_district(result):
    r = row(result, "2020-11-25-kalbajar-handover")
    assert r["geocoder"] == "layer:admin1:AZE-1682" and r["geo_precision"] == "district"


def test_kalbajar_controller_changes_on_the_25th(result):
    t = result.timeline
    assert t.controller("Kalbajar", date(2020, 11, 24)) == "Armenia"
    assert t.controller("Kalbajar", date(2020, 11, 25)) == "Azerbaijan"
    assert t.controller("Kalbajar", date(2020, 11, 26)) == "Azerbaijan"
    assert t.controller("Aghdam", date(2020, 11, 19)) == "Armenia"
    assert t.controller("Lachin", date(2020, 11, 30)) == "Armenia"
    assert t.controller("Lachin", date(2020, 12, 1)) == "Azerbaijan"
    assert row(result, "2020-11-25-kalbajar-handover")["controller"] == "Azerbaijan"


def test_controllers_vectorised_agrees_with_scalar(result):
    t = result.timeline
    days = np.concatenate([np.arange(np.datetime64("1993-03-25"), np.datetime64("1993-04-10")),
                           np.arange(np.datetime64("2020-11-01"), np.datetime64("2020-12-10"))])
    vec = t.controllers("Kalbajar", days)
    assert list(vec) == [t.controller("Kalbajar", d.astype(date)) for d in days]
    assert vec[0] is None and vec[-1] == "Azerbaijan"


def test_controller_is_unknown_before_the_earliest_known_state(result):
    # the event says Armenia -> Azerbaijan on 2020-11-25; the layer says Armenia held Kalbajar
    # from 1993-04-03 (from_since): before that, nothing is known
    t = result.timeline
    assert t.known_from("Kalbajar") == date(1993, 4, 3)
    assert t.controller("Kalbajar", date(1992, 6, 1)) is None
    assert t.controller("Kalbajar", date(1993, 4, 2)) is None
    assert t.controller("Kalbajar", date(1993, 4, 3)) == "Armenia"
    assert t.controller("Kalbajar", date(2020, 11, 24)) == "Armenia"
    assert t.controller("Kalbajar", date(2020, 11, 26)) == "Azerbaijan"
    assert t.controller("Lachin", date(1992, 5, 17)) is None
    assert t.controller("Lachin", date(1992, 5, 18)) == "Armenia"
    assert t.state_on(date(1993, 5, 1)) == {"Aghdam": None, "Kalbajar": "Armenia",
                                            "Lachin": "Armenia"}


def test_a_1992_event_in_kalbajar_has_no_controller():
    kalbajar_town = (40.1067, 46.0383)
    early = enrich_points([kalbajar_town], day=date(1992, 6, 1)).iloc[0]
    assert early["handover_area"] == "Kalbajar" and early["controller"] is None
    assert enrich_points([kalbajar_town], day=date(2020, 11, 24)).iloc[0]["controller"] \
        == "Armenia"
    assert enrich_points([kalbajar_town], day=date(2020, 11, 26)).iloc[0]["controller"] \
        == "Azerbaijan"


def test_without_a_known_start_only_the_states_after_the_first_change_are_known():
    t = Timeline([Change("X", date(2020, 11, 25), "A", "B", None)])
    assert t.known_from("X") == date(2020, 11, 25)
    assert t.controller("X", date(2020, 11, 24)) is None
    assert t.controller("X", date(2020, 11, 25)) == "B"
    assert t.known_from("nowhere") is None and t.controller("nowhere", date(2020, 1, 1)) is None
    days = np.array(["2020-11-24", "2020-11-25"], dtype="datetime64[D]")
    assert list(t.controllers("X", days)) == [None, "B"]


def test_layer_start_fits_only_the_change_that_ends_that_state():
    handover = layers.load_layers(MANIFEST)["handover"].frame
    # a user's event history: Azerbaijan lost Kalbajar in 1993 and got it back in 2020
    t = Timeline.with_layer([Change("Kalbajar", date(1993, 4, 3), "Azerbaijan", "Armenia", "a"),
                             Change("Kalbajar", date(2020, 11, 25), "Armenia", "Azerbaijan",
                                    "b")], handover)
    assert [c.before_since for c in t.by_area["Kalbajar"]] == [None, date(1993, 4, 3)]
    assert t.controller("Kalbajar", date(1993, 4, 2)) is None
    assert t.controller("Kalbajar", date(2000, 1, 1)) == "Armenia"


def test_handover_layer_fills_areas_without_events():
    handover = layers.load_layers(MANIFEST)["handover"].frame
    t = Timeline.from_events([], handover)
    assert t.controller("Aghdam", date(2020, 11, 21)) == "Azerbaijan"
    assert t.controller("Aghdam", date(1993, 7, 22)) is None
    assert t.controller("Aghdam", date(1993, 7, 23)) == "Armenia"


def test_unresolved_places_fail_together_with_suggestions(tmp_path):
    events = tmp_path / "events"
    shutil.copytree(ROOT / "events", events)
    for name, place in (("a", "Kalbajr"), ("b", "Xyzzyplop")):
        (events / f"2020-11-28-{name}.yaml").write_text(
            f"date: 2020-11-28\ntitle: t\nevent_type: Battles\nlocation: {{name: {place}}}\n"
            "sources: [{publisher: p, published: 2020-11-28}]\n", "utf-8")
    with pytest.raises(UnresolvedPlaces) as info:
        build(events, MANIFEST, gazetteer=ROOT / "geodata" / "gazetteer.yaml")
    msgs = [str(u) for u in info.value.unresolved]
    assert len(msgs) == 2
    assert "2020-11-28-a.yaml:4:12: location.name: no place called 'Kalbajr'" in msgs[0]
    assert "Kalbajar" in msgs[0]
    allowed = build(events, MANIFEST, gazetteer=ROOT / "geodata" / "gazetteer.yaml",
                    allow_unresolved=True)
    assert len(allowed.frame) == 8 and len(allowed.unresolved) == 2


def test_border_distance_is_metric():
    line = gpd.GeoDataFrame(geometry=gpd.GeoSeries.from_wkt(["LINESTRING (45 40, 45 41)"]),
                            crs=4326)
    d = border_distance_km(np.array([Point(45.1, 40.5)]), line)
    assert 8.4 < d[0] < 8.6  # 0.1 degree of longitude at 40.5 N is ~8.46 km


# ---------------------------------------------------------------- district uncertain


@pytest.mark.parametrize(("place", "lat", "lon", "admin1", "candidates"), [
    # ACLED puts Archis in Tavush; our layer's Lori/Tavush line passes 0.8 km away
    ("Archis", 41.1627, 44.8749, "Lori", ["Lori", "Tavush"]),
    # ACLED puts Bardzrashen in Ararat (2.6 km away); Kotayk is 5.6 km away, beyond doubt
    ("Bardzrashen", 40.0853, 44.5785, "Erevan", ["Erevan", "Ararat"]),
    # Natural Earth's Yerevan is small: its centre is 3.7 km from Kotayk, 4.5 km from Ararat
    ("Yerevan centre", 40.1792, 44.4991, "Erevan", ["Erevan", "Kotayk", "Ararat"]),
])
def test_points_near_a_district_line_are_uncertain(place, lat, lon, admin1, candidates):
    r = enrich_points([(lat, lon)]).iloc[0]
    assert r["admin1"] == admin1
    assert bool(r["admin1_uncertain"]) is True
    assert r["admin1_candidates"] == candidates


def test_a_point_deep_inside_a_district_is_certain():
    # Gavar: 15.8 km from Kotayk, the nearest other district
    r = enrich_points([(40.3589, 45.1267)]).iloc[0]
    assert r["admin1"] == "Gegharkunik"
    assert bool(r["admin1_uncertain"]) is False
    assert r["admin1_candidates"] == ["Gegharkunik"]


def test_a_point_in_no_district_has_candidates_only_when_one_is_near():
    # Tbilisi, far from any district of the layer; a point in Georgia 0.7 km from Tavush
    far, near = enrich_points([(41.7151, 44.8271), (41.27, 44.9)]).itertuples()
    assert pd.isna(far.admin1) and far.admin1_candidates == []
    assert far.admin1_uncertain is None  # no district known: its certainty is unknown, not "no"
    assert (near.country, near.admin1_candidates) == ("GE", ["Tavush"])
    assert pd.isna(near.admin1) and near.admin1_uncertain


def test_bundled_events_carry_district_doubt(result):
    mine = row(result, "2020-11-26-sotk-mine-entry")
    assert bool(mine["admin1_uncertain"]) is True
    assert mine["admin1_candidates"] == ["Gegharkunik", "Kəlbəcər"]
    aghdam = row(result, "2020-11-20-aghdam-handover")
    assert not aghdam["admin1_uncertain"] and aghdam["admin1_candidates"] == ["Ağdam"]


def _square(x0: float, y0: float, size: float) -> np.ndarray:
    return np.array([Polygon([(x0, y0), (x0 + size, y0), (x0 + size, y0 + size),
                              (x0, y0 + size)])])


def test_near_outlines_measures_metres_in_each_points_own_zone():
    # a square straddling the zone 38/39 line at 48 E; points 0.01 degree of longitude
    # (0.85 km at 40 N) outside its west and east sides, one in each zone, one far away
    square = _square(47.5, 39.8, 1.0)
    pts = np.array([Point(47.49, 40.3), Point(48.51, 40.3), Point(46.0, 40.3)])
    assert list(utm_zones(np.array([47.49, 48.51]), np.array([40.3, -1.0]))) == [32638, 32739]
    pt, poly, km = near_outlines(pts, square, 2.0)
    assert list(pt) == [0, 1] and list(poly) == [0, 0]
    assert np.allclose(km, 0.852, atol=0.01)


def test_near_outlines_with_nothing_to_measure():
    square = _square(45.0, 40.0, 0.1)
    for args in ((np.array([], dtype=object), square, 5.0),
                 (np.array([Point(45.05, 40.05)]), square[:0], 5.0),
                 (np.array([Point(45.05, 40.05)]), square, 0.0)):
        pt, poly, km = near_outlines(*args)
        assert len(pt) == len(poly) == len(km) == 0
    # a point with no coordinates is near nothing, and the others keep their own index
    pt, poly, km = near_outlines(np.array([Point(), Point(45.05, 40.05)]), square, 5.0)
    assert list(pt) == [1] and list(poly) == [0] and 4.2 < km[0] < 4.3


SYRIA = {  # name -> (lat, lon)
    "Aleppo": (36.2021, 37.1343), "Damascus": (33.5138, 36.2765), "Idlib": (35.9306, 36.6339),
}


def syria_events(folder):
    """A small YAML events folder with points in Syria (and one at sea, which is no country)."""
    folder.mkdir()
    places = {**SYRIA, "Mediterranean": (34.5, 34.0)}
    for i, (name, (lat, lon)) in enumerate(places.items()):
        country = "" if name == "Mediterranean" else ", country: SY"
        (folder / f"2016-03-0{i + 1}-{name.lower()}.yaml").write_text(
            f"date: 2016-03-0{i + 1}\ntitle: Shelling in {name}\nevent_type: Battles\n"
            f"location: {{name: {name}{country}, lat: {lat}, lon: {lon}}}\n"
            "sources: [{publisher: p, published: 2016-03-02}]\n", "utf-8")
    return folder


def test_no_layers_no_figures_and_one_warning(tmp_path):
    said: list[str] = []
    r = build(syria_events(tmp_path / "ev"), MANIFEST, warn=said.append)
    f = r.frame.set_index("id")
    aleppo = f.loc["2016-03-01-aleppo"]
    assert aleppo["country"] == "SY" and pd.isna(aleppo["admin1"])
    assert np.isnan(aleppo["border_distance_km"]) and aleppo["side_uncertain"] is None
    assert pd.isna(f.loc["2016-03-04-mediterranean", "country"])
    gap = [w for w in r.warnings if "no admin-1 layer" in w]
    assert said == gap and len(gap) == 1
    assert "SY (3 events)" in gap[0] and "conflictmap layers fetch SY" in gap[0]
    sotk = build(ROOT / "events", MANIFEST, gazetteer=ROOT / "geodata" / "gazetteer.yaml")
    assert not [w for w in sotk.warnings if "no admin-1 layer" in w]


def test_border_distance_per_utm_zone():
    # the same 0.1 degree of longitude at 40.5 N, in zones 37 and 38: the same distance
    lines = gpd.GeoDataFrame(geometry=gpd.GeoSeries.from_wkt(
        ["LINESTRING (38.9 40, 38.9 41)", "LINESTRING (45 40, 45 41)"]), crs=4326)
    d = border_distance_km(np.array([Point(39.0, 40.5), Point(45.1, 40.5)]), lines)
    assert abs(d[0] - d[1]) < 0.01 and 8.4 < d[0] < 8.6


@pytest.mark.parametrize(("name", "claim", "mapped", "warned"), [
    ("Zod", "site", "settlement", True),  # the village centre cannot stand for a site
    ("Zod mine", "site", "site", False),  # the curated mine can
    ("Zod", None, "settlement", False),
    ("Zod", "district", "district", False)])  # a claim coarser than the point stands
def test_a_geocoded_point_never_claims_more_precision_than_its_place(tmp_path, name, claim,
                                                                     mapped, warned):
    text = (ROOT / "events" / "2020-11-26-sotk-mine-entry.yaml").read_text("utf-8")
    where = ("location:\n  name: Sotk gold mine\n  country: AM\n  lat: 40.2330\n"
             "  lon: 45.9680\n  precision: site\n")
    assert where in text
    mine = f"location:\n  name: {name}\n  country: AM\n" + (
        f"  precision: {claim}\n" if claim else "")
    (tmp_path / "e.yaml").write_text(text.replace(where, mine), "utf-8")
    heard: list[str] = []
    result = build(tmp_path, MANIFEST, warn=heard.append, cache=False)
    assert result.frame["geo_precision"].tolist() == [mapped]
    assert any("mapped as settlement" in w for w in heard + result.warnings) == warned
