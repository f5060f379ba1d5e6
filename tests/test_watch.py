"""`build --watch` for real: a subprocess watching a tiny events folder, the page open in
headless Chromium from disk, an edit that reloads it, a broken file that keeps the last good
outputs, and Ctrl-C that ends it with exit 0 and nothing left behind."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from .browser import chromium, open_offline
from .conftest import ROOT

pytestmark = pytest.mark.browser
EXE = Path(sys.executable).with_name("conflictmap")
MINE = "2020-11-26-sotk-mine-entry"


class Lines:
    """The watcher's stdout, line by line, read in a thread so the pipe never fills."""

    def __init__(self, proc: subprocess.Popen[str]):
        self.q: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.q.put(line.rstrip("\n"))

    def wait_for(self, word: str, timeout: float = 30) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if word in line:
                return line
        raise AssertionError(f"no line with {word!r} in {self.seen}")


def test_watch_rebuilds_reloads_the_open_page_and_stops_cleanly(tmp_path):
    events, out = tmp_path / "events", tmp_path / "out"
    events.mkdir()
    for name in (f"{MINE}.yaml", "2020-11-10-trilateral-ceasefire.yaml"):
        shutil.copy(ROOT / "events" / name, events / name)
    proc = subprocess.Popen([str(EXE), "build", "--watch", "--port", "0", "--events",
                             str(events), "--out", str(out)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = Lines(proc)
    try:
        url = lines.wait_for("serving").split("serving ", 1)[1].split(" ", 1)[0]
        first = lines.wait_for("rebuilt in")
        assert "2 events mapped" in first
        with urllib.request.urlopen(url) as r:  # served on 127.0.0.1 as well as on disk
            assert b"build-stamp.js" in r.read()
        with chromium() as browser:
            w = open_offline(browser, (out / "map.html").as_uri() + f"#event={MINE}")
            page = w.page
            popup = f'.leaflet-popup .cm-popup[data-event="{MINE}"]'
            page.locator(popup).wait_for()
            page.evaluate("window.__beforeEdit = true")
            source = events / f"{MINE}.yaml"
            text = source.read_text("utf-8")
            old_title = next(ln for ln in text.splitlines() if ln.startswith("title:"))
            source.write_text(text.replace(old_title, "title: Renamed while watching"), "utf-8")
            lines.wait_for("rebuilt in")
            page.wait_for_function(
                f"""() => !window.__beforeEdit && document.body.dataset.cmReady === '1'
                    && (document.querySelector('{popup}') || {{}}).textContent
                       ?.includes('Renamed while watching')""", timeout=10_000)
            assert w.errors == [] and w.blocked == []
        good = (out / "map.html").read_bytes()
        (events / "2020-11-30-broken.yaml").write_text("title: [unclosed\n", "utf-8")
        failed = lines.wait_for("build failed")
        assert "2020-11-30-broken.yaml:" in failed and "last good outputs stay" in failed
        assert (out / "map.html").read_bytes() == good
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    assert sorted(p.name for p in out.iterdir()) == [
        "build-stamp.js", "events.geojson", "layers.geojson", "map.html"]
    assert sorted(p.name for p in events.iterdir()) == [
        "2020-11-10-trilateral-ceasefire.yaml", "2020-11-26-sotk-mine-entry.yaml",
        "2020-11-30-broken.yaml"]


def test_a_normal_build_has_no_reload_snippet(tmp_path):
    events, out = tmp_path / "events", tmp_path / "out"
    events.mkdir()
    shutil.copy(ROOT / "events" / f"{MINE}.yaml", events)
    r = subprocess.run([str(EXE), "build", "--events", str(events), "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "build-stamp" not in (out / "map.html").read_text("utf-8")
    assert not (out / "build-stamp.js").exists()
