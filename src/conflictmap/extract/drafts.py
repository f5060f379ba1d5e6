"""Event candidates from sentences, merged into drafts, and drafts as event records.

A clause with an action of a conflict type (the pattern table) and a place is a candidate.
Its date is the one in its clause or sentence, else the date of the story so far (the last
candidate's), else the nearest date written before it; a relative one ("a day after the
handover") counts from the candidate it names. Candidates of one happening (same place and
type, actors not in conflict, a date that is the same or only inherited) merge, keeping every
evidence span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ..model import Event
from .attribution import attribution_spans, inside
from .dates import DateMention, find_dates
from .gazetteers import Gazetteers
from .places import PlaceMention, find_places
from .sentences import Span, clauses, quote, sentences
from .unplaced import Unplaced, unplaced
from .words import TypeRule, actor_rules, number_value, type_rules, words

# How far before an action verb a negation or hedge still governs it
_MODAL_WINDOW = 45


@dataclass
class Evidence:
    """A span of the article and the field it supports."""

    start: int
    end: int
    quote: str
    field: str
    note: str | None = None

    def as_data(self) -> dict[str, Any]:
        data = {"start": self.start, "end": self.end, "quote": self.quote, "field": self.field}
        return {**data, "note": self.note} if self.note else data


@dataclass
class Draft:
    """One drafted happening: every field with the evidence it was read from."""

    event_type: str
    sub_event_type: str
    place: PlaceMention
    day: date | None
    precision: str
    actors: list[str]
    figures: dict[str, int]
    fatalities: int | None
    denied: bool
    evidence: list[Evidence]
    sentence: Span
    date_inherited: bool = False
    date_mention: DateMention | None = None
    clause_text: str = ""
    merged: int = 1
    tags: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        who = f"{self.actors[0]}: " if self.actors else ""
        return f"{who}{self.sub_event_type.lower()} at {self.place.place.name}"[:300]


def extract(text: str, published: date | None, gazetteers: Gazetteers) -> list[Draft]:
    """The drafts an article's text supports, in the order the text tells them."""
    return extract_with_misses(text, published, gazetteers)[0]


def extract_with_misses(text: str, published: date | None, gazetteers: Gazetteers
                        ) -> tuple[list[Draft], list[Unplaced]]:
    """The drafts, and the event-like sentences that named no place found (for review)."""
    places, _context = find_places(text, gazetteers)
    dates = find_dates(text, published)
    candidates: list[Draft] = []
    misses: list[Unplaced] = []
    for sentence in sentences(text):
        found: list[Draft] = []
        live = None
        for clause in clauses(text, sentence):
            hit = _live_action(text, clause)  # once a clause: the drafts and the misses
            if hit is not None:
                found += _candidate(text, sentence, clause, hit, places, dates)
                live = live or hit
        if live is not None and not found:
            misses.append(unplaced(text, sentence, live[1].group(), places, dates))
        candidates += found
    _date_all(candidates, dates, text)
    return _merge(candidates), misses


def _live_action(text: str, clause: Span) -> tuple[TypeRule, re.Match[str]] | None:
    """The clause's action, unless a negation or hedge governs it."""
    w = words()
    hit = _action(text[clause.start:clause.end])
    if hit is None:
        return None
    verb = hit[1]
    verb_start = clause.start + verb.start()
    lead = text[max(clause.start, verb_start - _MODAL_WINDOW):verb_start]
    if w.negation.search(lead) or w.negation.search(verb.group()) or w.hedge.search(lead):
        return None
    return hit


def _candidate(text: str, sentence: Span, clause: Span, hit: tuple[TypeRule, re.Match[str]],
               places: list[PlaceMention], dates: list[DateMention]) -> list[Draft]:
    """The drafts of a clause whose live action is `hit`: one per event place."""
    body = text[clause.start:clause.end]
    rule, verb = hit
    verb_start = clause.start + verb.start()
    in_clause = [p for p in places if clause.start <= p.start < clause.end
                 and not _attribution(text, p)]
    in_sentence = [p for p in places if sentence.start <= p.start < sentence.end
                   and not _attribution(text, p)]
    if in_clause:
        chosen = _event_places(text, in_clause, verb_start)
    else:  # the clause names no place: the sentence's most precise one
        best = min((p.rank for p in in_sentence), default=None)
        chosen = [p for p in in_sentence if p.rank == best][-1:]
    return [_draft(text, sentence, clause, rule, verb, p, body) for p in chosen]


