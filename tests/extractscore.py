"""Scores of the extractor against a folder of annotated articles (text + gold YAML).

Places: the distinct places an article's mentions resolve to, against the gold places (a
match is the same country and one of the gold names among the mention's spellings or the
resolved name). Events: each gold event against the draft at its place (same type first):
date right, type (ACLED event_type) right; a gold event with no draft is wrong on both.
Actors: a gold event may list the actors the article names (`actors: [...]`, known actor
names; `[]` when it names none); the draft's actors are scored against them (precision,
recall), a gold event with no draft missing all of its actors.

A gold place no source of the gazetteer chain knows under any of its names cannot be found
by any reading of the text: it is counted apart (`outside`), as are the events there, and
the scores are given both without and with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from conflictmap.extract import Gazetteers, extract
from conflictmap.extract.places import PlaceMention, find_places
from conflictmap.geocode.base import normalize


@dataclass
class Scores:
    place_tp: int = 0
    place_fp: int = 0
    place_fn: int = 0
    gold_hit: int = 0  # gold places found (several mentions may find one)
    outside: int = 0  # gold places no gazetteer knows
    events_outside: int = 0  # gold events at such places
    events: int = 0
    date_right: int = 0
    type_right: int = 0
    drafts: int = 0
    drafts_matched: int = 0
    actor_tp: int = 0
    actor_fp: int = 0
    actor_fn: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.place_tp / max(1, self.place_tp + self.place_fp)

    @property
    def recall(self) -> float:
        """Of the gold places the gazetteer chain knows."""
        return self.gold_hit / max(1, self.gold_hit + self.place_fn)

    @property
    def recall_all(self) -> float:
        return self.gold_hit / max(1, self.gold_hit + self.place_fn + self.outside)

    @property
    def date_accuracy(self) -> float:
        return self.date_right / max(1, self.events)

    @property
    def type_accuracy(self) -> float:
        return self.type_right / max(1, self.events)

    @property
    def actor_precision(self) -> float:
        return self.actor_tp / max(1, self.actor_tp + self.actor_fp)

    @property
    def actor_recall(self) -> float:
        return self.actor_tp / max(1, self.actor_tp + self.actor_fn)

    def line(self, name: str) -> str:
        return (f"{name}: place precision {self.precision:.2f} recall {self.recall:.2f} "
                f"({self.gold_hit + self.place_fn} gold places the gazetteer knows; "
                f"{self.recall_all:.2f} counting {self.outside} it does not); "
                f"{self.events_outside} gold events at unknown places left out; event date right "
                f"{self.date_right}/{self.events} = {self.date_right / max(1, self.events):.2f}; "
                f"type right {self.type_right}/{self.events} = "
                f"{self.type_right / max(1, self.events):.2f}; actor precision "
                f"{self.actor_precision:.2f} recall {self.actor_recall:.2f} "
                f"({self.actor_tp} right, {self.actor_fp} extra, {self.actor_fn} missed); "
                f"drafts matching a gold event {self.drafts_matched}/{self.drafts}")


def _spellings(m: PlaceMention) -> set[str]:
    ref = m.refers_to or m
    return {normalize(ref.surface), normalize(ref.place.name)}


def _matches(gold: dict, spellings: set[str], country: str | None) -> bool:
    names = gold["names"] if "names" in gold else [gold["place"]]
    return gold.get("country", country) == country and bool(
        {normalize(n) for n in names} & spellings)


def score(folder: Path, gazetteers: Gazetteers) -> Scores:
    s = Scores()
    for txt in sorted(folder.glob("*.txt")):
        gold = yaml.safe_load(txt.with_suffix(".yaml").read_text("utf-8"))
        text = txt.read_text("utf-8")
        published = date.fromisoformat(str(gold["published"]))
        mentions, _ = find_places(text, gazetteers)
        groups: dict[str, tuple[set[str], str | None]] = {}
        for m in mentions:
            if m.refers_to is None:
                spell, _c = groups.setdefault(m.place.source, (set(), m.place.country))
                spell |= _spellings(m)
        hit_gold: set[int] = set()
        for source, (spell, country) in groups.items():
            found = [i for i, g in enumerate(gold["places"]) if _matches(g, spell, country)]
            if found:
                s.place_tp += 1
                hit_gold.update(found)
            else:
                s.place_fp += 1
                s.errors.append(f"{txt.name}: extra place {sorted(spell)} ({source})")
        s.gold_hit += len(hit_gold)
        unknown = set()
        for i, g in enumerate(gold["places"]):
            if i in hit_gold:
                continue
            if not any(gazetteers.candidates(n) for n in g["names"]):
                s.outside += 1
                unknown |= {normalize(n) for n in g["names"]}
                s.errors.append(f"{txt.name}: no gazetteer knows {g['names']}")
            else:
                s.place_fn += 1
                s.errors.append(f"{txt.name}: missed place {g['names']}")
        names_of = {normalize(g["names"][0]): g["names"] for g in gold["places"]}
        for g in gold["places"]:
            for n in g["names"]:
                names_of[normalize(n)] = g["names"]
        drafts = extract(text, published, gazetteers)
        s.drafts += len(drafts)
        used: set[int] = set()
        by_gold = {}
        for g in gold.get("events") or []:
            if normalize(g["place"]) in unknown:
                s.events_outside += 1
                continue
            s.events += 1
            names = names_of.get(normalize(g["place"]), [g["place"]])
            at = [i for i, d in enumerate(drafts) if i not in used and _matches(
                {"names": names}, _spellings(d.place), d.place.place.country)]
            at.sort(key=lambda i: (drafts[i].sub_event_type != g.get("sub_event_type"),
                                   drafts[i].event_type != g["event_type"],
                                   drafts[i].day != date.fromisoformat(str(g["date"]))))
            if not at:
                s.errors.append(f"{txt.name}: no draft for {g['place']} {g['date']}")
                s.actor_fn += len(g.get("actors") or [])
                continue
            d = drafts[at[0]]
            used.add(at[0])
            by_gold[at[0]] = g
            if d.day == date.fromisoformat(str(g["date"])):
                s.date_right += 1
            else:
                s.errors.append(f"{txt.name}: {g['place']} dated {d.day}, gold {g['date']}")
            if "actors" in g:
                _score_actors(s, f"{txt.name}: {g['place']}", set(d.actors), set(g["actors"]))
            if d.event_type == g["event_type"]:
                s.type_right += 1
            else:
                s.errors.append(f"{txt.name}: {g['place']} typed {d.event_type}, gold "
                                f"{g['event_type']}")
        s.drafts_matched += len(used)
        for i, d in enumerate(drafts):
            if i not in used:
                s.errors.append(f"{txt.name}: draft without a gold event: {d.day} "
                                f"{d.sub_event_type} at {d.place.place.name}")
    return s


def _score_actors(s: Scores, where: str, drafted: set[str], gold: set[str]) -> None:
    s.actor_tp += len(drafted & gold)
    s.actor_fp += len(drafted - gold)
    s.actor_fn += len(gold - drafted)
    if drafted != gold:
        s.errors.append(f"{where} actors {sorted(drafted)}, gold {sorted(gold)}")
