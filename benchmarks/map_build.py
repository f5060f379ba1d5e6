"""Our map build against the naive folium build, side by side in one run.

    .venv/bin/python -m benchmarks.map_build                 # N = 1k, 10k, 100k
    .venv/bin/python -m benchmarks.map_build 200 --json out.json

Naive = what a folium user writes: one folium.Marker per event in a MarkerCluster, with the same
popup text. Both pages get their assets inlined, so both load offline. For each N it reports
build seconds and peak RSS (each build in its own process), HTML bytes, and Chromium's time to
the load event and to "markers drawn" (our page flag; the first marker or cluster icon for
folium's), plus our slider-move and popup-open times.

Our build runs twice, each in its own process, on a records cache of the run's own: cold (the
cache empty: the dataset is read and checked, and its checked table stored) and warm (the
dataset unchanged: its table comes from the cache, as in every build after the first). Its
`prep` is the build up to the page (read, geocode, enrich), `map` the page. The naive build
runs cold, on a cache of its own.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMPTY_EVENTS = "none"


def _popup_html(ev, row) -> str:
    e = html.escape
    srcs = "".join(f'<li><a href="{e(s.url or "")}">{e(s.publisher)}</a>, {e(str(s.published))}'
                   + (f"<q>{e(s.quote)}</q>" if s.quote else "") + "</li>" for s in ev.sources)
    body = (f"<h3>{e(ev.title)}</h3><p>{e(str(ev.day))} · {e(ev.event_type)} / "
            f"{e(ev.sub_event_type or '')}</p><p>{e('; '.join(a.name for a in ev.actors))}</p>"
            f"<p>{e(str(row.place_name))} ({e(str(row.geo_precision))})</p>"
            f"<p>{e(ev.description or '')}</p><ol>{srcs}</ol>")
    # folium puts popup HTML in a JS template literal: keep ` and $ from acting there
    return body.replace("`", "&#96;").replace("$", "&#36;")


def naive_html(result) -> str:
    import folium
    from folium.plugins import MarkerCluster

    from conflictmap.render.assets import ASSETS, Bundle, inline_all

    m = folium.Map(location=[40, 46], zoom_start=8, tiles=None, maxZoom=18)
    m.default_js = [("leaflet", ASSETS[0].url),
                    ("jquery", "https://code.jquery.com/jquery-3.7.1.min.js")]
    m.default_css = [("leaflet_css", ASSETS[1].url)]
    cluster = MarkerCluster().add_to(m)
    for ev, row in zip(result.events, result.frame.itertuples(index=False), strict=True):
        folium.Marker([row.geometry.y, row.geometry.x],
                      popup=folium.Popup(_popup_html(ev, row), max_width=380)).add_to(cluster)
    page = m.get_root().render()
    head, sep, body = page.partition("</head>")
    return inline_all(head, Bundle()) + sep + body


def one(kind: str, dataset: Path, out: Path) -> None:
    """Run one build in this process and print its figures (called in a child process)."""
    from conflictmap.pipeline import build
    from conflictmap.render.map import render

    t0 = time.perf_counter()
    empty = out.parent / EMPTY_EVENTS
    empty.mkdir(exist_ok=True)
    result = build(empty, ROOT / "geodata" / "layers.yaml", datasets=[dataset],
                   gazetteer=ROOT / "geodata" / "gazetteer.yaml")
    t1 = time.perf_counter()
    page = render(result) if kind == "ours" else naive_html(result)
    out.write_text(page, "utf-8")
    t2 = time.perf_counter()
    print(json.dumps({"prep_s": round(t1 - t0, 2), "map_s": round(t2 - t1, 2),
                      "build_s": round(t2 - t0, 2),
                      "peak_rss_mb": peak_rss_mb(),
                      "html_bytes": out.stat().st_size}))


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program. Not `ru_maxrss`:
    Linux keeps that across exec, so a child started by a big parent reports the parent's
    size (every build row showed the benchmark's own 1,151 MB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def open_page(browser, page: Path, width: int = 1400, height: int = 900):
    """`page` loaded offline (every non-file request aborted), to its load event; no
    timeout short enough to cut a slow page's figure off."""
    pg = browser.new_page(viewport={"width": width, "height": height})
    pg.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:")
             else r.abort())
    pg.goto(page.as_uri(), wait_until="load", timeout=600_000)
    return pg


