"""`conflictmap extract` as a library call: read the article, draft, write the drafts.

The publication date comes from the caller, else from a saved page's own metadata, else from
the article's dateline; without one relative dates cannot be read, so it is an error that
says which flag to pass. Where the date came from is kept for the summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from pydantic_core import PydanticCustomError

from ..errors import UsageError
from ..model import Event, check_http_url
from .article import Article, read_article
from .dates import dateline, find_dates
from .drafts import Draft, extract_with_misses, to_events
from .gazetteers import Gazetteers
from .unplaced import Unplaced


@dataclass
class Outcome:
    text: str
    drafts: list[Draft]
    events: list[Event]
    written: list[Path]
    skipped: list[str]  # why a draft was not written (a file of that name exists)
    published: date
    published_from: str  # where the publication date was read
    unplaced: list[Unplaced]  # event-like sentences with no place found


def _day(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"extract: {flag}: expected YYYY-MM-DD, got {value!r}") from None


def draft_article(source: str, out: Path | None, manifest: Path, *,
                  published: str | None = None, url: str | None = None,
                  publisher: str | None = None) -> Outcome:
    """Drafts of the article at `source` (a path or `-`); written to `out` unless None."""
    if url is not None:
        try:
            check_http_url(url)
        except PydanticCustomError as exc:
            raise UsageError(f"extract: --url: {exc.message()}") from None
    article = read_article(source)
    text, name = article.text, article.name
    day, origin = _publication_date(article, published)
    who = publisher or (urlsplit(url).hostname if url else None)
    if not who:
        raise UsageError(f"extract: {name}: pass --publisher (or --url) so the drafts cite "
                         "their source")
    drafts, unplaced = extract_with_misses(text, day, Gazetteers.offline(manifest))
    events = to_events(drafts, publisher=who, published=day, url=url)
    written: list[Path] = []
    skipped: list[str] = []
    if out is not None and events:
        from ..store import write_events

        written, taken = write_events(out, events, lambda e: f"{e.id}.yaml")
        skipped = [why for _e, why in taken]
    return Outcome(text, drafts, events, written, skipped, day, origin, unplaced)


def _publication_date(article: Article, given: str | None) -> tuple[date, str]:
    """The date relative dates count from, and where it was read: --published wins."""
    if given is not None:
        return _day(given, "--published"), "--published"
    if article.page_date is not None:
        return article.page_date, "the page's metadata"
    found = dateline(find_dates(article.text, None))
    if found is None or found.day is None:
        raise UsageError(f"{article.name}:1:1: (article): no publication date in the page's "
                         "metadata and no dateline with a year; pass --published YYYY-MM-DD "
                         "so relative dates can be read")
    return found.day, f"the dateline {found.text!r}"
