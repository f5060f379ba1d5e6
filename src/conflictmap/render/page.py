"""The page root: a folium Figure whose `render()` is the finished conflictmap page.

branca turns every rendered macro into a Jinja template, so the (large) data cannot travel in
the tree: the macros carry placeholders and the finished HTML gets the data, the compressed
block and the inlined assets here, after folium has rendered. Being the map's root, this runs
for `render()`, `Map.save()` and the notebook's `_repr_html_` alike: the page the CLI writes and
the one `explore()` returns are one page.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import folium
from branca.element import Figure

from ..errors import UsageError
from .assets import Bundle, inline_all


class Page(Figure):
    """A Figure that finishes the page: data at its placeholders, the compressed block before
    `</body>`, and (when a bundle is given) every CDN tag swapped for the pinned file."""

    _data: dict[str, str]
    _block: list[str | Future[str]]
    _bundle: Bundle | None

    @classmethod
    def adopt(cls, m: folium.Map) -> Page:
        """Make `m`'s root a Page, keeping what the caller put in its figure (its header,
        its other elements). A map holds one conflictmap layer: a second is refused."""
        old = m.get_root()
        if isinstance(old, Page):
            raise UsageError("this map already shows conflictmap events; start a new map "
                             "(explore(gdf)) or pass another folium.Map as m")
        if not isinstance(old, Figure):  # a map inside something else: give it a figure
            old = Figure()
            old.add_child(m)
        page = cls.__new__(cls)
        page.__dict__.update(old.__dict__)
        for child in page._children.values():
            child._parent = page
        page._data, page._block, page._bundle = {}, [], None
        return page

    def fill(self, data: dict[str, str], block: list[str | Future[str]],
             bundle: Bundle | None) -> None:
        """What `render` puts into the page: placeholder -> text, the block (its parts, joined
        once with the page; a part may be the future of its text, still being made), the
        assets."""
        self._data, self._block, self._bundle = data, block, bundle

    def render(self, **kwargs: Any) -> str:
        html = super().render(**kwargs)
        for holder in self._data:
            if html.count(holder) != 1:
                raise RuntimeError("the page template lost a data placeholder")
        for holder, text in self._data.items():
            html = html.replace(holder, text)
        head, sep, body = "", "", html
        if self._bundle is not None:  # the CDN tags are all in <head>; the body is left alone
            head, sep, body = html.partition("</head>")
            head = inline_all(head, self._bundle)
        end = body.rindex("</body>")
        block = [p if isinstance(p, str) else p.result() for p in self._block]
        return "".join([head, sep, body[:end], *block, "\n", body[end:]])
