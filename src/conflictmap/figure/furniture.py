"""Map furniture: scale bar, north arrow, inset locator map and the attribution line.

Each goes where it hides the least: the corners of the map are ranked by how many events
lie under them, so the inset never sits on the Sotk mine. Every artist has a `gid`
(`scalebar`, `north-arrow`, `inset`, `attribution`), so tests and users find them.
"""

from __future__ import annotations

import math
import re
from html import unescape

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, Rectangle
from matplotlib.transforms import Bbox
from pyproj import Transformer

from ..layerio import Layer
from ..render.labels import attribution
from .mappanel import MapPanel

CORNERS = ("upper right", "upper left", "lower right", "lower left")
INSET_SHARE = 0.27  # of the map's width
INSET_SPAN_DEG = 9.0  # the inset shows at least this much of the world around the view


def corner_box(ax: Axes, corner: str, w: float, h: float, margin: float) -> Bbox:
    """A w x h pixel box in a corner of the map, `margin` pixels in."""
    b = ax.bbox
    x0 = b.x1 - margin - w if "right" in corner else b.x0 + margin
    y0 = b.y1 - margin - h if "upper" in corner else b.y0 + margin
    return Bbox.from_bounds(x0, y0, w, h)


def rank_corners(ax: Axes, panel: MapPanel, w: float, h: float, margin: float) -> list[str]:
    """Corners by how many events a w x h box there would cover (fewest first; ties keep
    the CORNERS order)."""
    pts = panel.points

    def covered(corner: str) -> int:
        b = corner_box(ax, corner, w, h, margin)
        if not len(pts):
            return 0
        return int(((pts[:, 0] >= b.x0) & (pts[:, 0] <= b.x1) & (pts[:, 1] >= b.y0)
                    & (pts[:, 1] <= b.y1)).sum())

    return sorted(CORNERS, key=lambda c: (covered(c), CORNERS.index(c)))


def nice_length(target_m: float) -> float:
    """The 1-2-5 length (metres) at most `target_m`."""
    exp = 10 ** math.floor(math.log10(target_m))
    return max(m * exp for m in (1, 2, 5) if m * exp <= target_m)


def scale_bar(ax: Axes, panel: MapPanel, box: Bbox, font: float, scale: float) -> list[Bbox]:
    """A two-part bar of a round length with its label, at the bottom of `box` (pixels)."""
    x0, _, x1, _ = panel.extent
    per_px = (x1 - x0) / ax.bbox.width
    length = nice_length(box.width * 0.9 * per_px)
    inv = ax.transData.inverted()
    bx, by = inv.transform((box.x0, box.y0))
    bar_h = 1.2 * scale * ax.figure.dpi / 72 * per_px
    for k, color in enumerate(("#1a1a1a", "white")):
        ax.add_patch(Rectangle((bx + k * length / 2, by), length / 2, bar_h, facecolor=color,
                               edgecolor="#1a1a1a", linewidth=0.4 * scale, zorder=8,
                               gid="scalebar"))
    km = length / 1000
    text = f"{km:g} km" if km >= 1 else f"{length:g} m"
    label = ax.text(bx + length / 2, by + bar_h * 1.8, text, ha="center", va="bottom",
                    fontsize=font * 0.9, zorder=8, gid="scalebar-label")
    r = ax.figure.canvas.get_renderer()
    bar_px = Bbox([ax.transData.transform((bx, by)),
                   ax.transData.transform((bx + length, by + bar_h))])
    return [bar_px.padded(2), label.get_window_extent(r).padded(1)]


