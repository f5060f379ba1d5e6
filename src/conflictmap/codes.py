"""Precision codes of the big conflict datasets, mapped both ways to our vocabularies.

ACLED: geo_precision 1 (the place itself) / 2 (near it, or part of a region) / 3 (a larger
region, its capital); time_precision 1 (day) / 2 (week) / 3 (month).
UCDP GED: where_prec 1 (exact) / 2 (within ~25 km) / 3 (admin-2) / 4 (admin-1) / 5 (a stretch
between places, or a wider area) / 6 (country) / 7 (waters or airspace); date_prec 1 (exact) /
2 (within 2-6 days) / 3 (week) / 4 (month) / 5 (year).
Ours -> theirs picks the code whose meaning contains ours; theirs -> ours never claims more
precision than the code grants.
"""

from __future__ import annotations

ACLED_GEO = {"site": 1, "settlement": 1, "near-settlement": 2, "district": 2, "province": 3,
             "country": 3, "unspecified": 2}
ACLED_GEO_BACK = {1: "settlement", 2: "near-settlement", 3: "province"}
ACLED_TIME = {"day": 1, "week": 2, "month": 3, "year": 3}
ACLED_TIME_BACK = {1: "day", 2: "week", 3: "month"}

UCDP_WHERE = {"site": 1, "settlement": 1, "near-settlement": 2, "district": 3, "province": 4,
              "country": 6, "unspecified": 5}
UCDP_WHERE_BACK = {1: "settlement", 2: "near-settlement", 3: "district", 4: "province",
                   5: "province", 6: "country", 7: "country"}
UCDP_DATE = {"day": 1, "week": 3, "month": 4, "year": 5}
UCDP_DATE_BACK = {1: "day", 2: "week", 3: "week", 4: "month", 5: "year"}
