"""Smoke runs of the on-demand benchmarks at a tiny size: they must keep working."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import ROOT


@pytest.mark.browser
def test_map_build_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, "-m", "benchmarks.map_build", "200", "--json", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("| N | build s (ours cold / warm / naive)")
    (row,) = json.loads(out.read_text("utf-8"))
    assert row["n"] == 200 and row["cache_mb"] > 0
    for kind in ("ours", "ours_warm", "naive"):
        assert row[kind]["build_s"] > 0 and row[kind]["html_bytes"] > 100_000
    for kind in ("ours", "naive"):
        assert 0 < row[kind]["drawn_ms"] < 60_000
    assert row["ours"]["popup_ms"] < 5_000 and row["ours"]["js_heap_mb"] > 0


def test_geocode_enrich_benchmark_smoke():
    r = subprocess.run([sys.executable, "-m", "benchmarks.geocode_enrich", "--lookups", "2000",
                        "--points", "5000"], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout)
    assert figures["lookups"] == 2000 and figures["points"] == 5000
    assert all(v > 0 for v in figures.values())


def test_extract_benchmark_smoke():
    r = subprocess.run([sys.executable, "-m", "benchmarks.extract", "3", "1500"], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout)
    assert figures["articles"] == 3 and figures["drafts"] > 0 and figures["total_s"] > 0


def test_scale_benchmark_smoke(tmp_path):
    out = tmp_path / "scale.json"
    r = subprocess.run([sys.executable, "-m", "benchmarks.scale", "300", "--engines", "pandas",
                        "--keep", str(tmp_path), "--json", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rows = json.loads(out.read_text("utf-8"))
    assert [(x["engine"], x["step"]) for x in rows] == [("pandas", "import"),
                                                        ("pandas", "enrich")]
    assert "wrote 300 events" in rows[0]["out"] and "300 events" in rows[1]["out"]
    assert all(x["wall_s"] > 0 and x["peak_rss_mb"][0][1] > 50 for x in rows)


def test_big_build_benchmark_smoke(tmp_path):
    r = subprocess.run([sys.executable, "-m", "benchmarks.big_build", "3000", "--keep",
                        str(tmp_path), "--from", "2021-12-01"], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout)
    assert figures["rows"] == 3000 and figures["mode"] in ("bins", "symbols")
    assert "of 3,000 events in detail (2021-12-01 to" in figures["scope"]
    assert figures["page_mb"] > 0 and figures["drawn_ms"] > 0
