"""The built map in real headless Chromium, offline: content, timeline, hash links, XSS."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .browser import chromium, open_offline
from .conftest import ROOT

pytestmark = pytest.mark.browser
EXE = Path(sys.executable).with_name("conflictmap")
ARMENIA, AZERBAIJAN = "#e66101", "#0571b0"
MINE = "2020-11-26-sotk-mine-entry"


def cm_build(out: Path, *extra: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([str(EXE), "build", "--out", str(out), *extra], cwd=cwd,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module", params=["cli", "explore"])
def bundled(request, tmp_path_factory) -> Path:
    """The bundled map as `conflictmap build` writes it, and as the library's
    `explore(read_events(...)).save()` writes it: every test on it runs on both pages."""
    out = tmp_path_factory.mktemp("out")
    if request.param == "cli":
        cm_build(out)
    else:
        import conflictmap as cm

        cm.explore(cm.read_events(ROOT / "events")).save(out / "map.html")
    return out / "map.html"


def fill(page, area: str) -> str:
    return page.get_attribute(f'path[data-area="{area}"]', "fill")


def slide_to(page, iso: str) -> None:
    start = page.evaluate("conflictmap.date()")  # noqa: F841 - the panel exists
    idx = page.evaluate("(iso) => Math.round((Date.parse(iso) - Date.parse("
                        "document.querySelector('.cm-date').textContent) ) / 864e5) "
                        "+ +document.querySelector('.cm-slider').value", iso)
    page.fill(".cm-slider", str(idx))
    assert page.text_content(".cm-date") == iso


def test_loads_offline_with_everything_drawn(browser, bundled):
    w = open_offline(browser, bundled.as_uri())
    p = w.page
    assert w.errors == [] and w.blocked == []
    assert sorted(p.evaluate("conflictmap.drawn()")) == sorted(
        f.stem for f in (ROOT / "events").glob("*.yaml"))
    assert p.locator("path[data-area]").count() == 3
    assert p.locator('path[data-layer="borders"]').count() == 11
    assert p.locator(".leaflet-control-scale").count() == 1
    assert p.locator(".leaflet-control-zoom-fullscreen, .fullscreen-icon").count() >= 1
    assert p.locator(".leaflet-control-measure").count() == 1
    assert "Controller of handed-over districts" in p.text_content(".cm-legend")


def test_the_legend_folds_away_and_back(browser, bundled):
    p = open_offline(browser, bundled.as_uri(), width=1366, height=768).page
    height = "() => document.querySelector('.cm-legend').getBoundingClientRect().height"
    opened = p.evaluate(height)
    assert p.locator(".cm-legend [data-type]").first.is_visible()
    p.click(".cm-legend summary")
    assert p.evaluate(height) < opened / 4
    assert not p.locator(".cm-legend [data-type]").first.is_visible()
    p.click(".cm-legend summary")
    assert p.evaluate(height) == opened


def test_markers_are_painted_where_the_events_are(browser, bundled):
    p = open_offline(browser, bundled.as_uri()).page
    painted = p.evaluate("""() => {
      const c = document.querySelector('canvas.cm-events'), ctx = c.getContext('2d');
      const dpr = window.devicePixelRatio || 1, m = conflictmap.map;
      return ['sotk', 'ceasefire'].map(k => {
        const ll = k === 'sotk' ? [40.2330, 45.9680] : [39.8177, 46.7528];
        const pt = m.latLngToContainerPoint(ll);
        return ctx.getImageData(Math.round(pt.x * dpr), Math.round(pt.y * dpr), 1, 1).data[3];
      });
    }""")
    assert all(alpha > 0 for alpha in painted)



# one event of each ACLED type, at towns well inside Armenia and apart from each other
EVERY_TYPE = {
    "Battles": ("Armed clash", 40.79, 43.85),
    "Explosions/Remote violence": ("Shelling/artillery/missile attack", 40.81, 44.49),
    "Violence against civilians": ("Attack", 40.18, 44.51),
    "Protests": ("Peaceful protest", 40.55, 44.95),
    "Riots": ("Violent demonstration", 40.30, 44.36),
    "Strategic developments": ("Other", 40.50, 44.77),
}


@pytest.fixture(scope="module")
def every_type(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("types")
    events = root / "events"
    shutil.copytree(ROOT / "events", events)
    for k, (kind, (sub, lat, lon)) in enumerate(EVERY_TYPE.items()):
        ev = {"date": "2020-11-26", "title": f"type test {k}", "event_type": kind,
              "sub_event_type": sub, "location": {"lat": lat, "lon": lon, "country": "AM",
                                                 "precision": "site"},
              "sources": [{"publisher": "test", "published": "2020-11-26",
                           "url": "https://example.org/"}]}
        (events / f"2020-11-26-type-{k}.yaml").write_text(json.dumps(ev), "utf-8")
    cm_build(root / "out", "--events", str(events))
    return root / "out" / "map.html"


def _outline(mask: list[list[int]]) -> str:
    """Name the shape a painted mask has, from how much of its bounding box it fills and
    where its centre of mass sits: circle ~0.79, square ~1, diamond and triangles ~0.5
    (triangles off-centre vertically), five-pointed star ~0.37."""
    cells = [(y, x) for y, row in enumerate(mask) for x, v in enumerate(row) if v]
    ys, xs = [c[0] for c in cells], [c[1] for c in cells]
    height, width = max(ys) - min(ys) + 1, max(xs) - min(xs) + 1
    fill = len(cells) / (height * width)
    offset = (sum(ys) / len(ys) - (max(ys) + min(ys)) / 2) / height
    if fill > 0.9:
        return "square"
    if fill > 0.68:
        return "circle"
    if fill < 0.45:
        return "star"
    if abs(offset) < 0.04:
        return "diamond"
    return "triangle" if offset > 0 else "triangle-down"  # screen y grows downwards


def test_event_types_differ_in_shape_not_only_colour(browser, every_type):
    # a 4x pixel ratio, so that each marker is drawn large enough to measure its outline
    p = open_offline(browser, every_type.as_uri() + "#date=2020-11-26", scale=4).page
    legend = p.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll(
        '.cm-legend [data-type]')).map(r => [r.getAttribute('data-type'),
                                             r.querySelector('canvas').getAttribute('data-shape')]))""")
    assert set(legend) == set(EVERY_TYPE) and len(set(legend.values())) == len(EVERY_TYPE)
    masks = p.evaluate("""(points) => {
      const c = document.querySelector('canvas.cm-events'), ctx = c.getContext('2d');
      const dpr = window.devicePixelRatio, m = conflictmap.map, h = Math.round(11 * dpr);
      return points.map(ll => {
        const pt = m.latLngToContainerPoint(ll);
        const x = Math.round(pt.x * dpr), y = Math.round(pt.y * dpr), w = 2 * h + 1;
        const d = ctx.getImageData(x - h, y - h, w, w).data, rows = [];
        for (let r = 0; r < w; r++) {
          const row = [];
          for (let k = 0; k < w; k++) row.push(d[(r * w + k) * 4 + 3] > 127 ? 1 : 0);
          rows.push(row);
        }
        return rows;
      });
    }""", [[lat, lon] for _, lat, lon in EVERY_TYPE.values()])
    drawn = {kind: _outline(mask) for kind, mask in zip(EVERY_TYPE, masks, strict=True)}
    assert drawn == legend  # each type's marker on the map has its legend's outline

