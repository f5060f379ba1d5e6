"""Reading folders of YAML: every bad file gets its own message with file and line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conflictmap import store
from conflictmap.model import Event

from .conftest import DATA, ROOT

BAD = DATA / "bad"

# file -> (line, field, words the message must contain)
EXPECTED = {
    "malformed-yaml.yaml": (3, "(yaml)", "expected ',' or ']'"),
    "tab-indent.yaml": (4, "(yaml)", "tab"),
    "wrong-type.yaml": (4, "fatalities", "valid integer"),
    "missing-title.yaml": (1, "title", "required field is missing"),
    "unknown-key.yaml": (10, "titel", "unknown field"),
    "bad-date.yaml": (1, "date", "month must be in 1..12"),
    "latlon-swapped.yaml": (7, "location.lat", "lat/lon swapped?"),
    "lat-out-of-range.yaml": (5, "location.lat", "less than or equal to 90"),
    "unknown-event-type.yaml": (3, "event_type", "did you mean 'Battles'"),
    "javascript-url.yaml": (8, "sources[0].url", "only absolute http(s)"),
    "non-utf8.yaml": (2, "(file)", "not UTF-8"),
    "empty.yaml": (1, "(file)", "empty file"),
    "top-level-list.yaml": (1, "(event)", "got a list"),
    "scalar.yaml": (1, "(event)", "got a str"),
    "id-traversal.yaml": (1, "id", "expected letters, digits and hyphens"),
    "missing-sources.yaml": (5, "sources", "at least 1 item"),
    "naive-datetime.yaml": (1, "date", "UTC offset"),
    "duplicate-key.yaml": (10, "date", "duplicate key (first at line 1)"),
    "wrong-sub-type.yaml": (4, "sub_event_type", "belongs to 'Protests'"),
    "no-place.yaml": (4, "location", "give a place"),
    "Bad_File_Name.yaml": (1, "id", "not a valid id"),
    "int-date.yaml": (1, "date", "expected YYYY-MM-DD, got 20201126"),
    "slash-date.yaml": (7, "sources[0].published", "expected YYYY-MM-DD, got '29/11/2020'"),
    "long-number.yaml": (6, "(yaml)", "a number of 5000 digits is too long"),
    "fatalities-too-large.yaml": (6, "fatalities", "too large: at most 9,223,372,036,854,775,807"),
    "alias-bomb.yaml": (7, "(yaml)", "anchors and aliases (&name, *name) are not allowed"),
    "deep-nesting.yaml": (6, "(yaml)", "nested more than 20 levels deep"),
    "many-documents.yaml": (2002, "(yaml)", "more than 1,000 documents in one file"),
    "terminal-escapes.yaml": (3, "event_type", "unknown ACLED event type 'Battles\x1b]52;"),
}


def test_corpus_is_complete():
    on_disk = {p.name for p in BAD.glob("*.yaml")}
    assert on_disk == set(EXPECTED), "every bad file needs an expectation"
    assert len(EXPECTED) >= 15


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_gets_one_precise_problem(name):
    line, field, words = EXPECTED[name]
    with pytest.raises(store.InvalidEvents) as info:
        store.load_events([BAD / name])
    problems = info.value.problems
    assert len(problems) == 1, problems
    p = problems[0]
    assert (Path(p.path).name, p.line, p.field) == (name, line, field)
    assert words in p.message
    assert str(p).startswith(f"{BAD / name}:{line}:")


def test_duplicate_ids_across_files_name_both_files():
    with pytest.raises(store.InvalidEvents) as info:
        store.load_events([BAD / "dup"])
    (p,) = info.value.problems
    assert p.path.endswith("second.yaml") and "first.yaml:1" in p.message


def test_all_problems_of_all_files_are_collected():
    with pytest.raises(store.InvalidEvents) as info:
        store.load_events([BAD])
    files = {Path(p.path).name for p in info.value.problems}
    assert files == set(EXPECTED) | {"second.yaml"}


def test_bundled_events_load_sorted():
    events = store.load_events([ROOT / "events"])
    assert len(events) == 8
    assert [e.day for e in events] == sorted(e.day for e in events)
    mine = next(e for e in events if e.id == "2020-11-26-sotk-mine-entry")
    assert (mine.location.lat, mine.location.lon) == (40.2330, 45.9680)
    assert mine.origin and mine.origin[0].endswith("2020-11-26-sotk-mine-entry.yaml")


def test_several_documents_in_one_file_need_ids(tmp_path):
    body = ("date: 2020-11-26\ntitle: t\nevent_type: Battles\nlocation: {name: Sotk}\n"
            "sources: [{publisher: p, published: 2020-11-30}]\n")
    f = tmp_path / "multi.yaml"
    f.write_text(f"id: a\n{body}---\nid: b\n{body}", "utf-8")
    assert [e.id for e in store.load_events([f])] == ["a", "b"]
    f.write_text(f"{body}---\nid: b\n{body}", "utf-8")
    with pytest.raises(store.InvalidEvents, match="required when a file holds several"):
        store.load_events([f])


def test_missing_path_is_a_problem_not_a_crash(tmp_path):
    with pytest.raises(store.InvalidEvents) as info:
        store.load_events([tmp_path / "nope"])
    assert "no such file" in info.value.problems[0].message


def test_a_path_too_long_to_look_up_is_a_problem_not_a_crash():
    with pytest.raises(store.InvalidEvents) as info:
        store.load_events(["a" * 5000, "a/" * 2100])
    assert [p.message for p in info.value.problems] == ["File name too long"] * 2


def _event(eid: str) -> Event:
    return Event.model_validate({
        "id": eid, "date": "2020-11-26", "title": "t", "event_type": "Battles",
        "location": {"name": "Sotk"}, "sources": [{"publisher": "p", "published": "2020-11-30"}]})


def test_write_never_overwrites(tmp_path):
    path = store.write_event(tmp_path, _event("x-1"))
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        store.write_event(tmp_path, _event("x-1"))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["x-1.yaml"]  # no temp files left behind


@pytest.mark.parametrize("bad", ["../../x", "../x", "/etc/x", "a/b", ".hidden", "a_b"])
def test_ids_cannot_escape_the_folder(tmp_path, bad):
    with pytest.raises(ValueError):
        store.event_path(tmp_path, bad)


def test_written_files_get_ordinary_permissions(tmp_path):
    import stat

    from conflictmap.atomic import write_atomic

    old = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "map.html", "x")
        event = store.write_event(tmp_path, _event("perm-1"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(event.stat().st_mode) == 0o644


def test_written_yaml_has_no_aliases_for_shared_values(tmp_path):
    """One date object as `date` and `published` was written as &id001/*id001, which reading
    refuses."""
    from datetime import date

    day = date(2020, 11, 26)
    ev = Event.model_validate({
        "id": "shared-1", "date": day, "title": "t", "event_type": "Battles",
        "location": {"name": "Sotk"}, "sources": [{"publisher": "p", "published": day}]})
    assert "&id" not in store.event_to_yaml(ev)
    store.write_event(tmp_path, ev)
    assert [e.id for e in store.load_events([tmp_path])] == ["shared-1"]


@pytest.mark.parametrize(("title", "want"), [
    ("Obstrel near Sotk", "obstrel-near-sotk"),
    ("Обстрел у Сотка", "obstrel-u-sotka"),  # Russian
    ("Սոթքի ոսկու հանք", "sotki-osku-hank"),  # Armenian, with its ու digraph
    ("სოთქი", "sotki"),  # Georgian
    ("Kəlbəcər rayonu, Saatlı", "kelbecer-rayonu-saatli"),  # Azerbaijani ə and ı
    ("Щёлково: ЖЭК", "shchyolkovo-zhek"),
    ("Sotk gold mine — 26 Nov", "sotk-gold-mine-26-nov"),
    ("東京", "event"),  # a script with no Latin spelling here: the placeholder, as before
])
def test_ids_keep_the_words_of_non_latin_titles(title, want):
    """`add` and `extract` name events from their titles: a Russian or Armenian title lost
    every letter (the id read 2020-11-26-event)."""
    from conflictmap.store import slug

    assert slug(title) == want
