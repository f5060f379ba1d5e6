"""Events kept as YAML files at scale: validating 10k files, building the map from 100k.

    .venv/bin/python -m benchmarks.yaml_scale [N_VALIDATE] [N_BUILD]

Targets (2 cores): 10k YAML files validated <= 3 s; build from 100k YAML files <= 30 s.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from conflictmap.pipeline import build
from conflictmap.render.map import render
from conflictmap.store import load_events

from .synthetic import events, write_yaml

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    n_validate = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    n_build = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "events"
        write_yaml(events(max(n_validate, n_build)), folder)
        files = sorted(folder.glob("*.yaml"))
        small = Path(tmp) / "small"
        small.mkdir()
        for f in files[:n_validate]:
            os.link(f, small / f.name)  # a hard link: a regular file (symlinks are refused)
        t = time.perf_counter()
        load_events([small])
        figures[f"validate {n_validate} YAML files (s)"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        result = build(folder, ROOT / "geodata" / "layers.yaml",
                       gazetteer=ROOT / "geodata" / "gazetteer.yaml")
        page = render(result)
        figures[f"build map from {len(files)} YAML files (s)"] = round(time.perf_counter() - t, 2)
        figures["html MB"] = round(len(page) / 1e6, 1)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