def _draft(text: str, sentence: Span, clause: Span, rule: TypeRule, verb: re.Match[str],
           place: PlaceMention, body: str) -> Draft:
    w = words()
    verb_start, verb_end = clause.start + verb.start(), clause.start + verb.end()
    q = quote(text, sentence, Span(verb_start, verb_end))
    evidence = [Evidence(verb_start, verb_end, q, "event_type",
                         f"'{verb.group()}' -> {rule.event_type} / {rule.sub_event_type}"),
                Evidence(place.start, place.end, quote(text, sentence, place_span(place)),
                         "location", place.note())]
    actors: list[str] = []
    reporters = attribution_spans(text, sentence, lambda s: _action(s) is not None)
    for a in actor_rules():
        for m in a.pattern.finditer(text, sentence.start, sentence.end):
            if inside(m.start(), m.end(), reporters):
                evidence.append(Evidence(m.start(), m.end(), quote(text, sentence, Span(
                    m.start(), m.end())), "sources", f"'{m.group()}' reported it: the source "
                    "of the claim, not an actor"))
            elif a.name not in actors:
                actors.append(a.name)
                evidence.append(Evidence(m.start(), m.end(), quote(text, sentence, Span(
                    m.start(), m.end())), "actors", f"'{m.group()}' -> {a.name}"))
    figures: dict[str, int] = {}
    fatalities = None
    for m in w.unit_pattern.finditer(text, clause.start, clause.end):
        value = number_value(m.group("n"))
        key = w.units[m.group("u").lower()]
        if value is None or key in figures:
            continue
        tail = text[m.end():m.end() + 25].lower()
        if key == "killed" or re.match(r"\s+(?:were|was|have been|had been)?\s*(?:killed|dead)",
                                       tail):
            fatalities = (fatalities or 0) + value
        if key != "killed":
            figures[key] = value
        evidence.append(Evidence(m.start(), m.end(), quote(text, sentence, Span(m.start(),
                                                                                  m.end())),
                                 "figures", f"'{m.group()}' -> {key}: {value}"))
    denied = bool(w.denial.search(text, sentence.start, sentence.end))
    return Draft(rule.event_type, rule.sub_event_type, place, None, "day", actors, figures,
                 fatalities, denied, evidence, sentence, clause_text=body)


def place_span(p: PlaceMention) -> Span:
    return Span(p.start, p.end)


def _action(body: str) -> tuple[TypeRule, re.Match[str]] | None:
    """The first rule (in the table's order) whose pattern the clause has."""
    for rule in type_rules():
        m = rule.pattern.search(body)
        if m is not None:
            return rule, m
    return None


_ATTRIBUTION_AFTER = re.compile(r"\s*(?:,\s*)?(?:said|says|reported|announced|claimed|told)\b")
_ATTRIBUTION_BEFORE = re.compile(r"\b(?:(?:officials|ministry|authorities|government|officers|"
                                 r"sources|prosecutors|spokesman|spokeswoman) in|by)\s+$")


def _attribution(text: str, p: PlaceMention) -> bool:
    """'the ministry in Baku said', 'Yerevan said': where a claim is made, not the event."""
    return bool(_ATTRIBUTION_AFTER.match(text, p.end)
                or _ATTRIBUTION_BEFORE.search(text[max(0, p.start - 40):p.start]))


def _event_places(text: str, places: list[PlaceMention], verb: int) -> list[PlaceMention]:
    """The action's object: the first place after the verb (with the places coordinated with
    it by 'and': 'Ganja and Terter'), else the nearest place before the verb."""
    if not places:
        return []
    after = [p for p in places if p.start >= verb]
    if not after:
        return [places[-1]]
    chosen = [after[0]]
    between = text[verb:after[0].start]
    if re.search(r"\bbetween\b", between):
        return chosen
    for p in after[1:]:
        gap = text[chosen[-1].end:p.start]
        if len(gap) < 40 and re.search(r"\band\b", gap) \
                and p.place.source != chosen[0].place.source and "," not in gap:
            chosen.append(p)
        else:
            break
    return chosen


def _date_all(candidates: list[Draft], dates: list[DateMention], text: str) -> None:
    """Each candidate's date: its own, else relative to the candidate it names, else the
    story's so far, else the nearest written before it. A candidate with none stays undated
    and is not drafted: the publication date is never an event's date by default."""
    story: Draft | None = None
    pending: list[Draft] = []
    for c in candidates:
        own = _own_date(c, dates)
        if own is not None and own.day is not None:
            _set(c, own, own.day, own.precision, False, text, own.how)
        elif own is not None:  # relative
            pending.append(c)
            c.date_mention = own
        elif (told := _told_before(c, candidates)) is not None:
            _set(c, told.date_mention, told.day, told.precision, True,  # type: ignore[arg-type]
                 text,
                 f"no date in the sentence: the same happening told at {told.sentence.start}")
        elif story is not None and story.day is not None:
            _set(c, story.date_mention, story.day, story.precision, True, text,
                 f"no date in the sentence: the story's date so far (from {story.sentence.start})")
        else:
            before = [d for d in dates if d.end <= c.sentence.start and d.day is not None
                      and not d.report]
            if before:
                d = before[-1]
                _set(c, d, d.day, d.precision, True, text, f"nearest date before: {d.how}")
        if c.day is not None:
            story = c
    for c in pending:
        rel = c.date_mention
        assert rel is not None
        anchor = _anchor(c, rel, candidates)
        if anchor is not None and anchor.day is not None:
            day = anchor.day + timedelta(days=rel.offset_days)
            _set(c, rel, day, anchor.precision, False, text,
                 f"{rel.text!r}: {rel.offset_days:+d} day(s) from the event at "
                 f"{anchor.sentence.start} ({anchor.day.isoformat()})")


