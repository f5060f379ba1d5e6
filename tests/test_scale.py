"""The dask engine on a real dask.distributed LocalCluster (2 worker processes): import,
enrich and export give exactly the rows and values of the pandas path, column by column; a
worker killed mid-run leaves no partial output and the rerun completes; the command line
starts and stops its own cluster without leaving a process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil
import pytest

from conflictmap import ingest
from conflictmap.dataset import read_records
from conflictmap.engine import DaskEngine, Engine
from conflictmap.geoparquet import STAGING, exists, parts
from conflictmap.partitions import enrich_to_parquet

from .conftest import ROOT
from .scaledata import acled_rows

distributed = pytest.importorskip("distributed")  # the `scale` extra, in `test`

N = 2_400
MANIFEST = ROOT / "geodata" / "layers.yaml"
EVENTS = ROOT / "events"  # with control changes: the timeline is the whole run's
EXE = Path(sys.executable).with_name("conflictmap")


@pytest.fixture(scope="module")
def data(tmp_path_factory, cluster) -> dict[str, object]:
    """The CSV imported by both engines (chunks of 400 rows: several parts a year)."""
    base = tmp_path_factory.mktemp("scale")
    src = acled_rows(N, base / "acled.csv")
    pandas = ingest.import_to_dataset("acled", src, base / "pandas.parquet", chunk_rows=400)
    dask = ingest.import_to_dataset("acled", src, base / "dask.parquet", chunk_rows=400,
                                    engine=DaskEngine(cluster))
    return {"base": base, "src": src, "pandas": pandas, "dask": dask}


def plain(v: object) -> object:
    if isinstance(v, list | tuple | np.ndarray):
        return [plain(x) for x in v]
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    return v


def assert_same(a: pd.DataFrame, b: pd.DataFrame, skip: tuple[str, ...] = ()) -> None:
    """The same columns, and in every column the same values, rows matched by id."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) and a["id"].is_unique
    a, b = (f.sort_values("id").reset_index(drop=True) for f in (a, b))
    for c in a.columns:
        if c in skip:
            continue
        if c == "geometry":
            assert list(a.geometry.to_wkb()) == list(b.geometry.to_wkb())
            continue
        assert a[c].dtype == b[c].dtype, c
        assert [plain(v) for v in a[c].astype(object)] == [
            plain(v) for v in b[c].astype(object)], c


def test_import_on_the_cluster_gives_the_pandas_rows(data):
    pandas, dask = data["pandas"], data["dask"]
    assert dask.rows == pandas.rows == N - 2
    assert [str(s) for s in dask.skipped] == [str(s) for s in pandas.skipped]
    base = data["base"]
    assert [Path(p).relative_to(base / "dask.parquet") for p in parts(base / "dask.parquet")] \
        == [Path(p).relative_to(base / "pandas.parquet") for p in parts(base / "pandas.parquet")]
    assert_same(gpd.read_parquet(base / "pandas.parquet"), gpd.read_parquet(base / "dask.parquet"))
    # the checked records too (origin_path names each engine's own file)
    assert_same(read_records(base / "pandas.parquet"), read_records(base / "dask.parquet"),
                skip=("origin_path",))


@pytest.fixture(scope="module")
def enriched(data, cluster) -> dict[str, Path]:
    base = data["base"]
    out = {}
    for name, engine in (("pandas", Engine()), ("dask", DaskEngine(cluster))):
        done = enrich_to_parquet([EVENTS], [base / "dask.parquet"], MANIFEST,
                                 base / f"enriched-{name}.parquet", engine=engine,
                                 task_rows=500)  # tasks of several parts, and several tasks
        assert done.rows == N - 2 + len(list(EVENTS.glob("*.yaml")))
        assert done.tasks >= (4 if name == "dask" else 1)
        out[name] = base / f"enriched-{name}.parquet"
    return out


def test_enrich_on_the_cluster_gives_the_pandas_values_column_by_column(enriched):
    a, b = (gpd.read_parquet(enriched[k]) for k in ("pandas", "dask"))
    assert_same(a, b)
    assert a["controller"].notna().any() and a["admin1"].notna().any()
    assert a["border_distance_km"].notna().any() and a["side_uncertain"].any()


def test_export_command_on_its_own_local_cluster_matches_and_leaves_no_process(data, enriched,
                                                                               tmp_path):
    target = tmp_path / "export.parquet"
    proc = subprocess.Popen(
        [str(EXE), "export", "--format", "parquet", "--engine", "dask", "--workers", "2",
         "--events", str(EVENTS), "--manifest", str(MANIFEST), "--dataset",
         str(data["base"] / "dask.parquet"), "--out", str(target)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    seen: set[int] = set()
    while proc.poll() is None:  # the workers it starts, while it runs
        try:
            seen |= {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "engine dask" in out
    assert len(seen) >= 2  # it did start worker processes
    time.sleep(0.5)
    alive = [p for p in seen if psutil.pid_exists(p)
             and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert alive == []
    assert_same(gpd.read_parquet(enriched["pandas"]), gpd.read_parquet(target))


def test_engine_dask_without_the_extra_names_the_pip_command(tmp_path):
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from conflictmap.cli import main\n"
            f"sys.argv = ['conflictmap', 'enrich', '--events', {str(EVENTS)!r}, '--dataset', "
            f"'x.parquet', '--out', {str(tmp_path / 'e.parquet')!r}, '--engine', 'dask']\n"
            "main()\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "pip install 'conflictmap[scale]'" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_worker_killed_during_enrich_leaves_no_output_and_the_rerun_completes(
        data, enriched, cluster, tmp_path):
    """Small parts (chunks of 100 rows) keep both workers busy; the scheduler is told not to
    retry, so the killed worker's task fails the run (with retries the run would complete)."""
    src = tmp_path / "small.parquet"
    ingest.import_to_dataset("acled", data["src"], src, chunk_rows=100,
                             engine=DaskEngine(cluster))
    target = tmp_path / "out.parquet"
    before = cluster.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
    cluster.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler,
                                                            "allowed_failures", 0))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            enrich_to_parquet([EVENTS], [src], MANIFEST, target, engine=DaskEngine(cluster),
                              task_rows=100)
        except BaseException as exc:  # the failure is what this test wants
            errors.append(exc)

    try:
        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(f"{STAGING}*/*/part-*.parquet")):  # mid-run
            assert time.monotonic() < deadline and worker.is_alive()
            time.sleep(0.01)
        while True:  # a worker holding a task of the run
            busy = [w for w, tasks in cluster.processing().items() if tasks]
            if busy:
                pid = cluster.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.005)
        worker.join(timeout=120)
    finally:
        cluster.run_on_scheduler(lambda dask_scheduler, n=before: setattr(
            dask_scheduler, "allowed_failures", n))
    assert errors and "KilledWorker" in type(errors[0]).__name__, errors
    assert not exists(target)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGING)]
    cluster.wait_for_workers(2, timeout=60)  # the nanny restarts the killed one
    done = enrich_to_parquet([EVENTS], [src], MANIFEST, target, engine=DaskEngine(cluster))
    assert done.rows == N - 2 + len(list(EVENTS.glob("*.yaml")))
    assert_same(gpd.read_parquet(enriched["pandas"]), gpd.read_parquet(target))
