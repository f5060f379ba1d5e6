"""The interactive map: a folium page with our own event/timeline plugin over compact data.

Events are embedded once as columns (arrays) and drawn by `eventlayer.js` on one canvas, so the
page does not carry one Leaflet object per event. All user text travels as JSON data escaped for
a <script> context, and the page puts it into the DOM with textContent only.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from importlib import resources
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xyzservices.providers as xyz
from branca.element import MacroElement
from folium.template import Template

from ..model import ACLED_TYPES, GeoPrecision, Status
from ..pipeline import Result
from .assets import ASSETS, Bundle, inline_all
from .filterdata import filter_columns

TYPE_COLORS = {
    "Battles": "#d7191c",
    "Explosions/Remote violence": "#fdae61",
    "Violence against civilians": "#7b3294",
    "Protests": "#1a9641",
    "Riots": "#a6611a",
    "Strategic developments": "#2b83ba",
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
BASEMAPS = {
    "none": {"name": "No basemap (offline)", "url": None},
    "osm": {"name": "OpenStreetMap", "url": xyz.OpenStreetMap.Mapnik.build_url(),
            "attribution": xyz.OpenStreetMap.Mapnik.html_attribution, "max_zoom": 19},
    "satellite": {"name": "Satellite (Esri World Imagery)",
                  "url": xyz.Esri.WorldImagery.build_url(),
                  "attribution": xyz.Esri.WorldImagery.html_attribution, "max_zoom": 18},
}


def safe_json(obj: Any) -> str:
    """JSON that is also safe inside an HTML <script>: no `</script>`, no line separators."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                     ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, esc)
    return text


def _read(name: str) -> str:
    return resources.files("conflictmap.render").joinpath(name).read_text("utf-8")


# the page's scripts, in order: helpers first, then the layer that uses them
SCRIPTS = ("density.js", "histogram.js", "filters.js", "eventlayer.js")


class EventLayer(MacroElement):
    """Our folium plugin: library code in the page head, one init call with the data."""

    _template = Template("""
{% macro header(this, kwargs) %}
<style>{{ this.css }}</style>
<script>{{ this.js }}</script>
{% endmacro %}
{% macro script(this, kwargs) %}
conflictmapInit({{ this._parent.get_name() }}, {{ this.placeholder }});
{% endmacro %}
""")
    # branca turns each rendered macro into a new Jinja template: 30 MB of data there would be
    # lexed and compiled as template source. The data goes into the finished page instead.
    placeholder = "__CONFLICTMAP_DATA_7f3a9c__"

    def __init__(self):
        super().__init__()
        self._name = "ConflictmapEvents"
        self.js = "\n".join(_read(name) for name in SCRIPTS).replace("</script", "<\\/script")
        self.css = _read("eventlayer.css")


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
    f = result.frame.reset_index(drop=True)
    rec = result.records
    days = pd.to_datetime(f["date"])
    start = days.min().date() if len(f) else date.today()
    end = days.max().date() if len(f) else start
    types = list(ACLED_TYPES)
    statuses = [s.value for s in Status]
    precisions = [p.value for p in GeoPrecision] + ["unspecified"]
    type_code = {t: k for k, t in enumerate(types)}
    status_code = {t: k for k, t in enumerate(statuses)}
    prec_code = {t: k for k, t in enumerate(precisions)}
    timeline = result.timeline
    controllers = sorted({c for cs in timeline.by_area.values()
                          for ch in cs for c in (ch.before, ch.after)})
    colors = dict(CONTROLLER_COLORS)
    for c in controllers:
        colors.setdefault(c, EXTRA_COLORS[len(colors) % len(EXTRA_COLORS)])
    colors["_other"] = "#bbbbbb"
    colors["_unknown"] = "#e8e8e8"

    def column(frame: pd.DataFrame, name: str) -> list[Any]:
        values = frame[name]
        missing = values.isna()
        if not missing.any():
            return values.tolist()
        return values.astype(object).where(~missing, None).tolist()

    refs = (column(rec, "dataset_name"), column(rec, "dataset_id"))
    when = rec["date"].astype(str)
    until = rec["end_date"]
    # columnar popups, nested parts as the JSON text they are stored as: no object per event
    popup = {
        "date": np.where(until.notna(), when + " to " + until.astype(str), when).tolist(),
        "date_precision": rec["date_precision"].tolist(),
        "sub_type": column(rec, "sub_event_type"),
        "actors": column(rec, "actors_json"),
        "place": column(f, "place_name"), "geocoder": column(f, "geocoder"),
        "country": column(f, "country"), "admin1": column(f, "admin1"),
        "border_km": column(f, "border_distance_km"), "controller": column(f, "controller"),
        "figures": column(rec, "figures_json"),
        "fatalities": [None if v is None or v != v else int(v)
                       for v in rec["fatalities"].tolist()],
        "description": column(rec, "description"),
        "sources": rec["sources_json"].tolist(),
        "tags": column(rec, "tags_json"),
        "admin1_uncertain": [None if v is None or v != v else bool(v)
                             for v in f["admin1_uncertain"].tolist()],
        "admin1_candidates": [json.dumps(list(c), ensure_ascii=False)
                              for c in f["admin1_candidates"].tolist()],
        "handover_area": column(f, "handover_area"),
        "dataset": refs[0], "dataset_id": refs[1],
    }
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
    layers = []
    for lyr, frame in drawn_layers(result, f):
        layers.append({"name": lyr.spec.name, "title": lyr.spec.title or lyr.spec.name,
                       "kind": lyr.spec.kind, "style": lyr.spec.style,
                       "geojson": _geojson(frame, ["name"])})
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
            "type": rec["event_type"].map(type_code).tolist(),
            "status": rec["status"].map(status_code).tolist(),
            "prec": [prec_code.get(p, len(precisions) - 1) for p in f["geo_precision"].tolist()],
            "side": f["side_uncertain"].eq(True).astype(int).tolist(),  # unknown draws as 0
        },
        "popup_chunk": POPUP_CHUNK,
        "popup_chunks": compress_chunks(popup, len(f), POPUP_CHUNK,
                                        raw=frozenset({"actors", "figures", "sources", "tags",
                                                   "admin1_candidates"})),
        # many events: all titles as one compressed blob, decoded once when the list needs it
        "titles_gz": None if len(rec) <= LIST_LIMIT else compress_chunks(
            {"title": rec["title"].tolist()}, len(rec), len(rec))[0],
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
    }


