"""A generated ACLED export (API layout, from the codebook-shaped `acled_sample.csv`) for the
scale tests: a few thousand rows over three years, every optional cell empty in some rows and
filled in others, non-Latin place names and notes, one id used twice far apart (another
chunk), and one row the model refuses."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .conftest import DATA

NAMES = ("Sotk", "Սոթք", "Шуши", "Şuşa", "Ստեփանակերտ", "Kalbajar", "Քարվաճառ", "Vardenis")
NOTES = ("On the day, soldiers entered the mine area.", "Զինվորները մտան հանքի տարածք։",
         "Военные вошли на территорию рудника.", "")
ASSOC = ("", "Police Forces of Armenia (2018-); Civilians (Armenia)", "")
TAGS = ("", "district handover;ceasefire", "")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def acled_rows(n: int, target: Path, seed: int = 15) -> Path:
    """n rows: ids unique except row n-1 repeats row 5's; row 7's latitude is text."""
    with (DATA / "acled_sample.csv").open(newline="", encoding="utf-8") as fh:
        header, *base = list(csv.reader(fh))
    base = base[:2]  # the others are rows the model refuses
    col = {c: i for i, c in enumerate(header)}
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 390, n)  # 2019-12-15 + 0..389 days: 2019, 2020, 2021
    start = np.datetime64("2019-12-15")
    with target.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for k in range(n):
            row = list(base[(k // 2) % 2])
            day = str(start + int(days[k]))
            y, m, d = day.split("-")
            row[col["event_id_cnty"]] = f"{row[col['event_id_cnty']][:3]}{100000 + k}"
            row[col["event_date"]] = day if k % 2 else f"{int(d)} {MONTHS[int(m) - 1]} {y}"
            row[col["year"]] = y
            row[col["time_precision"]] = str(1 + k % 3)
            row[col["geo_precision"]] = str(1 + (k // 3) % 3)
            row[col["location"]] = NAMES[k % len(NAMES)]
            row[col["notes"]] = NOTES[k % len(NOTES)]
            row[col["assoc_actor_1"]] = ASSOC[k % len(ASSOC)]
            row[col["tags"]] = TAGS[k % len(TAGS)]
            row[col["fatalities"]] = "" if k % 4 == 0 else str(k % 7)
            row[col["admin3"]] = "" if k % 5 else "Vardenis"
            row[col["latitude"]] = f"{39.4 + rng.uniform(0, 1.4):.4f}"
            row[col["longitude"]] = f"{44.9 + rng.uniform(0, 1.6):.4f}"
            if k == 7:
                row[col["latitude"]] = "north"
            if k == n - 1:
                row[col["event_id_cnty"]] = f"{base[(5 // 2) % 2][col['event_id_cnty']][:3]}100005"
            w.writerow(row)
    return target