@pytest.mark.parametrize(("area", "before", "after"), [
    ("Kalbajar", "2020-11-24", "2020-11-26"),
    ("Aghdam", "2020-11-19", "2020-11-20"),
    ("Lachin", "2020-11-30", "2020-12-01"),
])
def test_slider_recolours_districts_by_controller(browser, bundled, area, before, after):
    p = open_offline(browser, bundled.as_uri()).page
    slide_to(p, before)
    assert fill(p, area) == ARMENIA
    slide_to(p, after)
    assert fill(p, area) == AZERBAIJAN
    assert p.evaluate("location.hash") == f"#date={after}"


def test_slider_filters_events_and_highlights_the_day(browser, bundled):
    p = open_offline(browser, bundled.as_uri()).page
    slide_to(p, "2020-11-26")
    drawn = p.evaluate("conflictmap.drawn()")
    assert "2020-11-27-sotk-troops-leave" not in drawn and MINE in drawn
    today = p.eval_on_selector_all(".cm-list li.cm-today", "els => els.map(e => e.dataset.event)")
    assert sorted(today) == sorted(["2020-11-26-armenian-mod-statements", MINE,
                                    "2020-11-26-sotk-posts-established"])


def test_type_and_status_filters(browser, bundled):
    p = open_offline(browser, bundled.as_uri()).page
    p.uncheck('input[data-filter="disputed"]')
    assert "2020-11-26-armenian-mod-statements" not in p.evaluate("conflictmap.drawn()")
    p.uncheck('input[data-filter="Strategic developments"]')
    assert p.evaluate("conflictmap.drawn()") == []


