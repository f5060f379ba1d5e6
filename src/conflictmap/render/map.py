"""The interactive map: a folium page with our own event/timeline plugin over compact data.

Events are embedded once as columns (arrays) and drawn by `eventlayer.js` on one canvas, so the
page does not carry one Leaflet object per event. All user text travels as JSON data escaped for
a <script> context, and the page puts it into the DOM with textContent only.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from html import escape
from importlib import resources
from typing import Any

import deflate
import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
import xyzservices.providers as xyz
from branca.element import MacroElement
from folium.template import Template

from .. import forking, gcpause, layercache, progress, recordcache
from ..aggregate import Density
from ..dataset import parse_column
from ..geocode.gazetteer import index_version, load_index
from ..model import ACLED_TYPES, GeoPrecision, Status
from ..pipeline import Result
from ..record import POPUP_ABSENT
from ..timeline import Timeline
from .assets import ASSETS, Bundle
from .filterdata import filter_columns
from .labels import area_names, attribution, label_data, page_title
from .page import Page

# Dark symbols (WCAG luminance <= 0.09) on light district fills (30 %): each keeps 3:1 against
# every controller fill and the grey ground, also under protan/deutan/tritan simulation
# (tests/test_map_style.py); no symbol shares the controllers' orange or blue.
TYPE_COLORS = {
    "Battles": "#a50026",
    "Explosions/Remote violence": "#7a3d00",
    "Violence against civilians": "#5b2a86",
    "Protests": "#00602f",
    "Riots": "#00566b",
    "Strategic developments": "#1a1a1a",
}
# A shape a type, so the map reads without colour vision (and in greyscale print)
TYPE_SHAPES = {
    "Battles": "diamond",
    "Explosions/Remote violence": "star",
    "Violence against civilians": "triangle-down",
    "Protests": "square",
    "Riots": "triangle",
    "Strategic developments": "circle",
}
CONTROLLER_COLORS = {"Armenia": "#e66101", "Azerbaijan": "#0571b0"}
EXTRA_COLORS = ["#5e3c99", "#4dac26", "#b2182b", "#35978f"]
# the area an imprecise event may lie in, drawn as a dashed ring (km; 0: no ring)
PREC_RADIUS_KM = {"site": 0, "settlement": 2, "near-settlement": 5, "district": 15,
                  "province": 40, "country": 0, "unspecified": 0}
SIDE_UNCERTAIN_COLOR = "#d7191c"  # the dashed halo of an event whose side of the border is open
BASEMAPS = {
    "none": {"name": "No basemap (offline)", "url": None},
    "osm": {"name": "OpenStreetMap", "url": xyz.OpenStreetMap.Mapnik.build_url(),
            "attribution": xyz.OpenStreetMap.Mapnik.html_attribution, "max_zoom": 19},
    "satellite": {"name": "Satellite (Esri World Imagery)",
                  "url": xyz.Esri.WorldImagery.build_url(),
                  "attribution": xyz.Esri.WorldImagery.html_attribution, "max_zoom": 18},
}


def controller_colors(timeline: Timeline) -> dict[str, str]:
    """A colour per controller the timeline names (the region's own first), plus `_other` and
    `_unknown` (before the first known state): the web map and the static figure share it."""
    controllers = sorted({c for cs in timeline.by_area.values()
                          for ch in cs for c in (ch.before, ch.after)})
    colors = dict(CONTROLLER_COLORS)
    for c in controllers:
        colors.setdefault(c, EXTRA_COLORS[len(colors) % len(EXTRA_COLORS)])
    colors["_other"] = "#bbbbbb"
    colors["_unknown"] = "#e8e8e8"
    return colors


def compact_json(obj: Any) -> bytes:
    """Compact UTF-8 JSON by orjson: at 100k events the page's data took 0.37 s through
    `json.dumps` (mostly its floats) and a tenth of that here. Keys that are not text are
    written as text, as `json.dumps` does; NaN would be null (the page's numbers are finite).
    What orjson refuses (an integer past 64 bits, say in a field of a model of one's own) is
    written by the standard library, as before."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode()


def safe_json(obj: Any) -> str:
    """JSON that is also safe inside an HTML <script>: no `</script>`, no line separators."""
    text = compact_json(obj).decode("utf-8")
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                     ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, esc)
    return text


def _read(name: str) -> str:
    return resources.files("conflictmap.render").joinpath(name).read_text("utf-8")


# the page's scripts, in order: helpers first, then the layer that uses them
SCRIPTS = ("density.js", "histogram.js", "filters.js", "eventlayer.js")


class _PageScript(MacroElement):
    """One of our scripts: its code and style in the page head, one init call with the data.

    branca turns each rendered macro into a new Jinja template: 30 MB of data there would be
    lexed and compiled as template source, so the data goes into the finished page instead,
    at `placeholder`."""

    _template = Template("""
{% macro header(this, kwargs) %}
<style>{{ this.css }}</style>
<script>{{ this.js }}</script>
{% endmacro %}
{% macro script(this, kwargs) %}
{{ this.init }}({{ this._parent.get_name() }}, {{ this.placeholder }});
{% endmacro %}
""")

    def __init__(self, name: str, scripts: tuple[str, ...], css: str, init: str,
                 placeholder: str):
        super().__init__()
        self._name = name
        self.init, self.placeholder = init, placeholder
        self.js = "\n".join(_read(n) for n in scripts).replace("</script", "<\\/script")
        self.css = _read(css)


class EventLayer(_PageScript):
    """Our folium plugin: the events, the slider, the filters and the popups."""

    placeholder = "__CONFLICTMAP_DATA_7f3a9c__"

    def __init__(self):
        super().__init__("ConflictmapEvents", SCRIPTS, "eventlayer.css", "conflictmapInit",
                         self.placeholder)


class LabelLayer(_PageScript):
    """Place names (`labels.js`): after the event layer, whose marks they keep clear of."""

    placeholder = "__CONFLICTMAP_LABELS_5d1e0b__"

    def __init__(self):
        super().__init__("ConflictmapLabels", ("labels.js",), "labels.css", "conflictmapLabels",
                         self.placeholder)


def _geojson(frame: gpd.GeoDataFrame, props: list[str]) -> dict[str, Any]:
    feats = []
    for row in frame[[*props, "geometry"]].itertuples(index=False):
        d = row._asdict()
        geom = d.pop("geometry")
        feats.append({"type": "Feature", "geometry": geom.__geo_interface__,
                      "properties": {k: (None if v is None or v != v else str(v))
                                     for k, v in d.items()}})
    return {"type": "FeatureCollection", "features": feats}


def map_data(result: Result, basemap: str = "none") -> dict[str, Any]:
    """The page's data, the compressed popup chunks and titles as their texts."""
    data = _map_data(result, basemap)
    _take_forked(data)
    data["popup_chunks"] = [job.result() for job in data["popup_chunks"]]
    if data["titles_gz"] is not None:
        data["titles_gz"] = data["titles_gz"].result()
    return data


def _map_data(result: Result, basemap: str) -> dict[str, Any]:
    """The page's data with the popup chunks and titles still compressing: futures of their
    texts, which the page joins last (`Page.render`), so the work in between overlaps them."""
    f = result.frame.reset_index(drop=True)
    rec = result.records
    days = pd.to_datetime(f["date"])
    start = days.min().date() if len(f) else date.today()
    end = days.max().date() if len(f) else start
    counted = result.density
    if counted is not None and counted.located:  # the slider spans every event, not the detail
        start, end = (min(start, counted.start), max(end, counted.end)) if len(f) else (
            counted.start, counted.end)

    # the chunks compress on worker threads (libdeflate without the GIL) while this thread
    # makes the rest of the page; titles first, the one big job. The pool is shut down at
    # once: its threads finish the queued jobs and then end. Many events: some popups
    # are made in a forked child, unless this process runs other threads (a notebook kernel)
    fork = (len(f) >= FORK_MIN and forking.can_fork() and hasattr(os, "memfd_create")
            and threading.active_count() == 1)
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
    try:
        if fork:
            return _forked_map_data(result, rec, pool, lambda: _page_data(
                result, f, rec, start, end, days, basemap))
        titles_job = _titles_job(rec, pool)
        popup_jobs = _popup_jobs(result, pool, slice(None))
    finally:
        pool.shutdown(wait=False)
    data = _page_data(result, f, rec, start, end, days, basemap)
    data["popup_chunks"], data["titles_gz"] = popup_jobs, titles_job
    return data


def _popup_jobs(result: Result, pool: ThreadPoolExecutor, rows: slice) -> list[Future[str]]:
    """The popup chunks of `rows` (from a multiple of `POPUP_CHUNK`) being made on `pool`."""
    f = result.frame.iloc[rows].reset_index(drop=True)
    rec = result.records.iloc[rows].reset_index(drop=True)

    def column(frame: pd.DataFrame, name: str) -> list[Any]:
        values = frame[name]
        missing = values.isna()
        if not missing.any():
            return values.tolist()
        return values.astype(object).where(~missing, None).tolist()

    # columnar popups: each fact as the text it shows (the page lists them generically, in
    # `popup_facts` order, as text), the sources as the JSON text they are stored as
    popup = popup_columns(result, rows)
    popup["description"] = column(rec, "description")
    popup["sources"] = rec["sources_json"].tolist()
    popup["admin1_uncertain"] = [None if v is None or v != v else bool(v)
                                 for v in f["admin1_uncertain"].tolist()]
    return chunk_jobs(pool, popup, len(f), POPUP_CHUNK, raw=RAW_POPUP)


def _titles_job(rec: pd.DataFrame, pool: ThreadPoolExecutor) -> Future[str] | None:
    """Past `LIST_LIMIT` events, all titles as one compressed line, being made on `pool`."""
    return None if len(rec) <= LIST_LIMIT else chunk_jobs(
        pool, {"title": rec["title"].tolist()}, len(rec), len(rec))[0]


def _forked_map_data(result: Result, rec: pd.DataFrame, pool: ThreadPoolExecutor,
                     page_data: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`_map_data` on both cores: a forked child makes the first `CHILD_SHARE` of the popup
    chunks and the labels' JSON (`labels_json`) while this process makes the rest of the
    page's data and then the other chunks; the titles compress on this process's threads.
    `draw` and `map_data` take the child's labels (`_take_forked`)."""
    chunks = -(-len(rec) // POPUP_CHUNK)
    first = round(chunks * CHILD_SHARE)
    share = slice(0, first * POPUP_CHUNK)

    def child_jobs(child_pool: ThreadPoolExecutor) -> list[Future[str]]:
        labels: Future[str] = Future()
        labels.set_result(safe_json(labels_for(result)))
        return [*_popup_jobs(result, child_pool, share), labels]

    forked = ForkedLines(child_jobs)
    try:
        titles_job = _titles_job(rec, pool)
        data = page_data()
        rest = _popup_jobs(result, pool, slice(share.stop, None))
    except BaseException:
        forked.stop()
        raise
    data["popup_chunks"] = [forked.line(k) for k in range(first)] + rest
    data["titles_gz"] = titles_job
    data["labels_json"] = forked.line(first)
    return data


def _take_forked(data: dict[str, Any]) -> str | None:
    """The labels' JSON a forked child made (waiting for it), removed from `data`; None when
    the page was not forked."""
    labels = data.pop("labels_json", None)
    return None if labels is None else labels.result()


# From this many events some popup chunks are made in a forked child (`ForkedLines`): below it
# they take less than a fork and the copy-on-write of the tables it touches
FORK_MIN = 20_000
# the child's share of the popup chunks: it also makes the labels (and loads the GeoNames
# index for them), so an even split kept the parent waiting ~0.5 s at 100k events
CHILD_SHARE = 0.4


class ForkedLines:
    """Compressed page lines made by `jobs(pool)` in a forked child, which has the tables
    already (nothing pickled). The child writes the lines to an anonymous memory file; the
    parent reads them when it first needs one (`line(k).result()`), or `stop`s the child."""

    def __init__(self, jobs: Callable[[ThreadPoolExecutor], list[Future[str]]]) -> None:
        self._fd = os.memfd_create("conflictmap-page-lines")
        self._lines: list[str] | None = None

        def make() -> None:
            try:
                with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
                    texts = [j.result() for j in jobs(pool)]
                with open(self._fd, "wb", closefd=False) as fh:
                    # base64 and JSON: no newline within a line
                    fh.write("\n".join(texts).encode("utf-8"))
            finally:  # what it kept of the layers (labels) is written before it ends
                recordcache.settle()

        self._child = forking.Child(make)

    def line(self, k: int) -> _Line:
        return _Line(self, k)

    def lines(self) -> list[str]:
        if self._lines is None:
            try:
                self._child.wait()
                with open(self._fd, "rb", closefd=False) as fh:
                    fh.seek(0)
                    self._lines = fh.read().decode("utf-8").split("\n")
            finally:
                self.stop()
        return self._lines

    def stop(self) -> None:
        self._child.stop()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _Line:
    """Line `k` of a `ForkedLines`, taken like a future's result."""

    def __init__(self, source: ForkedLines, k: int) -> None:
        self.source, self.k = source, k

    def result(self) -> str:
        return self.source.lines()[self.k]


def _page_data(result: Result, f: gpd.GeoDataFrame, rec: pd.DataFrame, start: date,
               end: date, days: pd.Series, basemap: str) -> dict[str, Any]:
    """The page's data besides the popup chunks and the titles (their keys hold None)."""
    counted = result.density
    types = list(ACLED_TYPES)
    statuses = [s.value for s in Status]
    precisions = [p.value for p in GeoPrecision] + ["unspecified"]
    type_code = {t: k for k, t in enumerate(types)}
    status_code = {t: k for k, t in enumerate(statuses)}
    prec_code = {t: k for k, t in enumerate(precisions)}
    timeline = result.timeline
    colors = controller_colors(timeline)
    handover = [lyr for lyr in result.layers.values() if lyr.spec.kind == "handover"]
    area_frame = handover[0].frame if handover else gpd.GeoDataFrame(
        {"name": []}, geometry=[], crs=4326)
    areas = []
    for name in area_frame["name"]:
        changes = timeline.by_area.get(str(name), [])
        # unknown (null) before the earliest known state; that state is a change of its own
        since = timeline.known_from(str(name))
        first = [] if since is None or since >= changes[0].day else [
            [(since - start).days, changes[0].before]]
        areas.append({
            "name": str(name),
            "initial": None,
            "known_from": None if since is None else (since - start).days,
            "changes": first + [[(c.day - start).days, c.after] for c in changes],
        })
    layers = _layer_data(result, f)
    return {
        "start": start.isoformat(),
        "days": (end - start).days + 1,
        "types": types,
        "type_colors": [TYPE_COLORS[t] for t in types],
        "type_shapes": [TYPE_SHAPES[t] for t in types],
        "statuses": statuses,
        "precisions": precisions,
        "events": {
            "id": rec["id"].tolist(),
            # few events: titles plain, for the full list; many: in the compressed chunks
            "title": rec["title"].tolist() if len(rec) <= LIST_LIMIT else None,
            "lat": f.geometry.y.round(6).tolist(),
            "lon": f.geometry.x.round(6).tolist(),
            "day": (days - pd.Timestamp(start)).dt.days.tolist(),
            "type": _codes_of(rec["event_type"], types, type_code),
            "status": _codes_of(rec["status"], statuses, status_code),
            "prec": _codes_of(f["geo_precision"], precisions, prec_code, len(precisions) - 1),
            "side": f["side_uncertain"].eq(True).astype(int).tolist(),  # unknown draws as 0
        },
        "popup_facts": [list(fact) for fact in result.schema.popup_facts],
        "popup_chunk": POPUP_CHUNK,
        "popup_chunks": None,  # map_data fills both from the worker threads
        # many events: all titles as one compressed blob, decoded once when the list needs it
        "titles_gz": None,
        # district codes and fatalities: compressed, decoded when a filter first needs them
        # (actors and text come from the popup chunks, which already carry them)
        **_filters(rec, f),
        "bounds": _bounds(f),
        "layers": layers,
        "areas": areas,
        "area_geojson": _geojson(area_frame, ["name"]),
        "area_title": handover[0].spec.title if handover else "Handed-over districts",
        "events_title": "Events",
        "controller_colors": colors,
        "basemaps": {k: v for k, v in BASEMAPS.items()},
        "initial_basemap": basemap,
        "cluster_px": 28,
        # more events than this a megapixel of view: hexagon bins coloured by count
        "aggregate_per_mpx": 1500,
        "hex_px": 16,
        "focus_zoom": 11,
        "list_limit": LIST_LIMIT,
        "prec_radius_km": PREC_RADIUS_KM,
        "density": None if counted is None else density_data(counted, start),
        "side_color": SIDE_UNCERTAIN_COLOR,
    }


def _codes_of(values: pd.Series, names: list[str], code: dict[str, int],
              other: int | None = None) -> list[Any]:
    """Each value's index in `names` by one hash lookup of the column (`Series.map` calls
    Python once a row on arrow strings); a value not in `names` is `other`, or with no `other`
    as `Series.map` gives it (NaN, which the page's strict JSON refuses)."""
    found = pd.Index(names).get_indexer(values)
    if other is not None:
        return np.where(found < 0, other, found).tolist()
    if (found < 0).any():
        return values.map(code).tolist()
    return found.tolist()


def density_data(counted: Density, start: date) -> dict[str, Any]:
    """Every event as (cell centre, step, type, count) columns, days counted from the page's
    `start`: the page bins them with weights; `note` says what the detail leaves out."""
    shift = (counted.start - start).days
    return {
        "lat": counted.lat.tolist(), "lon": counted.lon.tolist(),
        "day": (counted.day + shift).tolist(), "type": counted.type.tolist(),
        "n": counted.n.tolist(), "step_days": counted.step_days, "cell_deg": counted.cell_deg,
        "total": counted.total, "detail": counted.detail, "note": counted.note(),
    }


# an actor's role as the popup words it (actor pairs and any named part of a record)
ROLE = {"side_a": "side A", "side_b": "side B", "assoc_a": "with side A",
        "assoc_b": "with side B", "other": "other"}


def _nothing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def actor_pairs(actors: Any) -> list[list[str]] | None:
    """An event's actors as [name, role as worded] pairs ("" without a role), None if none."""
    if not isinstance(actors, list) or not actors:
        return None
    out = []
    for a in actors:
        name, role = (a, None) if isinstance(a, str) else (a.get("name"), a.get("role"))
        if isinstance(name, str) and name:
            out.append([name, ROLE.get(role, role) if role else ""])
    return out or None


def fact_text(value: Any, list_sep: str = "; ") -> Any:
    """A record value as the popup shows it: lists joined, mappings as `key: value`, an actor
    as its name and role; numbers stay numbers (the page prints them); None when there is
    nothing to show."""
    if _nothing(value) or value in ("", [], {}):
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        shown = [fact_text(v, ", ") for v in value]
        return list_sep.join(str(v) for v in shown if v is not None)
    if isinstance(value, dict):
        if "name" in value:  # an actor (or any named part): the name, its role
            role = value.get("role")
            return str(value["name"]) + (f" ({ROLE.get(role, role)})" if role else "")
        return ", ".join(f"{k}: {fact_text(v, ', ')}" for k, v in value.items())
    return value


def _by_value(fn: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """`fn` of each value, computed once per distinct value: a column repeats few values
    (actors, tags, figures, counts), and the per-value work is the expensive part."""
    keys = [(v.__class__, v) for v in values]  # by type too: True == 1 == 1.0 show apart
    try:
        done = {k: fn(k[1]) for k in dict.fromkeys(keys)}
    except TypeError:  # an unhashable value: one call a row
        return [fn(v) for v in values]
    return [done[k] for k in keys]


def _parsed_by_value(fn: Callable[[Any], Any], texts: list[str | None]) -> list[Any]:
    """`fn` of each JSON text's value, each distinct text parsed once (in one C-level call)."""
    distinct = list(dict.fromkeys(texts))
    done = dict(zip(distinct, map(fn, parse_column(distinct)), strict=True))
    return [done[v] for v in texts]


# a non-empty JSON string literal that is valid as it stands (escapes checked), and a JSON list
# of them as `json.dumps` writes it: such an actors text maps to [name, ""] pairs by rewriting
_JSON_NAME = r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))+"'
_PLAIN_NAMES = rf"^\[{_JSON_NAME}(?:, ?{_JSON_NAME})*\]$"


def actor_texts(texts: list[str | None]) -> list[str | None]:
    """Each stored actors JSON text as the JSON text of its `actor_pairs` (None: none).

    A list of plain names (most rows) is rewritten as text, `"a"` to `["a",""]`, in one
    vectorised pass with no parsing; any other text (roles, empty names) is parsed and
    paired in Python. Either way the page decodes the same pairs."""
    distinct = list(dict.fromkeys(texts))
    arr = pa.array(distinct, type=pa.string())
    plain = pc.match_substring_regex(arr, _PLAIN_NAMES).fill_null(False).to_numpy(
        zero_copy_only=False)
    rewritten = pc.replace_substring_regex(arr, _JSON_NAME, r'[\0,""]').to_pylist()
    rest = [t for t, ok in zip(distinct, plain.tolist(), strict=True) if not ok]
    other = dict(zip(rest, (None if p is None else json.dumps(p, ensure_ascii=False,
                                                              separators=(",", ":"))
                            for p in map(actor_pairs, parse_column(rest))), strict=True))
    done = {t: (r if ok else other[t])
            for t, ok, r in zip(distinct, plain.tolist(), rewritten, strict=True)}
    return [done[t] for t in texts]


def popup_columns(result: Result, rows: slice = slice(None)) -> dict[str, list[Any]]:
    """Every popup fact (`schema.popup_facts`) as a column of display values, one per event
    (of `rows`): the record's labelled fields generically, the composite facts from the built
    frame. Columns named in `RAW_POPUP` hold JSON texts (None: nothing to show)."""
    f, rec, schema = (result.frame.iloc[rows].reset_index(drop=True),
                      result.records.iloc[rows].reset_index(drop=True), result.schema)

    when = rec["date"].astype(str)
    until = rec["end_date"]
    prec = rec["date_precision"].astype(str)
    date = pd.Series(np.where(until.notna(), when + " to " + until.astype(str), when))
    date = date.where(prec == "day", date + " (to the " + prec + ")")
    sub = rec["sub_event_type"].astype(object).where(rec["sub_event_type"].notna(), None)
    kind = rec["event_type"].where(sub.isna(), rec["event_type"] + " / " + sub.fillna(""))
    place = (f["place_name"].astype(str) + " (" + f["geo_precision"].astype(str)
             + " precision, via " + f["geocoder"].astype(str) + ")")
    area = f["country"].fillna("unknown").astype(str) + " / " + f["admin1"].fillna(
        "unknown").astype(str)
    km = f["border_distance_km"].astype(float)
    # inline tests, not `_nothing` calls: these loops run once an event
    controller = [c if not (c is None or (isinstance(c, float) and c != c)) else (
        None if h is None or (isinstance(h, float) and h != h) else "unknown")
                  for c, h in zip(f["controller"].tolist(), f["handover_area"].tolist(),
                                  strict=True)]
    candidates = [" or ".join(map(str, c)) if u is True else None
                  for c, u in zip(f["admin1_candidates"].tolist(),
                                  f["admin1_uncertain"].tolist(), strict=True)]
    dataset = [None if n is None or (isinstance(n, float) and n != n) else n + (
        "" if i is None or (isinstance(i, float) and i != i) else f" {i}")
               for n, i in zip(rec["dataset_name"].tolist(), rec["dataset_id"].tolist(),
                               strict=True)]
    out: dict[str, list[Any]] = {
        "_date": date.tolist(), "_type": kind.tolist(), "_place": place.tolist(),
        "_area": area.tolist(), "_candidates": candidates,
        "_border": [None if v != v else f"{v:.2f} km" for v in km.tolist()],
        "_controller": controller, "_dataset": dataset,
    }
    for name, _label in schema.popup:
        if name == "actors":  # [name, role] pairs: the popup joins them, the filter indexes them
            out[name] = actor_texts(rec[schema[name].column].tolist())
            continue
        field = schema[name]
        absent = POPUP_ABSENT.get(name)
        sep = ", " if field.text_list else "; "
        as_int = field.scalar == "int" and not field.nested

        def shown(v: Any, sep: str = sep, absent: Any = absent, as_int: bool = as_int) -> Any:
            s = fact_text(v, sep)
            return absent if s is None else int(s) if as_int else s

        values = rec[field.column].tolist()
        out[name] = (_parsed_by_value(shown, values) if field.nested
                     else _by_value(shown, values))
    return out


# popup columns that hold JSON texts: they go into the chunks as they are
RAW_POPUP = frozenset({"actors", "sources"})


def _filters(rec: pd.DataFrame, frame: pd.DataFrame) -> dict[str, Any]:
    cols = filter_columns(rec, frame)
    names = cols.pop("admin1_names")
    return {"admin1_names": names, "filters_gz": compress_json(cols)}


LIST_LIMIT = 2000  # up to this many events the list shows them all, with titles in plain
POPUP_CHUNK = 1000  # events per compressed popup chunk: decoding one costs a few ms
# gzip by libdeflate: at 100k synthetic events its level 4 gives 12.9 MB in 0.45 s of CPU where
# zlib's level 4 gave 13.4 MB in 0.70 s (zlib-ng level 3: 13.8 MB, 0.40 s; ISA-L: >= 15.5 MB)
GZIP_LEVEL = 4


def gzip_b64(text: str | bytes) -> str:
    """UTF-8 text gzipped (no timestamp: the same page gives the same bytes) and base64-encoded:
    ASCII with no `<`, safe in a script. libdeflate releases the GIL, so chunks compress on all
    cores."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return base64.b64encode(deflate.gzip_compress(raw, GZIP_LEVEL)).decode()


def chunk_jobs(pool: ThreadPoolExecutor, columns: dict[str, list[Any]], n: int, size: int,
               raw: frozenset[str] = frozenset()) -> list[Future[str]]:
    """Columns cut into chunks of `size` rows, each to become JSON, gzipped and base64-encoded
    (ASCII, safe in a script) on `pool`: the futures of their texts, in order.

    Columns named in `raw` hold JSON texts (checked strict JSON when loaded) and go in verbatim,
    not re-encoded as strings: no second escaping, and the page parses them once.
    """

    def one(k: int) -> str:
        parts = []
        for name, values in columns.items():
            part = values[k:k + size]
            body = (("[" + ",".join("null" if v is None else v for v in part) + "]").encode()
                    if name in raw else compact_json(part))
            parts.append(compact_json(name) + b":" + body)
        return gzip_b64(b"{" + b",".join(parts) + b"}")

    return [pool.submit(one, k) for k in range(0, n, size)]


def compress_json(obj: Any) -> str:
    """One value as gzipped, base64-encoded JSON: a line of the block the browser never runs."""
    return gzip_b64(compact_json(obj))


BLOB_ID = "conflictmap-blobs"
DATA_ID = "conflictmap-data"
# the event layer's data: JSON.parse of a block that never runs costs ~30 ms at 100k events,
# where V8 spent ~120 ms compiling the same 4.6 MB as a JS literal
DATA_EXPR = f'JSON.parse(document.getElementById("{DATA_ID}").textContent)'


def page_parts(data: dict[str, Any]) -> tuple[str, list[str | Future[str]]]:
    """The init call's data argument, and the two blocks the browser never runs that it reads.

    The data goes as JSON into a `<script type="application/json">` that the argument
    `JSON.parse`s: at 100k events that costs ~30 ms where compiling the same 4.6 MB as a JS
    literal cost ~120 ms (drawn: median 937 against 985 ms over 6 loads). The popup chunks
    and the titles blob (base64: no `<`, so they cannot end the element) go one a line into a
    `<script type="application/octet-stream">`; the JS keeps their line numbers. V8 then
    never parses them as string literals, which at 100k events is ~17 MB and ~130 ms.
    The blocks come as parts (a compressed line may be the future of its text), which the
    page joins once, last (25 MB copied once, not per `+`).
    """
    chunks, titles = data["popup_chunks"], data["titles_gz"]
    rest = {k: v for k, v in data.items() if k not in ("popup_chunks", "titles_gz", "filters_gz")}
    rest["blob_id"] = BLOB_ID
    rest["popup_lines"] = len(chunks)  # lines 0 .. n-1
    rest["titles_line"] = len(chunks) if titles else None
    lines = [*chunks, *([titles] if titles else [])]
    rest["filters_line"] = len(lines)
    lines.append(data["filters_gz"])
    block = [f'<script type="application/octet-stream" id="{BLOB_ID}">']
    for k, line in enumerate(lines):
        block += ("\n", line) if k else (line,)
    block.append("</script>")
    # safe_json escapes every `<`: the text cannot end its element or open a comment
    data_block = [f'<script type="application/json" id="{DATA_ID}">', safe_json(rest),
                  "</script>\n"]
    return DATA_EXPR, data_block + block


VIEW_PAD_DEG = 3.0  # layers are drawn this far around the events, not the whole world


def drawn_layers(result: Result, events: gpd.GeoDataFrame,
                 ) -> list[tuple[Any, gpd.GeoDataFrame]]:
    """The boundary layers the page draws, cut to the events' surroundings (the page need not
    carry 2 MB of world it never shows). Country layers are outlines: a finer layer earlier in
    the manifest draws inside its own extent, minus the straight edges where it was clipped
    (no border runs there), and a coarser one after it draws only outside that extent, so
    outlines are neither doubled nor cut off."""
    box = None
    if len(events):
        w, s, e, n = (float(v) for v in events.geometry.total_bounds)
        box = (w - VIEW_PAD_DEG, s - VIEW_PAD_DEG, e + VIEW_PAD_DEG, n + VIEW_PAD_DEG)
    covered = None  # the extent of the country layers drawn so far
    out = []
    for lyr in result.layers.values():
        if lyr.spec.kind == "handover" or not len(lyr.frame):
            continue
        frame = lyr.frame if box is None else lyr.frame.cx[box[0]:box[2], box[1]:box[3]]
        if not len(frame):
            continue
        geom = frame.geometry
        if not lyr.spec.style.get("fill_opacity"):  # outlines only: draw them as lines
            geom = geom.boundary.where(geom.geom_type.str.contains("Polygon"), geom)
            if lyr.spec.kind == "country":
                extent = shapely.box(*lyr.frame.total_bounds)
                geom = geom.difference(extent.boundary.buffer(1e-6))
                if covered is not None:
                    geom = geom.difference(covered)
                covered = extent if covered is None else covered.union(extent)
            if box is not None:  # a cut line leaves no straight edge to read as a border
                geom = geom.clip_by_rect(*box)
        frame = frame.assign(geometry=geom)[~(geom.isna() | geom.is_empty)]
        if len(frame):
            out.append((lyr, frame))
    return out


# The last boundary layers and label candidates made, with what they were made from (the layer
# set, the events' bounds, the gazetteer index): `build --watch` draws the page again after
# each edit with the same layers, and an edit rarely moves the events' bounds. At 10k events
# they were a quarter of a rebuild.
_LAST: dict[str, tuple[Any, tuple[float, ...], Any, Any]] = {}


def _memo(name: str, layers: Any, events: gpd.GeoDataFrame, other: Any,
          make: Callable[[], Any]) -> Any:
    bounds = tuple(float(v) for v in events.geometry.total_bounds) if len(events) else ()
    last = _LAST.get(name)
    if last is not None and last[0] is layers and last[1] == bounds and last[2] is other:
        return last[3]
    value = make()
    _LAST[name] = (layers, bounds, other, value)
    return value


def _layer_data(result: Result, events: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """The drawn boundary layers as the page's data (see `drawn_layers`)."""
    def make() -> list[dict[str, Any]]:
        return [{"name": lyr.spec.name, "title": lyr.spec.title or lyr.spec.name,
                 "kind": lyr.spec.kind, "style": lyr.spec.style,
                 "geojson": _geojson(frame, ["name"])}
                for lyr, frame in drawn_layers(result, events)]

    def kept() -> list[dict[str, Any]]:
        return _kept_json(getattr(result.layers, "key", None), "drawn", "render/map.py",
                          events, lambda: json.dumps(make(), ensure_ascii=False))

    return list(_memo("layers", result.layers, events, None, kept))


def _kept_json(key: str | None, name: str, module: str, events: gpd.GeoDataFrame,
               make: Callable[[], str], *also: object) -> Any:
    """JSON made of a kept layer set (`layercache.derived`) by the code of `module` for the
    events' bounds (and whatever else it depends on, `also`), parsed."""
    bounds = [float(v) for v in events.geometry.total_bounds] if len(events) else []
    return json.loads(layercache.derived(key, name, [layercache.source_of(module), *also,
                                                     json.dumps(bounds)], make))


class _NoTowns(Exception):
    """The GeoNames index did not load (`labels_for`)."""


def labels_for(result: Result) -> dict[str, Any]:
    """The label candidates and the attribution (towns from the GeoNames index when it loads).

    Kept with the layer set between runs for the same events' bounds and GeoNames data
    (`layercache.derived`): then the index is not even loaded (0.12 s, and 0.1 s to place)."""
    def make() -> str:
        try:
            index = load_index()
        except (OSError, ImportError, ValueError) as exc:
            raise _NoTowns from exc  # nothing kept: the index may load next time
        return json.dumps(label_data(result.layers, result.frame, index), ensure_ascii=False)

    try:
        towns = index_version()  # names the index's content
    except (OSError, ImportError, ValueError):
        towns = None
    key = getattr(result.layers, "key", None) if towns is not None else None
    events = result.frame

    def kept() -> dict[str, Any]:
        try:
            return {**_kept_json(key, "labels", "render/labels.py", events, make, towns),
                    "towns": True}
        except _NoTowns:  # no gazetteer here: the map goes without towns
            return {**label_data(result.layers, events, None), "towns": False}

    data = dict(_memo("labels", result.layers, events, towns, kept))
    data["attribution"] = attribution(result.layers, with_towns=data.pop("towns"))
    return data


def _bounds(frame: gpd.GeoDataFrame, pad: float = 0.15) -> list[list[float]] | None:
    if not len(frame):
        return None
    w, s, e, n = (float(v) for v in frame.geometry.total_bounds)
    return [[s - pad, w - pad], [n + pad, e + pad]]


@gcpause.paused()
def render(result: Result, *, self_contained: bool = True, basemap: str = "none",
           bundle: Bundle | None = None) -> str:
    """The page as one HTML string; self-contained unless the caller asks for CDN links."""
    with progress.step(f"drawing the map ({len(result.frame):,} events)"):
        return _render(result, self_contained=self_contained, basemap=basemap, bundle=bundle)


def _render(result: Result, *, self_contained: bool, basemap: str,
            bundle: Bundle | None) -> str:
    m = draw(result, self_contained=self_contained, basemap=basemap, bundle=bundle)
    return m.get_root().render()


def draw(result: Result, m: folium.Map | None = None, *, self_contained: bool = True,
         basemap: str = "none", bundle: Bundle | None = None,
         initial_hash: str | None = None) -> folium.Map:
    """Our layers added to `m` (a new map when None), whose root becomes a `Page`: its
    `render()`, `save()` and notebook display all give the finished page. `initial_hash`: the
    view the page opens with when its address has no hash (`#date=...&type=...`)."""
    data = _map_data(result, basemap)
    data["initial_hash"] = initial_hash
    if m is None:
        m = folium.Map(location=[40.0, 46.0], zoom_start=8, tiles=None, control_scale=True,
                       maxZoom=18)
    m.default_js = [("leaflet", ASSETS[0].url)]
    m.default_css = [("leaflet_css", ASSETS[1].url)]
    folium.plugins.Fullscreen(position="topleft").add_to(m)
    folium.plugins.MeasureControl(position="topleft", primary_length_unit="kilometers",
                                  primary_area_unit="sqkilometers").add_to(m)
    EventLayer().add_to(m)
    LabelLayer().add_to(m)
    page = Page.adopt(m)
    title = page_title(result.frame, area_names(result.layers, result.frame["country"]),
                       result.density)
    page.header.add_child(folium.Element(
        '<meta name="generator" content="conflictmap">'
        f"<title>{escape(title)}</title>"), name="cm_meta")
    labels = _take_forked(data)
    script_data, block = page_parts(data)
    page.fill({EventLayer.placeholder: script_data,
               LabelLayer.placeholder: safe_json(labels_for(result)) if labels is None
               else labels}, block,
              (bundle or Bundle()) if self_contained else None)
    for part in block:  # a forked child's lines: taken now, so no child outlives `draw`
        if isinstance(part, _Line):
            part.result()
    return m
