"""Label candidates and page credits from the layers and the gazetteer (no browser)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from conflictmap import layerio as layers
from conflictmap.geocode.gazetteer import load_index
from conflictmap.render.labels import (
    TOWN_ZOOMS,
    area_names,
    attribution,
    label_data,
    label_point,
    page_title,
    town_zoom,
)

from .conftest import ROOT

SOTK = gpd.GeoDataFrame({"date": ["2020-11-26", "2020-11-10"]},
                        geometry=gpd.points_from_xy([45.968, 46.75], [40.233, 39.82]), crs=4326)


def test_label_point_is_inside_even_a_c_shaped_area():
    c_shape = shapely.box(0, 0, 10, 10).difference(shapely.box(3, 3, 10, 7))
    assert not c_shape.contains(c_shape.centroid)  # where a centroid label would go wrong
    lat, lon = label_point(c_shape)
    assert c_shape.contains(shapely.Point(lon, lat))


def test_bigger_towns_show_from_lower_zooms():
    zooms = [town_zoom(p) for p in (1_000_000, 60_000, 20_000, 6_000, 2_500, 800)]
    assert zooms == sorted(zooms) and zooms[0] == TOWN_ZOOMS[0][1] and zooms[-1] == 11


def test_candidates_in_priority_order_around_the_events():
    data = label_data(layers.load_layers(ROOT / "geodata" / "layers.yaml"), SOTK, load_index())
    kinds = [it[3] for it in data["items"]]
    order = ["country", "lake", "district", "town"]
    assert kinds == sorted(kinds, key=order.index)
    texts = {it[0] for it in data["items"]}
    assert {"Armenia", "Azerbaijan", "Lake Sevan", "Kalbajar", "Vardenis"} <= texts
    towns = [it for it in data["items"] if it[3] == "town"]
    assert all(38.3 <= it[1] <= 41.8 and 44.4 <= it[2] <= 48.3 for it in towns)
    assert [town_zoom(0)] != [it[4] for it in towns[:1]]  # the biggest town is no village


def test_attribution_credits_each_source_and_escapes_a_users_layer(tmp_path: Path):
    loaded = dict(layers.load_layers(ROOT / "geodata" / "layers.yaml"))
    spec = loaded["lakes"].spec.model_copy(update={
        "name": "mine", "title": "<img src=x onerror=alert(1)>",
        "source": "my survey", "licence": "CC0"})
    loaded["mine"] = layers.Layer(spec, tmp_path, loaded["lakes"].frame, 0)
    html = attribution(loaded, with_towns=True)
    assert "Natural Earth (public domain)" in html and "GeoNames (CC BY 4.0)" in html
    assert "&lt;img src=x onerror=alert(1)&gt;: my survey (CC0)" in html and "<img" not in html


def test_title_says_span_and_area():
    loaded = layers.load_layers(ROOT / "geodata" / "layers.yaml")
    names = area_names(loaded, ["AZ", "AM", "AZ", None])
    assert names == ["Azerbaijan", "Armenia"]
    assert page_title(SOTK, names) == (
        "Events 2020-11-10 to 2020-11-26, Azerbaijan and Armenia (conflictmap)")
