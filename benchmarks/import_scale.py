"""Import speed: N ACLED rows (HDX layout, from the codebook fixture, ids and points varied)
into YAML files and into one dataset file. Targets (2 cores): 5k rows to YAML <= 10 s, 100k
rows to a dataset <= 10 s.

    .venv/bin/python -m benchmarks.import_scale [N_YAML] [N_DATASET]
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from pathlib import Path

from conflictmap import ingest

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / "acled_hdx_armenia.csv"


def acled_csv(n: int, target: Path) -> Path:
    """n rows shaped like the fixture's (its HXL row kept), each with its own id and point."""
    with FIXTURE.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header, hxl, *rows = list(reader)
    col = {c: i for i, c in enumerate(header)}
    with target.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerow(hxl)
        for k in range(n):
            row = list(rows[k % len(rows)])
            row[col["event_id_cnty"]] = f"{row[col['event_id_cnty']][:3]}{100000 + k}"
            row[col["data_id"]] = str(9_000_000 + k)
            row[col["latitude"]] = f"{float(row[col['latitude']]) + (k % 97) * 1e-4:.4f}"
            w.writerow(row)
    return target


def main(n_yaml: int = 5_000, n_dataset: int = 100_000) -> dict[str, float]:
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        src = acled_csv(n_yaml, base / "yaml.csv")
        t = time.perf_counter()
        report = ingest.import_csv("acled", src, base / "events")
        out[f"{n_yaml} rows -> YAML files, s"] = time.perf_counter() - t
        assert len(report.written) == n_yaml, report.skipped[:3]
        src = acled_csv(n_dataset, base / "dataset.csv")
        t = time.perf_counter()
        report = ingest.import_to_dataset("acled", src, base / "big.gpkg")
        out[f"{n_dataset} rows -> dataset, s"] = time.perf_counter() - t
        assert report.rows == n_dataset, report.skipped[:3]
    for k, v in out.items():
        print(f"{k:<32} {v:8.2f}")
    return out


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
