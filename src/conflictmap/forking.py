"""Work in a forked copy of this process, for the second core.

A build's two big writers (the page and events.geojson) read the same in-memory tables and
take seconds each at 100k events; Python runs one of them at a time. A forked child has those
tables already (copy-on-write), so it writes one file while the parent makes the other, and
nothing is pickled. The child dies with its parent (a killed build leaves no orphan), and its
error comes back to the parent as the exception it raised.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
from collections.abc import Callable

from .errors import ConflictmapError

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """This process ends when its parent does (Linux), instead of running on unseen."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's own clean-up still applies
        pass
    if parent is not None and os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


class Child:
    """`job()` running in a forked child; `wait()` returns when it is done or raises its
    error; `stop()` kills it (the parent failed, the child's work is not wanted)."""

    def __init__(self, job: Callable[[], object]):
        parent = os.getpid()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the parent's code
            code = 0
            try:
                os.close(read)
                die_with_parent(parent)
                job()
            except BaseException as exc:
                code = 1
                try:  # checked here: the parent must be able to rebuild it
                    data = pickle.dumps(exc)
                    pickle.loads(data)
                except Exception:
                    data = pickle.dumps(ConflictmapError(f"{type(exc).__name__}: {exc}"))
                with contextlib.suppress(OSError), os.fdopen(write, "wb") as fh:
                    fh.write(data)
            finally:
                os._exit(code)
        os.close(write)
        self.pid, self._read = pid, read
        self._ended = False

    def wait(self) -> None:
        with os.fdopen(self._read, "rb") as fh:
            data = fh.read()  # until the child exits: its pipe end closes then
        _, status = os.waitpid(self.pid, 0)
        self._ended = True  # its pid and our pipe's fd number may now be anybody's
        if data:
            raise pickle.loads(data)  # from our own child: trusted
        if status != 0:
            raise ConflictmapError(f"a background writer ended with status {status}")

    def stop(self) -> None:
        if self._ended:
            return
        self._ended = True
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.close(self._read)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def can_fork() -> bool:
    return hasattr(os, "fork")
