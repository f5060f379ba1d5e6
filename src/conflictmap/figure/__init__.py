"""The static figure for reports: a map panel, a timeline panel, a legend, an inset locator
and the attribution, at 300 dpi in three sizes (`layout.SIZES`).

`plot` builds a matplotlib `Figure` without pyplot (no global state; the Agg canvas measures
text), `to_bytes` saves it the same way every time: SVG ids salted, no dates in SVG or PDF
metadata, glyphs as paths in DejaVu Sans (shipped with matplotlib), so a re-run gives the
same bytes.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from .. import layerio as layer_io
from .. import project
from ..errors import ConflictmapError, UsageError
from ..pipeline import concat_layers
from ..render.map import SIDE_UNCERTAIN_COLOR, TYPE_COLORS, TYPE_SHAPES, controller_colors
from ..timeline import Timeline
from .furniture import (
    INSET_SHARE,
    attribution_text,
    corner_box,
    inset,
    north_arrow,
    rank_corners,
    scale_bar,
    wrap,
)
from .layout import DPI, SIZES, Size
from .mappanel import (
    AREA_ALPHA,
    AREA_EDGE,
    GROUP_FACE,
    MARKERS,
    MapPanel,
    draw_areas,
    draw_boundaries,
    draw_events,
    draw_labels,
    event_days,
    utm_of,
    view_extent,
)
from .placement import Placer, overlapping
from .timelinepanel import day_label, draw_timeline

__all__ = ["FORMATS", "SIZES", "FigureError", "UsageError", "collisions", "parse_day", "plot",
           "to_bytes"]

FORMATS = ("png", "svg", "pdf")
STYLE = {"font.family": "DejaVu Sans", "svg.fonttype": "path", "svg.hashsalt": "conflictmap",
         "pdf.fonttype": 42, "axes.unicode_minus": False, "path.simplify": True}
METADATA = {"png": {"Software": "conflictmap"}, "svg": {"Date": None},
            "pdf": {"CreationDate": None, "ModDate": None}}


class FigureError(ConflictmapError):
    """A figure that cannot be made as asked (a date that is not one, no events)."""


def parse_day(value: date | str | None) -> date | None:
    """A `YYYY-MM-DD` date, or the error saying what was wrong with it."""
    if value is None or (isinstance(value, date) and not isinstance(value, pd.Timestamp)):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise FigureError(f"--date: {str(value)!r} is not a date; write it YYYY-MM-DD, "
                          "e.g. 2020-11-26") from None


def _size(size: str | Size) -> Size:
    if isinstance(size, Size):
        return size
    if size not in SIZES:
        raise UsageError(f"--size: expected one of {', '.join(SIZES)}, not {size!r}")
    return SIZES[size]


def _default_layers(layers: dict[str, layer_io.Layer] | Path | None,
                    ) -> dict[str, layer_io.Layer]:
    if isinstance(layers, dict):
        return layers
    return layer_io.load_layers(Path(layers) if layers is not None
                                else project.manifest(project.find(None)))


def _towns_index(towns: bool) -> Any | None:
    """The GeoNames index the web map takes its town names from; None (no towns) without."""
    if not towns:
        return None
    from ..geocode.gazetteer import load_index

    try:
        return load_index()
    except (OSError, ImportError, ValueError):
        return None


def plot(gdf: gpd.GeoDataFrame, ax: Axes | None = None, date: date | str | None = None,
         size: str | Size = "column", *, layers: dict[str, layer_io.Layer] | Path | None = None,
         timeline: Timeline | None = None, towns: bool = True) -> Figure:
    """The static figure of the events on `date` (default: the last event's day).

    Parameters
    ----------
    gdf : GeoDataFrame
        Enriched events (the columns of our GeoJSON: ``date``, ``event_type``,
        ``geo_precision``, ``side_uncertain``, point geometry).
    ax : matplotlib Axes, optional
        Draw only the map panel (with its furniture) into this axes; the figure is then the
        caller's, with no timeline or legend (``ax.legend()`` lists the event types).
    date : date or "YYYY-MM-DD", optional
        The day shown: events up to it, districts coloured by who controls them that day.
    size : {"column", "page", "slide"}
        89 mm, 183 mm or a 16:9 slide, type sized for it.
    layers : dict of Layer or a manifest path, optional
        The boundary layers (default: the project's ``geodata/layers.yaml``).
    timeline : Timeline, optional
        Control through time (default: the handover layer's dates).
    towns : bool
        Name towns from the GeoNames index, as the web map does.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from conflictmap.figure import plot, to_bytes        # doctest: +SKIP
    >>> fig = plot(gdf, date="2020-11-26", size="page")       # doctest: +SKIP
    >>> Path("fig.svg").write_bytes(to_bytes(fig, "svg"))     # doctest: +SKIP
    """
    if not len(gdf):
        raise FigureError("no events to plot")
    preset = _size(size)
    loaded = _default_layers(layers)
    handover = concat_layers(layer_io.of_kind(loaded, "handover"))
    timeline = timeline or Timeline.with_layer([], handover)
    days = event_days(gdf)
    day = parse_day(date) or days.max().date()
    events = gdf.to_crs(4326)
    with matplotlib.rc_context(STYLE):
        return _draw(events, days, day, preset, ax, loaded, handover, timeline,
                     _towns_index(towns))


def _draw(events: gpd.GeoDataFrame, days: pd.Series, day: date, preset: Size, ax: Axes | None,
          layers: dict[str, layer_io.Layer], handover: gpd.GeoDataFrame, timeline: Timeline,
          index: Any | None) -> Figure:
    font = preset.font
    scale = font / 7.0  # line widths and symbols follow the type size
    if ax is None:
        fig = ReportFigure(figsize=preset.inches, dpi=DPI, facecolor="white")
        FigureCanvasAgg(fig)
        boxes = preset.panels()
        map_ax = fig.add_axes(boxes["map"].rect, gid="map")
    else:
        fig, map_ax, boxes = ax.figure, ax, None
        if not hasattr(fig.canvas, "get_renderer"):
            FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    centre = events.union_all().centroid
    crs = utm_of(centre.x, centre.y)
    shown_rows = (days.dt.date <= day).to_numpy()
    in_m = events.to_crs(crs)
    areas_m = handover.to_crs(crs)
    box = map_ax.bbox
    extent = view_extent(map_ax, [*in_m.geometry, *areas_m.geometry], box.width / box.height)
    panel = MapPanel(crs, extent)
    draw_boundaries(map_ax, layers, events, crs, scale)
    colors = controller_colors(timeline)
    panel.controllers = draw_areas(map_ax, handover, timeline, day, colors, crs, scale)
    map_ax.set_xlim(extent[0], extent[2])
    map_ax.set_ylim(extent[1], extent[3])
    map_ax.set_aspect("equal", adjustable="box")
    map_ax.apply_aspect()
    map_ax.set_xticks([])
    map_ax.set_yticks([])
    map_ax.set_xlabel("")  # geopandas names the CRS axes; a map needs no "Easting [metre]"
    map_ax.set_ylabel("")
    map_ax.set_facecolor("white")
    for s in map_ax.spines.values():
        s.set_linewidth(0.6 * scale)
    shown = in_m[shown_rows]
    marker_pt = font * 1.05
    draw_events(map_ax, shown, panel, marker_pt=marker_pt, scale=scale)
    placer = Placer(renderer, map_ax.bbox.padded(-2), pad=1.0)
    placer.block(panel.obstacles)
    _furniture(map_ax, panel, layers, placer, font, scale)
    draw_labels(map_ax, layers, panel, index, placer, font, scale, marker_pt)
    title = map_ax.set_title(f"Events to {day_label(day)}, and who held the handed-over "
                             "districts that day" if not preset.stacked else
                             f"Events to {day_label(day)}", loc="left", fontsize=font * 1.1,
                             fontweight="bold", pad=3 * scale)
    title.set_gid("title")
    if boxes is None:
        wrap_in = map_ax.bbox
        wrap(fig, attribution_text(layers, index is not None),
             *fig.transFigure.inverted().transform((wrap_in.x0 + 2, wrap_in.y0 - 2)),
             wrap_in.width - 4, font * 0.7, renderer)
        return fig
    tl_ax = fig.add_axes(boxes["timeline"].rect, gid="timeline")
    draw_timeline(tl_ax, days, events["event_type"], timeline, day, font, scale,
                  band_pt=(boxes["legend"].bottom - boxes["timeline"].bottom
                           - boxes["timeline"].height) * preset.height_mm / 25.4 * 72 - 1)
    _legends(fig, boxes["legend"].rect, panel, events, colors, day, font, scale,
             side=not preset.stacked)
    wrap(fig, attribution_text(layers, index is not None), boxes["map"].left,
         (preset.font / 6.0 * 6.0) / preset.height_mm, fig.bbox.width * (1 - 2 * boxes[
             "map"].left), font * 0.7, renderer)
    return fig


def _furniture(ax: Axes, panel: MapPanel, layers: dict[str, layer_io.Layer], placer: Placer,
               font: float, scale: float) -> None:
    """Inset in the emptiest corner, the north arrow and scale bar in the next one."""
    dpi = ax.figure.dpi
    margin = 3 * scale * dpi / 72
    w = ax.bbox.width * INSET_SHARE
    order = rank_corners(ax, panel, w, w * 0.8, margin)
    inset_box = corner_box(ax, order[0], w, w * 0.8, margin)
    inset(ax, panel, layers, inset_box, scale)
    placer.block([inset_box.padded(2)])
    fw, fh = 0.22 * ax.bbox.width, 26 * scale * dpi / 72
    rest = [c for c in rank_corners(ax, panel, fw, fh, margin) if c != order[0]]
    corner = next((c for c in rest if c.split()[0] != order[0].split()[0]), rest[0])
    box = corner_box(ax, corner, fw, fh, margin)
    placer.block(north_arrow(ax, panel, box, font, scale))
    placer.block(scale_bar(ax, panel, box, font, scale))


def _legends(fig: Figure, rect: tuple[float, float, float, float], panel: MapPanel,
             events: gpd.GeoDataFrame, colors: dict[str, str], day: date, font: float,
             scale: float, side: bool) -> None:
    """Two keys: the event types present in the data (`legend-types`), and the district
    fills of the date plus the symbols drawn (`legend-key`)."""
    lax = fig.add_axes(rect, gid="legend")
    lax.set_axis_off()
    present = set(events["event_type"])
    types = [t for t in TYPE_COLORS if t in present]
    ms = font * 1.05
    handles = [Line2D([], [], linestyle="none", marker=MARKERS[TYPE_SHAPES[t]][0],
                      markersize=ms * MARKERS[TYPE_SHAPES[t]][1], markerfacecolor=TYPE_COLORS[t],
                      markeredgecolor="white", markeredgewidth=0.5 * scale) for t in types]
    common = {"frameon": False, "fontsize": font * 0.9, "title_fontsize": font * 0.95,
              "alignment": "left", "borderaxespad": 0, "handletextpad": 0.5,
              "labelspacing": 0.35, "borderpad": 0}
    first = lax.legend(handles, types, title="Event types", loc="upper left",
                       bbox_to_anchor=(0, 1), **common)
    first.set_gid("legend-types")
    lax.add_artist(first)
    keys, labels = [], []
    for who in panel.controllers:
        color = colors["_unknown"] if who is None else colors.get(who, colors["_other"])
        keys.append(Patch(facecolor=to_rgba(color, AREA_ALPHA), edgecolor=AREA_EDGE,
                          linewidth=0.8 * scale))
        labels.append(f"held by {who}" if who else "controller unknown")
    if panel.rings:
        keys.append(Line2D([], [], linestyle="none", marker="o", markersize=ms * 1.6,
                           markerfacecolor=(0, 0, 0, 0.05), markeredgecolor=(0, 0, 0, 0.5)))
        labels.append("ring: where an imprecise event may be")
    if panel.halos:
        keys.append(Line2D([], [], linestyle="none", marker="o", markersize=ms * 1.75,
                           markerfacecolor="none", markeredgecolor=SIDE_UNCERTAIN_COLOR))
        labels.append("red halo: side of the border uncertain")
    if panel.groups:
        keys.append(Line2D([], [], linestyle="none", marker="o", markersize=ms * 1.5,
                           markerfacecolor=GROUP_FACE, markeredgecolor="white"))
        labels.append("events at one spot (count)")
    r = fig.canvas.get_renderer()
    top = first.get_window_extent(r)
    anchor = ((0, (top.y0 - lax.bbox.y0) / lax.bbox.height - 0.06) if side
              else (min(0.52, (top.x1 - lax.bbox.x0) / lax.bbox.width + 0.05), 1))
    second = lax.legend(keys, labels, title=f"Districts on {day_label(day)}; symbols",
                        loc="upper left", bbox_to_anchor=anchor, **common)
    second.set_gid("legend-key")
    for leg in (first, second):
        for t in leg.get_texts():
            t.set_parse_math(False)


class ReportFigure(Figure):
    """A Figure that shows itself in Jupyter (as a PNG) without pyplot or `%matplotlib`:
    `plot` draws on the Agg canvas and never registers with pyplot's inline backend."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        with matplotlib.rc_context(STYLE):
            self.savefig(buf, format="png", dpi=SCREEN_DPI, facecolor="white")
        return buf.getvalue()


SCREEN_DPI = 110  # a notebook shows the figure at about its printed size, not at 300 dpi


def to_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG, SVG or PDF at 300 dpi, byte-identical on every run."""
    if fmt not in FORMATS:
        raise UsageError(f"--out: the file name must end in .{', .'.join(FORMATS)}")
    buf = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format=fmt, dpi=DPI, metadata=METADATA[fmt], facecolor="white")
    return buf.getvalue()


def texts(fig: Figure) -> list[Text]:
    """Every visible, non-empty text of the drawn figure (what must not overlap)."""
    fig.canvas.draw()
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def collisions(fig: Figure) -> list[tuple[Text, Text]]:
    """Pairs of texts that overlap once drawn: none, when the layout did its job."""
    return overlapping(texts(fig), fig.canvas.get_renderer())
