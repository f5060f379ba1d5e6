"""Draft events from an article's text, offline: places, dates, actors and figures, each field
with the character span it was read from.

article (text or saved HTML) -> sentences -> place and date mentions -> event candidates ->
merged drafts -> `model.Event` records with `status: draft`. Every table the reading uses
(event-type patterns, known actors, context words) is data in `conflictmap/data/`.
"""

from __future__ import annotations

from .drafts import Draft, extract, to_events
from .gazetteers import Gazetteers

__all__ = ["Draft", "Gazetteers", "extract", "to_events"]
