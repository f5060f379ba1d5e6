"""Attribution clauses: who reported a claim ("X said", "according to X", "X told ...").

The reporter is the source of the claim, not a party to it: a force named only there is not
an actor of the event (Armenia's ministry reporting Azerbaijani shelling is not a shelling by
Armenia).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .sentences import Span

_SAY = r"(?:said|says|reported|reports|told|announced|claimed|claims|stated|added|alleged)"
# what may follow the verb and still close the clause: "said on Thursday", "said in a statement"
_TAIL = r"(?:\s+(?:on|late|early|in|last|this|reporters|journalists)\b[^,;.]{0,30})?"
_PATTERNS = (
    re.compile(r"\b[Aa]ccording to\b[^,;.]+"),
    # ", the Armenian defence ministry said." / ", officials in Baku told reporters,"
    re.compile(rf"(?<=[,;—–])[^,;—–]*?\b{_SAY}\b{_TAIL}\s*(?=[,;.!?]|$)"),
)
# "Baku said Armenian forces opened fire", "GeoProMining, the company that runs the mine,
# said ...": a short subject (with at most one apposition) that opens the sentence
_OPENING = re.compile(rf"^[^,;]{{1,60}}?(?:,[^,;]{{1,50}},[^,;]{{0,20}}?)?\b{_SAY}\b"
                      rf"(?:\s+on\s+\w+)?(?:\s+that\b)?")


def attribution_spans(text: str, sentence: Span,
                      is_action: Callable[[str], bool] | None = None) -> list[Span]:
    """The sentence's attribution clauses; an opening "X said" counts when X does no action
    of the type table (`is_action`), so "troops who said ..." stays the event's subject."""
    body = text[sentence.start:sentence.end]
    out = [Span(sentence.start + m.start(), sentence.start + m.end())
           for p in _PATTERNS for m in p.finditer(body)]
    m = _OPENING.match(body)
    if m is not None and not (is_action and is_action(m.group())):
        out.append(Span(sentence.start + m.start(), sentence.start + m.end()))
    return out


def inside(start: int, end: int, spans: list[Span]) -> bool:
    return any(s.start <= start and end <= s.end for s in spans)