def browser_times(page: Path, kind: str) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from tests.browser import chromium

    with chromium() as b:
        pg = open_page(b, page)
        if kind == "ours":
            pg.wait_for_selector("body[data-cm-ready='1']", timeout=300_000)
        else:
            pg.wait_for_function("document.querySelector('.leaflet-marker-icon')",
                                 timeout=300_000)
        out = {"load_event_ms": round(pg.evaluate(
                   "performance.getEntriesByType('navigation')[0].loadEventEnd")),
               "drawn_ms": round(pg.evaluate("performance.now()"))}
        if kind == "ours":
            out["slider_ms"] = round(pg.evaluate("""() => {
                const s = document.querySelector('.cm-slider'), t0 = performance.now();
                s.value = String(Math.max(0, +s.max - 30)); s.dispatchEvent(new Event('input'));
                return performance.now() - t0; }"""), 1)
            out["popup_ms"] = round(pg.evaluate("""() => { const t0 = performance.now();
                const id = document.querySelector('.cm-list li').dataset.event;
                conflictmap.openEvent(id);
                return new Promise(r => { const c = () => document.body.dataset.cmPopup === id
                  ? r(performance.now() - t0) : setTimeout(c, 1); c(); }); }"""), 1)
            out["js_heap_mb"] = round(pg.evaluate("performance.memory.usedJSHeapSize") / 1e6, 1)
        return out


def build_in_child(kind: str, dataset: Path, page: Path, cache: Path) -> dict:
    """One build in a process of its own, on the records cache at `cache`."""
    from conflictmap.recordcache import ENV

    r = subprocess.run([sys.executable, "-m", "benchmarks.map_build", "--one", kind,
                        str(dataset), str(page)], cwd=ROOT, capture_output=True, text=True,
                       check=True, env={**os.environ, ENV: str(cache)})
    return json.loads(r.stdout.strip().splitlines()[-1])


def run(sizes: list[int]) -> list[dict]:
    from conflictmap.dataset import write_dataset

    from .synthetic import events

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            folder = Path(tmp) / str(n)
            folder.mkdir()
            dataset = folder / "events.gpkg"
            write_dataset(events(n), dataset)
            row: dict = {"n": n}
            ours, naive = folder / "ours.html", folder / "naive.html"
            row["ours"] = build_in_child("ours", dataset, ours, folder / "cache")  # cold
            row["ours"].update(browser_times(ours, "ours"))
            row["cache_mb"] = round(sum(f.stat().st_size for f in (folder / "cache").rglob("*")
                                        if f.is_file()) / 1e6, 1)
            row["ours_warm"] = build_in_child("ours", dataset, ours, folder / "cache")
            row["naive"] = build_in_child("naive", dataset, naive, folder / "naive-cache")
            row["naive"].update(browser_times(naive, "naive"))
            rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    head = ("| N | build s (ours cold / warm / naive) | prep + map s (cold / warm) | "
            "peak RSS MB | HTML MB | load event ms | drawn ms | slider ms | popup ms | "
            "JS heap MB |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        o, w, v = r["ours"], r["ours_warm"], r["naive"]
        lines.append(
            f"| {r['n']:,} | {o['build_s']} / {w['build_s']} / {v['build_s']} | "
            f"{o['prep_s']} + {o['map_s']} / {w['prep_s']} + {w['map_s']} | "
            f"{o['peak_rss_mb']} / {v['peak_rss_mb']} | "
            f"{o['html_bytes'] / 1e6:.1f} / {v['html_bytes'] / 1e6:.1f} | "
            f"{o['load_event_ms']} / {v['load_event_ms']} | {o['drawn_ms']} / {v['drawn_ms']} | "
            f"{o['slider_ms']} | {o['popup_ms']} | {o['js_heap_mb']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[1_000, 10_000, 100_000])
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--one", nargs=3, metavar=("KIND", "DATASET", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        one(args.one[0], Path(args.one[1]), Path(args.one[2]))
        return
    rows = run(args.sizes)
    print(table(rows))
    print("records cache after the cold build: "
          + ", ".join(f"{r['n']:,}: {r['cache_mb']} MB" for r in rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), "utf-8")


if __name__ == "__main__":
    main()
