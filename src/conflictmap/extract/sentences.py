"""Sentences and clauses with their character offsets in the article.

Offsets, not copies: every evidence span points back into the text the reviewer reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Full stops that do not end a sentence: titles and month abbreviations before a name or day
_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Gen|Col|Lt|Maj|Capt|Sgt|St|Jan|Feb|Mar|Apr|Jun|Jul|"
                     r"Aug|Sep|Sept|Oct|Nov|Dec|No|U\.S|e\.g|i\.e|vs)\.$")
_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s+[\"'“‘(\[]*[A-Z0-9])|\n\s*\n")
_CLAUSE = re.compile(r";|,\s+(?:and|while|but|whereas|as|after which)\s+|\s+and then\s+|:\s+")
QUOTE_CHARS = 300


@dataclass(frozen=True)
class Span:
    start: int
    end: int

    def text(self, article: str) -> str:
        return article[self.start:self.end]


def sentences(text: str) -> list[Span]:
    """Sentence spans, stripped of surrounding space."""
    out, start = [], 0
    for m in _END.finditer(text):
        if m.group().startswith((".",)) and _ABBREV.search(text[max(0, m.start() - 6):m.start()
                                                                 + 1]):
            continue
        out.append(Span(start, m.end()))
        start = m.end()
    out.append(Span(start, len(text)))
    return [s for s in (_strip(text, s) for s in out) if s.end > s.start]


def clauses(text: str, sentence: Span) -> list[Span]:
    """A sentence cut at semicolons and coordinating joins: one action each, usually."""
    out, start = [], sentence.start
    for m in _CLAUSE.finditer(text, sentence.start, sentence.end):
        out.append(Span(start, m.start()))
        start = m.end()
    out.append(Span(start, sentence.end))
    return [c for c in out if c.end > c.start]


def _strip(text: str, span: Span) -> Span:
    s, e = span.start, span.end
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return Span(s, e)


def quote(text: str, sentence: Span, focus: Span) -> str:
    """The sentence, or a window of it around `focus` when it is longer than 300 characters,
    with its line breaks as spaces."""
    s, e = sentence.start, sentence.end
    if e - s > QUOTE_CHARS:
        mid = (focus.start + focus.end) // 2
        s = max(sentence.start, min(mid - QUOTE_CHARS // 2, sentence.end - QUOTE_CHARS + 2))
        e = min(sentence.end, s + QUOTE_CHARS - 2)
        body = " ".join(text[s:e].split())
        return ("…" if s > sentence.start else "") + body + ("…" if e < sentence.end else "")
    return " ".join(text[s:e].split())
