"""Date expressions in an article, resolved against its publication date.

Candidate expressions are found with our own patterns and only they go to `dateparser`
(`search_dates` over a whole article is ~100x slower). Weekdays and "a day after ..." are
resolved here; the precision the words carry (day, week, month) is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import dateparser

from .words import NUMBER_WORDS

_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|"
           "December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WD = "|".join(_WEEKDAYS)
_N = "|".join(["a", "an", r"\d+", *NUMBER_WORDS])

# (kind, pattern); the first pattern matching at a position wins, longer forms first
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b\d{4}-\d{2}-\d{2}\b")),
    ("day", re.compile(rf"\b(?:(?:{_WD}),?\s+)?(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?"
                       rf"(?:,?\s+\d{{4}})?\b(?!\s*(?:tons|tonnes|km|%))")),
    ("day", re.compile(rf"\b(?:(?:{_WD}),?\s+)?\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})"
                       rf"\b\.?(?:,?\s+\d{{4}})?")),
    ("month", re.compile(rf"\b(?:(?i:in|since|during|until|by|early|late|mid|mid-)\s*)(?:(?:early|"
                         rf"late|mid-?)\s*)?(?:{_MONTHS})(?:\s+(?:of\s+)?\d{{4}})?\b")),
    ("month", re.compile(rf"\b(?:{_MONTHS})\s+(?:of\s+)?\d{{4}}\b")),
    ("period", re.compile(r"\b(?:(?:earlier|later)\s+)?(?:last|this|next|previous)\s+"
                          r"(?:week|month|weekend)\b", re.IGNORECASE)),
    ("relative", re.compile(
        rf"\b(?:(?P<n>{_N})\s+(?P<unit>days?|weeks?)\s+(?P<dir>ago|earlier|later|before|after)"
        rf"|the\s+(?P<dir2>next|following|previous)\s+day|the\s+day\s+(?P<dir3>before|after)"
        rf"|(?P<dir4>hours|shortly|soon|just|a\s+day)\s+(?P<dir5>after|before))"
        rf"(?:\s+the\s+(?P<noun>[a-z]+))?", re.IGNORECASE)),
    ("weekday", re.compile(rf"\b(?:(?:[Oo]n|[Ll]ast|[Ee]arly|[Ll]ate)\s+)?(?P<wd>{_WD})"
                           rf"(?:'s)?(?:\s+(?:night|morning|evening|afternoon))?\b")),
    ("deictic", re.compile(r"\b(?:today|yesterday|tonight|last\s+night|this\s+morning|"
                           r"this\s+afternoon|this\s+evening|earlier\s+today)\b",
                           re.IGNORECASE)),
]


@dataclass
class DateMention:
    """A date expression: resolved to `day` (with `precision`), or relative to an anchor."""

    start: int
    end: int
    text: str
    day: date | None
    precision: str  # day | week | month
    how: str
    report: bool = False  # the date of a statement or a dateline, not of an event
    offset_days: int = 0  # for relative expressions: days from the anchor
    anchor_noun: str | None = None  # "the handover" -> "handover"


def _settings(base: date) -> dict:
    return {"RELATIVE_BASE": datetime(base.year, base.month, base.day),
            "PREFER_DATES_FROM": "past", "RETURN_AS_TIMEZONE_AWARE": False}


@lru_cache(maxsize=4096)
def _parse(text: str, base: date, need_day: bool) -> date | None:
    settings = _settings(base)
    if need_day:
        settings["REQUIRE_PARTS"] = ["day"]
    else:
        settings["PREFER_DAY_OF_MONTH"] = "first"
    parsed = dateparser.parse(text, languages=["en"], settings=settings)
    return parsed.date() if parsed else None


def _core(text: str) -> str:
    """The expression without leading prepositions and weekday, which dateparser misreads."""
    t = re.sub(r"^(?:in|since|during|until|by|early|late|mid-?|on)\s*", "", text.strip(),
               flags=re.IGNORECASE)
    t = re.sub(rf"^(?:{_WD}),?\s+", "", t)
    return re.sub(r"(\d)(?:st|nd|rd|th)\b", r"\1", t.replace(" of ", " "))


# "CITY, Nov 27 (Agency) -" or "CITY, Country, Nov 27 (Agency) -" at a paragraph's start;
# "..., officials said on Monday". Missing the country form let a dateline's date, read as an
# event's, win over a weekday that stood far enough from the verb.
_DATELINE_AFTER = re.compile(r"\s*(?:\([^)\n]{1,40}\))?\s*[-–—]")
_DATELINE_BEFORE = re.compile(r"(?:^|\n)[A-Z][A-Z .'-]+,(?:\s*[A-Z][\w .'-]{1,30},)?\s*$")
_REPORTED = re.compile(r"\b(?:said|says|announced|reported|told|added|stated|confirmed|"
                       r"claimed|wrote|statement)\s+(?:late\s+|early\s+|on\s+)?$")


def _is_report_date(text: str, start: int, end: int) -> bool:
    """A dateline's date or the day something was said: never an event's date."""
    before = text[max(0, start - 70):start]
    if _DATELINE_BEFORE.search(before) and _DATELINE_AFTER.match(text, end):
        return True
    return bool(_REPORTED.search(before))


def dateline(mentions: list[DateMention]) -> DateMention | None:
    """The article's dateline date, when it opens with one."""
    return next((d for d in mentions[:1] if d.report and d.start < 60 and d.day), None)


