"""The layer store gives back exactly the layers GDAL and the checks give, and only for the
same bytes; what is made of the layers is kept beside them and is the same text."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from conflictmap import export, layercache, recordcache
from conflictmap import layerio as layers
from conflictmap.render import map as page

ROOT = Path(__file__).resolve().parent.parent
GEODATA = ROOT / "geodata"


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    """An empty layer store and no layers remembered in-process."""
    folder = tmp_path / "layer-store"
    monkeypatch.setenv(layercache.ENV, str(folder))
    monkeypatch.setattr(layers, "_CACHE", {})
    return folder


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the bundled manifest and layers, free to change."""
    folder = tmp_path / "geodata"
    folder.mkdir()
    for f in GEODATA.glob("*.geojson"):
        shutil.copy(f, folder)
    shutil.copy(GEODATA / "layers.yaml", folder)
    return folder / "layers.yaml"


def fresh(manifest: Path) -> dict[str, layers.Layer]:
    """The layers as GDAL and the checks give them, no store involved."""
    spec_list, problems = layers.read_manifest(manifest)
    assert not problems
    out = {}
    for spec in spec_list.layers:
        layer, errors = layers.load_layer(spec, manifest.parent)
        assert layer is not None and not errors
        out[spec.name] = layer
    return out


def refuse(*_a, **_k):
    raise AssertionError("made again: the store did not answer")


def load_again(manifest: Path, monkeypatch) -> layers.LayerSet:
    """A second load as a new process makes it: nothing remembered, nothing read by GDAL."""
    recordcache.settle()
    monkeypatch.setattr(layers, "_CACHE", {})

    with monkeypatch.context() as m:
        m.setattr(layers, "load_layer", refuse)
        return layers.load_layers(manifest)


def test_kept_layers_equal_freshly_read_ones(store, monkeypatch):
    manifest = GEODATA / "layers.yaml"
    first = layers.load_layers(manifest)
    assert first.key is not None
    again = load_again(manifest, monkeypatch)
    assert again.key == first.key and list(again) == list(first)
    for name, lyr in fresh(manifest).items():
        kept = again[name]
        assert (kept.spec, kept.file, kept.repaired) == (lyr.spec, lyr.file, lyr.repaired)
        assert isinstance(kept.frame, gpd.GeoDataFrame)
        assert layercache.same_frame(kept.frame, lyr.frame), name
    # the checks' own types survive: names as nullable text, district aliases as lists
    assert str(again["admin1"].frame["name"].dtype) == "string"
    assert all(isinstance(v, list) for v in again["admin1"].frame["aliases"])
    assert [p.suffix for p in store.iterdir()] == [".arrow"]


def test_a_changed_byte_in_a_layer_or_the_manifest_is_never_answered_from_the_store(
        store, project, monkeypatch):
    first = layers.load_layers(project)
    recordcache.settle()
    admin1 = project.parent / "admin1.geojson"
    text = admin1.read_text(encoding="utf-8")
    assert '"Gegharkunik"' in text
    admin1.write_text(text.replace('"Gegharkunik"', '"Gegharkunik province"', 1),
                      encoding="utf-8")
    monkeypatch.setattr(layers, "_CACHE", {})
    changed = layers.load_layers(project)
    assert changed.key != first.key
    assert "Gegharkunik province" in set(changed["admin1"].frame["name"])
    recordcache.settle()
    project.write_text(project.read_text(encoding="utf-8") + "\n# a comment\n",
                       encoding="utf-8")
    monkeypatch.setattr(layers, "_CACHE", {})
    assert layers.load_layers(project).key not in (first.key, changed.key)


def test_a_damaged_store_is_read_afresh_and_rewritten(store, monkeypatch):
    manifest = GEODATA / "layers.yaml"
    key = layers.load_layers(manifest).key
    recordcache.settle()
    path = store / f"{key}.arrow"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert layercache.load(key, 6) is None
    monkeypatch.setattr(layers, "_CACHE", {})
    reloaded = layers.load_layers(manifest)  # read by GDAL again
    assert layercache.same_frame(reloaded["world"].frame, fresh(manifest)["world"].frame)
    recordcache.settle()
    assert layercache.load(key, 6) is not None
    path.write_bytes(b"")
    assert layercache.load(key, 6) is None


