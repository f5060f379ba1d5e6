"""The timeline panel: events per day, stacked by type in the map's colours, each handover
marked with its district's name, and the figure's date drawn across it."""

from __future__ import annotations

from datetime import date, timedelta

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox, blended_transform_factory, offset_copy

from ..model import ACLED_TYPES
from ..render.map import TYPE_COLORS
from ..timeline import Timeline
from .placement import Placer, Spot


def day_label(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def draw_timeline(ax: Axes, days: pd.Series, types: pd.Series, timeline: Timeline, day: date,
                  font: float, scale: float, band_pt: float) -> None:
    """Bars per day and type; handovers within the span as dotted lines named above the
    axes (greedy rows, `band_pt` points high), the date as a solid line named first."""
    first, last = days.min().date(), days.max().date()
    first, last = min(first, day), max(last, day)
    span = (first - timedelta(days=1), last + timedelta(days=1))
    counts = pd.crosstab(days.dt.date, types)
    bottom = np.zeros(len(counts))
    x = mdates.date2num(list(counts.index))
    for t in ACLED_TYPES:
        if t in counts:
            n = counts[t].to_numpy()
            ax.bar(x, n, bottom=bottom, width=0.8, color=TYPE_COLORS[t], linewidth=0,
                   zorder=3, gid=f"bars:{t}", label=t)
            bottom += n
    ax.set_xlim(mdates.date2num(span[0]) - 0.5, mdates.date2num(span[1]) + 0.5)
    ax.set_ylim(0, max(1, bottom.max() if len(bottom) else 1) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
    locator = mdates.AutoDateLocator(minticks=3, maxticks=max(3, int(ax.bbox.width
                                                                    / ax.figure.dpi * 2.2)))
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%-d %b"))  # "26 Nov": no offset text
    ax.tick_params(labelsize=font * 0.85, length=2 * scale, width=0.5 * scale, pad=1.5)
    ax.set_ylabel("events a day", fontsize=font * 0.85, labelpad=2)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_linewidth(0.5 * scale)
    ax.grid(axis="y", color="#dddddd", linewidth=0.4 * scale, zorder=0)
    _marks(ax, timeline, day, span, font, scale, band_pt)


def _marks(ax: Axes, timeline: Timeline, day: date, span: tuple[date, date], font: float,
           scale: float, band_pt: float) -> None:
    """Lines for the date and the handovers, each name centred over its line in the first
    free row above the axes, its line drawn up to it."""
    renderer = ax.figure.canvas.get_renderer()
    top = ax.bbox.y1
    band = Bbox.from_extents(ax.bbox.x0 - 20, top, ax.figure.bbox.x1 - 2 * scale,
                             top + band_pt * ax.figure.dpi / 72)
    placer = Placer(renderer, band, pad=1.5)
    over = blended_transform_factory(ax.transData, ax.transAxes)
    row = font * 1.2
    rows = [Spot(0, 1.5 + k * row, "center", "bottom") for k in range(4)]
    rows += [Spot(d, 1.5 + k * row, ha, "bottom") for k in range(4)
             for d, ha in ((-1.5, "right"), (1.5, "left"))]  # beside its line, when crowded
    changes = sorted((c.day, c.area) for cs in timeline.by_area.values() for c in cs
                     if span[0] <= c.day <= span[1])
    that_day = [area for c_day, area in changes if c_day == day]  # under the date's line
    marks = [(day, " · ".join([f"{day.day} {day:%b}", *that_day]),  # the year is in the title
              {"fontweight": "bold", "color": "#000000"},
              {"color": "#000000", "linewidth": 1.1 * scale}, "date")]
    marks += [(c_day, area, {"color": "#333333"},
               {"color": "#333333", "linestyle": (0, (1, 1.5)), "linewidth": 0.8 * scale},
               "handover")
              for c_day, area in changes if c_day != day]
    # the date's name starts at its line, so a handover the day before still fits beside it
    first_spots = [rows[5], rows[4], *rows[:4], *rows[6:]]
    for when, text, text_style, line_style, kind in marks:
        at = mdates.date2num(when)
        ax.axvline(at, zorder=5 if kind == "date" else 4, gid=f"{kind}-mark", **line_style)
        label = ax.text(at, 1.0, text, fontsize=font * 0.85, zorder=6, gid=f"{kind}-label",
                        clip_on=False, parse_math=False, ha="center", va="bottom",
                        **text_style)
        x_px = over.transform((at, 1.0))[0]
        # the first spot where the name and the line up to it are free
        for spot in first_spots if kind == "date" else rows:
            label.set_horizontalalignment(spot.ha)
            label.set_transform(offset_copy(over, fig=ax.figure, x=spot.dx, y=spot.dy,
                                            units="points"))
            box = placer.extent(label)
            leader = Bbox.from_extents(x_px - 1, top, x_px + 1, box.y0)
            if placer.fits(box) and (box.y0 - top < 3 or placer.fits(leader)):
                break
        else:
            label.remove()
            continue
        placer.block([box, leader])
        up_to = ax.transAxes.inverted().transform((0, box.y0))[1]
        if up_to > 1.01:  # a higher row: the line goes on up to its name
            ax.plot([at, at], [1.0, up_to], transform=over, clip_on=False, zorder=4,
                    gid=f"{kind}-mark", **line_style)
