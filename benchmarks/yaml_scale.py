"""Events kept as YAML files at scale: validating 10k files; building the outputs from 10k files
with an empty records cache and again after one file changed; building from 100k files.

    .venv/bin/python -m benchmarks.yaml_scale [N_SMALL] [N_BUILD]

"validate" is what `conflictmap validate` does (read as build reads, check the place names),
with an empty records cache and again. "build" is what `conflictmap build` does after
start-up: read, geocode, enrich, render the page and publish map.html, events.geojson and
layers.geojson. The rebuild runs in the same process, as `build --watch` does. Targets
(2 cores): 10k validated <= 3 s; 10k cold build <= 3 s; rebuild after one change <= 1 s;
100k cold build <= 20 s.

"Empty cache" is the records cache (the events' validated rows, their enrichment). What
belongs to the layers and the machine is as an earlier run left it, as for any build but a
fresh install's first: the GeoNames index, the asset tarballs and the layer store
(`layercache`: the loaded layers, layers.geojson, the drawn outlines, the label candidates).
One more 10k build starts with the layer store empty and nothing remembered in the process,
to show what a first build after installing or changing the layers costs.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from conflictmap import export as exporter
from conflictmap import layercache, layerio
from conflictmap.pipeline import build, validate
from conflictmap.publish import publish
from conflictmap.recordcache import ENV
from conflictmap.render import map as page_module
from conflictmap.render.map import render

from .synthetic import events, write_yaml

ROOT = Path(__file__).resolve().parent.parent


def build_outputs(folder: Path, out: Path) -> int:
    """The `build` command's work, minus start-up; returns the HTML size in bytes."""
    result = build(folder, ROOT / "geodata" / "layers.yaml",
                   gazetteer=ROOT / "geodata" / "gazetteer.yaml")
    size = 0

    def page(target: Path) -> None:
        nonlocal size
        size = target.write_text(render(result), encoding="utf-8")

    publish(out, {
        "events.geojson": lambda t: exporter.write_events_geojson(result, t),
        "layers.geojson": lambda t: exporter.write_layers_geojson(result, t),
        "map.html": page,
    }, background=("events.geojson",))
    return size


def forget_layers() -> None:
    """Nothing of the layers remembered in this process, as in a new one."""
    layerio._CACHE.clear()
    exporter._LAYERS_TEXT[:] = [None, "", ""]
    page_module._LAST.clear()


def timed(figures: dict[str, float], label: str, run) -> object:
    t = time.perf_counter()
    out = run()
    figures[label] = round(time.perf_counter() - t, 2)
    return out


def main() -> None:
    n_small = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    n_build = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ[ENV] = str(Path(tmp) / "records-cache")  # empty: the first builds are cold
        folder = Path(tmp) / "events"
        write_yaml(events(max(n_small, n_build)), folder)
        files = sorted(folder.glob("*.yaml"))
        small = Path(tmp) / "small"
        small.mkdir()
        for f in files[:n_small]:
            os.link(f, small / f.name)  # a hard link: a regular file (symlinks are refused)
        out = Path(tmp) / "out"
        manifest = ROOT / "geodata" / "layers.yaml"
        os.environ[ENV] = str(Path(tmp) / "validate-cache")  # its own: the builds start cold
        timed(figures, f"validate {n_small} YAML files, empty cache (s)",
              lambda: validate([small], manifest))
        timed(figures, f"validate {n_small} YAML files again (s)",
              lambda: validate([small], manifest))
        os.environ[ENV] = str(Path(tmp) / "records-cache")
        timed(figures, f"build from {n_small} YAML files, empty cache (s)",
              lambda: build_outputs(small, out))
        changed = small / files[0].name
        changed.unlink()  # a new file in place of the link, so the 100k copy stays as it was
        changed.write_text(files[0].read_text("utf-8").replace("title: ", "title: Edited "),
                           "utf-8")
        timed(figures, f"rebuild from {n_small} YAML files after one changed (s)",
              lambda: build_outputs(small, out))
        os.environ[ENV] = str(Path(tmp) / "records-cache-2")
        os.environ[layercache.ENV] = str(Path(tmp) / "layer-store")
        forget_layers()
        timed(figures, f"build from {n_small} YAML files, empty cache and layer store (s)",
              lambda: build_outputs(small, out))
        os.environ[ENV] = str(Path(tmp) / "records-cache")
        size = timed(figures, f"build from {len(files)} YAML files, empty cache (s)",
                     lambda: build_outputs(folder, out))
        timed(figures, f"rebuild from {len(files)} YAML files, nothing changed (s)",
              lambda: build_outputs(folder, out))
        figures["html MB"] = round(size / 1e6, 1)  # type: ignore[operator]
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