def test_a_set_with_a_file_that_is_not_geojson_is_not_kept(store, project, monkeypatch):
    gpd.read_file(project.parent / "lakes.geojson").to_file(project.parent / "lakes.gpkg")
    project.write_text(project.read_text(encoding="utf-8").replace(
        "path: lakes.geojson", "path: lakes.gpkg"), encoding="utf-8")
    loaded = layers.load_layers(project)
    assert loaded.key is None and "lakes" in loaded
    recordcache.settle()
    assert not store.exists() or not list(store.iterdir())


def test_only_frames_that_read_back_exactly_are_kept():
    base = {"layer": ["x", "y"], "geometry": [shapely.Point(1, 2), shapely.Point(3, 4)]}
    ok = gpd.GeoDataFrame({**base, "tags": [["a"], []], "n": [1, None]}, crs=4326)
    assert layercache._dump([(ok, 0)]) is not None
    for odd in ([("a",), ("b",)], [datetime(2020, 1, 1), None], [{1: "a"}, None]):
        frame = gpd.GeoDataFrame({**base, "odd": pd.Series(odd, dtype=object)}, crs=4326)
        assert layercache._dump([(frame, 0)]) is None, odd


def test_same_frame_sees_every_difference():
    a = gpd.GeoDataFrame({"name": pd.array(["A", None], dtype="string"), "n": [1, 2],
                          "v": pd.Series([1, "x"], dtype=object),
                          "geometry": [shapely.Point(1, 2), shapely.Point(3, 4)]}, crs=4326)
    assert layercache.same_frame(a, a.copy())
    changes = [
        a.assign(n=[1.0, 2.0]),  # dtype
        a.assign(v=pd.Series([1.0, "x"], dtype=object)),  # a value's type
        a.assign(geometry=[shapely.Point(1, 2), shapely.Point(3, 4.000001)]),
        a[["n", "name", "v", "geometry"]],  # order of columns
        a.set_crs(3857, allow_override=True),
        a.set_axis([1, 0]),  # index
    ]
    for b in changes:
        assert not layercache.same_frame(a, b)


def test_what_is_made_of_a_kept_set_is_made_once_and_read_back(store):
    calls = []

    def make() -> str:
        calls.append(1)
        return "Ереван \u2028 text"

    key = "k" * 32
    for _ in range(2):
        assert layercache.derived(key, "thing", ["code", 1], make) == "Ереван \u2028 text"
        recordcache.settle()
    assert len(calls) == 1
    for n in range(2, 2 + layercache.KEEP_MADE):  # other inputs: made again, and kept ...
        layercache.derived(key, "thing", ["code", n], make)
        recordcache.settle()
    assert len(calls) == 1 + layercache.KEEP_MADE
    assert len(list(store.glob(f"{key}.thing.*"))) == layercache.KEEP_MADE  # ... the last few
    layercache.derived(key, "thing", ["code", 1 + layercache.KEEP_MADE], make)
    assert len(calls) == 1 + layercache.KEEP_MADE
    layercache.derived(None, "thing", ["code", 1], make)  # a set not kept: always made
    assert len(calls) == 2 + layercache.KEEP_MADE


def test_layers_geojson_drawn_layers_and_labels_from_the_store_are_the_same(store, tmp_path,
                                                                            monkeypatch):
    manifest = GEODATA / "layers.yaml"
    events = gpd.GeoDataFrame(geometry=[shapely.Point(45.5, 40.1), shapely.Point(46.4, 39.8)],
                              crs=4326)
    outputs = []
    for run in range(2):
        monkeypatch.setattr(layers, "_CACHE", {})
        monkeypatch.setattr(export, "_LAYERS_TEXT", [None, "", ""])
        monkeypatch.setattr(page, "_LAST", {})
        if run:  # the second run makes nothing: all of it comes from the store
            for module, name in ((export.geojson, "feature_collection_text"),
                                 (page, "drawn_layers"), (page, "label_data"),
                                 (page, "load_index")):
                monkeypatch.setattr(module, name, refuse)
        result = type("R", (), {"layers": layers.load_layers(manifest), "frame": events})()
        (tmp_path / f"out{run}").mkdir()
        target = export.write_layers_geojson(result, tmp_path / f"out{run}" / "layers.geojson")
        drawn = page._layer_data(result, events)
        labels = page.labels_for(result)
        recordcache.settle()
        outputs.append((target.read_bytes(), drawn, page.safe_json(labels)))
    monkeypatch.undo()
    assert outputs[0][0] == outputs[1][0]
    assert json.dumps(outputs[0][1]) == json.dumps(outputs[1][1])
    assert outputs[0][2] == outputs[1][2]
    assert {p.name.split(".")[1] for p in store.iterdir()} == {"arrow", "layers-geojson",
                                                               "drawn", "labels"}
    index = page.load_index()
    fresh_labels = {**page.label_data(result.layers, events, index),
                    "attribution": page.attribution(result.layers, with_towns=True)}
    assert outputs[1][2] == page.safe_json(fresh_labels)
    assert sum(item[3] == "town" for item in fresh_labels["items"]) >= 3
    fresh_drawn = [{"name": lyr.spec.name, "title": lyr.spec.title or lyr.spec.name,
                    "kind": lyr.spec.kind, "style": lyr.spec.style,
                    "geojson": page._geojson(frame, ["name"])}
                   for lyr, frame in page.drawn_layers(result, events)]
    assert json.dumps(outputs[1][1]) == json.dumps(fresh_drawn)


