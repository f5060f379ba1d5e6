"""conflictmap: conflict-event records to maps analysts can trust.

A notebook API over one GeoDataFrame of events, like geopandas' own:

>>> import conflictmap as cm
>>> gdf = cm.read_events(cm.example_events())      # validated, geocoded, enriched
>>> m = cm.explore(gdf, date="2020-11-26")          # a folium.Map: shows inline, m.save()
>>> cm.to_file(gdf, "events.geojson")               # doctest: +SKIP

Functions: `read_events`, `read_dataset`, `enrich`, `explore`, `plot`, `to_file`, `layers`,
`geocode`, `example_events`. Every error a user can fix is a `ConflictmapError` with its
`problems`.
"""

# The submodules named like public functions (`enrich.py`, `geocode/`) are imported first: a
# submodule imported after its parent binds its name on the parent, which would hide the
# function. Import them by their dotted path (`from conflictmap.enrich import ...`).
import conflictmap.enrich
import conflictmap.geocode.base  # noqa: F401  (see above)
from conflictmap.api import (
    ConflictmapWarning,
    PlaceNotFound,
    enrich,
    example_events,
    explore,
    geocode,
    layers,
    plot,
    read_dataset,
    read_events,
    to_file,
)
from conflictmap.errors import ConflictmapError, UsageError

__version__ = "0.1.0"

__all__ = [
    "ConflictmapError",
    "ConflictmapWarning",
    "PlaceNotFound",
    "UsageError",
    "__version__",
    "enrich",
    "example_events",
    "explore",
    "geocode",
    "layers",
    "plot",
    "read_dataset",
    "read_events",
    "to_file",
]
