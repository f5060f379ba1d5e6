"""More events than a page can hold: counts per cell, time step and type for every event, and
the window of events the page shows in detail.

A page stays quick to open up to about 100k events (~25 MB). Past that, `build` keeps the
detail to a window (`--from`, `--to`, `--bbox`, or by default the latest days that fit the
detail limit) and draws everything else as density: the datasets are read for three columns
only (date, type, point), so 2M rows cost seconds and a few hundred MB, not a full read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import shapely

from .budget import DETAIL_EVENTS, PAGE_EVENTS
from .errors import UsageError
from .model import ACLED_TYPES
from .yamlio import stat_signature

LAYER = "events"  # dataset.LAYER: the table every dataset file holds
MAX_CELLS = 300_000  # (cell, time step, type) counts a page carries at most
CELL_DEG = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)  # finest first
LONG_SPAN_DAYS = 200  # longer spans step by week, as the page's histogram does

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class Window:
    """Which dataset rows the page shows in detail: dates (inclusive) and a lon/lat box."""

    start: date | None = None
    end: date | None = None
    bbox: BBox | None = None

    @property
    def given(self) -> bool:
        return self.start is not None or self.end is not None or self.bbox is not None

    def where(self) -> str | None:
        """The dates as SQL for a GPKG's driver (dates are ISO text, so text order is date
        order); the box goes to the spatial index instead."""
        from .chunks import day_where

        return day_where(self.start, self.end)

    def __str__(self) -> str:
        span = f"{self.start or '…'} to {self.end or '…'}"
        box = f", within {', '.join(f'{v:g}' for v in self.bbox)}" if self.bbox else ""
        return span + box


def parse_bbox(text: str) -> BBox:
    """`--bbox W,S,E,N` in degrees, checked (west < east, south < north, on the globe)."""
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"--bbox: expected W,S,E,N in degrees, got {text!r}") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise UsageError(f"--bbox: {text!r} is not west,south,east,north with west < east "
                         "and south < north")
    return (w, s, e, n)


@dataclass
class Density:
    """Every event counted by (cell, time step, type): the page bins these with weights.

    `lat`/`lon` are cell centres, `day` the first day of the step (days since `start`),
    `type` an index into ACLED_TYPES, `n` the count. `located` events are counted;
    `unlocated` rows lack a point, a date or a known type (read in detail, the row's own
    check says what is wrong), and are not.
    """

    start: date
    days: int
    step_days: int
    cell_deg: float
    lat: np.ndarray
    lon: np.ndarray
    day: np.ndarray
    type: np.ndarray
    n: np.ndarray
    located: int
    unlocated: int
    total: int
    window: Window = field(default_factory=Window)
    detail: int = 0

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    def frame(self) -> gpd.GeoDataFrame:
        """The counts as points at cell centres, one row per (cell, step, type), for GIS."""
        first = np.datetime64(self.start, "D") + self.day.astype("timedelta64[D]")
        last = np.minimum(first + np.timedelta64(self.step_days - 1, "D"),
                          np.datetime64(self.end, "D"))
        return gpd.GeoDataFrame({
            "from": first.astype(str), "to": last.astype(str),
            "event_type": np.array(list(ACLED_TYPES), dtype=object)[self.type],
            "events": self.n, "cell_deg": np.full(len(self.n), self.cell_deg),
        }, geometry=gpd.points_from_xy(self.lon, self.lat), crs=4326)

    def note(self) -> str:
        """The page's shorter word on it (the panel is narrow)."""
        step = "day" if self.step_days == 1 else f"{self.step_days} days"
        return (f"{self.detail:,} of {self.total:,} events in detail ({self.window}). The bins "
                f"count every located event by type and date ({self.cell_deg:g}° cells per "
                f"{step}); the other filters, the list and the popups cover the detail.")

    def summary(self) -> str:
        """One sentence for the command's output and the page."""
        step = "day" if self.step_days == 1 else f"{self.step_days} days"
        left = (f"; {self.unlocated:,} rows with no point, date or known event type are "
                "not in the density" if self.unlocated else "")
        return (f"{self.detail:,} of {self.total:,} events in detail ({self.window}); all "
                f"{self.located:,} located events as density in {self.cell_deg:g}° cells "
                f"per {step}{left}")