def test_hash_opens_the_event_popup(browser, bundled):
    p = open_offline(browser, bundled.as_uri() + f"#date=2020-11-26&event={MINE}").page
    popup = p.locator(f'.leaflet-popup .cm-popup[data-event="{MINE}"]')
    popup.wait_for()
    text = popup.text_content()
    assert "Azerbaijani troops enter the Sotk (Zod) gold mine" in text
    assert "side of border uncertain" in text and "0.13 km" in text
    assert "district uncertain" in text and "Gegharkunik or Kəlbəcər" in text
    hrefs = popup.locator("a").evaluate_all("els => els.map(a => a.href)")
    assert "https://southfront.org/azerbaijani-troops-entered-largest-armenian-gold-mine-on-" \
           "nagorno-karabakh-border-videos/" in hrefs
    assert p.text_content(".cm-date") == "2020-11-26"


def test_list_click_flies_to_the_event(browser, bundled):
    p = open_offline(browser, bundled.as_uri()).page
    p.click('.cm-list li[data-event="2020-11-25-kalbajar-handover"] a')
    p.locator('.cm-popup[data-event="2020-11-25-kalbajar-handover"]').wait_for()
    assert "event=2020-11-25-kalbajar-handover" in p.evaluate("location.hash")


def test_clicking_a_marker_opens_its_popup(browser, bundled):
    p = open_offline(browser, bundled.as_uri() + "#date=2020-11-20").page
    pt = p.evaluate("""() => {
        const m = conflictmap.map, r = m.getContainer().getBoundingClientRect();
        const c = m.latLngToContainerPoint([39.8177, 46.7528]);
        return [r.x + c.x, r.y + c.y]; }""")
    p.mouse.click(*pt)
    p.locator('.cm-popup[data-event="2020-11-10-trilateral-ceasefire"]').wait_for()


def test_cdn_build_links_folium_cdns(tmp_path):
    cm_build(tmp_path, "--cdn")
    html = (tmp_path / "map.html").read_text("utf-8")
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in html


