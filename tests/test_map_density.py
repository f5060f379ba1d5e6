"""Density, timeline and filters of the map page at scale, in real headless Chromium, offline:
marks never overlap, the dense view switches to bins and back, the histogram counts exactly the
events that pass the filters, and filters and window survive a round trip through the URL."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from .browser import chromium, open_offline
from .conftest import ROOT

pytestmark = pytest.mark.browser
N = 20_000  # large enough to need merging and bins
N_LARGE = 100_000  # the size the issue asks the no-overlap check at


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def synthetic_map(root: Path, n: int):
    """A map of `n` synthetic events (a dataset file, as an import makes), and its build."""
    from benchmarks.synthetic import events

    from conflictmap.dataset import write_dataset
    from conflictmap.pipeline import build
    from conflictmap.render.map import render

    write_dataset(events(n), root / "syn.gpkg")
    (root / "none").mkdir()
    result = build(root / "none", ROOT / "geodata" / "layers.yaml", datasets=[root / "syn.gpkg"],
                   gazetteer=ROOT / "geodata" / "gazetteer.yaml")
    page = root / "map.html"
    page.write_text(render(result), "utf-8")
    return page, result


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    return synthetic_map(tmp_path_factory.mktemp("large"), N_LARGE)[0]


@pytest.fixture(scope="module")
def dense(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """The synthetic map, and the pipeline's own table of its events to count against."""
    page, result = synthetic_map(tmp_path_factory.mktemp("dense"), N)
    rec, frame = result.records.reset_index(drop=True), result.frame.reset_index(drop=True)
    table = pd.DataFrame({
        "type": rec["event_type"], "status": rec["status"], "fatalities": rec["fatalities"],
        "date": pd.to_datetime(rec["date"]).dt.date.astype(str),
        "actors": [[a if isinstance(a, str) else a["name"] for a in json.loads(t or "[]")]
                   for t in rec["actors_json"]],
        "text": (rec["title"].fillna("") + "\n" + frame["place_name"].fillna("") + "\n"
                 + rec["description"].fillna("")).str.lower(),
        "admin1": frame["admin1"].astype(object),
    })
    return page, table


OVERLAPS = """() => {
  const g = conflictmap.groups().filter(m => m.kind !== 'bin'); let bad = 0;
  for (let a = 0; a < g.length; a++) for (let b = a + 1; b < g.length; b++) {
    const ra = g[a].w / 2, rb = g[b].w / 2;
    const d = Math.hypot(g[a].x + ra - g[b].x - rb, g[a].y + ra - g[b].y - rb);
    if (d < ra + rb) bad++;
  }
  return {bad: bad, marks: g.length, groups: g.filter(m => m.kind === 'cluster').length};
}"""


def at_zoom(page, zoom: int, centre=(40.0, 46.0)) -> None:
    page.evaluate("([c, z]) => { conflictmap.map.setView(c, z, {animate: false}); }",
                  [list(centre), zoom])  # returning the map would serialise all of it


def test_group_discs_never_intersect_at_any_zoom_of_the_100k_map(browser, large):
    # symbols forced at every zoom: the hardest case for the merging (auto would switch to bins)
    w = open_offline(browser, large.as_uri() + "#view=symbols", width=1366, height=768)
    p = w.page
    seen_groups = 0
    for zoom in range(5, 17):
        got = p.evaluate(OVERLAPS)
        assert got["bad"] == 0, (zoom, got)
        seen_groups += got["groups"]
        at_zoom(p, zoom)
    assert seen_groups > 100  # the views really were crowded
    assert w.errors == []


def test_dense_view_shows_bins_and_zooming_in_returns_symbols(browser, dense):
    w = open_offline(browser, dense[0].as_uri(), width=1366, height=768)
    p = w.page
    assert p.evaluate("conflictmap.mode()") == "bins"
    bins = p.evaluate("conflictmap.groups()")
    assert bins and {m["kind"] for m in bins} == {"bin"}
    # every drawn event is in exactly one bin
    assert sum(m["n"] for m in bins) == int(p.get_attribute("body", "data-cm-drawn")) == N
    key = p.text_content(".cm-density-key")
    assert "Events per hexagon" in key and p.is_visible(".cm-density-key")
    at_zoom(p, 12)
    assert p.evaluate("conflictmap.mode()") == "symbols"
    kinds = {m["kind"] for m in p.evaluate("conflictmap.groups()")}
    assert "event" in kinds and "bin" not in kinds
    assert not p.is_visible(".cm-density-key")
    at_zoom(p, 7)  # and back out: bins again
    assert p.evaluate("conflictmap.mode()") == "bins"
    assert w.errors == []


def expected(t: pd.DataFrame, **f) -> int:
    keep = pd.Series(True, index=t.index)
    if "types" in f:
        keep &= t["type"].isin(f["types"])
    if "statuses" in f:
        keep &= t["status"].isin(f["statuses"])
    if "fatalities" in f:
        lo, hi = f["fatalities"]
        keep &= t["fatalities"].between(lo, hi)
    if "actor" in f:
        keep &= t["actors"].map(lambda names: f["actor"] in names)
    if "q" in f:
        keep &= t["text"].str.contains(f["q"].lower(), regex=False)
    if "admin1" in f:
        keep &= t["admin1"].isin(f["admin1"])
    return int(keep.sum())


