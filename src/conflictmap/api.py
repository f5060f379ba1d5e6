"""The public library API: events in, one GeoDataFrame through, a folium map or files out.

Each function is one step of the build (load -> geocode -> enrich -> render/export) over a
GeoDataFrame, so a notebook can filter between steps, and the command line is a thin shell
over the same calls. Every error a user can fix is a `conflictmap.errors.ConflictmapError`
carrying its `problems` (each `file:line:col: ...` where there is a file).

Layers and gazetteer: the project's `geodata/layers.yaml` (found from the working folder
upward) when there is one, else the ones shipped with the package.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from . import bundled, project
from .errors import ConflictmapError, UsageError

if TYPE_CHECKING:
    import folium

    from .geocode.base import Geocoder, Place
    from .layerio import Layer
    from .pipeline import Result

PathLike = str | os.PathLike[str]
DATASET_SUFFIXES = (".gpkg", ".parquet", ".geoparquet")
DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".fgb": "FlatGeobuf"}
# the page's own filters (the keys of its address hash), as `explore` takes them
FILTERS = ("type", "status", "actor", "admin1", "fatalities", "q", "view", "event", "start")


class ConflictmapWarning(UserWarning):
    """Worth a word, fails nothing: an ambiguous place, a country without admin-1 layer.

    Examples
    --------
    Turn them into errors while checking a data set, or silence them:

    >>> import warnings
    >>> import conflictmap as cm
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", cm.ConflictmapWarning)
    ...     gdf = cm.read_events(cm.example_events())  # raises on the first warning, if any
    >>> len(gdf)
    8
    """


class PlaceNotFound(ConflictmapError):
    """`geocode` found no place of that name; `suggestions` holds the close names.

    Examples
    --------
    >>> import conflictmap as cm
    >>> try:
    ...     cm.geocode("Qwxzzy")
    ... except cm.PlaceNotFound as exc:
    ...     print(exc.name, exc.suggestions == [] or exc.suggestions[0] != "Qwxzzy")
    Qwxzzy True
    """

    def __init__(self, name: str, country: str | None, suggestions: list[str]):
        self.name, self.country, self.suggestions = name, country, suggestions
        hint = (f"; did you mean: {', '.join(suggestions)}?" if suggestions
                else "; no close names either")
        super().__init__(f"no place called {name!r}" + (f" in {country}" if country else "")
                         + hint)


def default_manifest(start: Path | None = None) -> Path:
    """The project's layer manifest when there is a project, else the packaged one."""
    return project.manifest(project.find(start))


def _manifest(layers: PathLike | None) -> Path:
    return Path(layers) if layers is not None else default_manifest()


def _warn_python(message: str) -> None:
    warnings.warn(message, ConflictmapWarning, stacklevel=3)


def example_events() -> Path:
    """The folder of the example records shipped with conflictmap.

    The first case: Armenia hands the Kalbajar district back to Azerbaijan on 25 Nov 2020, and
    Azerbaijani troops enter the Sotk gold mine on the border the next day.

    Returns
    -------
    pathlib.Path
        A folder of event YAML files, one per event.

    Examples
    --------
    >>> import conflictmap as cm
    >>> sorted(p.name for p in cm.example_events().glob("*.yaml"))[:2]
    ['2020-11-10-trilateral-ceasefire.yaml', '2020-11-20-aghdam-handover.yaml']
    """
    return bundled.example_events()


def build_result(paths_or_dataset: PathLike | Sequence[PathLike], *,
                 layers: PathLike | None = None, datasets: Sequence[PathLike] = (),
                 allow_unresolved: bool = False, online: Geocoder | None = None,
                 warn: Callable[[str], None] | None = None) -> Result:
    """The build's tables for `read_events` and the commands that write several outputs."""
    from .pipeline import build

    given = [paths_or_dataset] if isinstance(paths_or_dataset, str | os.PathLike) else list(
        paths_or_dataset)
    folders = [Path(p) for p in given if Path(p).suffix.lower() not in DATASET_SUFFIXES]
    sets = [Path(p) for p in given if Path(p).suffix.lower() in DATASET_SUFFIXES]
    return build(folders, _manifest(layers), datasets=[*sets, *map(Path, datasets)],
                 online=online, allow_unresolved=allow_unresolved,
                 warn=warn or _warn_python)


