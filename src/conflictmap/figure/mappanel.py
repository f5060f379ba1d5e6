"""The map panel: boundaries, handed-over districts coloured by controller on the date, the
events with the web map's symbols, precision rings and place names.

Drawn in the UTM zone of the view's centre, so distances on the paper are true and the scale
bar means what it says. Colours, shapes, ring sizes and the label candidates come from the web
map's own modules (`render.map`, `render.labels`): one answer for both pictures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Circle
from matplotlib.transforms import Bbox
from pyproj import CRS, Transformer

from ..layerio import Layer
from ..model import ACLED_TYPES
from ..render.labels import candidates
from ..render.map import (
    PREC_RADIUS_KM,
    SIDE_UNCERTAIN_COLOR,
    TYPE_COLORS,
    TYPE_SHAPES,
    drawn_layers,
)
from ..timeline import Timeline
from .placement import CENTRED, Placer, around

# the page's shape names as matplotlib markers, with a size factor for about the same ink
MARKERS = {"circle": ("o", 1.0), "square": ("s", 0.9), "diamond": ("D", 0.8),
           "star": ("*", 1.35), "triangle": ("^", 1.05), "triangle-down": ("v", 1.05)}
AREA_EDGE, AREA_ALPHA = "#333333", 0.3  # as the page's areaStyle: light, symbols keep 3:1
GROUP_FACE = (40 / 255, 40 / 255, 40 / 255, 0.85)  # as the page draws grouped events
PRINT_WEIGHT = 0.5  # points per web pixel: screen line weights read heavy on paper
PAD = 0.12  # air around the events and districts, as a share of the view
MIN_SPAN_M = 20_000.0
LABEL_STYLE = {  # class -> (size factor, colour, weight, style)
    "country": (1.3, "#3a3a3a", "bold", "normal"),
    "lake": (0.95, "#2a6f9a", "normal", "italic"),
    "district": (0.95, "#555555", "normal", "italic"),
    "town": (0.95, "#1a1a1a", "normal", "normal"),
}


@dataclass
class MapPanel:
    """What was drawn, for the furniture and the legend that come after."""

    crs: CRS
    extent: tuple[float, float, float, float]  # x0, y0, x1, y1 in `crs` metres
    types: list[str] = field(default_factory=list)  # event types on the map
    controllers: list[str | None] = field(default_factory=list)  # on the date, drawn
    rings: bool = False
    halos: bool = False
    groups: bool = False
    obstacles: list[Bbox] = field(default_factory=list)  # symbols labels keep clear of
    points: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))  # events, pixels


def utm_of(lon: float, lat: float) -> CRS:
    """The UTM zone of a point (north or south): a metric plane true to ~0.1% near it."""
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def event_days(gdf: pd.DataFrame) -> pd.Series:
    """The events' days as datetime64, whatever the date column holds (dates, text, stamps)."""
    return pd.to_datetime(gdf["date"].astype(str).str.slice(0, 10), format="%Y-%m-%d")


def view_extent(ax: Axes, parts: list[Any], aspect: float) -> tuple[float, float, float, float]:
    """Bounds around `parts` (geometries in metres), padded and widened to the panel's
    aspect (width / height), so the map fills its box."""
    x0, y0, x1, y1 = shapely.GeometryCollection(parts).bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w = max(x1 - x0, MIN_SPAN_M) * (1 + 2 * PAD)
    h = max(y1 - y0, MIN_SPAN_M) * (1 + 2 * PAD)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _lines(style: dict[str, Any], scale: float) -> dict[str, Any]:
    """A layer's web style (pixels) as matplotlib keywords (points, scaled for print)."""
    lw = float(style.get("weight", 1)) * PRINT_WEIGHT * scale
    out: dict[str, Any] = {"linewidth": lw, "edgecolor": style.get("color", "#666666")}
    dash = str(style.get("dash_array", "")).split()
    if dash:
        out["linestyle"] = (0, tuple(float(d) * PRINT_WEIGHT * scale / max(lw, 1e-6)
                                     for d in dash))
    return out


