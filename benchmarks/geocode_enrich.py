"""Gazetteer index load, 100k lookups, and enrichment of 1M random points in the region.

    python -m benchmarks.geocode_enrich            # from the repository root
    python -m benchmarks.geocode_enrich --lookups 2000 --points 10000   # a quick smoke run

Targets (2-core machine): index load <= 1 s warm, 100k lookups <= 1 s, 1M points <= 3 s
Lookups go through `geocode_many`, the batch path the build pipeline uses.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np

from conflictmap import layerio as layers
from conflictmap.geocode.gazetteer import GeoNames, load_index, read_gazetteer
from conflictmap.pipeline import enrich_with, layer_frames
from conflictmap.timeline import Change, Timeline

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["Zod", "Sotk", "Karvachar", "Kalbajar", "Shushi", "Stepanakert", "Khankendi",
         "Agdam", "Lachin", "Vardenis", "Yerevan", "Ganja", "Baku", "Goris", "Jermuk",
         "Berdzor", "Tartar", "Fizuli", "Jabrayil", "Sisian"]


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def main(n_lookups: int = 100_000, n_points: int = 1_000_000) -> dict[str, float]:
    load_index()  # make sure the cache exists; the target is the warm load
    aliases = read_gazetteer(ROOT / "geodata" / "gazetteer.yaml").aliases
    # "load" = ready to answer: the cached index read plus the geocoder's own set-up
    gn, t_load = timed(lambda: GeoNames(load_index(), aliases))
    idx = gn.idx
    # 100k lookups of real GeoNames names (distinct, as spelled there) plus the region's names
    rng = np.random.default_rng(7)
    picks = rng.choice(len(idx.names), n_lookups - len(NAMES) * 50, replace=False)
    queries = [(idx.names[i], None) for i in picks] + [(n, None) for n in NAMES] * 50
    found, t_lookup = timed(gn.geocode_many, queries)
    assert sum(p is not None for p in found) == len(queries)
    # with country hints, as event records give them
    hinted = [(name, idx.country[i]) for i, (name, _) in zip(picks, queries, strict=False)]
    found, t_hinted = timed(gn.geocode_many, hinted)
    assert sum(p is not None for p in found) == len(hinted)
    # the realistic case: as many events naming 5,000 distinct places
    repeated = [queries[i] for i in rng.integers(0, min(5_000, n_lookups), n_lookups)]
    _, t_repeat = timed(gn.geocode_many, repeated)
    # one name at a time, as the CLI asks
    singles = queries[:1000]
    _, t_single = timed(lambda: [gn.geocode(name, c) for name, c in singles])

    loaded = layers.load_layers(ROOT / "geodata" / "layers.yaml")
    frames = layer_frames(loaded)
    n = n_points
    pts = gpd.GeoDataFrame(
        {"date": np.datetime64("2020-11-01") + rng.integers(0, 60, n).astype("timedelta64[D]")},
        geometry=gpd.points_from_xy(rng.uniform(43, 51, n), rng.uniform(38, 42.5, n)),
        crs=4326)
    tl = Timeline([Change("Kalbajar", date(2020, 11, 25), "Armenia", "Azerbaijan", None),
                   Change("Aghdam", date(2020, 11, 20), "Armenia", "Azerbaijan", None),
                   Change("Lachin", date(2020, 12, 1), "Armenia", "Azerbaijan", None)])
    # with the layers' own stated accuracies (2 km borders, 5 km districts), as the build does
    _, t_enrich = timed(lambda: enrich_with(pts, loaded, tl, frames))
    figures = {"index_load_warm_s": round(t_load, 3),
               "lookups": n_lookups,
               "lookups_distinct_names_s": round(t_lookup, 3),
               "lookups_distinct_names_with_country_s": round(t_hinted, 3),
               "lookups_of_5k_names_s": round(t_repeat, 3),
               "single_lookup_ms": round(t_single * 1000 / len(singles), 3),
               "points": n_points,
               "enrich_points_s": round(t_enrich, 3)}
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lookups", type=int, default=100_000)
    ap.add_argument("--points", type=int, default=1_000_000)
    args = ap.parse_args()
    main(args.lookups, args.points)
