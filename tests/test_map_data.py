"""The map page's data contract, without a browser: what the page is told about areas."""

from __future__ import annotations

import subprocess
import sys
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


FORKED = """
import os, re, sys, threading
from pathlib import Path

import pytest

from benchmarks.synthetic import events
from conflictmap.dataset import write_dataset
from conflictmap.pipeline import build
from conflictmap.render import map as page_map

root, repo = Path(sys.argv[1]), Path(sys.argv[2])
write_dataset(events(2600), root / "syn.gpkg")  # three popup chunks and a titles line
(root / "none").mkdir()
result = build(root / "none", repo / "geodata" / "layers.yaml", datasets=[root / "syn.gpkg"],
               gazetteer=repo / "geodata" / "gazetteer.yaml")
pids = []
made = page_map.ForkedLines.__init__


def spy(self, jobs):
    made(self, jobs)
    pids.append(self._child.pid)


def quiet():
    # the last page's compression threads ended: the page forks only without them
    for t in threading.enumerate():
        if t is not threading.main_thread():
            t.join()


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


page_map.ForkedLines.__init__ = spy
ids = re.compile(r"[0-9a-f]{32}")
page_map.FORK_MIN = 10**9
alone = ids.sub("", page_map.render(result))
assert not pids
page_map.FORK_MIN = 1000
quiet()
forked = ids.sub("", page_map.render(result))
assert len(pids) == 1 and gone(pids[0]), pids
assert forked == alone and forked.count('"popup_lines":3') == 1

# the child fails: its error is the page's, and it is reaped
real = page_map.popup_columns


def broken(result, rows=slice(None)):
    if rows.start == 0:  # the child's share
        raise RuntimeError("popups broke in the child")
    return real(result, rows)


page_map.popup_columns = broken
quiet()
with pytest.raises(RuntimeError, match="popups broke in the child"):
    page_map.render(result)
assert len(pids) == 2 and gone(pids[1]), pids
page_map.popup_columns = real


# this process fails after forking: the child is stopped
def failing(*args, **kwargs):
    raise ValueError("page data broke")


page_map._page_data = failing
quiet()
with pytest.raises(ValueError, match="page data broke"):
    page_map.render(result)
assert len(pids) == 3 and gone(pids[2]), pids
print("forked page ok")
"""


def test_forked_popups_make_the_page_one_process_makes_and_never_outlive_it(tmp_path):
    """Past FORK_MIN events a forked child makes some popup chunks and the labels: the
    page is the one the single-process path makes (folium's random element ids aside); an
    error in the child is the page's error, an error in the parent stops the child, and no
    child outlives the page. In a fresh interpreter: the page forks only where no other
    thread runs, which this test process cannot promise."""
    run = subprocess.run([sys.executable, "-c", FORKED, str(tmp_path), str(ROOT)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "forked page ok" in run.stdout, run.stderr[-3000:]


def test_page_json_is_the_standard_librarys_value_and_safe_in_a_script():
    """The page's JSON (orjson) parses to what `json.dumps` writes, an integer past 64 bits
    included (the standard library writes that one), and no text in it can end the script."""
    import json

    from conflictmap.render.map import compact_json, safe_json

    value = {"t": ["Сотк </script><!-- & \u2028 \u2029 \"q\" \\", None, True], "n": [1, -2**63],
             1: 0.1 + 0.2, "f": 1e-7, "big": 2**70}
    for text in (compact_json(value).decode(), safe_json(value)):
        assert json.loads(text) == json.loads(json.dumps(value))
    safe = safe_json(value)
    assert not any(c in safe for c in "<>&\u2028\u2029")
    assert json.loads(compact_json({"f": 1e-7})) == {"f": 1e-7}
