"""The gazetteer chain as the extractor needs it: every candidate for a name, not only the
best one, so the article's own context can choose among them.

The same sources `geocode` uses (curated gazetteer, GeoNames with our aliases, the admin-1
layers) and the same name folding (`geocode.base.normalize`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..geocode.areas import Areas
from ..geocode.base import Place, normalize
from ..geocode.gazetteer import GAZETTEER, Curated, GeoNames, admin1_names


@dataclass(frozen=True)
class Candidate:
    """One place a name may mean, and the facts context is weighed on."""

    place: Place
    population: int | None  # GeoNames population; 0 for curated and areas, None when unknown
    kind: str  # curated | area | settlement


class Gazetteers:
    """Candidates for a name from the curated gazetteer, the admin-1 layers and GeoNames."""

    def __init__(self, curated: Curated, areas: Areas, geonames: GeoNames | None = None):
        self.curated = curated
        self.areas = areas
        self._geonames = geonames

    @classmethod
    def offline(cls, manifest: Path) -> Gazetteers:
        """From a project's layer manifest and the gazetteer beside it."""
        from .. import layerio
        from ..pipeline import concat_layers

        admin1 = concat_layers(layerio.of_kind(layerio.load_layers(manifest), "admin1"))
        return cls(Curated(Path(manifest).parent / GAZETTEER.name), Areas(admin1))

    @cached_property
    def geonames(self) -> GeoNames:
        return self._geonames or GeoNames(aliases=self.curated.data.aliases)

    def known(self, key: str) -> bool:
        """Whether any source has this normalized name (cheap: no candidates built)."""
        return (key in self.curated.by_key or key in self.areas.by_key
                or key in self.geonames.idx.position or key in self.geonames.extra)

    def candidates(self, name: str) -> list[Candidate]:
        key = normalize(name)
        out = [Candidate(Place(e.lat, e.lon, e.name, e.country, None, e.precision,
                               f"gazetteer:{e.id}"), 0, "curated")
               for e in self.curated.by_key.get(key, [])]
        out += [Candidate(self.areas.place(i), 0, "area")
                for i in dict.fromkeys(self.areas.by_key.get(key, []))]
        idx = self.geonames.idx
        rows = idx.rows_for(key) + self.geonames.extra.get(key, [])
        province = admin1_names().get
        for r in dict.fromkeys(rows):
            out.append(Candidate(
                Place(float(idx.lat[r]), float(idx.lon[r]), idx.names[r], idx.country[r],
                      province(idx.admin1[r]), "settlement", idx.source(r)),
                idx.population(r), "settlement"))
        return out
