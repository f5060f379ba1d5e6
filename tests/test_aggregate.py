"""More events than a page holds: every event counted per (cell, step, type), a window of them
in detail, and a page and command output that say so."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from conflictmap import aggregate
from conflictmap.aggregate import Window, density, plan
from conflictmap.cli import app
from conflictmap.dataset import write_dataset
from conflictmap.errors import UsageError
from conflictmap.model import ACLED_TYPES, Event

from .browser import chromium, open_offline
from .test_hostile import cli

N = 900
FIRST = date(2020, 3, 2)
SPAN = 420  # days: past 200, so a step is a week or more


def _events(n: int = N) -> list[Event]:
    """Clustered events over 420 days, place names and titles in three scripts."""
    rng = np.random.default_rng(5)
    types = [(t, subs[0]) for t, subs in ACLED_TYPES.items()]
    centres = [(40.1, 45.2), (39.8, 46.7), (40.4, 44.5)]
    out = []
    for i in range(n):
        t, s = types[i % len(types)]
        lat, lon = centres[i % 3]
        day = FIRST + timedelta(days=int(rng.integers(0, SPAN)))
        loc = {"name": ["Վարդենիս", "Кельбаджар", "Kəlbəcər"][i % 3],
               "lat": round(lat + rng.normal(0, 0.05), 5),
               "lon": round(lon + rng.normal(0, 0.05), 5), "precision": "settlement"}
        out.append(Event.model_validate({
            "id": f"agg-{i:04d}", "date": day, "event_type": t, "sub_event_type": s,
            "title": ["Обстрел у села", "Kəndin yaxınlığında atəş", "Shelling near a village"][
                i % 3] + f" {i}",
            "location": loc, "status": "reported",
            "sources": [{"url": f"https://news.example.org/a/{i}", "publisher": "Example Wire",
                         "published": day}]}))
    return out


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return _events()


@pytest.fixture(scope="module", params=["events.gpkg", "events.parquet"])
def dataset(request, tmp_path_factory, events) -> Path:
    """The same events as a GeoPackage and as a GeoParquet dataset (parts by year)."""
    return write_dataset(events, tmp_path_factory.mktemp("agg") / request.param)


def _table(events: list[Event]) -> pd.DataFrame:
    return pd.DataFrame({"day": [e.date for e in events],
                         "type": [e.event_type for e in events],
                         "located": [e.location.lat is not None for e in events]})


def test_every_located_event_is_counted_once_by_type_and_step(dataset, events):
    got = density([dataset])
    t = _table(events)
    assert got.located == int(t["located"].sum()) and got.unlocated == int((~t["located"]).sum())
    assert got.total == N and int(got.n.sum()) == got.located
    assert got.step_days in (7, 28) and got.start == t["day"].min()
    by_type = pd.Series(got.n).groupby(np.array(list(ACLED_TYPES))[got.type]).sum()
    assert by_type.to_dict() == t[t["located"]]["type"].value_counts().to_dict()
    # each count sits on the first day of its step: the steps' totals are the days' totals
    step = ((pd.to_datetime(t["day"]) - pd.Timestamp(got.start)).dt.days // got.step_days)
    want = step[t["located"]].value_counts().sort_index()
    have = pd.Series(got.n).groupby(got.day // got.step_days).sum().sort_index()
    assert have.to_dict() == want.to_dict()
    # cell centres lie on the cell grid, within the area the events came from
    assert np.allclose((got.lat + 90) / got.cell_deg % 1, 0.5)
    assert got.lat.min() > 39.3 and got.lat.max() < 41
    assert got.lon.min() > 44 and got.lon.max() < 47.5


def test_a_small_budget_coarsens_the_cells_and_steps_until_the_counts_fit(dataset):
    fine, coarse = density([dataset]), density([dataset], max_cells=150)
    assert len(coarse.n) <= 150 < len(fine.n)
    assert (coarse.cell_deg, coarse.step_days) > (fine.cell_deg, fine.step_days)
    assert int(coarse.n.sum()) == int(fine.n.sum())


def test_the_whole_set_on_one_page_when_it_fits(dataset):
    assert plan([dataset], 3, Window()) is None


def test_past_the_page_the_latest_days_that_fit_go_in_detail(dataset, events):
    window = plan([dataset], 0, Window(), detail_limit=100, page_limit=500)
    days = pd.Series([e.date for e in events])
    assert window.end == days.max()
    inside = int(days.between(window.start, window.end).sum())
    one_more = int((days >= window.start - timedelta(days=1)).sum())
    assert inside <= 100 and (one_more > 100 or window.start == days.min())
    assert aggregate.detail_rows([dataset], window) == inside


def test_a_window_larger_than_the_detail_limit_is_refused_with_the_way_out(dataset):
    with pytest.raises(UsageError, match=r"holds 900 events.*--detail-limit"):
        plan([dataset], 0, Window(start=FIRST), detail_limit=500)


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "10,50,5,60", "0,0,0,0", "0,-91,1,1"])
def test_bad_boxes_are_refused(text):
    with pytest.raises(UsageError, match="--bbox"):
        aggregate.parse_bbox(text)


def _build(runner, dataset: Path, out: Path, *extra: str):
    return runner.invoke(app, ["build", "--events", str(out.parent / "no-yaml"), "--dataset",
                               str(dataset), "--out", str(out), *extra])


@pytest.fixture(scope="module")
def windowed(tmp_path_factory, dataset) -> tuple[Path, str]:
    from typer.testing import CliRunner

    root = tmp_path_factory.mktemp("windowed")
    (root / "no-yaml").mkdir()
    r = _build(CliRunner(), dataset, root / "out", "--from", "2021-01-01", "--to", "2021-02-15",
               "--bbox", "44,39,47,41")
    assert r.exit_code == 0, r.output
    return root / "out", r.output


def test_a_window_maps_its_rows_in_detail_and_counts_every_event(windowed, events):
    out, said = windowed
    days = pd.Series([e.date for e in events])
    want = int(days.between(date(2021, 1, 1), date(2021, 2, 15)).sum())
    detail = pyogrio.read_dataframe(out / "events.geojson")
    assert len(detail) == want > 0
    assert pd.to_datetime(detail["date"]).between("2021-01-01", "2021-02-15").all()
    counts = pyogrio.read_dataframe(out / "density.geojson")
    assert int(counts["events"].sum()) == N
    assert set(counts["event_type"]) == set(ACLED_TYPES)
    assert (pd.to_datetime(counts["to"]) >= pd.to_datetime(counts["from"])).all()
    assert f"{want:,} of {N:,} events in detail (2021-01-01 to 2021-02-15, within 44, 39, 47, 41)" \
        in said
    assert "not in the density" not in said
    html = (out / "map.html").read_text("utf-8")
    title = re.search(r"<title>(.*?)</title>", html).group(1)
    assert title.startswith(f"{N:,} events {FIRST}") and f"({want:,} in detail)" in title


def test_a_build_that_fits_one_page_removes_the_old_counts(runner, windowed, dataset, tmp_path):
    out, _ = windowed
    again = tmp_path / "out"
    (tmp_path / "no-yaml").mkdir()
    import shutil

    shutil.copytree(out, again)
    r = _build(runner, dataset, again)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in again.iterdir()) == ["events.geojson", "layers.geojson",
                                                       "map.html"]
    assert len(json.loads((again / "events.geojson").read_text())["features"]) == N


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2021-13-01"], "--from: expected a day"),
    (["--from", "2021-02-01", "--to", "2021-01-01"], "is after --to"),
    (["--bbox", "50,40,45,41"], "--bbox"),
])
def test_bad_windows_exit_2_naming_the_option(dataset, tmp_path, args, message):
    (tmp_path / "no-yaml").mkdir()
    code, said = cli("build", "--events", tmp_path / "no-yaml", "--dataset", dataset,
                     "--out", tmp_path / "out", *args)
    assert code == 2 and message in said, said
    assert not (tmp_path / "out").exists()


def test_a_window_without_a_dataset_is_a_usage_error(tmp_path):
    code, said = cli("build", "--out", tmp_path / "o", "--from", "2020-01-01")
    assert code == 2 and "no --dataset was given" in said, said


@pytest.mark.browser
def test_the_page_bins_every_event_and_says_how_many_are_in_detail(windowed, events):
    out, _ = windowed
    t = _table(events)
    located = t[t["located"]]
    with chromium() as b:
        w = open_offline(b, (out / "map.html").as_uri() + "#view=bins", width=1366, height=768)
        p = w.page
        scope = p.inner_text(".cm-scope")
        assert f"of {N:,} events in detail" in scope and "bins count every located event" in scope
        assert p.evaluate("conflictmap.mode()") == "bins"
        assert sum(p.evaluate("conflictmap.histogram()")["bars"]) == len(located)
        p.evaluate("conflictmap.map.setView([40.1, 45.8], 6, {animate: false})")
        assert p.evaluate("conflictmap.counted()") == len(located)  # all on screen at zoom 6
        bins = p.evaluate("conflictmap.groups()")
        assert bins and sum(b["n"] for b in bins) == len(located)
        # the type filter reaches the counts; a window of days narrows them
        p.evaluate("location.hash = 'view=bins&type=Battles,Riots'")
        p.wait_for_function("location.hash.includes('type=')")
        p.evaluate("conflictmap.idle()")
        want = int(located["type"].isin(["Battles", "Riots"]).sum())
        assert sum(p.evaluate("conflictmap.histogram()")["bars"]) == want
        assert p.evaluate("conflictmap.counted()") == want
        # symbols: the detail only
        p.evaluate("location.hash = 'view=symbols'")
        p.wait_for_function("conflictmap.mode() === 'symbols'")
        assert 0 < len(p.evaluate("conflictmap.drawn()")) <= 200
        assert not w.errors, w.errors


def test_yaml_events_are_always_in_detail_and_counted_once(dataset, events, events_dir):
    from conflictmap.pipeline import build

    from .conftest import ROOT

    window = Window(start=date(2021, 1, 1), end=date(2021, 2, 15))
    result = build(events_dir, ROOT / "geodata" / "layers.yaml", datasets=[dataset],
                   window=window)
    yaml_n = len(list(events_dir.glob("*.yaml")))
    days = pd.Series([e.date for e in events])
    in_window = int(days.between(window.start, window.end).sum())
    assert len(result.frame) == in_window + yaml_n == result.density.detail
    assert result.density.total == N + yaml_n == int(result.density.n.sum())
    assert result.density.start == FIRST  # the bundled events (Nov 2020) lie inside the span


def test_the_counts_on_a_dask_cluster_are_the_counts_in_process(dataset, cluster):
    from conflictmap.engine import DaskEngine

    aggregate._SCANNED.clear()
    here = density([dataset])
    aggregate._SCANNED.clear()  # or the cluster would be handed the remembered counts
    there = density([dataset], engine=DaskEngine(cluster))
    assert (here.cell_deg, here.step_days, here.start, here.total) == (
        there.cell_deg, there.step_days, there.start, there.total)
    for name in ("lat", "lon", "day", "type", "n"):
        assert np.array_equal(getattr(here, name), getattr(there, name)), name


def test_engine_dask_without_a_dataset_is_a_usage_error(tmp_path):
    code, said = cli("build", "--out", tmp_path / "o", "--engine", "dask")
    assert code == 2 and "no --dataset was given" in said, said
