"""Build the bundled map and photograph it in headless Chromium (offline) for the README.

    .venv/bin/python scripts/screenshot.py        # writes docs/map.png
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import chromium, open_offline  # noqa: E402  (after the path tweak)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(sys.executable).with_name("conflictmap")
        subprocess.run([str(exe), "build", "--out", tmp], cwd=ROOT, check=True)
        view = "#date=2020-11-26&event=2020-11-26-sotk-mine-entry"
        url = (Path(tmp) / "map.html").as_uri() + view
        with chromium() as browser:
            w = open_offline(browser, url, width=1280, height=800)
            w.page.locator(".cm-popup").wait_for()
            w.page.wait_for_timeout(500)  # let Leaflet's popup fade-in finish
            out = ROOT / "docs" / "map.png"
            w.page.screenshot(path=str(out))
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
