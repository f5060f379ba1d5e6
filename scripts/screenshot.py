"""Build the bundled map and photograph it in headless Chromium (offline) for the README.

    .venv/bin/python scripts/screenshot.py   # writes docs/map.png and docs/map-zoomed.png

At 1366x768, the small laptop screen the layout must fit: the bundled map on 26 Nov with the
Sotk popup open, and a zoomed view of the Kalbajar-Sotk border where town names show.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import chromium, open_offline  # noqa: E402  (after the path tweak)

SHOTS = [  # file, hash, view to set after loading (None: the page's own), popup to wait for
    ("map.png", "#date=2020-11-26&event=2020-11-26-sotk-mine-entry", None, True),
    ("map-zoomed.png", "#date=2020-11-26", ([40.17, 46.02], 10), False),
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(sys.executable).with_name("conflictmap")
        subprocess.run([str(exe), "build", "--out", tmp], cwd=ROOT, check=True)
        with chromium() as browser:
            for name, view, centre, popup in SHOTS:
                url = (Path(tmp) / "map.html").as_uri() + view
                w = open_offline(browser, url, width=1366, height=768)
                if popup:
                    w.page.locator(".cm-popup").wait_for()
                if centre:
                    w.page.evaluate("([c, z]) => conflictmap.map.setView(c, z, {animate: false})",
                                    list(centre))
                w.page.wait_for_timeout(800)  # popup fade-in and autopan
                out = ROOT / "docs" / name
                w.page.screenshot(path=str(out))
                w.page.close()
                print(f"wrote {out}")


if __name__ == "__main__":
    main()
