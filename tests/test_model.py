"""The event record: vocabularies, plausibility checks, and YAML round trips."""

from __future__ import annotations

import json
import string
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conflictmap.model import ACLED_TYPES, Event, event_json_schema
from conflictmap.store import event_to_yaml, parse_text

from .conftest import ROOT

BASE = {
    "date": "2020-11-26",
    "title": "t",
    "event_type": "Battles",
    "location": {"name": "Sotk", "country": "AM"},
    "sources": [{"publisher": "p", "published": "2020-11-30"}],
}


def make(**over):
    data = json.loads(json.dumps(BASE))
    data.update(over)
    return Event.model_validate(data)


def test_acled_vocabulary_has_6_types_and_25_sub_types():
    assert len(ACLED_TYPES) == 6
    assert sum(len(v) for v in ACLED_TYPES.values()) == 25


def test_wrong_type_suggests_the_closest():
    with pytest.raises(ValidationError, match="did you mean 'Explosions/Remote violence'"):
        make(event_type="Explosions/remote violnce")


def test_swapped_point_is_named_as_such():
    with pytest.raises(ValidationError, match="lat/lon swapped"):
        make(location={"country": "AM", "lat": 45.968, "lon": 40.233})


def test_point_far_outside_country_is_not_called_swapped():
    with pytest.raises(ValidationError) as info:
        make(location={"country": "AM", "lat": 10.0, "lon": 10.0})
    assert "outside AM" in str(info.value) and "swapped" not in str(info.value)


def test_point_inside_country_passes_and_code_is_normalised():
    e = make(location={"country": "am", "lat": 40.233, "lon": 45.968})
    assert e.location.country == "AM"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "ftp://x.org/a",
                                 "http://", "https://ex ample.org", "//example.org/a"])
def test_only_http_urls(url):
    with pytest.raises(ValidationError):
        make(sources=[{"publisher": "p", "published": "2020-11-30", "url": url}])


def _urlsplit_verdict(value: str) -> bool:
    """The link rule as written before the plain-URL fast path: spaces, controls, urlsplit."""
    import re
    from urllib.parse import urlsplit

    if re.search(r"[\s\x00-\x1f\x7f]", value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _accepted(value: str) -> bool:
    from conflictmap.model import check_http_url

    try:
        check_http_url(value)
    except ValueError:
        return False
    return True


_URLISH = st.builds(lambda scheme, host, rest: scheme + host + rest,
                    st.sampled_from(["http://", "HTTPS://", "hTtP://", "https:/", "ftp://", ""]),
                    st.text(alphabet=string.ascii_letters + string.digits + ".-:@[]%\uff03 ",
                            max_size=12),
                    st.text(alphabet=string.printable + "\u00e9\uff03", max_size=12))


@given(_URLISH)
@settings(max_examples=400, deadline=None)
def test_the_plain_url_fast_path_gives_urlsplits_verdict(value):
    assert _accepted(value) == _urlsplit_verdict(value), value


def test_lat_without_lon_is_an_error():
    with pytest.raises(ValidationError, match="lon is missing"):
        make(location={"lat": 40.0})


def test_end_before_start_is_an_error():
    with pytest.raises(ValidationError, match="before date"):
        make(end_date="2020-11-01")


def test_datetime_needs_offset_and_keeps_it():
    with pytest.raises(ValidationError, match="UTC offset"):
        make(date="2020-11-10T00:00:00")
    e = make(date="2020-11-10T00:00:00+03:00")
    assert e.date.utcoffset() == timedelta(hours=3)
    assert e.day == date(2020, 11, 10)


def test_quote_must_be_short():
    with pytest.raises(ValidationError, match="at most 300"):
        make(sources=[{"publisher": "p", "published": "2020-11-30", "quote": "x" * 301}])


def test_committed_schema_matches_the_model():
    committed = json.loads((ROOT / "events" / "event.schema.json").read_text("utf-8"))
    assert committed == json.loads(json.dumps(event_json_schema()))


def test_every_event_file_points_editors_at_the_schema():
    for f in (ROOT / "events").glob("*.yaml"):
        assert f.read_text("utf-8").startswith("# yaml-language-server: $schema=event.schema.json")


# ---------------------------------------------------------------- property: YAML round trip

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
               min_size=1, max_size=40).map(str.strip).filter(bool)
