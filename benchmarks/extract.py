"""Drafting events from articles: 100 articles of 5,000 characters in under 10 s (2 cores).

    .venv/bin/python -m benchmarks.extract [N_ARTICLES] [CHARS]

The articles are made from the annotated test set's paragraphs (tests/data/articles),
shuffled with a fixed seed and each given its own publication date, so the date parser's
cache sees the variety a real batch has. Figures (JSON): loading the gazetteer chain once
(layers, curated gazetteer, GeoNames index), extracting every article (places, dates,
candidates, merging) and making the event records, and the whole run including the load.
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from conflictmap.extract import Gazetteers, extract, to_events

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "tests" / "data" / "articles"


def articles(n: int, chars: int, seed: int = 16) -> list[tuple[str, date]]:
    """`n` texts of about `chars` characters, each with a publication date."""
    rng = random.Random(seed)
    paragraphs = [p.strip() for f in sorted(ARTICLES.glob("*.txt"))
                  for p in f.read_text("utf-8").split("\n\n") if p.strip()]
    out = []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p) + 2 for p in parts) < chars:
            parts.append(rng.choice(paragraphs))
        published = date(2020, 9, 27) + timedelta(days=rng.randrange(1200))
        out.append(("\n\n".join(parts)[:chars], published))
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    chars = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
    batch = articles(n, chars)
    t0 = time.perf_counter()
    gazetteers = Gazetteers.offline(ROOT / "geodata" / "layers.yaml")
    gazetteers.geonames  # noqa: B018 - the index is part of the load
    t1 = time.perf_counter()
    drafts = 0
    for text, published in batch:
        found = extract(text, published, gazetteers)
        drafts += len(to_events(found, publisher="benchmark", published=published))
    t2 = time.perf_counter()
    print(json.dumps({"articles": n, "chars": chars, "drafts": drafts,
                      "load_s": round(t1 - t0, 2), "extract_s": round(t2 - t1, 2),
                      "per_article_ms": round(1000 * (t2 - t1) / max(1, n), 1),
                      "total_s": round(t2 - t0, 2)}))


if __name__ == "__main__":
    main()
