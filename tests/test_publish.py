"""`build` publishes its outputs as one unit: killed anywhere, it leaves the old set or the new
set, never a mix; the next run leaves no staging files; no worker outlives it."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from benchmarks.synthetic import events as synthetic_events
from benchmarks.synthetic import write_yaml

from conflictmap.publish import JOURNAL, STAGE, publish, recover

from .conftest import ROOT

EXE = Path(sys.executable).with_name("conflictmap")
OUTPUTS = ("events.geojson", "layers.geojson", "map.html")


def digest(folder: Path) -> tuple[str, ...]:
    """The outputs' hashes, folium's random element ids set aside (they change every build)."""
    return tuple(hashlib.sha256(re.sub(rb"_[0-9a-f]{32}", b"_", (folder / n).read_bytes()))
                 .hexdigest() if (folder / n).exists() else "-" for n in OUTPUTS)


def build(events: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([str(EXE), "build", "--events", str(events), "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmd:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_killed_builds_leave_the_old_set_or_the_new_set(tmp_path):
    many = tmp_path / "many"
    write_yaml(synthetic_events(4_500), many)  # enough for the parallel YAML read to start
    out = tmp_path / "out"
    # the two sets: the bundled events, and the synthetic ones
    assert build(ROOT / "events", out).wait(120) == 0
    old = digest(out)
    fresh = tmp_path / "fresh"
    t0 = time.monotonic()
    assert build(many, fresh).wait(300) == 0
    took = time.monotonic() - t0
    new = digest(fresh)
    assert old != new
    rng = random.Random(11)
    seen = set()
    for _ in range(20):
        proc = build(many, out)
        time.sleep(rng.uniform(0.2, took * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        now = digest(out)
        assert now in (old, new), "a mix of old and new outputs"
        seen.add(now)
        time.sleep(0.3)  # workers die with their parent (PR_SET_PDEATHSIG)
        assert processes_mentioning(str(many)) == [], "a worker outlived the killed build"
        if now == new:  # start again from the old set, so each kill can tell
            assert build(ROOT / "events", out).wait(120) == 0
    assert old in seen  # the kills landed before and after the switch
    assert build(many, out).wait(300) == 0
    assert digest(out) == new
    assert not [p.name for p in out.iterdir() if STAGE in p.name or p.name == JOURNAL]


def test_an_interrupted_publish_is_rolled_forward(tmp_path):
    publish(tmp_path, {"a.txt": lambda p: p.write_text("old a"),
                       "b.txt": lambda p: p.write_text("old b")})
    # a run killed after writing its journal and moving one of two files
    (tmp_path / f"{STAGE}x-b.txt").write_text("new b")
    (tmp_path / "a.txt").write_text("new a")
    (tmp_path / JOURNAL).write_text(json.dumps({"a.txt": f"{STAGE}x-a.txt",
                                                "b.txt": f"{STAGE}x-b.txt"}))
    (tmp_path / f".{STAGE}y-map.html.123.tmp").write_text("half")  # a killed writer's temp
    recover(tmp_path)
    assert (tmp_path / "a.txt").read_text() == "new a"
    assert (tmp_path / "b.txt").read_text() == "new b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


@pytest.mark.parametrize("background", [(), ("b.txt",), ("a.txt",), ("a.txt", "b.txt")])
def test_a_failing_writer_leaves_the_old_set(tmp_path, background):
    """Also when the failing writer, or the good one, runs in a forked child: the child's
    error comes back as itself, and a child still writing when this process fails is
    stopped."""
    publish(tmp_path, {"a.txt": lambda p: p.write_text("old a")})

    def broken(path: Path) -> None:
        path.write_text("half")
        raise OSError(28, "disk full")

    def slow(path: Path) -> None:
        time.sleep(0.5 if "b.txt" in background else 0)
        path.write_text("new a")

    with pytest.raises(OSError, match="disk full"):
        publish(tmp_path, {"a.txt": slow, "b.txt": broken}, background=background)
    assert (tmp_path / "a.txt").read_text() == "old a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert os.listdir(tmp_path) == ["a.txt"]


def test_background_writers_run_in_another_process_at_the_same_time(tmp_path):
    def write(path: Path) -> None:
        start = time.monotonic()
        time.sleep(0.4)
        path.write_text(f"{os.getpid()} {start} {time.monotonic()}")

    publish(tmp_path, {"a.txt": write, "b.txt": write}, background=("a.txt",))
    a_pid, a_start, a_end = (tmp_path / "a.txt").read_text().split()
    b_pid, b_start, b_end = (tmp_path / "b.txt").read_text().split()
    assert int(b_pid) == os.getpid() and int(a_pid) != os.getpid()
    assert float(a_start) < float(b_end) and float(b_start) < float(a_end)  # side by side
    assert not Path(f"/proc/{a_pid}").exists()  # the child was waited for