ids = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1,
              max_size=30).filter(lambda s: s[0] != "-")
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1))
moments = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2099, 12, 30),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=3)),
                                                  timezone(timedelta(hours=-5, minutes=-30))]))
type_pairs = st.sampled_from([(t, s) for t, subs in ACLED_TYPES.items() for s in (None, *subs)])
urls = st.builds(lambda host, path: f"https://{host}.org/{path}",
                 st.text(string.ascii_lowercase, min_size=1, max_size=10),
                 st.text(string.ascii_letters + string.digits + "-_/", max_size=20))


@st.composite
def events(draw):
    etype, sub = draw(type_pairs)
    when = draw(st.one_of(days, moments))
    with_point = draw(st.booleans())
    location = {"name": draw(st.none() | text) if with_point else draw(text),
                "precision": draw(st.none() | st.sampled_from(
                    ["site", "settlement", "near-settlement", "district", "province", "country"]))}
    if with_point:
        location["lat"] = draw(st.floats(-90, 90, allow_nan=False))
        location["lon"] = draw(st.floats(-180, 180, allow_nan=False))
    source = {"publisher": draw(text), "published": draw(days), "url": draw(st.none() | urls),
              "quote": draw(st.none() | text), "archive_url": draw(st.none() | urls),
              "accessed": draw(st.none() | days)}
    data = {
        "id": draw(st.none() | ids), "date": when, "title": draw(text), "event_type": etype,
        "sub_event_type": sub, "actors": draw(st.lists(text, max_size=3)),
        "location": location, "description": draw(st.none() | st.text(max_size=200)),
        "figures": draw(st.dictionaries(ids, st.integers(0, 10**6) | st.floats(
            allow_nan=False, allow_infinity=False) | text, max_size=3)),
        "fatalities": draw(st.none() | st.integers(0, 10**5)),
        "status": draw(st.sampled_from(["reported", "confirmed", "disputed", "denied"])),
        "sources": [source], "tags": draw(st.lists(text, max_size=3)),
        "date_precision": draw(st.sampled_from(["day", "week", "month", "year"])),
    }
    if draw(st.booleans()):
        data["control_change"] = {"area": draw(text), "from": draw(text), "to": draw(text)}
    return Event.model_validate(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_any_valid_event_dumps_to_yaml_and_loads_back_equal(event):
    text_ = event_to_yaml(event)
    yaml.safe_load(text_)  # plain YAML any tool can read
    loaded, problems = parse_text(text_, "roundtrip.yaml", event.id or "roundtrip")
    assert problems == []
    assert len(loaded) == 1
    back = loaded[0]
    if event.id is None:
        back.id = None
    assert back.model_dump() == event.model_dump()


@pytest.mark.parametrize(("value", "shown"), [
    (20201126, "got 20201126"), ("29/11/2020", "got '29/11/2020'"), (True, "got true"),
    ([2020, 11, 26], "got a list"), ("2020-W48-4", "got '2020-W48-4'"),
])
def test_a_date_is_written_yyyy_mm_dd_never_a_number(value, shown):
    """YAML reads 20201126 as an int, which pydantic took for seconds since 1970."""
    for over in ({"date": value}, {"end_date": value},
                 {"sources": [{"publisher": "p", "published": value}]},
                 {"sources": [{"publisher": "p", "published": "2020-11-30", "accessed": value}]}):
        with pytest.raises(ValidationError) as info:
            make(**over)
        (err,) = info.value.errors()
        assert err["msg"] == f"expected YYYY-MM-DD, {shown}", over


def test_an_impossible_date_says_why():
    with pytest.raises(ValidationError, match=r"'2020-02-30' is not a real date \(day is out"):
        make(sources=[{"publisher": "p", "published": "2020-02-30"}])


def test_an_id_error_shows_the_form_not_the_regex():
    with pytest.raises(ValidationError) as info:
        make(id="29/11/2020")
    assert "expected letters, digits and hyphens" in str(info.value)
    assert "[A-Za-z0-9]" not in str(info.value)
