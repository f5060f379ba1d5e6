"""Sentences that read like an event but name no place the gazetteers know.

They cannot become drafts (a draft needs a place), but dropping them silently hides the
very places the gazetteer lacks: the reviewer gets the sentence's offsets and the names in it
that nothing resolved, to add by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .attribution import attribution_spans
from .dates import DateMention
from .places import PlaceMention
from .sentences import Span
from .words import actor_rules, words

_CAPITALISED = re.compile(r"[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*")


@dataclass(frozen=True)
class Unplaced:
    """An event-like sentence with no place: where it is, its action, the unresolved names."""

    start: int
    end: int
    action: str
    names: tuple[str, ...]


def unplaced(text: str, sentence: Span, action: str, places: list[PlaceMention],
             dates: list[DateMention]) -> Unplaced:
    """The sentence with the capitalised names in it that are no known place, date, actor,
    country, nationality or common word: the likely places the gazetteer missed."""
    w = words()
    taken = [Span(p.start, p.end) for p in places]
    taken += [Span(d.start, d.end) for d in dates]
    taken += [Span(m.start(), m.end()) for a in actor_rules()
              for m in a.pattern.finditer(text, sentence.start, sentence.end)]
    taken += attribution_spans(text, sentence)
    names: list[str] = []
    for run in _CAPITALISED.finditer(text, sentence.start, sentence.end):
        kept: list[str] = []
        for word in re.finditer(r"\S+", run.group()):
            start = run.start() + word.start()
            bare = re.sub(r"['’]s$", "", word.group())
            if (any(s.start <= start < s.end for s in taken) or bare.lower() in w.not_places
                    or bare in w.demonyms or bare.lower() in w.countries):
                _flush(kept, names)
            else:
                kept.append(bare)
        _flush(kept, names)
    return Unplaced(sentence.start, sentence.end, action, tuple(names))


def _flush(kept: list[str], names: list[str]) -> None:
    if kept and (name := " ".join(kept)) not in names:
        names.append(name)
    kept.clear()