def read_events(paths_or_dataset: PathLike | Sequence[PathLike], *,
                layers: PathLike | None = None, datasets: Sequence[PathLike] = (),
                allow_unresolved: bool = False, online: Geocoder | None = None,
                ) -> gpd.GeoDataFrame:
    """Read event records, geocode and enrich them: one row per event.

    Parameters
    ----------
    paths_or_dataset : path or list of paths
        Folders or files of event YAML, and/or dataset files (``.gpkg``) written by
        ``conflictmap import ... --to``.
    layers : path, optional
        A layer manifest (``layers.yaml``; its ``gazetteer.yaml`` beside it is used too).
        Default: the project's ``geodata/layers.yaml``, else the packaged layers.
    datasets : list of paths, optional
        More dataset files, read with the YAML events.
    allow_unresolved : bool, default False
        Leave out events whose place no geocoder finds (each gets a warning) instead of
        failing.
    online : Geocoder, optional
        An online service tried before GeoNames (``conflictmap.geocode.online.Online``).

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of ``events.geojson`` (``id, date, title, event_type, ..., country,
        admin1, border_distance_km, side_uncertain, controller, ...``), points in WGS84.
        Absent values are null, never 0 or "".

    Raises
    ------
    conflictmap.errors.ConflictmapError
        With ``problems``: every invalid record, duplicate id or unresolved place, each as
        ``file:line:col: field: message``. Doubtful things are ``ConflictmapWarning``.

    Examples
    --------
    >>> import conflictmap as cm
    >>> gdf = cm.read_events(cm.example_events())
    >>> gdf.loc[gdf.id == "2020-11-26-sotk-mine-entry", ["country", "admin1"]].values.tolist()
    [['AM', 'Gegharkunik']]
    >>> gdf.crs.to_epsg()
    4326
    """
    from .export import events_frame

    result = build_result(paths_or_dataset, layers=layers, datasets=datasets,
                          allow_unresolved=allow_unresolved, online=online)
    for u in result.unresolved:
        _warn_python(f"skipped: {u}")
    return events_frame(result)


def read_dataset(path: PathLike, *, layers: PathLike | None = None) -> gpd.GeoDataFrame:
    """Read a dataset (``conflictmap import acled|ucdp FILE --to D.gpkg|D.parquet``) as events.

    The rows are checked in bulk against the record's rules, then geocoded and enriched
    like YAML events.

    Parameters
    ----------
    path : path
        A ``.gpkg`` dataset file, or a ``.parquet`` GeoParquet dataset (a folder of parts).
    layers : path, optional
        The layer manifest (see `read_events`).

    Returns
    -------
    geopandas.GeoDataFrame
        The same columns as `read_events`; ``dataset`` and ``dataset_id`` name each row's
        origin (``acled``, ``ARM4949``).

    Raises
    ------
    conflictmap.errors.ConflictmapError
        With ``problems``, one per bad row.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import conflictmap as cm
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "events.gpkg"
    >>> cm.to_file(cm.read_events(cm.example_events()), target, as_dataset=True)
    >>> len(cm.read_dataset(target))
    8
    """
    return read_events([path], layers=layers)


def layers(manifest: PathLike | None = None) -> gpd.GeoDataFrame:
    """The boundary layers: one row per feature, in the manifest's order.

    Parameters
    ----------
    manifest : path, optional
        A ``layers.yaml``. Default: the project's, else the packaged one.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``layer, name, iso, kind, title, source, licence, accuracy_km, geometry``
        (WGS84).

    Raises
    ------
    conflictmap.errors.ConflictmapError
        When the manifest or a layer cannot be read, with each problem.

    Examples
    --------
    >>> import conflictmap as cm
    >>> lyr = cm.layers()
    >>> list(lyr.layer.unique())
    ['countries', 'world', 'borders', 'admin1', 'handover', 'lakes']
    >>> sorted(lyr.loc[lyr.kind == "handover", "name"])
    ['Aghdam', 'Kalbajar', 'Lachin']
    """
    from . import layerio as layer_io

    return layer_table(layer_io.load_layers(_manifest(manifest)))


