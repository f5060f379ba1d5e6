"""Where the heavy steps run: in this process (the pandas engine, the default) or on a
dask.distributed cluster (`--engine dask`): a running scheduler (`--scheduler ADDRESS`) or a
local cluster of worker processes started here (`--workers N`) and always closed here.

Both engines offer the same three things, so a step is written once: `map` a function over
argument tuples (results in order; with dask a few tasks per worker in flight, so memory stays
bounded however many chunks there are), `run` one function, and `share` read-only data (the
layers, the timeline) that each task reads with `shared(key)`: with dask it is sent once to
each worker, and again to a worker that joins or is restarted later.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .errors import UsageError

ENGINES = ("pandas", "dask")
INSTALL = "pip install 'conflictmap[scale]'"
# a worker is restarted by its nanny past 95% of this: no worker process above 2 GB
WORKER_MEMORY = "1.9GB"

_SHARED: dict[str, Any] = {}


def shared(key: str) -> Any:
    """Data an engine shared with every worker (`Engine.share`), in the process running."""
    return _SHARED[key]


class Engine:
    """The pandas engine: every task in this process, one after the other."""

    name = "pandas"
    workers = 1

    def map(self, fn: Callable[..., Any], args: Iterable[tuple[Any, ...]],
            ahead: int | None = None) -> Iterator[Any]:
        """`fn(*a)` for each argument tuple, in order (`ahead`: tasks in flight, for dask)."""
        for a in args:
            yield fn(*a)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)

    def share(self, key: str, value: Any) -> None:
        _SHARED[key] = value


def local() -> Engine:
    return Engine()


class DaskEngine(Engine):
    """Tasks on a dask.distributed cluster through `client`."""

    name = "dask"

    def __init__(self, client: Any):
        self.client = client
        self.workers = max(len(client.scheduler_info(n_workers=-1)["workers"]), 1)

    def map(self, fn: Callable[..., Any], args: Iterable[tuple[Any, ...]],
            ahead: int | None = None) -> Iterator[Any]:
        """Results in order, with at most `ahead` tasks (default two a worker) submitted and
        not yet taken: the argument iterator (a CSV read in chunks) is consumed only as results
        come back, so the command holds a bounded number of arguments."""
        pending: deque[Any] = deque()
        ahead = ahead or 2 * self.workers
        try:
            for a in args:
                pending.append(self.client.submit(fn, *a, pure=False))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False).result()

    def share(self, key: str, value: Any) -> None:
        from ._daskplugin import Share

        self.client.register_plugin(Share(key, value), name=f"conflictmap-{key}")


def check_engine(name: str = "pandas", scheduler: str | None = None,
                 workers: int | None = None) -> None:
    """The engine options, refused as usage errors before any slow step (or data check):
    an unknown name, options that do not go together, dask without its extra."""
    if name not in ENGINES:
        raise UsageError(f"--engine: expected one of {', '.join(ENGINES)}")
    if name == "pandas":
        if scheduler or workers:
            raise UsageError("--scheduler and --workers go with --engine dask")
        return
    if scheduler and workers:
        raise UsageError("--workers starts a local cluster; with --scheduler the cluster's "
                         "own workers run the tasks: give one or the other")
    if workers is not None and workers < 1:
        raise UsageError("--workers: at least 1")
    try:
        import distributed  # noqa: F401  (only whether it is there)
    except ImportError:
        raise UsageError(f"--engine dask needs dask.distributed: {INSTALL}") from None


@contextlib.contextmanager
def open_engine(name: str = "pandas", scheduler: str | None = None,
                workers: int | None = None) -> Iterator[Engine]:
    """The engine by name. For dask: a client of the scheduler at `scheduler`, or a local
    cluster of `workers` processes (default 2), one thread each, closed on the way out
    (also on Ctrl-C and SIGTERM), so no worker outlives the command."""
    check_engine(name, scheduler, workers)
    if name == "pandas":
        yield Engine()
        return
    from distributed import Client, LocalCluster

    with _term_as_interrupt():
        cluster = None
        try:
            if scheduler:
                client = Client(scheduler)
            else:
                cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1,
                                       processes=True, memory_limit=WORKER_MEMORY,
                                       dashboard_address=None, silence_logs=logging.ERROR)
                client = Client(cluster)
        except OSError as exc:
            if cluster is not None:
                cluster.close()
            raise UsageError(f"--scheduler {scheduler}: cannot connect: {exc}") from None
        try:
            yield DaskEngine(client)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


@contextlib.contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C (closing the cluster) instead of ending the process on
    the spot; only in the main thread, where signal handlers can be set."""
    try:
        old = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _interrupt(_sig: int, _frame: object) -> None:
    raise KeyboardInterrupt
