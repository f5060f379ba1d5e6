"""Greedy label placement by priority, using the renderer's own text extents: a label is kept
at the first of its positions that lies inside its panel and clear of everything placed or
drawn before it, and dropped otherwise. Priority order decides who wins (countries before
districts before towns), as in the web map's `labels.js`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.text import Text
from matplotlib.transforms import Bbox, Transform, offset_copy


@dataclass(frozen=True)
class Spot:
    """Where a label may go relative to its anchor: an offset in points and the alignment."""

    dx: float
    dy: float
    ha: str = "center"
    va: str = "center"


CENTRED = (Spot(0, 0),)


def around(gap: float) -> tuple[Spot, ...]:
    """Right, left, above, below a point symbol, `gap` points from its centre."""
    return (Spot(gap, 0, "left"), Spot(-gap, 0, "right"), Spot(0, gap, va="bottom"),
            Spot(0, -gap, va="top"))


class Placer:
    """The boxes taken so far (display pixels) and the area labels must stay inside."""

    def __init__(self, renderer: RendererBase, within: Bbox | None = None, pad: float = 1.0):
        self.renderer = renderer
        self.within = within
        self.pad = pad  # pixels of air around a label (its halo)
        self.taken: list[Bbox] = []

    def block(self, boxes: Iterable[Bbox]) -> None:
        self.taken.extend(boxes)

    def fits(self, box: Bbox) -> bool:
        if self.within is not None and not (
                box.x0 >= self.within.x0 and box.y0 >= self.within.y0
                and box.x1 <= self.within.x1 and box.y1 <= self.within.y1):
            return False
        return not any(box.overlaps(t) for t in self.taken)

    def extent(self, text: Text) -> Bbox:
        return text.get_window_extent(self.renderer).padded(self.pad)

    def place(self, text: Text, ax: Axes, xy: tuple[float, float],
              spots: Sequence[Spot], base: Transform | None = None) -> Spot | None:
        """Try `text` (already added to `ax`) at each spot around `xy` (data coordinates, or
        those of `base`); keep the first that fits and return it, or remove the text and
        return None."""
        text.set_position(xy)
        for spot in spots:
            text.set_transform(offset_copy(base or ax.transData, fig=ax.figure, x=spot.dx,
                                           y=spot.dy, units="points"))
            text.set_horizontalalignment(spot.ha)
            text.set_verticalalignment(spot.va)
            box = self.extent(text)
            if self.fits(box):
                self.taken.append(box)
                return spot
        text.remove()
        return None


def overlapping(texts: Sequence[Text], renderer: RendererBase) -> list[tuple[Text, Text]]:
    """Pairs of texts whose drawn boxes intersect (what the tests and `plot` check)."""
    boxes = [t.get_window_extent(renderer) for t in texts]
    return [(texts[i], texts[j]) for i in range(len(texts)) for j in range(i + 1, len(texts))
            if boxes[i].overlaps(boxes[j])]
