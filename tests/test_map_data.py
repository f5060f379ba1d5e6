"""The map page's data contract, without a browser: what the page is told about areas."""

from __future__ import annotations

from datetime import date

import shapely

from conflictmap.pipeline import build
from conflictmap.render.map import labels_for, map_data

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


def test_actor_texts_rewritten_as_text_decode_to_the_parsed_pairs():
    """The vectorised rewrite of plain name lists must give what parsing and pairing gives,
    also for escapes, non-ASCII, roles, empty names and texts it leaves to the parser."""
    import json

    from conflictmap.render.map import actor_pairs, actor_texts

    texts = ['["a", "b"]', '["Ş\\u00e9 \\"q\\" \\\\ </script>"]', '["x","y"]', '[]', 'null',
             None, '["", "c"]', '[{"name": "d", "role": "side_a"}, "e"]', '[ "f" ]',
             '["g", {"name": "h"}]', '["a", "b"]', '["\\ud83d\\ude00 \\/ \\n"]']
    got = actor_texts(texts)
    for text, out in zip(texts, got, strict=True):
        want = actor_pairs(None if text is None else json.loads(text))
        assert (None if out is None else json.loads(out)) == want, text
    assert got[0] == '[["a",""], ["b",""]]'  # rewritten, not re-encoded


def test_layers_and_labels_are_made_again_when_the_layers_or_bounds_change():
    """A rebuild reuses the drawn layers and label candidates only for the same layer set and
    the same events' bounds (`build --watch`): another set or a moved event is drawn anew."""
    result = build(ROOT / "events", ROOT / "geodata" / "layers.yaml",
                   gazetteer=ROOT / "geodata" / "gazetteer.yaml")
    first, before = map_data(result), labels_for(result)
    assert map_data(result)["layers"] == first["layers"]
    assert labels_for(result) == before
    fewer = dict(list(result.layers.items())[1:])
    result.layers = fewer
    names = [lyr["name"] for lyr in map_data(result)["layers"]]
    assert names and names != [lyr["name"] for lyr in first["layers"]]
    assert all(name in fewer for name in names)
    moved = result.frame.copy()
    moved.loc[moved.index[0], "geometry"] = shapely.Point(44.0, 41.2)  # north of the rest
    result.frame = moved
    assert labels_for(result)["items"] != before["items"]
