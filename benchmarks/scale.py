"""Scale: N generated ACLED rows imported into a GeoParquet dataset, then enriched and written
as GeoParquet (`enrich --out`, what `export --format parquet` does), by the command line on
the pandas engine and on dask with 1 and 2 local workers. Per step: wall time, rows/s, and the
peak RSS of every process of the command (the command itself and each worker it starts).
Targets (issue 15, 2 cores): 10M rows with no process above 2 GB; 2 workers >= 1.6x the
enrichment throughput of 1 worker.

    .venv/bin/python -m benchmarks.scale [N ...] [--engines pandas,dask1,dask2]
        [--steps import,enrich] [--keep DIR] [--json F]

The CSV of each N is written once into a temp folder (or `--keep DIR`, kept between runs).
The pandas engine holds the whole dataset in one process: run it at 10M only on a machine with
the memory for it (`--engines dask1,dask2`).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "acled_hdx_armenia.csv"
CM = str(Path(sys.executable).with_name("conflictmap"))
MANIFEST = ROOT / "geodata" / "layers.yaml"
ENGINES = {"pandas": [], "dask1": ["--engine", "dask", "--workers", "1"],
           "dask2": ["--engine", "dask", "--workers", "2"]}


def acled_csv(n: int, target: Path, seed: int = 15) -> Path:
    """n valid rows shaped like the fixture's (HDX layout, HXL row kept), ids unique, days
    over 2015-2024, points spread over the South Caucasus."""
    with FIXTURE.open(newline="", encoding="utf-8") as fh:
        header, hxl, *rows = list(csv.reader(fh))
    col = {c: i for i, c in enumerate(header)}
    rng = np.random.default_rng(seed)
    with target.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerow(hxl)
        for lo in range(0, n, 100_000):
            k = np.arange(lo, min(n, lo + 100_000))
            days = (np.datetime64("2015-01-01") + rng.integers(0, 3650, len(k))).astype(str)
            lat = rng.uniform(38.5, 41.5, len(k))
            lon = rng.uniform(44.0, 48.5, len(k))
            for i, day, y, x in zip(k.tolist(), days.tolist(), lat.tolist(), lon.tolist(),
                                    strict=True):
                row = list(rows[i % len(rows)])
                row[col["event_id_cnty"]] = f"BEN{i}"
                row[col["data_id"]] = str(i)
                row[col["event_date"]] = day
                row[col["year"]] = day[:4]
                row[col["latitude"]] = f"{y:.4f}"
                row[col["longitude"]] = f"{x:.4f}"
                row[col["iso3"]], row[col["country"]] = "", ""  # the point decides
                w.writerow(row)
    return target


def measured(args: list[str]) -> dict[str, object]:
    """Run a command; its wall time and the peak RSS of it and of every process under it."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    peak: dict[int, tuple[str, int]] = {}
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in procs:
            try:
                rss = p.memory_info().rss
                role = "command" if p.pid == proc.pid else _role(p)
            except psutil.Error:
                continue
            if rss > peak.get(p.pid, ("", 0))[1]:
                peak[p.pid] = (role, rss)
        time.sleep(0.1)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{err[-3000:]}")
    return {"wall_s": round(wall, 2), "out": out.strip(),
            "peak_rss_mb": sorted(((role, round(rss / 2**20)) for role, rss in peak.values()),
                                  key=lambda r: -r[1])}


def _role(p: psutil.Process) -> str:
    line = " ".join(p.cmdline())
    return "worker" if "spawn_main" in line or "distributed" in line else p.name()


def run(n: int, engines: list[str], base: Path,
        steps: tuple[str, ...] = ("import", "enrich")) -> list[dict[str, object]]:
    src = base / f"acled-{n}.csv"
    if not src.exists():
        t = time.perf_counter()
        acled_csv(n, src)
        print(f"wrote {src} ({src.stat().st_size / 2**20:.0f} MB) in "
              f"{time.perf_counter() - t:.0f} s", flush=True)
    empty = base / "no-events"
    empty.mkdir(exist_ok=True)
    rows = []
    shared = base / f"imported-{n}.parquet"  # enrich alone reads one import, made once
    if "import" not in steps and not shared.exists():
        subprocess.run([CM, "import", "acled", str(src), "--to", str(shared)], check=True,
                       capture_output=True)
    for name in engines:
        data = base / f"{name}-{n}.parquet" if "import" in steps else shared
        enriched = base / f"{name}-{n}-enriched.parquet"
        for step, args in (
                ("import", [CM, "import", "acled", str(src), "--to", str(data)]),
                ("enrich", [CM, "enrich", "--events", str(empty), "--manifest", str(MANIFEST),
                            "--dataset", str(data), "--out", str(enriched)])):
            if step not in steps:
                continue
            m = measured([*args, *ENGINES[name]])
            m.update(n=n, engine=name, step=step, rows_per_s=round(n / m["wall_s"]))
            rows.append(m)
            top = m["peak_rss_mb"]
            print(f"{n:>10,} {name:<7} {step:<7} {m['wall_s']:>8.1f} s "
                  f"{m['rows_per_s']:>9,} rows/s  peak RSS MB: "
                  + ", ".join(f"{r} {mb}" for r, mb in top[:4]), flush=True)
        for p in (data, enriched) if "import" in steps else (enriched,):
            shutil.rmtree(p, ignore_errors=True)  # the next engine writes its own
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="*", type=int, default=[1_000_000])
    ap.add_argument("--engines", default="pandas,dask1,dask2")
    ap.add_argument("--steps", default="import,enrich", help="import,enrich or one of them")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", type=Path, help="folder for the CSVs (kept between runs)")
    a = ap.parse_args(argv)
    engines = a.engines.split(",")
    unknown = set(engines) - set(ENGINES)
    if unknown:
        ap.error(f"unknown engine(s) {', '.join(sorted(unknown))}; one of {', '.join(ENGINES)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = a.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        for n in a.n:
            rows += run(n, engines, base, tuple(a.steps.split(",")))
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
