"""A map of more events than a page holds: `build --dataset` of N generated rows (default 2M).

    .venv/bin/python -m benchmarks.big_build               # 2,000,000 rows
    .venv/bin/python -m benchmarks.big_build 500000 --keep /tmp/big

The rows are valid records (the synthetic events' texts, tiled), spread over three years and
clustered around 300 places in the region, written to one GeoPackage in chunks. It reports
the build's wall time and peak RSS (the command in its own process), the page's size, how
many events it holds in detail, and Chromium's time to a drawn map, at 1366x768.
Targets (issue #15): page < 25 MB, drawn < 2 s, the page states the detail count.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from shapely import points

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 200_000


def generate(n: int, target: Path, seed: int = 11) -> None:
    """N valid dataset rows in chunks (memory stays at one chunk)."""
    from conflictmap.dataset import LAYER, flat_record

    from .synthetic import events

    templates = pd.DataFrame([flat_record(e) for e in events(500, seed)])
    rng = np.random.default_rng(seed)
    centres = np.column_stack([rng.uniform(38.6, 41.4, 300), rng.uniform(44.1, 48.4, 300)])
    weight = rng.pareto(1.2, 300) + 1
    weight /= weight.sum()
    first = np.datetime64("2019-01-01")
    for lo in range(0, n, CHUNK):
        k = min(CHUNK, n - lo)
        rows = templates.iloc[rng.integers(0, len(templates), k)].reset_index(drop=True)
        where = rng.choice(len(centres), k, p=weight)
        lat = np.round(centres[where, 0] + rng.normal(0, 0.08, k), 5)
        lon = np.round(centres[where, 1] + rng.normal(0, 0.1, k), 5)
        day = (first + rng.integers(0, 3 * 365, k)).astype(str)
        rows["id"] = [f"big-{i:08d}" for i in range(lo, lo + k)]
        rows["date"] = day
        precision = np.array(["site", "settlement", "district"])[rng.integers(0, 3, k)]
        rows["location_json"] = [
            json.dumps({"name": f"Place {w}", "lat": a, "lon": b, "precision": p})
            for w, a, b, p in zip(where.tolist(), lat.tolist(), lon.tolist(), precision,
                                  strict=True)]
        rows["sources_json"] = [
            json.dumps([{"url": f"https://news.example.org/big/{i}", "publisher": "Example Wire",
                         "published": d}])
            for i, d in zip(range(lo, lo + k), day, strict=True)]
        frame = gpd.GeoDataFrame(rows, geometry=points(lon, lat), crs=4326)
        pyogrio.write_dataframe(frame, target, driver="GPKG", layer=LAYER, append=lo > 0)


def browser(page: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from tests.browser import chromium

    from .map_build import open_page

    with chromium() as b:
        pg = open_page(b, page, 1366, 768)
        pg.wait_for_selector("body[data-cm-ready='1']", timeout=300_000)
        out = {"drawn_ms": round(pg.evaluate("performance.now()")),
               "mode": pg.evaluate("document.body.dataset.cmMode"),
               "counted_on_screen": int(float(pg.evaluate("document.body.dataset.cmCounted"))),
               "scope": pg.inner_text(".cm-scope"),
               "slider_ms": round(pg.evaluate("""() => {
                   const s = document.querySelector('.cm-slider'), t0 = performance.now();
                   s.value = String(Math.max(0, +s.max - 30)); s.dispatchEvent(new Event('input'));
                   return performance.now() - t0; }"""), 1)}
        return out


def run(n: int, keep: Path | None, window: list[str] = ()) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        dataset = folder / f"big-{n}.gpkg"
        if not dataset.exists():
            t = time.perf_counter()
            generate(n, dataset)
            print(f"generated {n:,} rows in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        empty = folder / "no-yaml"
        empty.mkdir(exist_ok=True)
        out = folder / "out"
        exe = Path(sys.executable).with_name("conflictmap")
        t = time.perf_counter()
        r = subprocess.run([str(exe), "build", "--events", str(empty), "--dataset", str(dataset),
                            "--out", str(out), *window], capture_output=True, text=True,
                           cwd=ROOT)
        wall = time.perf_counter() - t
        if r.returncode:
            raise SystemExit(r.stderr)
        page = out / "map.html"
        row = {"rows": n, "build_s": round(wall, 1),
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                                    / 1024),
               "page_mb": round(page.stat().st_size / 1e6, 1),
               "said": r.stdout.strip().splitlines()[-2]}
        row.update(browser(page))
        return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", nargs="?", type=int, default=2_000_000)
    ap.add_argument("--keep", type=Path, help="generate into (and reuse) this folder")
    ap.add_argument("--from", dest="start", help="the detail window's first day (a smaller "
                    "set then still gets a density layer)")
    args = ap.parse_args(argv)
    window = ["--from", args.start] if args.start else []
    print(json.dumps(run(args.rows, args.keep, window), indent=1))


if __name__ == "__main__":
    main()
