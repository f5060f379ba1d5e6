"""Boundary layers: the bundled set, a corpus of broken layers, the build, and the towns."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon

from conflictmap import layerio as layers

from .conftest import ROOT, enrich_points

GEO = ROOT / "geodata"
MANIFEST = GEO / "layers.yaml"
EXE = Path(sys.executable).with_name("conflictmap")


def cm(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def bundled() -> dict[str, layers.Layer]:
    return layers.load_layers(MANIFEST)


def test_bundled_layers_check_passes_with_counts():
    r = cm("layers", "check")
    assert r.returncode == 0, r.stderr
    counts = {line.split()[0]: int(line.split()[2]) for line in r.stdout.splitlines()}
    assert counts == {"countries": 6, "world": 250, "borders": 11, "admin1": 89, "handover": 3,
                      "lakes": 3}


def test_layers_list_shows_licences():
    r = cm("layers")
    assert r.returncode == 0 and "Public domain (Natural Earth)" in r.stdout


def test_common_columns_and_wgs84(bundled):
    for lyr in bundled.values():
        assert list(lyr.frame.columns[:5]) == layers.COMMON
        assert lyr.frame.crs.to_epsg() == 4326
        assert lyr.frame["name"].is_unique


TOWNS = {  # town -> (lon, lat, district)
    "Kalbajar": (46.0383, 40.1067, "Kəlbəcər"),
    "Aghdam": (46.9306, 39.9931, "Ağdam"),
    "Vardenis": (45.72, 40.18, "Gegharkunik"),
    "Sotk": (45.8647, 40.2031, "Gegharkunik"),
    "Lachin": (46.5469, 39.6408, "Laçın"),
}


def district_of(bundled, lon: float, lat: float) -> list[str]:
    a1 = bundled["admin1"].frame
    return a1[a1.contains(Point(lon, lat))]["name"].tolist()


@pytest.mark.parametrize("town", ["Kalbajar", "Aghdam", "Vardenis", "Sotk"])
def test_town_falls_in_its_district(bundled, town):
    lon, lat, district = TOWNS[town]
    assert district_of(bundled, lon, lat) == [district]


def test_lachin_town_is_district_uncertain_between_shusha_and_lachin():
    # Natural Earth's Shusha polygon overreaches ~2 km west: Lachin town lies 1.7 km inside
    # it (see geodata/SOURCES.md). The join says Şuşa; the doubt names both.
    lon, lat, _ = TOWNS["Lachin"]
    r = enrich_points([(lat, lon)]).iloc[0]
    assert r["admin1"] == "Şuşa"
    assert bool(r["admin1_uncertain"]) is True
    assert r["admin1_candidates"] == ["Şuşa", "Laçın"]


def test_lachin_town_is_within_the_stated_accuracy_of_lachin(bundled):
    a1 = bundled["admin1"].frame.to_crs(32638)
    lachin = a1[a1["name"] == "Laçın"].geometry.iloc[0]
    town = gpd.GeoSeries([Point(46.5469, 39.6408)], crs=4326).to_crs(32638).iloc[0]
    km = lachin.distance(town) / 1000
    assert 1.0 < km < bundled["admin1"].spec.accuracy_km


def test_relabelled_districts_carry_their_evidence(bundled):
    a1 = bundled["admin1"].frame.set_index("iso")
    assert a1.loc["AZE-1735", "name"] == "Laçın" and a1.loc["AZE-1735", "ne_name"] == "Lankaran"
    assert "GeoNames" in a1.loc["AZE-1735", "label_fix"]
    assert a1.loc["AZE-1682", "name_en"] == "Kalbajar"
    assert "Karvachar" in list(a1.loc["AZE-1682", "aliases"])
    assert (a1["name"] == "Şuşa").sum() == 1


def test_international_border_is_a_line_layer(bundled):
    b = bundled["borders"]
    assert b.spec.kind == "line"
    am_az = b.frame[b.frame["iso"] == "AM-AZ"]
    assert len(am_az) == 1
    assert am_az.geometry.iloc[0].geom_type in ("LineString", "MultiLineString")
    km = am_az.to_crs(32638).length.iloc[0] / 1000
    assert 700 < km < 1100


def test_handover_dates_match_events_and_mismatch_is_reported(tmp_path, bundled):
    h = bundled["handover"].frame.set_index("name")
    assert h.loc["Kalbajar", "handover_date"] == "2020-11-25"
    assert h.loc["Aghdam", "handover_date"] == "2020-11-20"
    assert h.loc["Lachin", "handover_date"] == "2020-12-01"
    events = tmp_path / "events"
    shutil.copytree(ROOT / "events", events)
    f = events / "2020-11-25-kalbajar-handover.yaml"
    f.write_text(f.read_text("utf-8").replace("date: 2020-11-25", "date: 2020-11-24"), "utf-8")
    r = cm("layers", "check", "--events", str(events))
    assert r.returncode == 1
    assert "Kalbajar: handover_date 2020-11-25 but event" in r.stderr


def test_handover_states_when_the_from_side_took_control(bundled):
    h = bundled["handover"].frame.set_index("name")
    assert h.loc["Kalbajar", "from_since"] == "1993-04-03"
    assert h.loc["Aghdam", "from_since"] == "1993-07-23"
    assert h.loc["Lachin", "from_since"] == "1992-05-18"
    assert set(h["from_since_precision"]) == {"day"}
    assert "822" in h.loc["Kalbajar", "from_since_source"]
    assert "853" in h.loc["Aghdam", "from_since_source"]


@pytest.mark.parametrize(("since", "extra", "message"), [
    ("1993-13-03", {}, "Kalbajar: from_since '1993-13-03' is not an ISO date"),
    ("2020-11-25", {}, "Kalbajar: from_since 2020-11-25 is not before handover_date 2020-11-25"),
    ("1993-04-03", {"from_since_source": None}, "Kalbajar: from_since 1993-04-03 has no "
                                                "from_since_source"),
    ("1993-04-01", {"from_since_precision": "season"}, "from_since_precision 'season' is not"),
])
def test_layers_check_reports_a_bad_from_since(tmp_path, since, extra, message):
    geo = tmp_path / "geodata"
    shutil.copytree(GEO, geo, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    doc = json.loads((geo / "handover.geojson").read_text("utf-8"))
    props = next(f["properties"] for f in doc["features"] if f["properties"]["name"] == "Kalbajar")
    props.update({"from_since": since, **extra})
    (geo / "handover.geojson").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    r = cm("layers", "check", "--manifest", str(geo / "layers.yaml"))
    assert r.returncode == 1
    problems = [x for x in r.stderr.splitlines() if not x.endswith("problem(s)")]
    assert len(problems) == 1 and message in problems[0], r.stderr


def test_bundled_geodata_is_small_and_has_sources():
    shipped = [p for p in GEO.iterdir() if p.suffix in (".geojson", ".yaml")]
    assert sum(p.stat().st_size for p in shipped) < 5 * 1024 * 1024
    sources = (GEO / "SOURCES.md").read_text("utf-8")
    for p in shipped:
        if p.suffix == ".geojson":
            assert f"`{p.name}`" in sources, p.name


# ---------------------------------------------------------------- broken layers


SQUARE = Polygon([(45, 40), (46, 40), (46, 41), (45, 41)])
BOWTIE = Polygon([(45, 40), (46, 41), (46, 40), (45, 41)])


def _manifest(tmp: Path, path: str, name_field: str = "name") -> Path:
    m = tmp / "layers.yaml"
    m.write_text(
        "layers:\n"
        f"  - name: broken\n    path: {path}\n    kind: custom\n    name_field: {name_field}\n"
        "    source: test\n    licence: CC0\n    accuracy_km: 1\n", "utf-8")
    return m


def _write(frame: gpd.GeoDataFrame, path: Path, driver: str = "GeoJSON") -> None:
    frame.to_file(path, driver=driver)


def case_missing_file(tmp: Path) -> Path:
    return _manifest(tmp, "nope.geojson")


def case_no_crs(tmp: Path) -> Path:
    _write(gpd.GeoDataFrame({"name": ["a"]}, geometry=[SQUARE], crs=4326), tmp / "a.shp",
           "ESRI Shapefile")
    (tmp / "a.prj").unlink()
    return _manifest(tmp, "a.shp")


def case_invalid_polygon(tmp: Path) -> Path:
    _write(gpd.GeoDataFrame({"name": ["bowtie"]}, geometry=[BOWTIE], crs=4326),
           tmp / "b.geojson")
    return _manifest(tmp, "b.geojson")


def case_missing_name_field(tmp: Path) -> Path:
    _write(gpd.GeoDataFrame({"label": ["a"]}, geometry=[SQUARE], crs=4326), tmp / "c.geojson")
    return _manifest(tmp, "c.geojson")


def case_duplicate_names(tmp: Path) -> Path:
    _write(gpd.GeoDataFrame({"name": ["a", "a"]}, geometry=[SQUARE, SQUARE], crs=4326),
           tmp / "d.geojson")
    return _manifest(tmp, "d.geojson")


def case_non_spatial_csv(tmp: Path) -> Path:
    (tmp / "e.csv").write_text("name,value\na,1\nb,2\n", "utf-8")
    return _manifest(tmp, "e.csv")


def case_bad_manifest_entry(tmp: Path) -> Path:
    m = _manifest(tmp, "x.geojson")
    m.write_text(m.read_text("utf-8").replace("kind: custom", "kind: provinces"), "utf-8")
    return m


BROKEN = {
    case_missing_file: "file not found",
    case_no_crs: "has no CRS",
    case_invalid_polygon: "1 invalid geometry (repaired with make_valid",
    case_missing_name_field: "attribute 'name' not in c.geojson",
    case_duplicate_names: "names not unique in 'name': a",
    case_non_spatial_csv: "has no geometry: not a spatial layer",
    case_bad_manifest_entry: "layers[0].kind: Input should be",
}


@pytest.mark.parametrize("case", list(BROKEN), ids=lambda c: c.__name__[5:])
def test_broken_layer_gives_one_clear_message(tmp_path, case):
    manifest = case(tmp_path)
    r = cm("layers", "check", "--manifest", str(manifest), "--events", str(tmp_path / "none"))
    assert r.returncode == 1
    problems = [x for x in r.stderr.splitlines() if not x.endswith("problem(s)")]
    assert len(problems) == 1, r.stderr
    assert BROKEN[case] in problems[0]
    assert str(manifest) in problems[0]


def test_load_layers_raises_on_broken(tmp_path):
    with pytest.raises(layers.LayerError, match="file not found"):
        layers.load_layers(case_missing_file(tmp_path))


def test_layers_add_registers_and_refuses_duplicates(tmp_path):
    geo = tmp_path / "geodata"
    shutil.copytree(GEO, geo, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    line = gpd.GeoDataFrame({"label": ["LoC 2020"]},
                            geometry=[LineString([(46.5, 39.5), (46.9, 40.1)])], crs=4326)
    src = tmp_path / "loc.gpkg"
    _write(line, src, "GPKG")
    manifest = geo / "layers.yaml"
    before = manifest.read_bytes()
    args = ["layers", "add", str(src), "--name", "line-of-contact", "--kind", "line",
            "--name-field", "label", "--source", "hand-drawn", "--licence", "CC0",
            "--copy", "--manifest", str(manifest)]
    r = cm(*args)
    assert r.returncode == 0, r.stderr
    assert manifest.read_bytes().startswith(before)
    loaded = layers.load_layers(manifest)
    assert loaded["line-of-contact"].frame["name"].tolist() == ["LoC 2020"]
    assert (geo / "loc.gpkg").exists()
    after = manifest.read_bytes()
    again = cm(*args[:-3], "--keep-path", "--manifest", str(manifest))
    assert again.returncode == 1 and "already exists" in again.stderr
    assert manifest.read_bytes() == after
    wrong = cm("layers", "add", str(src), "--name", "other", "--kind", "line", "--name-field",
               "nope", "--source", "s", "--licence", "l", "--manifest", str(manifest))
    assert wrong.returncode == 1 and "attribute 'nope'" in wrong.stderr
    assert manifest.read_bytes() == after



def _line_layer(tmp_path: Path, driver: str, suffix: str) -> tuple[Path, Path]:
    geo = tmp_path / "geodata"
    shutil.copytree(GEO, geo, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    line = gpd.GeoDataFrame({"label": ["LoC 2020"]},
                            geometry=[LineString([(46.5, 39.5), (46.9, 40.1)])], crs=4326)
    (tmp_path / "in").mkdir()
    src = tmp_path / "in" / f"loc{suffix}"
    _write(line, src, driver)
    return geo / "layers.yaml", src


def test_layers_add_copies_a_shapefile_with_its_sidecar_files(tmp_path):
    manifest, src = _line_layer(tmp_path, "ESRI Shapefile", ".shp")
    parts = {p.name for p in src.parent.iterdir()}
    (src.parent / "loc.notes.txt").write_text("not part of the shapefile", "utf-8")
    r = cm("layers", "add", str(src), "--name", "loc", "--kind", "line", "--name-field",
           "label", "--source", "hand-drawn", "--licence", "CC0", "--copy",
           "--manifest", str(manifest))
    assert r.returncode == 0, r.stderr
    assert {".shp", ".shx", ".dbf"} <= {Path(n).suffix for n in parts}
    assert parts <= {p.name for p in manifest.parent.iterdir()}
    assert not (manifest.parent / "loc.notes.txt").exists()
    shutil.rmtree(src.parent)  # the copy stands on its own
    assert layers.load_layers(manifest)["loc"].frame["name"].tolist() == ["LoC 2020"]


def test_layers_add_takes_back_the_copy_when_the_manifest_is_not_written(tmp_path, monkeypatch):
    manifest, src = _line_layer(tmp_path, "GPKG", ".gpkg")
    before = sorted(p.name for p in manifest.parent.iterdir())
    manifest_bytes = manifest.read_bytes()
    # an entry the manifest check rejects: the failure comes after the copy
    monkeypatch.setattr(layers, "_entry_yaml", lambda spec, note="": "  - name: [unclosed\n")
    with pytest.raises(layers.LayerError):
        layers.add(manifest, src, name="loc", kind="line", name_field="label",
                   source="hand-drawn", licence="CC0", accuracy_km=1.0, copy=True)
    assert sorted(p.name for p in manifest.parent.iterdir()) == before
    assert manifest.read_bytes() == manifest_bytes

# ---------------------------------------------------------------- reproducible build


@pytest.fixture(scope="module")
def build_module():
    sys.path.insert(0, str(GEO))  # build.py and geodata_layers.py import each other by name
    import build  # type: ignore[import-not-found]

    return build


@pytest.mark.slow
def test_build_is_deterministic_and_matches_committed_files(build_module):
    try:
        first = build_module.build_all()
    except build_module.UpstreamError as exc:  # only when the registries are out of reach
        pytest.skip(f"upstream package not available: {exc}")
    second = build_module.build_all()
    assert first == second
    for path, data in first.items():
        assert path.read_bytes() == data, f"{path} differs from what build.py produces"