def layer_table(loaded: dict[str, Layer]) -> gpd.GeoDataFrame:
    """Loaded layers as one frame (see `layers`)."""
    parts = [lyr.frame[["layer", "name", "iso", "kind", "source", "geometry"]].assign(
        title=lyr.spec.title or lyr.spec.name, licence=lyr.spec.licence,
        accuracy_km=lyr.spec.accuracy_km) for lyr in loaded.values()]
    columns = ["layer", "name", "iso", "kind", "title", "source", "licence", "accuracy_km",
               "geometry"]
    if not parts:
        return gpd.GeoDataFrame({c: [] for c in columns[:-1]}, geometry=[], crs=4326)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True)[columns], geometry="geometry",
                            crs=4326)


def geocode(name: str, country: str | None = None, *, layers: PathLike | None = None,
            online: Geocoder | None = None) -> Place:
    """Resolve a place name offline: the curated gazetteer, GeoNames, then the districts.

    Parameters
    ----------
    name : str
        A place name as a report spells it (``Zod``, ``Karvachar``, ``Stepanakert``).
    country : str, optional
        An ISO 3166-1 alpha-2 hint (``AM``); rules out same-named places elsewhere.
    layers : path, optional
        The layer manifest whose ``gazetteer.yaml`` and admin-1 layers are used.
    online : Geocoder, optional
        An online service tried before GeoNames.

    Returns
    -------
    conflictmap.geocode.base.Place
        ``name, lat, lon, country, precision, source`` and, when the name is ambiguous,
        the other ``candidates``.

    Raises
    ------
    PlaceNotFound
        A `ConflictmapError` whose ``suggestions`` are the close names.

    Examples
    --------
    >>> import conflictmap as cm
    >>> place = cm.geocode("Zod", country="AM")
    >>> place.name, round(place.lat, 2), round(place.lon, 2), place.source
    ('Sotk', 40.2, 45.87, 'geonames:616041')
    """
    from . import layerio as layer_io
    from .pipeline import Geocoders, concat_layers

    manifest = _manifest(layers)
    admin1 = concat_layers(layer_io.of_kind(layer_io.load_layers(manifest), "admin1"))
    chain = Geocoders.offline(admin1, manifest.parent / "gazetteer.yaml", online=online).chain()
    code = country.upper() if country else None
    place = chain.geocode(name, code)
    if place is None:
        raise PlaceNotFound(name, code, chain.suggest(name, code))
    return place


ENRICHED = ("country", "admin1", "admin1_uncertain", "admin1_candidates", "border_distance_km",
            "side_uncertain", "handover_area", "controller")


def enrich(gdf: gpd.GeoDataFrame, layers: PathLike | None = None, *,
           date: str | None = "date") -> gpd.GeoDataFrame:
    """Add to your own points what the build adds to events.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Points in any CRS. Rows without a point keep nulls in the new columns.
    layers : path, optional
        The layer manifest. Default: the project's, else the packaged one.
    date : str or None, default "date"
        The column of days (dates, datetimes or ISO text) the controller is looked up on;
        None, or a row without a day, leaves ``controller`` null.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of `gdf` (its columns, index, CRS and geometry untouched) with ``country,
        admin1, admin1_uncertain, admin1_candidates, border_distance_km, side_uncertain,
        handover_area, controller``. The controller comes from the handover layer's dates.

    Raises
    ------
    conflictmap.errors.UsageError
        When `gdf` already has one of those columns (nothing is overwritten), has no CRS,
        holds non-point geometry, or the `date` column is missing or not dates.

    Examples
    --------
    >>> import geopandas as gpd
    >>> import conflictmap as cm
    >>> pts = gpd.GeoDataFrame({"note": ["mine", "Kalbajar town"],
    ...                         "date": ["2020-11-26", "2020-11-24"]},
    ...                        geometry=gpd.points_from_xy([45.968, 46.038], [40.233, 40.107]),
    ...                        crs=4326)
    >>> out = cm.enrich(pts)
    >>> for row in out[["note", "country", "admin1", "side_uncertain", "controller"]].values:
    ...     print(list(row))
    ['mine', 'AM', 'Gegharkunik', True, None]
    ['Kalbajar town', 'AZ', 'Kəlbəcər', False, 'Armenia']
    """
    from . import layerio as layer_io
    from .pipeline import enrich_with, layer_frames
    from .timeline import Timeline

    clash = [c for c in ENRICHED if c in gdf.columns]
    if clash:
        raise UsageError(f"enrich: the frame already has {', '.join(clash)}; rename or drop "
                         "them first (nothing is overwritten)")
    if gdf.crs is None:
        raise UsageError("enrich: the frame has no CRS; set one (gdf.set_crs(4326))")
    if date is not None and date not in gdf.columns:
        raise UsageError(f"enrich: no column {date!r}; pass date=None to skip the controller")
    geom = gdf.geometry
    has_point = geom.notna() & ~geom.is_empty
    wrong = has_point & (geom.geom_type != "Point")
    if wrong.any():
        raise UsageError(f"enrich: {int(wrong.sum())} row(s) are not points "
                         f"({', '.join(sorted(set(geom[wrong].geom_type)))}); "
                         "use centroids or representative points")
    days = pd.Series([None] * len(gdf), dtype=object)
    if date is not None:
        try:
            parsed = pd.to_datetime(gdf[date].astype(object), errors="raise", format="mixed")
        except (ValueError, TypeError) as exc:
            raise UsageError(f"enrich: column {date!r} is not dates: {exc}") from None
        days = pd.Series([None if pd.isna(v) else v.date() for v in parsed], dtype=object)
    loaded = layer_io.load_layers(_manifest(layers))
    frames = layer_frames(loaded)
    mask = has_point.to_numpy()
    points = gpd.GeoDataFrame({"date": days[mask].to_numpy()},
                              geometry=geom[mask].to_crs(4326).values, crs=4326)
    dated = points["date"].notna().to_numpy()
    points["date"] = points["date"].where(dated, pd.Timestamp("1900-01-01").date())
    found = enrich_with(points, loaded, Timeline.with_layer([], frames["handover"]), frames)
    found.loc[~dated, "controller"] = None  # no day, no controller (not the 1900 one)
    out = gdf.copy()
    for col in ENRICHED:
        values: list[Any] = [None] * len(gdf)
        for i, v in zip(mask.nonzero()[0], found[col].tolist(), strict=True):
            values[i] = v if isinstance(v, list) or not pd.isna(v) else None
        out[col] = pd.Series(values, index=gdf.index, dtype=object)
    out["border_distance_km"] = out["border_distance_km"].astype("Float64")
    for col in ("admin1_uncertain", "side_uncertain"):
        out[col] = out[col].astype("boolean")
    return out