def north_arrow(ax: Axes, panel: MapPanel, box: Bbox, font: float, scale: float) -> list[Bbox]:
    """An arrow to true north (the grid's convergence at the map's centre), `N` under it,
    at the top of `box` (pixels)."""
    x0, y0, x1, y1 = panel.extent
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    to_wgs = Transformer.from_crs(panel.crs, 4326, always_xy=True)
    to_map = Transformer.from_crs(4326, panel.crs, always_xy=True)
    lon, lat = to_wgs.transform(cx, cy)
    nx, ny = to_map.transform(lon, lat + 0.05)
    angle = math.atan2(nx - cx, ny - cy)  # clockwise from grid up
    dpi = ax.figure.dpi
    length = 8.0 * scale * dpi / 72  # pixels
    tip = (box.x0 + box.width / 2, box.y1)
    inv = ax.transData.inverted()
    base = (tip[0] - length * math.sin(angle), tip[1] - length * math.cos(angle))
    (bx, by), (tx, ty) = inv.transform(base), inv.transform(tip)
    per_px = (x1 - x0) / ax.bbox.width
    ax.add_patch(FancyArrow(bx, by, tx - bx, ty - by, width=1.0 * scale * dpi / 72 * per_px,
                            head_width=4.0 * scale * dpi / 72 * per_px,
                            head_length=4.0 * scale * dpi / 72 * per_px,
                            length_includes_head=True, color="#1a1a1a", zorder=8,
                            gid="north-arrow"))
    label = ax.text(bx, by, "N", ha="center", va="top", fontsize=font, fontweight="bold",
                    zorder=8, gid="north-arrow-label")
    r = ax.figure.canvas.get_renderer()
    arrow_px = Bbox([(min(base[0], tip[0]) - 3 * scale, min(base[1], tip[1])),
                     (max(base[0], tip[0]) + 3 * scale, max(base[1], tip[1]))])
    return [arrow_px.padded(2 * scale * dpi / 72), label.get_window_extent(r).padded(1)]


def inset(ax: Axes, panel: MapPanel, layers: dict[str, Layer], box: Bbox,
          scale: float) -> Axes:
    """A locator: the countries around the view in lon/lat, the view as a rectangle."""
    to_wgs = Transformer.from_crs(panel.crs, 4326, always_xy=True)
    x0, y0, x1, y1 = panel.extent
    xs = np.linspace(x0, x1, 9)
    ys = np.linspace(y0, y1, 9)
    ring = ([(x, y0) for x in xs] + [(x1, y) for y in ys] + [(x, y1) for x in xs[::-1]]
            + [(x0, y) for y in ys[::-1]])
    lons, lats = to_wgs.transform([p[0] for p in ring], [p[1] for p in ring])
    view = shapely.Polygon(zip(lons, lats, strict=True))
    clon, clat = view.centroid.x, view.centroid.y
    aspect = box.width / box.height
    cos = math.cos(math.radians(clat))
    half_h = max(INSET_SPAN_DEG / 2, (max(lats) - min(lats)) * 2)
    half_w = half_h * aspect / cos
    fig_box = box.transformed(ax.figure.transFigure.inverted())
    inset_ax = ax.figure.add_axes(fig_box.bounds, gid="inset", zorder=20)
    frames = [lyr.frame for lyr in layers.values() if lyr.spec.kind == "country"]
    if frames:
        world = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                                 crs=4326)
        world = world.cx[clon - half_w * 1.5:clon + half_w * 1.5,
                          clat - half_h * 1.5:clat + half_h * 1.5]
        world.plot(ax=inset_ax, facecolor="#eeeeee", edgecolor="#8a8a8a",
                   linewidth=0.25 * scale)
    gpd.GeoSeries([view], crs=4326).plot(ax=inset_ax, facecolor="none", edgecolor="#d7191c",
                                         linewidth=0.9 * scale, gid="inset-view")
    inset_ax.set_xlim(clon - half_w, clon + half_w)
    inset_ax.set_ylim(clat - half_h, clat + half_h)
    inset_ax.set_aspect(1 / cos, adjustable="datalim")
    inset_ax.set_facecolor("white")
    inset_ax.set_xticks([])
    inset_ax.set_yticks([])
    inset_ax.set_xlabel("")
    inset_ax.set_ylabel("")
    for s in inset_ax.spines.values():
        s.set_linewidth(0.5 * scale)
    return inset_ax


def attribution_text(layers: dict[str, Layer], with_towns: bool) -> str:
    """The web map's attribution (`render.labels.attribution`, every source and licence) as
    plain text."""
    html = attribution(layers, with_towns)
    return "Sources: " + unescape(re.sub(r"<[^>]+>", "", html))


def wrap(fig: Figure, text: str, x: float, y: float, width_px: float, font: float,
         renderer: RendererBase) -> None:
    """The attribution at figure fraction (x, y), broken into lines no wider than width_px
    (measured, not guessed), top line at y."""
    words, lines, line = text.split(" "), [], ""
    probe = fig.text(0, 0, "", fontsize=font)
    for word in words:
        trial = f"{line} {word}".strip()
        probe.set_text(trial)
        if line and probe.get_window_extent(renderer).width > width_px:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    probe.remove()
    fig.text(x, y, "\n".join(lines), fontsize=font, color="#444444", va="top", ha="left",
             linespacing=1.25, parse_math=False, gid="attribution")
