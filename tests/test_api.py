"""The public library API (`conflictmap.api`, re-exported by `conflictmap`)."""

from __future__ import annotations

import doctest
import shutil
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

import conflictmap as cm
from conflictmap import api, chunks, errors, project

from .conftest import DATA, ROOT


@pytest.fixture(scope="module")
def gdf() -> gpd.GeoDataFrame:
    return cm.read_events(ROOT / "events")


def test_docstring_examples_run():
    """Every example in the API's docstrings runs and prints what it says."""
    attempted = 0
    for module in (api, cm, errors, chunks):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted > 30  # the examples were found, not skipped


def test_every_public_name_is_documented_with_an_example():
    names = [n for n in cm.__all__ if n != "__version__"]
    functions = [n for n in names if callable(getattr(cm, n)) and not isinstance(
        getattr(cm, n), type)]
    assert set(functions) >= {"read_events", "read_dataset", "enrich", "explore", "to_file",
                              "layers", "geocode", "example_events"}
    assert "plot" in functions
    for name in names:  # the error and warning classes too
        assert ">>> " in (getattr(cm, name).__doc__ or ""), name
    import pydoc

    text = pydoc.render_doc(cm, renderer=pydoc.plaintext)
    for name in functions:
        assert f"{name}(" in text


def test_version_is_the_installed_one():
    from importlib.metadata import version

    assert cm.__version__ == version("conflictmap")


def test_read_events_has_the_geojson_columns(gdf):
    built = pyogrio.read_dataframe(ROOT / "events" / ".." / "outputs" / "events.geojson") if (
        ROOT / "outputs" / "events.geojson").exists() else None
    assert {"id", "date", "title", "country", "admin1", "border_distance_km",
            "side_uncertain", "controller", "source_urls"} <= set(gdf.columns)
    if built is not None:
        assert list(gdf.columns) == list(built.columns)
    mine = gdf.set_index("id").loc["2020-11-26-sotk-mine-entry"]
    assert (mine["country"], mine["admin1"]) == ("AM", "Gegharkunik")


def test_read_events_raises_one_error_type_with_the_problems(tmp_path):
    bad = tmp_path / "events"
    shutil.copytree(DATA / "bad", bad)
    with pytest.raises(cm.ConflictmapError) as caught:
        cm.read_events(bad)
    assert caught.value.problems and all(":" in str(p) for p in caught.value.problems)


def test_enrich_adds_columns_and_keeps_the_users(gdf):
    pts = gpd.GeoDataFrame(
        {"mine": ["a", "b", "c"], "date": ["2020-11-26", None, "2020-11-24"]},
        geometry=gpd.points_from_xy([45.968, 46.038, 46.038], [40.233, 40.107, 40.107]),
        crs=4326, index=[10, 20, 30]).to_crs(32638)
    out = cm.enrich(pts)
    assert list(out.columns[:3]) == ["mine", "date", "geometry"]
    assert out.crs == pts.crs and list(out.index) == [10, 20, 30]
    assert out.geometry.equals(pts.geometry)
    assert out["controller"].tolist() == [None, None, "Armenia"]  # no day: no controller
    with pytest.raises(cm.UsageError, match="already has country"):
        cm.enrich(gdf)


def test_enrich_refuses_what_it_cannot_do():
    from shapely.geometry import box

    areas = gpd.GeoDataFrame({"date": ["2020-11-26"]}, geometry=[box(45, 40, 46, 41)], crs=4326)
    with pytest.raises(cm.UsageError, match="not points"):
        cm.enrich(areas)
    pts = gpd.GeoDataFrame({"when": ["soon"]}, geometry=gpd.points_from_xy([45], [40]), crs=4326)
    with pytest.raises(cm.UsageError, match="not dates"):
        cm.enrich(pts, date="when")


def test_explore_sets_the_view_and_refuses_unknown_filters(gdf, tmp_path):
    m = cm.explore(gdf[gdf.date.between("2020-11-25", "2020-11-27")], date="2020-11-26",
                   type=["Strategic developments"], q="mine & <b>")
    m.save(tmp_path / "map.html")
    page = (tmp_path / "map.html").read_bytes().decode("utf-8")  # as written, CRs kept
    assert '"initial_hash":"#date=2020-11-26\\u0026type=Strategic%20developments' in page
    assert "2020-11-26-sotk-mine-entry" in page and "2020-12-01-lachin-handover" not in page
    assert page == m.get_root().render()  # save() writes what render() gives
    with pytest.raises(cm.UsageError, match="unknown filter colour"):
        cm.explore(gdf, colour="red")
    with pytest.raises(cm.UsageError, match="already shows conflictmap events"):
        cm.explore(gdf, m=m)


def test_explore_draws_on_a_given_map_keeping_its_layers(gdf):
    import folium

    m = folium.Map(tiles=None)
    folium.Marker([40.0, 45.0], tooltip="mine").add_to(m)
    assert cm.explore(gdf, m=m, self_contained=False) is m
    html = m.get_root().render()
    assert "L.marker" in html and "conflictmapInit" in html


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".fgb"])
def test_to_file_reads_back_with_pyogrio(gdf, tmp_path, suffix):
    target = tmp_path / f"events{suffix}"
    cm.to_file(gdf, target)
    back = pyogrio.read_dataframe(target)
    assert back["id"].tolist() == gdf["id"].tolist()
    assert back["admin1"].tolist() == gdf["admin1"].tolist()


def test_a_dataset_written_from_the_frame_reads_back_as_the_same_events(gdf, tmp_path):
    target = tmp_path / "d.gpkg"
    cm.to_file(gdf, target, as_dataset=True)
    back = cm.read_dataset(target)
    for col in ("id", "date", "title", "country", "admin1", "controller", "fatalities"):
        assert back[col].tolist() == gdf[col].tolist(), col


def test_outside_a_project_the_packaged_layers_are_used(tmp_path):
    assert project.manifest(tmp_path) == cm.api.bundled.manifest()
    assert project.manifest(ROOT) == ROOT / "geodata" / "layers.yaml"
    with pytest.raises(cm.PlaceNotFound) as caught:
        cm.geocode("Sotkk-nowhere", "AM")
    assert isinstance(caught.value, cm.ConflictmapError)


def test_the_package_attributes_stay_functions_after_submodules_load():
    import conflictmap.enrich
    import conflictmap.geocode.gazetteer  # noqa: F401

    assert callable(cm.enrich) and callable(cm.geocode) and callable(cm.layers)
    assert Path(cm.example_events()).is_dir()