def explore(gdf: gpd.GeoDataFrame, m: folium.Map | None = None, date: str | None = None, *,
            layers: PathLike | None = None, basemap: str = "none", self_contained: bool = True,
            **filters: str | Iterable[str]) -> folium.Map:
    """The interactive map of these events: our event layer, timeline and handover colours.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Events as `read_events` gives them, or any subset of its rows.
    m : folium.Map, optional
        A map to draw on (its own layers stay); default: a new one.
    date : str, optional
        The day the slider starts on (``YYYY-MM-DD``); default: the first day.
    layers : path, optional
        The layer manifest whose boundaries are drawn.
    basemap : {"none", "osm", "satellite"}, default "none"
        The basemap shown first (``none`` works offline).
    self_contained : bool, default True
        Inline every script and style (the page works offline), or link folium's CDNs.
    **filters
        The page's filters, as its address sets them: ``type``, ``status``, ``actor``,
        ``admin1`` (a name or a list of names), ``fatalities`` (``"1-"``, ``"0-10"``),
        ``q`` (free text), ``view`` (``bins``), ``event`` (an id to open), ``start``
        (the first day of a window ending on `date`).

    Returns
    -------
    folium.Map
        Shows inline in Jupyter; ``m.save("map.html")`` writes the same self-contained page
        ``conflictmap build`` writes.

    Raises
    ------
    conflictmap.errors.UsageError
        For an unknown filter or basemap, or a frame without the events' columns.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import conflictmap as cm
    >>> gdf = cm.read_events(cm.example_events())
    >>> m = cm.explore(gdf, date="2020-11-26", type="Strategic developments")
    >>> type(m).__name__
    'Map'
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "map.html"
    >>> m.save(target)
    >>> "2020-11-26-sotk-mine-entry" in target.read_text(encoding="utf-8")
    True
    """
    from . import layerio as layer_io
    from .frames import result_of
    from .render.map import BASEMAPS, draw

    if basemap not in BASEMAPS:
        raise UsageError(f"explore: basemap must be one of {', '.join(BASEMAPS)}")
    result = result_of(gdf, layer_io.load_layers(_manifest(layers)))
    return draw(result, m, self_contained=self_contained, basemap=basemap,
                initial_hash=view_hash(date, filters))