def _count(word: str) -> int:
    w = word.lower()
    if w in ("a", "an"):
        return 1
    return NUMBER_WORDS.get(w) or int(w)


def find_dates(text: str, published: date | None) -> list[DateMention]:
    """Every date expression, left to right, without overlaps."""
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            mention = _resolve(kind, m, published)
            if mention is not None:
                mention.report = _is_report_date(text, m.start(), m.end())
                found.append(mention)
                taken.append((m.start(), m.end()))
    return sorted(found, key=lambda d: d.start)


def _resolve(kind: str, m: re.Match[str], base: date | None) -> DateMention | None:
    text = m.group()
    start, end = m.start(), m.end()

    def made(day: date | None, precision: str, how: str, **kw: object) -> DateMention:
        return DateMention(start, end, text, day, precision, how, **kw)  # type: ignore[arg-type]

    if kind == "iso":
        try:
            return made(date.fromisoformat(text), "day", "ISO date")
        except ValueError:
            return None
    if kind in ("day", "month"):
        if base is None and not re.search(r"\d{4}", text):
            return made(None, kind, "no year and no publication date")
        day = _parse(_core(text), base or date.today(), kind == "day")
        if day is None:
            return None
        how = f"{text!r} read against the publication date" if base else f"{text!r}"
        return made(day if kind == "day" else day.replace(day=1), kind, how)
    if kind == "period":
        if base is None:
            return None
        low = text.lower()
        unit = "month" if "month" in low else "week"
        step = -1 if ("last" in low or "previous" in low) else (1 if "next" in low else 0)
        if unit == "week":
            monday = base - timedelta(days=base.weekday()) + timedelta(weeks=step)
            return made(monday, "week", f"{text!r}: the week of {monday.isoformat()}")
        month = (base.replace(day=1) - timedelta(days=1)).replace(day=1) if step < 0 else \
            base.replace(day=1)
        return made(month, "month", f"{text!r}: {month:%B %Y}")
    if kind == "relative":
        g = m.groupdict()
        noun = (g.get("noun") or "").lower() or None
        if g.get("n"):
            n = _count(g["n"]) * (7 if g["unit"].lower().startswith("week") else 1)
            direction = g["dir"].lower()
            if direction == "ago":
                if base is None:
                    return None
                return made(base - timedelta(days=n), "day", f"{text!r} before publication")
            sign = 1 if direction in ("later", "after") else -1
            return made(None, "day", text, offset_days=sign * n,
                        anchor_noun=noun if direction in ("after", "before") else None)
        d2 = (g.get("dir2") or "").lower()
        if d2:
            return made(None, "day", text, offset_days=-1 if d2 == "previous" else 1)
        d3 = (g.get("dir3") or "").lower()
        if d3:
            return made(None, "day", text, offset_days=1 if d3 == "after" else -1,
                        anchor_noun=noun)
        lead = (g.get("dir4") or "").lower()
        sign = 1 if g["dir5"].lower() == "after" else -1
        n = 1 if lead.startswith("a") else 0
        return made(None, "day", text, offset_days=sign * n, anchor_noun=noun)
    if kind == "weekday":
        if base is None:
            return None
        wd = _WEEKDAYS.index(m.group("wd"))
        back = (base.weekday() - wd) % 7
        if text.lower().startswith("last") and back == 0:  # "last Friday" on a Friday
            back = 7
        day = base - timedelta(days=back)
        return made(day, "day", f"{m.group('wd')} before publication: {day.isoformat()}")
    if kind == "deictic":
        if base is None:
            return None
        low = text.lower()
        back = 1 if ("yesterday" in low or "last" in low) else 0
        return made(base - timedelta(days=back), "day", f"{text!r} from publication")
    return None
