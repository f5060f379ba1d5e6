"""Photograph an ACLED-scale map (4,960 synthetic events) in its aggregated view, offline, at
1366x768, for the README: hexagon bins by count under a window chosen on the histogram.

    .venv/bin/python scripts/screenshot_aggregated.py     # writes docs/map-aggregated.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import events  # noqa: E402  (after the path tweak)
from tests.browser import chromium, open_offline  # noqa: E402

N = 4_960  # the ACLED Armenia export's size
VIEW = "#date=2020-12-15&from=2020-11-01"


def main() -> None:
    from conflictmap.dataset import write_dataset
    from conflictmap.pipeline import build
    from conflictmap.render.map import render

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_dataset(events(N), folder / "syn.gpkg")
        (folder / "none").mkdir()
        result = build(folder / "none", ROOT / "geodata" / "layers.yaml",
                       datasets=[folder / "syn.gpkg"],
                       gazetteer=ROOT / "geodata" / "gazetteer.yaml")
        page = folder / "map.html"
        page.write_text(render(result), "utf-8")
        with chromium() as browser:
            w = open_offline(browser, page.as_uri() + VIEW, width=1366, height=768)
            w.page.evaluate("conflictmap.idle()")
            if w.page.evaluate("conflictmap.mode()") != "bins":
                raise SystemExit("the page did not switch to its aggregated view")
            out = ROOT / "docs" / "map-aggregated.png"
            w.page.screenshot(path=str(out))
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