def count_rows(datasets: Sequence[Path | str]) -> int:
    """The rows of the datasets, from their headers (a GPKG's feature count, the GeoParquet
    parts' footers): no row is read."""
    from .geoparquet import _fs, is_parquet, is_url, parts

    total = 0
    for p in datasets:
        if is_parquet(p):
            total += sum(pq.ParquetFile(f, filesystem=_fs(f) if is_url(f) else None
                                        ).metadata.num_rows for f in parts(p))
        else:
            total += int(pyogrio.read_info(p, layer=LAYER)["features"])
    return total


def _days(when: np.ndarray) -> np.ndarray:
    """ISO dates or date-times (text, as a dataset stores them) as days since 1970; far
    below DAY0 for a value that is no date (not counted; the row's own check reports it when
    it is read in detail)."""
    day = pd.to_datetime(pd.Series(when.astype("U10")), format="%Y-%m-%d", errors="coerce")
    out = day.to_numpy().astype("datetime64[D]").astype(np.int64)
    out[day.isna().to_numpy()] = -(10**6)
    return out


FINE = 0.01  # degrees: every coarser cell of CELL_DEG is a whole number of these
COLS = round(360 / FINE) + 1
DAY0 = -25_567  # 1900-01-01 in days since 1970
DAYSPAN = 110_000  # days from DAY0 a key can hold (to about 2201)
NTYPES = 8  # >= len(ACLED_TYPES)


@dataclass
class Fine:
    """Counts at the finest cell and a day (what a task returns: far fewer rows than the
    events once they cluster), and the rows a day (located or not) for choosing a window.
    `uncounted`: rows with no point, date or known type (counted only if read in detail)."""

    cx: np.ndarray
    cy: np.ndarray
    day: np.ndarray  # days since 1970
    type: np.ndarray
    n: np.ndarray
    days: np.ndarray  # every row's day, as unique days ...
    days_n: np.ndarray  # ... and their rows
    uncounted: int

    @classmethod
    def of(cls, day: np.ndarray, kind: np.ndarray, lon: np.ndarray, lat: np.ndarray,
           weight: np.ndarray | None = None, every: np.ndarray | None = None,
           uncounted: int = 0) -> Fine:
        """Points (already checked) counted per fine cell, day and type."""
        cx = np.floor((lon + 180.0) / FINE).astype(np.int64)
        cy = np.floor((lat + 90.0) / FINE).astype(np.int64)
        key = ((cy * COLS + cx) * DAYSPAN + (day - DAY0)) * NTYPES + kind
        uniq, inv = np.unique(key, return_inverse=True)
        n = np.bincount(inv, weights=weight).astype(np.int64) if len(key) else np.empty(
            0, np.int64)
        rest = uniq // NTYPES
        cell = rest // DAYSPAN
        days, days_n = np.unique(day if every is None else every, return_counts=True)
        return cls(cell % COLS, cell // COLS, rest % DAYSPAN + DAY0, (uniq % NTYPES),
                   n, days, days_n.astype(np.int64), uncounted)

    @classmethod
    def merge(cls, parts: Sequence[Fine]) -> Fine:
        if not parts:
            e = np.empty(0, np.int64)
            return cls(e, e, e, e, e, e, e, 0)
        if len(parts) == 1:
            return parts[0]
        cat = {k: np.concatenate([getattr(p, k) for p in parts])
               for k in ("cx", "cy", "day", "type", "n", "days", "days_n")}
        lon = (cat["cx"] + 0.5) * FINE - 180.0
        lat = (cat["cy"] + 0.5) * FINE - 90.0
        out = cls.of(cat["day"], cat["type"], lon, lat, weight=cat["n"])
        days, inv = np.unique(cat["days"], return_inverse=True)
        out.days, out.days_n = days, np.bincount(inv, weights=cat["days_n"]).astype(np.int64)
        out.uncounted = sum(p.uncounted for p in parts)
        return out

    @property
    def counted(self) -> int:
        return int(self.n.sum())


