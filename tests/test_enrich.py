"""Enrichment of the bundled events: country, district, border distance, side, controller."""

from __future__ import annotations

import shutil
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from conflictmap import layers
from conflictmap.enrich import border_distance_km
from conflictmap.pipeline import COLUMNS, UnresolvedPlaces, build
from conflictmap.timeline import Timeline

from .conftest import ROOT

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
    days = np.arange(np.datetime64("2020-11-01"), np.datetime64("2020-12-10"))
    vec = t.controllers("Kalbajar", days)
    assert list(vec) == [t.controller("Kalbajar", d.astype(date)) for d in days]


def test_handover_layer_fills_areas_without_events():
    handover = layers.load_layers(MANIFEST)["handover"].frame
    t = Timeline.from_events([], handover)
    assert t.controller("Aghdam", date(2020, 11, 21)) == "Azerbaijan"


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
    assert "2020-11-28-a.yaml:1: location.name: no place called 'Kalbajr'" in msgs[0]
    assert "Kalbajar" in msgs[0]
    allowed = build(events, MANIFEST, gazetteer=ROOT / "geodata" / "gazetteer.yaml",
                    allow_unresolved=True)
    assert len(allowed.frame) == 8 and len(allowed.unresolved) == 2


def test_border_distance_is_metric():
    line = gpd.GeoDataFrame(geometry=gpd.GeoSeries.from_wkt(["LINESTRING (45 40, 45 41)"]),
                            crs=4326)
    d = border_distance_km(np.array([Point(45.1, 40.5)]), line)
    assert 8.4 < d[0] < 8.6  # 0.1 degree of longitude at 40.5 N is ~8.46 km


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