def draw_boundaries(ax: Axes, layers: dict[str, Layer], events: gpd.GeoDataFrame,
                    crs: CRS, scale: float) -> None:
    """The web map's boundary layers (`render.map.drawn_layers`: outlines not doubled),
    in their own styles and manifest order."""
    for z, (lyr, frame) in enumerate(drawn_layers(SimpleNamespace(layers=layers), events)):
        style = lyr.spec.style
        kw = _lines(style, scale)
        opacity = float(style.get("fill_opacity", 0) or 0)
        geoms = frame.to_crs(crs).geometry
        if opacity:
            face = to_rgba(style.get("fill_color", style.get("color", "#666666")), opacity)
            geoms.plot(ax=ax, facecolor=face, zorder=1 + z * 0.01, gid=f"layer:{lyr.spec.name}",
                       **kw)
        else:
            kw["color"] = kw.pop("edgecolor")
            geoms.plot(ax=ax, zorder=2 + z * 0.01, gid=f"layer:{lyr.spec.name}", **kw)


def draw_areas(ax: Axes, handover: gpd.GeoDataFrame, timeline: Timeline, day: date,
               colors: dict[str, str], crs: CRS, scale: float) -> list[str | None]:
    """Each handed-over district filled by its controller on `day` (timeline.py's answer),
    one artist per district (gid `handover:<name>`); returns the controllers drawn."""
    seen: list[str | None] = []
    for name, geom in zip(handover["name"], handover.to_crs(crs).geometry, strict=True):
        who = timeline.controller(str(name), day)
        color = colors["_unknown"] if who is None else colors.get(who, colors["_other"])
        gpd.GeoSeries([geom], crs=crs).plot(
            ax=ax, facecolor=to_rgba(color, AREA_ALPHA), edgecolor=AREA_EDGE,
            linewidth=1.5 * PRINT_WEIGHT * scale, zorder=1.5, gid=f"handover:{name}")
        if who not in seen:
            seen.append(who)
    return seen


def _pixels(ax: Axes, xy: np.ndarray) -> np.ndarray:
    return ax.transData.transform(xy) if len(xy) else np.empty((0, 2))


def _groups(px: np.ndarray, radius: float) -> list[list[int]]:
    """Events closer than `radius` pixels to a group's first event join it (in the order
    given: by date), as the page groups marks that would cover one another."""
    groups: list[list[int]] = []
    heads: list[np.ndarray] = []
    for i, p in enumerate(px):
        for g, h in zip(groups, heads, strict=True):
            if np.hypot(*(p - h)) < radius:
                g.append(i)
                break
        else:
            groups.append([i])
            heads.append(p)
    return groups


def draw_events(ax: Axes, events: gpd.GeoDataFrame, panel: MapPanel, marker_pt: float,
                scale: float) -> None:
    """The events up to the date: rings, halos, symbols by type, groups with their count."""
    dpi = ax.figure.dpi
    xy = np.column_stack([events.geometry.x, events.geometry.y]) if len(events) else np.empty(
        (0, 2))
    px = _pixels(ax, xy)
    panel.points = px
    r_px = marker_pt / 2 * dpi / 72
    groups = _groups(px, 1.6 * 2 * r_px)
    types = events["event_type"].tolist()
    precs = (events["geo_precision"].tolist() if "geo_precision" in events
             else [None] * len(events))
    side = (events["side_uncertain"].tolist() if "side_uncertain" in events
            else [None] * len(events))
    view = ax.bbox
    for i in range(len(events)):  # rings under everything: the area each may lie in
        km = PREC_RADIUS_KM.get(str(precs[i]), 0)
        ring_px = km * 1000 * (view.width / (panel.extent[2] - panel.extent[0]))
        if km and 1.3 * r_px < ring_px < 0.5 * min(view.width, view.height):
            color = TYPE_COLORS.get(types[i], "#555555")
            ax.add_patch(Circle((xy[i, 0], xy[i, 1]), km * 1000, facecolor=to_rgba(color, 0.05),
                                edgecolor=to_rgba(color, 0.5), linestyle=(0, (3, 2)),
                                linewidth=0.6 * scale, zorder=4, gid="ring"))
            panel.rings = True
    singles = [g[0] for g in groups if len(g) == 1]
    for t in ACLED_TYPES:
        rows = [i for i in singles if types[i] == t]
        if not rows:
            continue
        marker, k = MARKERS.get(TYPE_SHAPES[t], ("o", 1.0))
        ax.scatter(xy[rows, 0], xy[rows, 1], s=(marker_pt * k) ** 2, marker=marker,
                   c=TYPE_COLORS[t], edgecolors="white", linewidths=0.5 * scale, zorder=6,
                   label=t, gid=f"events:{t}")
    halo = [i for i in singles if side[i] is True]
    if halo:
        ax.scatter(xy[halo, 0], xy[halo, 1], s=(marker_pt * 1.75) ** 2, marker="o",
                   facecolors="none", edgecolors=SIDE_UNCERTAIN_COLOR, linewidths=0.7 * scale,
                   linestyles=(0, (2, 1.5)), zorder=5, gid="side-uncertain")
        panel.halos = True
    size = marker_pt * 1.5
    for g in (g for g in groups if len(g) > 1):
        x, y = xy[g[0]]
        ax.scatter([x], [y], s=size ** 2, marker="o", c=[GROUP_FACE], edgecolors="white",
                   linewidths=0.7 * scale, zorder=6.5, gid="group")
        ax.text(x, y, str(len(g)), ha="center", va="center", color="white",
                fontsize=marker_pt * 0.8, fontweight="bold", zorder=6.6, gid="group-count")
        panel.groups = True
    panel.types = [t for t in ACLED_TYPES if t in set(types)]
    for g in groups:  # labels keep off every mark, halo and group
        rr = r_px * (1.75 if len(g) == 1 and side[g[0]] is True else
                     1.5 if len(g) > 1 else 1.1)
        cx, cy = px[g[0]]
        panel.obstacles.append(Bbox.from_extents(cx - rr, cy - rr, cx + rr, cy + rr))


