"""Place mentions in an article, resolved with the gazetteer chain and the article's context.

A capitalised name is looked up in the curated gazetteer, the admin-1 layers and GeoNames.
Its candidates are weighed on what the text itself says: countries named (or implied by a
demonym), districts and provinces named, the other places it mentions, and population. A
GeoNames-only name in no country the text points to is not a place ("Mine" in Japan, "Police"
in Poland), unless it is a city of 100,000. "The mine" refers back to the last mine named.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..geocode.base import Place, normalize
from .gazetteers import Candidate, Gazetteers
from .words import Words, words

_CAP_WORD = r"[A-ZÀ-ÖØ-ÞĀ-ŽƏ][\w'’\-]*"
_SEQUENCE = re.compile(rf"{_CAP_WORD}(?:[ \t]+{_CAP_WORD})*")
_WORD = re.compile(_CAP_WORD)
_POSSESSIVE = re.compile(r"['’]s?$")
# A city this large is a place wherever it is (a capital named in a report on elsewhere)
BIG_CITY = 100_000
NEAR_KM = 60.0
# A place this close to one the text names without doubt is in the story's region, even in a
# country the text does not name ("Azerbaijani forces shelled Jermuk": Jermuk, Armenia)
REGION_KM = 150.0
_PRECISION_RANK = {"site": 0, "settlement": 1, "near-settlement": 1, "district": 2,
                   "province": 3, "country": 4}


@dataclass
class PlaceMention:
    """A name in the text and the place it was resolved to."""

    start: int
    end: int
    surface: str
    place: Place
    kind: str  # curated | area | settlement
    beaten: list[tuple[Place, str]] = field(default_factory=list)  # rival and why it lost
    why: str = ""
    refers_to: PlaceMention | None = None  # "the mine": the mention it refers back to

    @property
    def precision(self) -> str:
        return self.place.precision

    @property
    def rank(self) -> int:
        """Smaller is more precise: a site beats a settlement beats a district."""
        return _PRECISION_RANK.get(self.place.precision, 5)

    def note(self) -> str:
        """How the name was read, for the reviewer: the choice and the rivals it beat."""
        if self.refers_to is not None:
            return (f"'{self.surface}' refers back to '{self.refers_to.surface}' at "
                    f"{self.refers_to.start}")
        text = f"'{self.surface}' -> {self.place.name} ({self.place.source}): {self.why}"
        if self.beaten:
            rivals = "; ".join(f"{p.name}, {p.country} ({p.source}): {why}"
                               for p, why in self.beaten[:4])
            more = f"; and {len(self.beaten) - 4} more" if len(self.beaten) > 4 else ""
            text += f". Beat {rivals}{more}"
        return text[:600]


@dataclass
class _Name:
    start: int
    end: int
    surface: str
    lookup: str  # what is looked up ("Sotk gold mine" for "Sotk" + "gold mine")
    hint: str | None  # area | site | settlement: a place word beside the name says so
    cued: bool  # a preposition of place or "village of" before it


def find_places(text: str, gazetteers: Gazetteers) -> tuple[list[PlaceMention], set[str]]:
    """Place mentions left to right, and the countries (ISO2) the text points to."""
    w = words()
    names, context = _names(text, gazetteers, w)
    resolved: list[tuple[_Name, list[Candidate]]] = []
    for n in names:
        cands = gazetteers.candidates(n.lookup)
        if cands:
            resolved.append((n, cands))
    # anchors: names only our curated list or the layers know, unambiguously
    anchors = [own[0] for own in ([c for c in cs if c.kind != "settlement"]
                                  for _, cs in resolved) if len(own) == 1]
    context |= {a.place.country for a in anchors if a.place.country}
    areas_named = {normalize(a.place.name) for _, cs in resolved for a in cs if a.kind == "area"}
    mentions = []
    for n, cands in resolved:
        chosen = _choose(n, cands, context, areas_named, anchors)
        if chosen is not None:
            mentions.append(chosen)
    mentions += _anaphora(text, mentions, w)
    mentions.sort(key=lambda m: m.start)
    return mentions, context


def _names(text: str, gazetteers: Gazetteers, w: Words) -> tuple[list[_Name], set[str]]:
    """Capitalised runs split at words that are not places; countries and demonyms go to
    the context instead."""
    context: set[str] = set()
    out: list[_Name] = []
    for seq in _SEQUENCE.finditer(text):
        run: list[re.Match[str]] = []
        for tok in [*_WORD.finditer(text, seq.start(), seq.end()), None]:
            bare = _POSSESSIVE.sub("", tok.group()) if tok else ""
            low = bare.lower()
            stop = tok is None or low in w.not_places
            if tok is not None and (bare in w.demonyms or low in w.countries):
                context.add(w.demonyms.get(bare) or w.countries[low])
                stop = True
            if stop:
                if run:
                    out += _name_of(text, run, gazetteers, w)
                run = []
            else:
                run.append(tok)  # type: ignore[arg-type]
    return out, context


def _name_of(text: str, run: list[re.Match[str]], gazetteers: Gazetteers,
             w: Words) -> list[_Name]:
    start, end = run[0].start(), run[-1].end()
    before = text[max(0, start - 40):start]
    if w.person_title.search(before):
        return []
    surface = _POSSESSIVE.sub("", text[start:end])
    cued = bool(w.place_cue.search(before))
    hint = None
    prefix = re.search(r"\b(\w+)\s+of\s+(?:the\s+)?$", before)
    if prefix and prefix.group(1).lower() in w.area_words:
        hint = "area"
    elif prefix and prefix.group(1).lower() in w.settlement_words:
        hint = "settlement"
    after = text[end:end + 30].lower()
    for kind, suffixes in (("site", w.site_words), ("area", w.area_words),
                           ("settlement", w.settlement_words)):
        for suffix in sorted(suffixes, key=len, reverse=True):
            if re.match(rf"\s+{re.escape(suffix)}\b", after):
                longer = f"{surface} {suffix}"
                if gazetteers.known(normalize(longer)):
                    stop = end + len(re.match(rf"\s+{re.escape(suffix)}", after).group())
                    return [_Name(start, stop, text[start:stop], longer, kind, cued)]
                hint = hint or kind
                break
    if gazetteers.known(normalize(surface)):
        return [_Name(start, start + len(surface), surface, surface, hint, cued)]
    # a longer run (a person's or an organisation's name) yields only names our own lists know
    out = []
    if len(run) > 1:
        for tok in run:
            key = normalize(tok.group())
            if key in gazetteers.curated.by_key or key in gazetteers.areas.by_key:
                out.append(_Name(tok.start(), tok.end(), tok.group(), tok.group(), None, False))
    return out


def _choose(n: _Name, cands: list[Candidate], context: set[str], areas_named: set[str],
            anchors: list[Candidate]) -> PlaceMention | None:
    """The candidate the context favours, with every rival and the reason it lost; None when
    no candidate is plausible (a common word that is a village far away)."""
    scored = []
    for c in cands:
        score, why = 0.0, []
        if c.kind == "curated":
            score += 5
            why.append("in our curated gazetteer")
        elif c.kind == "area":
            score += 3 + (3 if n.hint == "area" else 0)
            why.append("a district or province" + (" named as one" if n.hint == "area" else ""))
        elif n.hint == "settlement":
            score += 2
            why.append("named as a settlement")
        if c.place.country in context:
            score += 3
            why.append(f"in {c.place.country}, which the text names")
        if c.place.admin1 and normalize(c.place.admin1) in areas_named:
            score += 2
            why.append(f"in {c.place.admin1}, named in the text")
        near = _near(c.place, anchors, NEAR_KM)
        region = near or _near(c.place, anchors, REGION_KM)
        if near:
            score += 1.5
        if region:
            score += 2
            why.append(f"{_km(region.place, c.place):.0f} km from {region.place.name}")
        if c.population:
            score += 0.5 * math.log10(c.population + 1)
            why.append(f"population {c.population:,}")
        elif c.population is None:
            why.append("population unknown")
        scored.append((score, c, why))
    scored.sort(key=lambda s: -s[0])
    best_score, best, why = scored[0]
    if best.kind == "settlement" and best.place.country not in context \
            and not _near(best.place, anchors, REGION_KM) \
            and ((best.population or 0) < BIG_CITY or len(n.surface) < 4) \
            and not (n.cued and not context and (best.population or 0) >= 5000):
        return None
    beaten = [(c.place, f"score {s:.1f} < {best_score:.1f}"
               + (f" ({', '.join(w)})" if w else "")) for s, c, w in scored[1:]]
    return PlaceMention(n.start, n.end, n.surface, best.place, best.kind, beaten,
                        f"score {best_score:.1f}: " + ", ".join(why))


_ANAPHOR = re.compile(r"\bthe\s+(?:nearby\s+|same\s+|entire\s+|whole\s+)?"
                      r"(?P<noun>gold mine|mine|pass|village|town|city|district|province|site)\b"
                      r"(?!\s+of\b)", re.IGNORECASE)


def _anaphora(text: str, mentions: list[PlaceMention], w: Words) -> list[PlaceMention]:
    """'the mine', 'the village': the last place of that kind named before, if any."""
    out = []
    spans = [(m.start, m.end) for m in mentions]
    for m in _ANAPHOR.finditer(text):
        if any(s <= m.start("noun") < e for s, e in spans):
            continue  # part of a name ("the Sotk gold mine")
        noun = m.group("noun").lower()
        precision = w.anaphora.get(noun)
        earlier = [p for p in mentions if p.end <= m.start() and p.place.precision == precision
                   and (noun == "site" or precision != "site"
                        or noun.split()[-1] in p.place.name.lower())]
        if earlier:
            ref = earlier[-1]
            out.append(PlaceMention(m.start(), m.end(), m.group(), ref.place, ref.kind, [],
                                    ref.why, refers_to=ref))
    return out


def _near(place: Place, anchors: list[Candidate], km: float) -> Candidate | None:
    """The first anchor (another place) within `km` of `place`."""
    return next((a for a in anchors if a.place.source != place.source
                 and _km(a.place, place) < km), None)


def _km(a: Place, b: Place) -> float:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2)
    return 6371.0 * 2 * math.asin(math.sqrt(h))