def plot(gdf: gpd.GeoDataFrame, ax: Any = None, date: str | None = None,
         size: str = "column", *, layers: PathLike | None = None, towns: bool = True) -> Any:
    """The static figure of these events for a report: map, timeline, legend, inset.

    Same symbols and district colours as `explore`; districts coloured by who controls them
    on `date` (handover dates from the layer and from the events' ``control_change``). Save
    it with ``conflictmap.figure.to_bytes`` (deterministic bytes, 300 dpi) or ``savefig``.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Events as `read_events` gives them, or any subset of its rows.
    ax : matplotlib.axes.Axes, optional
        Draw only the map panel into this axes of a figure of your own.
    date : str, optional
        The day shown (``YYYY-MM-DD``): events up to it; default: the last event's day.
    size : {"column", "page", "slide"}, default "column"
        89 mm or 183 mm wide, or a 16:9 slide; type sized for it.
    layers : path, optional
        The layer manifest whose boundaries are drawn.
    towns : bool, default True
        Name towns from the GeoNames index, as the web map does.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    conflictmap.errors.ConflictmapError
        No events, a date that is not ``YYYY-MM-DD``, an unknown size.

    Examples
    --------
    >>> import conflictmap as cm
    >>> gdf = cm.read_events(cm.example_events())
    >>> fig = cm.plot(gdf, date="2020-11-26", size="page")
    >>> sorted(ax.get_gid() for ax in fig.axes if ax.get_gid())
    ['inset', 'legend', 'map', 'timeline']
    >>> from conflictmap.figure import to_bytes
    >>> to_bytes(fig, "png")[:4]
    b'\x89PNG'
    """
    from . import layerio as layer_io
    from .figure import plot as draw_figure
    from .frames import result_of

    loaded = layer_io.load_layers(_manifest(layers))
    result = result_of(gdf, loaded)
    return draw_figure(result.frame, ax, date, size, layers=loaded, timeline=result.timeline,
                       towns=towns)


def view_hash(date: str | None, filters: dict[str, Any]) -> str | None:
    """The page's address hash for a starting date and filters (None: the page's default)."""
    from urllib.parse import quote

    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise UsageError(f"explore: unknown filter {', '.join(unknown)}; one of "
                         f"{', '.join(FILTERS)}")
    parts = [] if date is None else [f"date={quote(str(date))}"]
    for key in FILTERS:
        value = filters.get(key)
        if value is None:
            continue
        values = [value] if isinstance(value, str) else [str(v) for v in value]
        name = "from" if key == "start" else key
        parts.append(f"{name}={','.join(quote(v, safe='') for v in values)}")
    return "#" + "&".join(parts) if parts else None


def to_file(gdf: gpd.GeoDataFrame, path: PathLike, driver: str | None = None, *,
            as_dataset: bool = False) -> None:
    """Write events (or any GeoDataFrame) for GIS tools, atomically.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Typically what `read_events` returns, filtered or not.
    path : path
        The target file.
    driver : {"GeoJSON", "GPKG", "FlatGeobuf"}, optional
        Default: from the suffix (``.geojson``, ``.gpkg``, ``.fgb``). GeoJSON is RFC 7946
        (WGS84, lists as JSON arrays, types kept); GPKG and FlatGeobuf carry the same
        fields with lists as JSON text.
    as_dataset : bool, default False
        Write a conflictmap dataset file (``.gpkg``) that `read_dataset` and
        ``conflictmap build --dataset`` read back as the same events.

    Raises
    ------
    conflictmap.errors.UsageError
        For a driver it cannot write.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pyogrio
    >>> import conflictmap as cm
    >>> gdf = cm.read_events(cm.example_events())
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "events.geojson"
    >>> cm.to_file(gdf[gdf.date == "2020-11-26"], target)
    >>> pyogrio.read_dataframe(target)["id"].tolist()[:2]
    ['2020-11-26-armenian-mod-statements', '2020-11-26-sotk-mine-entry']
    """
    from .frameio import write_dataset_of, write_frame

    target = Path(path)
    if as_dataset:
        write_dataset_of(gdf, target)
        return
    driver = driver or DRIVERS.get(target.suffix.lower())
    if driver not in set(DRIVERS.values()):
        raise UsageError(f"to_file: cannot tell the format of {target.name}; pass driver= one "
                         f"of {', '.join(sorted(set(DRIVERS.values())))}")
    write_frame(gdf, target, driver)