def fine_of(files: Sequence[str]) -> Fine:
    """One task: the fine counts of a GPKG or of a group of GeoParquet parts, read in
    bounded chunks of three columns (no record is built). Runs on a dask worker too."""
    from .chunks import iter_chunks

    types = {t: k for k, t in enumerate(ACLED_TYPES)}
    got: list[Fine] = []
    for f in files:
        for chunk in iter_chunks(f, columns=["date", "event_type"]):
            day = _days(chunk["date"].astype(object).to_numpy())
            kind = chunk["event_type"].map(types).fillna(-1).to_numpy().astype(np.int64)
            geom = chunk.geometry.to_numpy()
            ok = (~(shapely.is_missing(geom) | shapely.is_empty(geom)) & (kind >= 0)
                  & (day >= DAY0) & (day < DAY0 + DAYSPAN))
            x, y = np.full(len(geom), np.nan), np.full(len(geom), np.nan)
            x[ok], y[ok] = shapely.get_x(geom[ok]), shapely.get_y(geom[ok])
            ok &= np.isfinite(x) & np.isfinite(y) & (np.abs(y) <= 90) & (np.abs(x) <= 180)
            every = day[day >= DAY0]
            got.append(Fine.of(day[ok], kind[ok], x[ok], y[ok], every=every,
                               uncounted=int((~ok).sum())))
    return Fine.merge(got)


_SCANNED: dict[tuple[str, tuple[int, ...] | None], Fine] = {}


def _signature(path: Path | str) -> tuple[int, ...] | None:
    """A file's stat signature; for a GeoParquet folder, its parts' (a part rewritten or
    added changes it); None for a URL (never remembered)."""
    from .geoparquet import is_parquet, is_url, parts

    if is_url(path):
        return None
    if not is_parquet(path) or Path(path).is_file():
        return stat_signature(Path(path))
    sigs = [stat_signature(Path(f)) or () for f in parts(path)]
    return tuple(v for sig in sigs for v in sig) or None


def scan(datasets: Sequence[Path | str], engine: Any = None) -> Fine:
    """Every dataset row counted at the finest cell and day, one task a GPKG or ~100k rows
    of GeoParquet parts, on `engine` (an `engine.Engine`; default: this process). Kept while
    the files are unchanged: planning the window and counting both need it."""
    from .partitions import sources, tasks

    key = ("\n".join(map(str, datasets)), tuple(v for p in datasets
                                                 for v in (_signature(p) or (-1,))))
    if -1 not in key[1] and key in _SCANNED:
        return _SCANNED[key]
    groups = tasks(sources(list(datasets)))
    if engine is None:
        found = [fine_of(g) for g in groups]
    else:
        found = list(engine.map(fine_of, [(g,) for g in groups]))
    got = Fine.merge(found)
    _SCANNED.clear()  # one set at a time: a watch rebuild must not keep every version
    _SCANNED[key] = got
    return got


def _choices(base: int) -> list[tuple[float, int]]:
    """(cell, step days) from finest: past 0.05° a longer step (a week, or four) is tried
    before a coarser cell, since a place matters more than a day on a map of millions."""
    out = []
    for cell in CELL_DEG:
        out.append((cell, base))
        if cell >= 0.05:
            out.append((cell, base * 4 if base == 7 else 7))
    return out


