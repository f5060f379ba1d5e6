"""Districts and provinces as places: "Kalbajar" at district precision is the district.

A record that says `precision: district` claims no more than the district; resolving it to the
town of the same name would draw a pin-point claim. The point returned is a point inside the
polygon (shapely's representative point), with the polygon's own name.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from .base import Place, normalize

AREA_PRECISIONS = ("district", "province")


class Areas:
    name = "areas"

    def __init__(self, frame: gpd.GeoDataFrame, layer: str = "admin1"):
        """`frame`: WGS84 polygons with `name`, `iso`, optional `name_en`, `aliases`, `country`."""
        self.layer = layer
        self.by_key: dict[str, list[int]] = {}
        self.rows = frame.reset_index(drop=True)
        for i, row in self.rows.iterrows():
            aliases = row.get("aliases")  # NaN where another layer in the concat has none
            names = {row["name"], row.get("name_en")} | (
                set(aliases) if isinstance(aliases, list | tuple | np.ndarray) else set())
            for n in names:
                if isinstance(n, str) and n:
                    self.by_key.setdefault(normalize(n), []).append(int(i))
        self.points = self.rows.geometry.representative_point()

    def geocode(self, name: str, country: str | None = None) -> Place | None:
        hits = [i for i in self.by_key.get(normalize(name), [])
                if country is None or self.rows.at[i, "country"] == country]
        places = [self.place(i) for i in hits]
        if not places:
            return None
        return places[0].with_candidates(places[1:]) if len(places) > 1 else places[0]

    def place(self, i: int) -> Place:
        """The area of row `i` as a place: a point inside it, at its own precision."""
        row = self.rows.loc[i]
        kind = "province" if row.get("type") == "Province" else "district"
        pt = self.points.iloc[i]
        return Place(pt.y, pt.x, str(row["name"]), row.get("country"), str(row["name"]), kind,
                     f"layer:{self.layer}:{row['iso']}")

    def suggest(self, name: str, country: str | None = None, n: int = 5) -> list[str]:
        return []