def map_zoom(ax: Axes, panel: MapPanel, lat: float) -> float:
    """The web map zoom that shows this view at this width (CSS pixels, 96 to the inch):
    which label candidates belong at this scale."""
    width_css = ax.bbox.width / ax.figure.dpi * 96
    mpp = (panel.extent[2] - panel.extent[0]) / width_css
    return math.log2(156543.03 * math.cos(math.radians(lat)) / mpp)


def draw_labels(ax: Axes, layers: dict[str, Layer], panel: MapPanel, index: Any | None,
                placer: Placer, font: float, scale: float, marker_pt: float) -> None:
    """Country, lake, district and town names by the web map's priority, each where it
    collides with nothing (greedy); a town's dot only with its name."""
    x0, y0, x1, y1 = panel.extent
    to_wgs = Transformer.from_crs(panel.crs, 4326, always_xy=True)
    to_map = Transformer.from_crs(4326, panel.crs, always_xy=True)
    lons, lats = to_wgs.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
    box = shapely.box(min(lons), min(lats), max(lons), max(lats))
    zoom = map_zoom(ax, panel, (min(lats) + max(lats)) / 2)
    halo = [patheffects.withStroke(linewidth=1.6 * scale, foreground="white")]
    for text, lat, lon, kind, min_zoom in candidates(layers, box, box, index):
        if min_zoom > zoom + 0.5:
            continue
        x, y = to_map.transform(lon, lat)
        if not (x0 < x < x1 and y0 < y < y1):
            continue
        k, color, weight, style = LABEL_STYLE[kind]
        dot_box = None
        if kind == "town":  # a dot and the name beside it; on an event, the name alone
            dot_pt = 1.6 * scale
            cx, cy = ax.transData.transform((x, y))
            r = dot_pt / 2 * ax.figure.dpi / 72 + placer.pad
            dot_box = Bbox.from_extents(cx - r, cy - r, cx + r, cy + r)
            if not placer.fits(dot_box) and not any(
                    dot_box.overlaps(o) for o in panel.obstacles):
                continue
            gap = dot_pt / 2 + 1.0
            if not placer.fits(dot_box):
                dot_box, gap = None, marker_pt * 0.75
        label = ax.text(x, y, text, fontsize=font * k, color=color, fontweight=weight,
                        fontstyle=style, zorder=7, path_effects=halo, parse_math=False,
                        gid=f"label:{kind}")
        if kind != "town":
            placer.place(label, ax, (x, y), CENTRED)
        elif placer.place(label, ax, (x, y), around(gap)) is not None and dot_box is not None:
            placer.block([dot_box])
            ax.add_line(Line2D([x], [y], marker="o", markersize=dot_pt, color="#1a1a1a",
                               linestyle="none", zorder=6.9, gid="town"))
