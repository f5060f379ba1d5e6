"""The enrichment store answers exactly what enrichment would, and only for the same layers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from conflictmap import enrichcache
from conflictmap import layerio as layers
from conflictmap.pipeline import enrich_with, layer_frames
from conflictmap.timeline import Timeline

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "geodata" / "layers.yaml"


def points(n: int, seed: int) -> gpd.GeoDataFrame:
    """Points across the region (both sides of the borders, the handed-over districts, the
    Caspian), each place repeated, plus a point in no country and an empty geometry."""
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(43.5, 50.5, n), rng.uniform(38.3, 42.0, n)
    same_place = rng.integers(0, n, n // 5)  # a fifth of the rows repeat another's point
    lon[same_place], lat[same_place] = lon[same_place[::-1]], lat[same_place[::-1]]
    geoms = [*gpd.points_from_xy(lon, lat), shapely.Point(10.0, 0.0), shapely.Point()]
    days = [date(2020, 11, 1) + pd.Timedelta(days=int(d)) for d in rng.integers(0, 60, n + 2)]
    return gpd.GeoDataFrame({"date": days}, geometry=geoms, crs=4326)


@pytest.fixture(scope="module")
def loaded():
    return layers.load_layers(MANIFEST)


def enriched(frame, loaded, cache: bool):
    timeline = Timeline.with_layer([], layer_frames(loaded)["handover"])
    out = enrich_with(frame, loaded, timeline, cache=cache)
    enrichcache.recordcache.settle()
    return out


def same(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert list(a.dtypes.astype(str)) == list(b.dtypes.astype(str))
    for c in a.columns:
        if c == "geometry":
            assert a.geometry.to_wkb().tolist() == b.geometry.to_wkb().tolist()
            continue
        left, right = a[c].astype(object).tolist(), b[c].astype(object).tolist()
        assert [(type(x), x) for x in left] == [(type(y), y) for y in right] or all(
            (x == y) or (x != x and y != y) for x, y in zip(left, right, strict=True)), c
        assert [type(x) for x in left] == [type(y) for y in right], c


def stores(folder: Path) -> list[Path]:
    return sorted((folder / enrichcache.FOLDER).glob("*.arrow"))


def test_cold_warm_and_partly_warm_give_what_enrichment_gives(loaded, records_cache):
    frame = points(3000, seed=1)
    plain = enriched(frame, loaded, cache=False)
    assert plain["country"].notna().sum() > 1000 and plain["handover_area"].notna().any()
    assert plain["admin1_uncertain"].eq(True).any() and plain["side_uncertain"].eq(True).any()
    for old in stores(records_cache):
        old.unlink()
    same(enriched(frame, loaded, cache=True), plain)  # cold: nothing stored yet
    assert len(stores(records_cache)) == 1
    same(enriched(frame, loaded, cache=True), plain)  # warm: every point from the store
    more = pd.concat([points(1000, seed=2), frame.iloc[:1500]], ignore_index=True)
    same(enriched(more, loaded, cache=True), enriched(more, loaded, cache=False))
    stored = enrichcache.load(stores(records_cache)[0])
    # every distinct plain point once (the point in no country too), never the empty one
    geoms = pd.concat([frame.geometry, more.geometry])
    geoms = geoms[~geoms.is_empty]
    assert len(stored["z"]) == len(pd.unique(geoms.x.to_numpy() + 1j * geoms.y.to_numpy()))
    assert 10.0 + 0j in set(stored["z"].tolist())


def test_candidate_lists_are_not_shared(loaded):
    frame = points(400, seed=3)
    enriched(frame, loaded, cache=True)
    out = enriched(frame, loaded, cache=True)
    lists = out["admin1_candidates"].tolist()
    assert len({id(c) for c in lists}) == len(lists)


def test_changed_layer_is_never_answered_from_the_old_store(loaded, records_cache):
    frame = points(500, seed=4)
    enriched(frame, loaded, cache=True)
    changed = dict(loaded)
    name = next(k for k, v in loaded.items() if v.spec.kind == "admin1")
    renamed = loaded[name].frame.copy()
    renamed["name"] = "Renamed " + renamed["name"].astype(str)
    changed[name] = type(loaded[name])(**{**vars(loaded[name]), "frame": renamed})
    out = enriched(frame, changed, cache=True)
    got = out["admin1"].dropna()
    assert len(got) and got.str.startswith("Renamed ").all()
    same(out, enriched(frame, changed, cache=False))
    assert len(stores(records_cache)) == 1  # the old layers' store is gone


def test_a_damaged_store_is_ignored_and_rewritten(loaded, records_cache):
    frame = points(300, seed=5)
    plain = enriched(frame, loaded, cache=False)
    enriched(frame, loaded, cache=True)
    path = stores(records_cache)[0]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert enrichcache.load(path) is None
    same(enriched(frame, loaded, cache=True), plain)
    assert enrichcache.load(path) is not None
    path.write_bytes(b"")
    same(enriched(frame, loaded, cache=True), plain)
