"""`build --watch`: rebuild when an event file changes, serve the outputs, say what happened.

Changes are found by polling the size, modification time and inode of every file under the
watched folders (10k files: ~30 ms a look), so no watcher package or OS service is needed and
editors that save by renaming are seen too. A rebuild that fails leaves the last good
outputs in place and the watch goes on; Ctrl-C ends it cleanly.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .errors import ConflictmapError

Snapshot = dict[str, tuple[int, int, int]]


def snapshot(paths: Iterable[Path]) -> Snapshot:
    """(size, mtime_ns, inode) of every entry under `paths`, hidden ones (temp files of
    editors and of our own writers) left out."""
    out: Snapshot = {}

    def walk(folder: str) -> None:
        with contextlib.suppress(OSError), os.scandir(folder) as it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        walk(entry.path)
                    else:
                        st = entry.stat(follow_symlinks=False)
                        out[entry.path] = (st.st_size, st.st_mtime_ns, st.st_ino)

    for p in paths:
        if p.is_dir():
            walk(str(p))
        else:
            with contextlib.suppress(OSError):
                st = p.stat()
                out[str(p)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


class _Quiet(SimpleHTTPRequestHandler):
    """Serves the output folder, never from a browser's cache, without a log line a request
    (the page asks for the stamp every second)."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(folder: Path, port: int) -> Iterator[str]:
    """The folder on http://127.0.0.1:PORT (port 0: any free one) while the block runs."""
    folder.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_Quiet, directory=str(folder))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise ConflictmapError(f"--port {port}: cannot serve: {exc.strerror}") from None
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def watch(paths: list[Path], rebuild: Callable[[], str], say: Callable[[str], None],
          interval: float = 0.3) -> None:
    """Run `rebuild` now and after every change under `paths`, until Ctrl-C. Each run is one
    line: the time, how long it took and what `rebuild` said, or the problems that stopped it
    (the outputs of the last good run stay)."""
    seen: Snapshot | None = None
    try:
        while True:
            now = snapshot(paths)
            if now != seen:
                seen = now
                started = time.perf_counter()
                clock = time.strftime("%H:%M:%S")
                try:
                    said = rebuild()
                except ConflictmapError as exc:
                    took = time.perf_counter() - started
                    lines = exc.lines()
                    say(f"{clock} build failed in {took:.2f}s; the last good outputs stay: "
                        + "; ".join(lines[:20])
                        + (f"; and {len(lines) - 20} more" if len(lines) > 20 else ""))
                else:
                    say(f"{clock} rebuilt in {time.perf_counter() - started:.2f}s: {said}")
            time.sleep(interval)
    except KeyboardInterrupt:
        say("stopped watching")
