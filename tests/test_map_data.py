"""The map page's data contract, without a browser: what the page is told about areas."""

from __future__ import annotations

from datetime import date

from conflictmap.pipeline import build
from conflictmap.render.map import map_data

from .conftest import ROOT


def test_areas_are_unknown_before_the_earliest_known_state():
    result = build(ROOT / "events", ROOT / "geodata" / "layers.yaml",
                   gazetteer=ROOT / "geodata" / "gazetteer.yaml")
    data = map_data(result)
    start = date.fromisoformat(data["start"])
    areas = {a["name"]: a for a in data["areas"]}
    kalbajar = areas["Kalbajar"]
    known = (date(1993, 4, 3) - start).days
    assert kalbajar["initial"] is None and kalbajar["known_from"] == known < 0
    assert kalbajar["changes"] == [[known, "Armenia"],
                                   [(date(2020, 11, 25) - start).days, "Azerbaijan"]]