def test_failed_build_leaves_previous_output_identical(tmp_path):
    cm_build(tmp_path)
    before = (tmp_path / "map.html").read_bytes()
    events = tmp_path / "events"
    shutil.copytree(ROOT / "events", events)
    (events / "2020-11-28-nowhere.yaml").write_text(
        "date: 2020-11-28\ntitle: t\nevent_type: Battles\nlocation: {name: Xyzzyplop}\n"
        "sources: [{publisher: p, published: 2020-11-28}]\n", "utf-8")
    r = subprocess.run([str(EXE), "build", "--out", str(tmp_path), "--events", str(events)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "Xyzzyplop" in r.stderr
    assert (tmp_path / "map.html").read_bytes() == before


# ---------------------------------------------------------------- hostile text

PAYLOAD = ("<img src=x onerror=\"alert('img');window.__xss=1\"> <script>alert('s')</script> "
           "</script><script>window.__xss=3</script> ${alert('tpl')} `+alert('bt')+` "
           "\"'><svg onload=alert('svg')> javascript:alert('js') a\u2028b\u2029c")


def hostile_event() -> dict:
    return {
        "date": "2020-11-26", "title": PAYLOAD[:300], "event_type": "Protests",
        "sub_event_type": "Peaceful protest", "actors": [PAYLOAD], "tags": [PAYLOAD],
        "location": {"name": PAYLOAD, "lat": 40.21, "lon": 45.87, "country": "AM",
                     "precision": "site"},
        "control_change": {"area": PAYLOAD, "from": PAYLOAD, "to": PAYLOAD},
        "description": PAYLOAD, "figures": {PAYLOAD: PAYLOAD},
        "sources": [{"publisher": PAYLOAD, "published": "2020-11-26", "quote": PAYLOAD,
                     "url": "https://example.org/\"><img/src=x/onerror=alert('href')>",
                     "archive_url": "https://example.org/?q=<script>alert('a')</script>"}],
    }


@pytest.fixture(scope="module", params=["cli", "explore"])
def hostile(request, tmp_path_factory) -> Path:
    import geopandas as gpd
    from shapely.geometry import box

    root = tmp_path_factory.mktemp("hostile")
    events = root / "events"
    shutil.copytree(ROOT / "events", events)
    (events / "2020-11-26-hostile.yaml").write_text(json.dumps(hostile_event()), "utf-8")
    geo = root / "geodata"
    shutil.copytree(ROOT / "geodata", geo, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    gpd.GeoDataFrame({"name": [PAYLOAD]}, geometry=[box(45.5, 40.0, 45.7, 40.1)],
                     crs=4326).to_file(geo / "evil.geojson", driver="GeoJSON")
    manifest = geo / "layers.yaml"
    text = manifest.read_text("utf-8").replace(
        "title: International borders", f"title: {json.dumps(PAYLOAD)}")
    text += ("  - name: evil\n    title: " + json.dumps(PAYLOAD) + "\n    path: evil.geojson\n"
             "    kind: custom\n    name_field: name\n    source: test\n    licence: CC0\n"
             "    accuracy_km: 1\n")
    manifest.write_text(text, "utf-8")
    out = root / "out"
    if request.param == "cli":
        cm_build(out, "--events", str(events), "--manifest", str(manifest))
    else:  # the library's page, from the same records and layers
        import conflictmap as cm

        out.mkdir()
        cm.explore(cm.read_events(events, layers=manifest), layers=manifest).save(
            out / "map.html")
    return out / "map.html"


def assert_inert(w) -> None:
    p = w.page
    assert w.dialogs == [], w.dialogs
    assert w.errors == [], w.errors
    assert p.evaluate("window.__xss") is None
    assert p.locator('img[src="x"]').count() == 0
    assert p.locator("svg[onload]").count() == 0
    injected = p.evaluate("""() => Array.from(document.scripts).filter(s =>
        ["alert('s')", "window.__xss=3"].includes(s.textContent.trim())).length""")
    assert injected == 0


def test_hostile_text_is_shown_literally_and_never_runs(browser, hostile):
    w = open_offline(browser, hostile.as_uri() + "#date=2020-11-26&event=2020-11-26-hostile")
    p = w.page
    popup = p.locator('.cm-popup[data-event="2020-11-26-hostile"]')
    popup.wait_for()
    assert p.text_content(".cm-popup h3") == PAYLOAD[:300]
    body = popup.text_content()
    for part in ("<img src=x onerror=", "${alert('tpl')}", "`+alert('bt')+`", "</script>",
                 "a\u2028b\u2029c"):
        assert part in body
    hrefs = popup.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert all(h.startswith("https://example.org/") for h in hrefs) and len(hrefs) == 2
    assert PAYLOAD[:40] in p.text_content(".cm-list")
    labels = p.text_content(".leaflet-control-layers")
    assert labels.count("<img src=x onerror=") == 2  # the renamed borders layer and ours
    p.evaluate("conflictmap.map.eachLayer(l => l.getTooltip && l.getTooltip() && l.openTooltip())")
    assert PAYLOAD[:30] in p.text_content(".leaflet-tooltip-pane")
    assert_inert(w)


# ---------------------------------------------------------------- a large set (compressed titles)

@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    from benchmarks.synthetic import events

    from conflictmap.dataset import write_dataset

    root = tmp_path_factory.mktemp("large")
    write_dataset(events(2_500), root / "syn.gpkg")
    (root / "none").mkdir()
    cm_build(root / "out", "--events", str(root / "none"), "--dataset", str(root / "syn.gpkg"))
    return root / "out" / "map.html"


def test_large_set_lists_the_day_and_opens_popups(browser, large):
    html = large.read_text("utf-8")
    # titles travel compressed, after the popup chunks, in the block that never runs
    assert '"titles_line":3' in html and '"title":null' in html
    assert html.count('<script type="application/octet-stream" id="conflictmap-blobs">') == 1
    w = open_offline(browser, large.as_uri() + "#date=2020-12-01")
    p = w.page
    assert w.errors == [] and w.blocked == []
    assert int(p.get_attribute("body", "data-cm-drawn")) > 1000  # up to 1 Dec, all in view
    p.locator(".cm-list li").first.wait_for()
    days = p.locator(".cm-list li a").evaluate_all(
        "els => els.map(a => a.textContent.slice(0, 10))")
    assert days and set(days) == {"2020-12-01"}
    first = p.locator(".cm-list li").first.get_attribute("data-event")
    p.click(f'.cm-list li[data-event="{first}"] a')
    popup = p.locator(f'.cm-popup[data-event="{first}"]')
    popup.wait_for()
    assert len(popup.locator("h3").text_content()) > 10


@pytest.fixture(scope="module")
def acled_map(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("acled")
    r = subprocess.run([str(EXE), "import", "acled", str(ROOT / "tests" / "data" /
                        "acled_hdx_armenia.csv"), "--events", str(base / "events")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    cm_build(base / "out", "--events", str(base / "events"))
    return base / "out" / "map.html"


@pytest.mark.parametrize("asked", ["ARM4949", "arm4949"])
def test_hash_finds_a_dataset_id_in_its_own_case(browser, acled_map, asked):
    w = open_offline(browser, acled_map.as_uri() + f"#event={asked}")
    popup = w.page.locator('.leaflet-popup .cm-popup[data-event="ARM4949"]')
    popup.wait_for()
    text = popup.text_content()
    assert w.errors == []
    # roles, the dataset's own id, its source list as provenance, and no invented fatalities
    assert "Military Forces of Azerbaijan (2003-) (side A)" in text
    assert "acled ARM4949" in text and "cites: Aysor; Hetq; News.am" in text
    assert "not reported" in text
    assert "event=ARM4949" in w.page.evaluate("location.hash")


@pytest.mark.parametrize("hash_", ["#date=%", "#event=%E0%A4%A", "#date=9999-99-99",
                                   "#date=2020-02-30&event=nope", "#%=%&=&&"])
def test_a_broken_hash_leaves_the_page_working(browser, bundled, hash_):
    w = open_offline(browser, bundled.as_uri() + hash_)  # waits for the page's ready flag
    assert w.errors == []
    assert len(w.page.evaluate("conflictmap.drawn()")) > 0
    assert w.page.evaluate("conflictmap.openEvent('2020-11-26-sotk-mine-entry')")