def _filters(rec: pd.DataFrame, frame: pd.DataFrame) -> dict[str, Any]:
    cols = filter_columns(rec, frame)
    names = cols.pop("admin1_names")
    return {"admin1_names": names, "filters_gz": compress_json(cols)}


LIST_LIMIT = 2000  # up to this many events the list shows them all, with titles in plain
POPUP_CHUNK = 1000  # events per compressed popup chunk: decoding one costs a few ms
# 100k synthetic events: level 6 takes 1.8 s of CPU for 11.1 MB, level 4 0.6 s for 13.0 MB
GZIP_LEVEL = 4


def compress_chunks(columns: dict[str, list[Any]], n: int, size: int,
                    raw: frozenset[str] = frozenset()) -> list[str]:
    """Columns cut into chunks of `size` rows, each as JSON, gzipped and base64-encoded (ASCII,
    safe in a script). zlib releases the GIL, so chunks compress on all cores.

    Columns named in `raw` hold JSON texts (checked strict JSON when loaded) and go in verbatim,
    not re-encoded as strings: no second escaping, and the page parses them once.
    """

    def one(k: int) -> str:
        parts = []
        for name, values in columns.items():
            part = values[k:k + size]
            body = ("[" + ",".join("null" if v is None else v for v in part) + "]"
                    if name in raw else
                    json.dumps(part, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
            parts.append(f"{json.dumps(name)}:{body}")
        text = "{" + ",".join(parts) + "}"
        return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=GZIP_LEVEL,
                                              mtime=0)).decode()

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(one, range(0, n, size)))


def compress_json(obj: Any) -> str:
    """One value as gzipped, base64-encoded JSON: a line of the block the browser never runs."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=GZIP_LEVEL,
                                          mtime=0)).decode()


BLOB_ID = "conflictmap-blobs"


def page_parts(data: dict[str, Any]) -> tuple[str, str]:
    """The data as a JS expression, plus the compressed parts as a block the browser never runs.

    The popup chunks and the titles blob (base64: no `<`, so they cannot end the element) go one
    a line into a `<script type="application/octet-stream">`; the JS keeps their line numbers.
    V8 then never parses them as string literals, which at 100k events is ~17 MB and ~130 ms.
    """
    chunks, titles = data["popup_chunks"], data["titles_gz"]
    rest = {k: v for k, v in data.items() if k not in ("popup_chunks", "titles_gz", "filters_gz")}
    rest["blob_id"] = BLOB_ID
    rest["popup_lines"] = len(chunks)  # lines 0 .. n-1
    rest["titles_line"] = len(chunks) if titles else None
    lines = [*chunks, *([titles] if titles else [])]
    rest["filters_line"] = len(lines)
    lines.append(data["filters_gz"])
    block = (f'<script type="application/octet-stream" id="{BLOB_ID}">'
             + "\n".join(lines) + "</script>")
    return safe_json(rest), block


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


def _bounds(frame: gpd.GeoDataFrame, pad: float = 0.15) -> list[list[float]] | None:
    if not len(frame):
        return None
    w, s, e, n = (float(v) for v in frame.geometry.total_bounds)
    return [[s - pad, w - pad], [n + pad, e + pad]]


def render(result: Result, *, self_contained: bool = True, basemap: str = "none",
           bundle: Bundle | None = None) -> str:
    """The page as one HTML string; self-contained unless the caller asks for CDN links."""
    data = map_data(result, basemap)
    m = folium.Map(location=[40.0, 46.0], zoom_start=8, tiles=None, control_scale=True,
                   maxZoom=18)
    m.default_js = [("leaflet", ASSETS[0].url)]
    m.default_css = [("leaflet_css", ASSETS[1].url)]
    folium.plugins.Fullscreen(position="topleft").add_to(m)
    folium.plugins.MeasureControl(position="topleft", primary_length_unit="kilometers",
                                  primary_area_unit="sqkilometers").add_to(m)
    EventLayer().add_to(m)
    m.get_root().header.add_child(folium.Element(
        '<meta name="generator" content="conflictmap">'), name="cm_meta")
    html = m.get_root().render()
    if html.count(EventLayer.placeholder) != 1:
        raise RuntimeError("the page template lost the data placeholder")
    script_data, block = page_parts(data)
    html = html.replace(EventLayer.placeholder, script_data)
    end = html.rindex("</body>")
    html = html[:end] + block + "\n" + html[end:]
    if self_contained:  # the CDN tags are all in <head>; the (large) body is left alone
        head, sep, body = html.partition("</head>")
        html = inline_all(head, bundle or Bundle()) + sep + body
    return html
