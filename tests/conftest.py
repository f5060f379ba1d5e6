"""Shared fixtures: paths to the repository's data and a CLI runner."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
from typer.testing import CliRunner

from conflictmap import layercache
from conflictmap import layerio as layers
from conflictmap.pipeline import enrich_with, layer_frames
from conflictmap.recordcache import ENV
from conflictmap.timeline import Timeline

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def enrich_points(points: list[tuple[float, float]], day: date = date(2020, 11, 26),
                  manifest: Path = ROOT / "geodata" / "layers.yaml") -> gpd.GeoDataFrame:
    """(lat, lon) points on one day, enriched against the manifest's layers as the build does."""
    loaded = layers.load_layers(manifest)
    events = gpd.GeoDataFrame({"date": [day] * len(points)}, geometry=gpd.points_from_xy(
        [lon for _, lon in points], [lat for lat, _ in points]), crs=4326)
    timeline = Timeline.with_layer([], layer_frames(loaded)["handover"])
    return enrich_with(events, loaded, timeline)


@pytest.fixture(scope="session", autouse=True)
def records_cache(tmp_path_factory) -> Path:
    """The validated-records cache and the layer store of this test run, never the user's
    own (subprocesses inherit them through the environment)."""
    folder = tmp_path_factory.mktemp("records-cache")
    os.environ[ENV] = str(folder)
    os.environ[layercache.ENV] = str(tmp_path_factory.mktemp("layer-store"))
    return folder


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def events_dir() -> Path:
    return ROOT / "events"


@pytest.fixture(scope="module")
def cluster():
    """A client of a real dask.distributed LocalCluster of 2 worker processes (one thread
    each, the memory limit the engine sets), for the tests of the dask engine."""
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, memory_limit="1.9GB") as c, \
            distributed.Client(c) as client:
        yield client