def _same(a: Draft, b: Draft) -> bool:
    """Same place, same kind of action, actors that do not contradict each other."""
    return (a.place.place.source == b.place.place.source
            and a.sub_event_type == b.sub_event_type
            and (not a.actors or not b.actors or bool(set(a.actors) & set(b.actors))))


def _told_before(c: Draft, candidates: list[Draft]) -> Draft | None:
    """An earlier dated candidate of the same happening: a story tells an event again."""
    for o in candidates:
        if o is c:
            return None
        if o.day is not None and not o.date_inherited and _same(o, c):
            return o
    return None


def _own_date(c: Draft, dates: list[DateMention]) -> DateMention | None:
    s = c.sentence
    inside = [d for d in dates if s.start <= d.start < s.end and not d.report]
    if not inside:
        return None
    verb = next(e.start for e in c.evidence if e.field == "event_type")
    return min(inside, key=lambda d: (abs(d.start - verb), d.start))


def _anchor(c: Draft, rel: DateMention, candidates: list[Draft]) -> Draft | None:
    """The candidate a relative date counts from: the one its noun names (a 'handover' is a
    transfer of territory), else the one told before it."""
    others = [o for o in candidates if o is not c and o.day is not None]
    if rel.anchor_noun:
        noun = rel.anchor_noun
        named = _action(noun)  # "the handover" names a transfer of territory
        for o in others:
            if noun[:5] in o.clause_text.lower() or (
                    named is not None and named[0].sub_event_type == o.sub_event_type):
                return o
    before = [o for o in others if o.sentence.start < c.sentence.start]
    return before[-1] if before else None


def _set(c: Draft, mention: DateMention | None, day: date, precision: str, inherited: bool,
         text: str, how: str) -> None:
    c.day, c.precision, c.date_inherited = day, precision, inherited
    c.date_mention = mention
    span = Span(mention.start, mention.end) if mention else Span(c.sentence.start,
                                                                 c.sentence.start)
    src = c.sentence if mention is None or c.sentence.start <= mention.start < c.sentence.end \
        else _sentence_of(text, mention)
    c.evidence.append(Evidence(span.start, span.end, quote(text, src, span) if mention else "",
                               "date", how[:600]))


def _sentence_of(text: str, d: DateMention) -> Span:
    for s in sentences(text):
        if s.start <= d.start < s.end:
            return s
    return Span(d.start, d.end)


def _merge(candidates: list[Draft]) -> list[Draft]:
    """One draft per happening: same place, same type, actors that agree, and the same date
    or a date only inherited from the story."""
    out: list[Draft] = []
    for c in candidates:
        if c.day is None:
            continue
        same = next((d for d in out if _same(d, c) and (d.day == c.day or c.date_inherited)),
                    None)
        if same is None:
            out.append(c)
            continue
        same.merged += 1
        same.actors += [a for a in c.actors if a not in same.actors]
        for k, v in c.figures.items():
            same.figures.setdefault(k, v)
        if same.fatalities is None:
            same.fatalities = c.fatalities
        same.denied |= c.denied
        same.evidence += [e for e in c.evidence if e.field != "date"]
    return out


def to_events(drafts: list[Draft], *, publisher: str, published: date,
              url: str | None = None, accessed: date | None = None) -> list[Event]:
    """The drafts as event records (`status: draft`), each citing the article; ids are
    date-slug, numbered when two drafts would share one."""
    from ..store import slug

    out, seen = [], set()
    for d in drafts:
        assert d.day is not None
        base = f"{d.day.isoformat()}-{slug(d.title, 50)}"
        ident, n = base, 2
        while ident in seen:
            ident, n = f"{base}-{n}", n + 1
        seen.add(ident)
        tags = ["extracted", *d.tags] + (["denied-in-source"] if d.denied else [])
        p = d.place.place
        record = {
            "id": ident, "date": d.day.isoformat(), "date_precision": d.precision,
            "title": d.title, "event_type": d.event_type, "sub_event_type": d.sub_event_type,
            "actors": d.actors,
            "location": {"name": p.name, "country": p.country, "lat": round(p.lat, 5),
                         "lon": round(p.lon, 5), "precision": p.precision},
            "figures": d.figures, "status": "draft", "tags": tags,
            "sources": [{"url": url, "publisher": publisher, "published": published.isoformat(),
                         # when the reader fetched it is theirs to say; never today by default
                         **({"accessed": accessed.isoformat()} if accessed else {})}],
            "evidence": [e.as_data() for e in d.evidence],
        }
        if d.fatalities is not None:
            record["fatalities"] = d.fatalities
        if url is None:
            del record["sources"][0]["url"]
        out.append(Event.model_validate(record))
    return out
