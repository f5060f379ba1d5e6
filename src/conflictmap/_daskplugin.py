"""The worker plugin `DaskEngine.share` registers (a module of its own: it imports
distributed, which only the dask engine needs)."""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

from . import engine


class Share(WorkerPlugin):
    """Puts one value in each worker's shared data when the worker starts (or is started
    again after a crash): layers and timeline travel once per worker, not once per task."""

    def __init__(self, key: str, value: Any):
        self.key, self.value = key, value

    def setup(self, worker: Any) -> None:
        engine._SHARED[self.key] = self.value