def test_only_the_last_few_layer_sets_are_kept_with_what_was_made_of_them(store):
    frame = gpd.GeoDataFrame({"layer": ["x"], "geometry": [shapely.Point(1, 2)]}, crs=4326)
    keys = [f"{n:032d}" for n in range(layercache.KEEP_SETS + 2)]
    for key in keys:
        layercache.save(key, [(frame, 0)])
        recordcache.settle()
        layercache.derived(key, "thing", [1], lambda: "made")
        recordcache.settle()
        assert layercache.load(key, 1) is not None
    kept = {p.stem for p in store.glob("*.arrow")}
    assert len(kept) == layercache.KEEP_SETS and keys[-1] in kept
    assert {p.name.split(".")[0] for p in store.iterdir()} == kept


def test_labels_without_the_gazetteer_have_no_towns_and_are_not_kept(store, monkeypatch):
    events = gpd.GeoDataFrame(geometry=[shapely.Point(45.5, 40.1)], crs=4326)
    result = type("R", (), {"layers": layers.load_layers(GEODATA / "layers.yaml"),
                            "frame": events})()

    real = page.load_index

    def missing():
        raise OSError("no index here")

    monkeypatch.setattr(page, "load_index", missing)
    monkeypatch.setattr(page, "_LAST", {})
    labels = page.labels_for(result)
    recordcache.settle()
    assert labels["items"] and not any(item[3] == "town" for item in labels["items"])
    assert "GeoNames" not in labels["attribution"]
    assert not list(store.glob("*.labels.*"))
    monkeypatch.setattr(page, "load_index", real)  # it loads again: towns, and kept
    monkeypatch.setattr(page, "_LAST", {})
    assert any(item[3] == "town" for item in page.labels_for(result)["items"])
    recordcache.settle()
    assert len(list(store.glob("*.labels.*"))) == 1


def test_a_set_that_is_not_kept_has_no_key_and_an_attribute_named_like_ours_is_fine(
        store, project, monkeypatch):
    lakes = project.parent / "lakes.geojson"
    data = json.loads(lakes.read_text(encoding="utf-8"))
    for feature in data["features"]:
        feature["properties"]["__conflictmap_wkb"] = "mine"
    lakes.write_text(json.dumps(data), encoding="utf-8")
    loaded = layers.load_layers(project)
    assert loaded.key is None  # not kept: nothing is made under its key either
    assert set(loaded["lakes"].frame["__conflictmap_wkb"]) == {"mine"}
    recordcache.settle()
    assert not store.exists() or not list(store.iterdir())


def test_a_layer_saved_while_it_was_read_is_not_kept_under_the_new_key(store, project,
                                                                       monkeypatch):
    admin1 = project.parent / "admin1.geojson"
    real = layers.load_layer

    def edited_meanwhile(spec, base):
        out = real(spec, base)
        if spec.name == "admin1":  # saved by an editor after GDAL read it
            admin1.write_text(admin1.read_text(encoding="utf-8").replace(
                '"Gegharkunik"', '"Gegharkunik province"', 1), encoding="utf-8")
        return out

    monkeypatch.setattr(layers, "load_layer", edited_meanwhile)
    assert layers.load_layers(project).key is None
    recordcache.settle()
    monkeypatch.setattr(layers, "load_layer", real)
    monkeypatch.setattr(layers, "_CACHE", {})
    again = layers.load_layers(project)
    assert "Gegharkunik province" in set(again["admin1"].frame["name"])
