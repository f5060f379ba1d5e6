"""The wheel installs anywhere: a fresh venv outside the repository, an empty folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

DEV_TOOLS = ("pytest", "ruff", "playwright", "build", "hypothesis", "nbclient", "ipykernel")


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


@pytest.mark.slow
def test_wheel_builds_the_bundled_map_from_an_empty_folder(tmp_path):
    dist = tmp_path / "dist"
    # sdist, then the wheel from the sdist, as `python -m build` makes them (the build
    # backend comes from pip's index, like every dependency below; pip's cache keeps it quick)
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], tmp_path)
    wheel = next(dist.glob("conflictmap-*.whl"))
    assert next(dist.glob("conflictmap-*.tar.gz"))
    names = run([sys.executable, "-m", "zipfile", "-l", str(wheel)], tmp_path)
    assert "conflictmap/_geodata/layers.yaml" in names
    assert "conflictmap/_events/2020-11-26-sotk-mine-entry.yaml" in names
    assert ".tgz" not in names and "leaflet.js" not in names  # assets come from npm, later
    modules = {str(f.relative_to(ROOT / "src")) for f in (ROOT / "src").rglob("*.py")}
    missing = sorted(m for m in modules if m not in names)  # a subpackage left off the list
    assert not missing, missing
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    py = venv / "bin" / "python"
    run([str(py), "-m", "pip", "install", "-q", str(wheel)], tmp_path)  # deps must resolve
    listed = run([str(py), "-m", "pip", "list", "--format=freeze"], tmp_path).lower()
    installed = {line.split("==")[0] for line in listed.splitlines()}
    assert not installed & set(DEV_TOOLS), installed & set(DEV_TOOLS)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CONFLICTMAP_PROJECT"}
    exe = str(venv / "bin" / "conflictmap")
    assert run([exe, "--version"], empty, env).strip() == "conflictmap 0.1.0"
    examples = run([str(py), "-c", "import conflictmap; print(conflictmap.example_events())"],
                   empty, env).strip()
    assert "site-packages" in examples
    out = run([exe, "build", "--events", examples], empty, env)
    assert "8 events mapped" in out
    assert (empty / "outputs" / "map.html").stat().st_size > 100_000
    doctests = ("import doctest, conflictmap, conflictmap.api as a; "
                "r = doctest.testmod(a); print(r.failed, r.attempted)")
    report = run([str(py), "-c", doctests], empty, env)
    failed, attempted = report.split()[-2:]
    assert failed == "0" and int(attempted) > 10, report
    assert list(empty.iterdir()) == [empty / "outputs"]  # nothing written beside it but that