def test_histogram_bars_total_the_events_passing_the_filters(browser, dense):
    page, t = dense
    actor = t["actors"][0][0]
    district = t["admin1"].value_counts().index[1]
    cases = [
        ({}, ""),
        ({"types": ["Battles", "Protests"]}, "type=Battles,Protests"),
        ({"statuses": ["confirmed"], "fatalities": (2, 3)}, "status=confirmed&fatalities=2-3"),
        ({"actor": actor}, "actor=" + actor.replace(" ", "%20")),
        ({"q": "Drone bridge"}, "q=Drone%20bridge"),
        ({"admin1": [district], "types": ["Riots"]}, f"admin1={district}&type=Riots"),
    ]
    p = open_offline(browser, page.as_uri(), width=1366, height=768).page
    for filters, hash_ in cases:
        p.evaluate("(h) => { location.hash = h; }", hash_ or "date=2021-01-24")
        p.wait_for_function("(h) => location.hash.includes(h)", arg=hash_.split("&")[0])
        p.evaluate("conflictmap.idle()")
        want = expected(t, **filters)
        assert 0 < want < N or not filters
        hist = p.evaluate("conflictmap.histogram()")
        assert sum(hist["bars"]) == want == p.evaluate("conflictmap.passing()"), hash_
    # a window narrows what is drawn, never the bars (they are the whole span under the filters)
    p.evaluate("location.hash = 'date=2021-01-24'")
    p.wait_for_function("location.hash === '#date=2021-01-24'")
    p.evaluate("conflictmap.idle()")
    p.evaluate("conflictmap.setWindow('2020-11-01', '2020-11-07')")
    dates = t["date"]
    assert sum(p.evaluate("conflictmap.histogram()")["bars"]) == expected(t)
    drawn = p.evaluate("conflictmap.drawn()")
    assert len(drawn) == int(dates.between("2020-11-01", "2020-11-07").sum())


def test_filters_and_window_round_trip_through_the_hash(browser, dense):
    page, t = dense
    p = open_offline(browser, page.as_uri(), width=1366, height=768).page
    p.uncheck('input[data-filter="Riots"]')
    p.uncheck('input[data-filter="disputed"]')
    p.fill(".cm-fat-min", "1")
    p.dispatch_event(".cm-fat-min", "change")
    p.fill(".cm-search", "village")
    p.click(".cm-actors summary")
    actor = t["actors"][5][1]
    p.fill(".cm-actors .cm-pick-search", actor)
    p.check(f'.cm-actors input[data-value="{actor}"]')
    # drag across the histogram: a window from about a quarter to a half of the span
    box = p.locator(".cm-histogram").bounding_box()
    y = box["y"] + box["height"] / 2
    p.mouse.move(box["x"] + box["width"] * 0.25, y)
    p.mouse.down()
    p.mouse.move(box["x"] + box["width"] * 0.4, y, steps=4)
    p.mouse.move(box["x"] + box["width"] * 0.5, y, steps=4)
    p.mouse.up()
    p.wait_for_function("location.hash.includes('q=village') && location.hash.includes('from=')")
    p.evaluate("conflictmap.idle()")
    hash_ = p.evaluate("location.hash")
    state = p.evaluate("[conflictmap.passing(), conflictmap.histogram(), conflictmap.drawn()]")
    want = expected(t, types=[x for x in t["type"].unique() if x != "Riots"],
                    statuses=["reported", "confirmed"], fatalities=(1, 10**9), q="village",
                    actor=actor)
    assert state[0] == want > 0
    window = state[1]
    assert window["from"] < window["to"]
    # the same link opened afresh gives the same view, and its controls show it
    q = open_offline(browser, page.as_uri() + hash_, width=1366, height=768).page
    q.evaluate("conflictmap.idle()")
    assert q.evaluate("location.hash") == hash_
    assert q.evaluate("[conflictmap.passing(), conflictmap.histogram(), conflictmap.drawn()]") \
        == state
    assert q.input_value(".cm-search") == "village" and q.input_value(".cm-fat-min") == "1"
    assert not q.is_checked('input[data-filter="Riots"]')
    assert q.is_checked(f'.cm-actors input[data-value="{actor}"]')
    assert q.text_content(".cm-date").startswith(window["to"])


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    from .test_map_browser import cm_build

    out = tmp_path_factory.mktemp("bundled")
    cm_build(out)
    return out / "map.html"


def test_histogram_click_picks_the_day_and_scrolls_the_list_to_it(browser, bundled):
    w = open_offline(browser, bundled.as_uri() + "#date=2020-11-10", width=1366, height=768)
    p = w.page
    hist = p.evaluate("conflictmap.histogram()")
    assert hist["unit"] == 1 and sum(hist["bars"]) == len(list((ROOT / "events").glob("*.yaml")))
    bars = len(hist["bars"])  # one a day from the first event's (the window is "all")
    day = p.evaluate("(Date.parse('2020-11-26') - Date.parse(conflictmap.histogram().from)) "
                     "/ 864e5")
    box = p.locator(".cm-histogram").bounding_box()
    p.mouse.click(box["x"] + (day + 0.5) * box["width"] / bars, box["y"] + box["height"] / 2)
    assert p.text_content(".cm-date") == "2020-11-26"
    assert "date=2020-11-26" in p.evaluate("location.hash")
    # the list scrolled: the day's first event is inside its visible part
    seen = p.evaluate("""() => { const l = document.querySelector('.cm-list'),
        t = l.querySelector('li.cm-today'), a = l.getBoundingClientRect(),
        b = t.getBoundingClientRect();
        return l.scrollTop > 0 && b.top >= a.top && b.bottom <= a.bottom; }""")
    assert seen and w.errors == []
    # clicking it in the list flies there and opens it
    first = p.get_attribute(".cm-list li.cm-today", "data-event")
    p.click(f'.cm-list li[data-event="{first}"] a')
    p.locator(f'.cm-popup[data-event="{first}"]').wait_for()
