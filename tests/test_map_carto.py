"""The map reads as a map: names placed without collisions, events on top, popups clear of the
controls, a palette with contrast under colour-vision deficiencies. Real Chromium, offline."""

from __future__ import annotations

import pytest

from .browser import chromium, open_offline
from .colourvision import VISIONS, contrast, over, parse, simulate
from .test_map_browser import MINE, cm_build

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("carto")
    cm_build(out)
    with chromium() as b:
        w = open_offline(b, (out / "map.html").as_uri(), width=1366, height=768)
        w.page.wait_for_timeout(300)  # Leaflet settles its first view
        yield w
        assert w.errors == [] and w.blocked == []


def meets(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def test_initial_view_names_countries_districts_and_towns(page):
    labels = page.page.evaluate("conflictmap.labels()")
    kinds = [lab["kind"] for lab in labels]
    assert kinds.count("country") >= 1 and kinds.count("district") >= 1
    assert kinds.count("town") >= 3
    texts = {lab["text"] for lab in labels}
    assert {"ARMENIA", "AZERBAIJAN", "Kalbajar", "Lake Sevan", "Vardenis"} <= texts
    size = page.page.evaluate("conflictmap.map.getSize()")
    for lab in labels:
        assert lab["x"] >= 0 and lab["x"] + lab["w"] <= size["x"], lab
        assert lab["y"] >= 0 and lab["y"] + lab["h"] <= size["y"], lab
    # what the page reports is what it shows: one element a label, with that text
    shown = page.page.locator(".cm-label").all_text_contents()
    assert sorted(shown) == sorted(lab["text"] for lab in labels)


@pytest.mark.parametrize("zoom", [7, 9, 11])
def test_no_label_meets_another_label_or_an_event_mark(page, zoom):
    p = page.page
    p.evaluate(f"conflictmap.map.setView([40.0, 46.3], {zoom}, {{animate: false}})")
    labels = p.evaluate("conflictmap.labels()")
    marks = p.evaluate("conflictmap.marks()")
    controls = [{"x": c["x"], "y": c["y"], "w": c["width"], "h": c["height"]}
                for c in (k.bounding_box() for k in p.locator(".leaflet-control").all()) if c]
    assert labels and marks and controls
    for k, a in enumerate(labels):
        for b in labels[k + 1:]:
            assert not meets(a, b), (a, b)
        for m in marks + controls:  # the map fills the page: container = page pixels
            assert not meets(a, m), (a, m)


def test_labels_toggle_in_the_layer_control(page):
    p = page.page
    names = p.locator(".leaflet-control-layers-overlays label").all_text_contents()
    assert any("Place names" in n for n in names)
    p.hover(".leaflet-control-layers")  # collapsed until pointed at, as a user would
    box = p.locator(".leaflet-control-layers-overlays label", has_text="Place names")
    box.locator("input").uncheck()
    assert p.locator(".cm-label").count() == 0 and p.evaluate("conflictmap.labels()") == []
    box.locator("input").check()
    assert p.locator(".cm-label").count() > 0


def test_events_draw_above_the_boundary_overlays(page):
    z = page.page.evaluate("""() => {
      const z = el => +getComputedStyle(el).zIndex;
      const events = document.querySelector('canvas.cm-events').parentElement;
      const overlay = conflictmap.map.getPane('overlayPane');
      return {events: z(events), overlay: z(overlay),
              svg: !!overlay.querySelector('path[data-area]'),
              same: events.parentElement === overlay.parentElement};
    }""")
    assert z["svg"] and z["same"] and z["events"] > z["overlay"]


def test_title_and_attribution_name_the_span_the_area_and_every_source(page):
    p = page.page
    assert p.title() == "Events 2020-11-10 to 2020-12-01, Armenia and Azerbaijan (conflictmap)"
    text = p.text_content(".leaflet-control-attribution")
    assert "Natural Earth (public domain)" in text and "GeoNames (CC BY 4.0)" in text
    assert "CC BY 4.0 conflictmap" in text  # the handover dates are ours


def test_sotk_popup_is_clear_of_every_control_at_1366x768(page):
    p = page.page
    p.evaluate(f"location.hash = '#date=2020-11-26&event={MINE}'")
    p.locator(f'.leaflet-popup .cm-popup[data-event="{MINE}"]').wait_for()
    p.wait_for_timeout(600)  # autopan's animation
    popup = p.locator(".leaflet-popup").bounding_box()
    controls = [c.bounding_box() for c in p.locator(".leaflet-control").all()]
    controls = [c for c in controls if c and c["width"] and c["height"]]
    assert len(controls) >= 6  # zoom, fullscreen, measure, layers, panel, legend, ...
    for c in controls:
        assert not meets({"x": popup["x"], "y": popup["y"], "w": popup["width"],
                          "h": popup["height"]},
                         {"x": c["x"], "y": c["y"], "w": c["width"], "h": c["height"]}), c
    # title first and largest; the facts in small type
    sizes = p.evaluate("""() => {
      const box = document.querySelector('.leaflet-popup .cm-popup');
      const px = el => parseFloat(getComputedStyle(el).fontSize);
      return {first: box.firstElementChild.tagName, title: px(box.querySelector('h3')),
              rest: [...box.querySelectorAll('dt, dd, li, p')].map(px)};
    }""")
    assert sizes["first"] == "H3" and max(sizes["rest"]) < sizes["title"]
    p.evaluate("conflictmap.map.closePopup()")


def test_type_colours_keep_3_to_1_on_every_fill_also_with_colour_blindness(page):
    """Colours as the page paints them: legend symbols' pixels, the swatches' and the
    districts' computed fills at their computed opacity over the map's own background."""
    style = page.page.evaluate("""() => {
      const px = c => {
        const d = c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data;
        return `rgb(${d[0]}, ${d[1]}, ${d[2]})`;
      };
      const area = document.querySelector('path[data-area]');
      return {types: [...document.querySelectorAll('.cm-legend [data-type] canvas')].map(px),
              swatches: [...document.querySelectorAll('.cm-legend .cm-swatch')].map(
                s => getComputedStyle(s).backgroundColor),
              opacity: +getComputedStyle(area).fillOpacity,
              ground: getComputedStyle(conflictmap.map.getContainer()).backgroundColor};
    }""")
    assert len(style["types"]) == 6 and len(style["swatches"]) >= 3
    ground = parse(style["ground"])[0]
    fills = {"ground": ground, **{s: over(parse(s)[0], style["opacity"], ground)
                                  for s in style["swatches"]}}
    worst = min((contrast(simulate(parse(t)[0], v), simulate(f, v)), t, name, v)
                for t in style["types"] for name, f in fills.items() for v in VISIONS)
    assert worst[0] >= 3.0, worst
