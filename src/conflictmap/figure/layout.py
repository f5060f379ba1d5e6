"""Figure sizes and where each panel sits, in millimetres: a journal column, a full page, a
16:9 slide. Fixed boxes (no automatic layout), so a re-run puts every artist at the same
place and the PNG has exactly the preset's pixels at 300 dpi."""

from __future__ import annotations

from dataclasses import dataclass

MM = 1 / 25.4  # inches per millimetre
DPI = 300


@dataclass(frozen=True)
class Box:
    """A panel in figure fractions (left, bottom, width, height), as `add_axes` takes it."""

    left: float
    bottom: float
    width: float
    height: float

    @property
    def rect(self) -> tuple[float, float, float, float]:
        return (self.left, self.bottom, self.width, self.height)


@dataclass(frozen=True)
class Size:
    """One preset: physical size, the base font size (pt) and the arrangement."""

    name: str
    width_mm: float
    height_mm: float
    font: float
    stacked: bool  # map over timeline (a column) or map beside them (page, slide)

    @property
    def inches(self) -> tuple[float, float]:
        return (self.width_mm * MM, self.height_mm * MM)

    @property
    def pixels(self) -> tuple[int, int]:
        """(width, height) of the PNG at 300 dpi."""
        w, h = self.inches
        return (round(w * DPI), round(h * DPI))

    def panels(self) -> dict[str, Box]:
        """The map, the legend and the timeline boxes (the attribution runs along the bottom)."""
        w, h = self.width_mm, self.height_mm
        f = self.font / 6.0  # margins grow with the type

        def box(left: float, bottom: float, width: float, height: float) -> Box:
            return Box(left / w, bottom / h, width / w, height / h)

        pad, foot = 2.0 * f, 7.0 * f  # outer margin; the attribution's band
        if self.stacked:
            tl_h, lg_h = 0.17 * h, 0.115 * h
            tl_bottom = foot + 5.0 * f  # date ticks under the axes
            lg_bottom = tl_bottom + tl_h + 7.0 * f  # handover names above the timeline
            map_bottom = lg_bottom + lg_h
            return {
                "map": box(pad, map_bottom, w - 2 * pad, h - map_bottom - pad - 4.0 * f),
                "legend": box(pad, lg_bottom, w - 2 * pad, lg_h),
                "timeline": box(pad + 7.0 * f, tl_bottom, w - 2 * pad - 7.0 * f, tl_h),
            }
        map_w = 0.60 * w
        right = pad + map_w + 4.0 * f
        col_w = w - right - pad
        tl_bottom = foot + 5.0 * f
        lg_bottom = h - pad - 0.32 * h  # the keys take the top third
        tl_h = lg_bottom - 7.0 * f - tl_bottom  # handover names between keys and timeline
        return {
            "map": box(pad, foot, map_w, h - foot - pad - 4.0 * f),
            "legend": box(right, lg_bottom, col_w, h - lg_bottom - pad),
            "timeline": box(right + 7.0 * f, tl_bottom, col_w - 7.0 * f, tl_h),
        }


SIZES = {
    "column": Size("column", 89.0, 120.0, 6.0, stacked=True),
    "page": Size("page", 183.0, 112.0, 7.0, stacked=False),
    "slide": Size("slide", 254.0, 142.875, 10.0, stacked=False),  # 10 x 5.625 in, 16:9
}