def density(datasets: Sequence[Path | str], extra: Sequence[tuple[date, str, float, float]] = (),
            max_cells: int = MAX_CELLS, engine: Any = None) -> Density:
    """Counts per (cell, step, type) of every dataset row and of `extra` events (day, type,
    lon, lat): the finest cell (from `CELL_DEG`) and step whose counts fit `max_cells`.
    The rows are counted on `engine`; the (small) fine counts are coarsened here."""
    fine = scan(datasets, engine)
    types = {t: k for k, t in enumerate(ACLED_TYPES)}
    more = [(np.datetime64(d, "D").astype(np.int64), types[t], x, y)
            for d, t, x, y in extra if t in types]
    if more:
        d, t, x, y = (np.array(c) for c in zip(*more, strict=True))
        fine = Fine.merge([fine, Fine.of(d.astype(np.int64), t.astype(np.int64),
                                         x.astype(float), y.astype(float))])
    counted = fine.counted
    if counted == 0:
        e = np.empty(0)
        return Density(date.today(), 1, 1, CELL_DEG[0], e, e, e.astype(int), e.astype(int),
                       e.astype(int), 0, fine.uncounted, fine.uncounted)
    first = int(fine.day.min())
    days = int(fine.day.max()) - first + 1
    base = 7 if days > LONG_SPAN_DAYS else 1
    for cell, step in _choices(base):
        r = round(cell / FINE)
        steps = (fine.day - first) // step
        nsteps = int(steps.max()) + 1
        cols = COLS // r + 1
        key = (((fine.cy // r) * cols + fine.cx // r) * nsteps + steps) * NTYPES + fine.type
        uniq, inv = np.unique(key, return_inverse=True)
        if len(uniq) <= max_cells:
            break
    n = np.bincount(inv, weights=fine.n).astype(np.int64)
    kind = uniq % NTYPES
    rest = uniq // NTYPES
    st = rest % nsteps
    cell_id = rest // nsteps
    lat = (cell_id // cols + 0.5) * cell - 90.0
    lon = (cell_id % cols + 0.5) * cell - 180.0
    start = date(1970, 1, 1) + timedelta(days=first)
    return Density(start, days, step, cell, np.round(lat, 5), np.round(lon, 5),
                   (st * step).astype(np.int64), kind.astype(np.int64), n,
                   counted, fine.uncounted, counted + fine.uncounted)


def latest_window(datasets: Sequence[Path | str], limit: int, engine: Any = None) -> Window:
    """The latest whole days whose rows fit `limit` (at least the last day): what a reader
    of a large set most often wants first, and a choice the page states."""
    fine = scan(datasets, engine)
    if not len(fine.days):
        return Window()
    from_end = np.cumsum(fine.days_n[::-1])
    fit = int(np.searchsorted(from_end, limit, side="right"))  # days that fit, from the end
    first = fine.days[::-1][max(fit, 1) - 1]
    epoch = date(1970, 1, 1)
    return Window(start=epoch + timedelta(days=int(first)),
                  end=epoch + timedelta(days=int(fine.days[-1])))


def detail_rows(datasets: Sequence[Path | str], window: Window) -> int:
    """How many dataset rows the window selects (one column read, filtered at the source)."""
    from .chunks import iter_chunks

    return sum(len(c) for p in datasets
               for c in iter_chunks(p, columns=["id"], start=window.start, end=window.end,
                                    bbox=window.bbox))


def plan(datasets: Sequence[Path | str], yaml_events: int, window: Window,
         detail_limit: int = DETAIL_EVENTS, page_limit: int = PAGE_EVENTS,
         engine: Any = None) -> Window | None:
    """The window to show in detail, or None when the whole set fits one page.

    A window the user gives is kept as given and must fit `detail_limit`; otherwise a set
    larger than `page_limit` gets the latest days that fit."""
    total = count_rows(datasets) + yaml_events
    if not window.given:
        if total <= page_limit:
            return None
        window = latest_window(datasets, max(1, detail_limit - yaml_events), engine)
        fine = scan(datasets, engine)  # remembered: the days' rows are already counted
        epoch = np.datetime64("1970-01-01", "D")
        inside = ((fine.days >= (np.datetime64(window.start, "D") - epoch).astype(int))
                  & (fine.days <= (np.datetime64(window.end, "D") - epoch).astype(int)))
        n = int(fine.days_n[inside].sum())
    else:
        n = detail_rows(datasets, window)
    if n + yaml_events > detail_limit:
        raise UsageError(f"the window {window} holds {n + yaml_events:,} events; a page shows "
                         f"at most {detail_limit:,} in detail (the rest as density): narrow "
                         "--from/--to/--bbox or raise --detail-limit")
    return window
