"""Export sizes and times for the bundled events and for 100k synthetic events.

    .venv/bin/python -m benchmarks.exchange [N]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from conflictmap import export
from conflictmap.dataset import write_dataset
from conflictmap.pipeline import build

from .synthetic import events

ROOT = Path(__file__).resolve().parent.parent


def run(result, out: Path) -> dict[str, dict[str, float]]:
    figures = {}
    for fmt in export.FORMATS:
        t = time.perf_counter()
        path = export.export(result, fmt, out / f"events{export.SUFFIX[fmt]}")
        figures[fmt] = {"seconds": round(time.perf_counter() - t, 3),
                        "bytes": path.stat().st_size}
    return figures


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        bundled = build(ROOT / "events", ROOT / "geodata" / "layers.yaml",
                        gazetteer=ROOT / "geodata" / "gazetteer.yaml")
        report["bundled (8 events)"] = run(bundled, out / "b")
        t = time.perf_counter()
        evs = events(n)
        write_dataset(evs, out / "syn.gpkg")
        report["synthetic dataset written (s)"] = round(time.perf_counter() - t, 2)
        empty = out / "none"
        empty.mkdir()
        t = time.perf_counter()
        big = build(empty, ROOT / "geodata" / "layers.yaml", datasets=[out / "syn.gpkg"],
                    gazetteer=ROOT / "geodata" / "gazetteer.yaml")
        report[f"pipeline over {n} dataset events (s)"] = round(time.perf_counter() - t, 2)
        report[f"synthetic ({n} events)"] = run(big, out / "s")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
