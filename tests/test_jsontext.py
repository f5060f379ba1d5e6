"""The fast encoder writes exactly what json.dumps writes with the same options."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from conflictmap import jsontext

VALUES = [
    None, "", "Сотк \u2028 \"q\" \\ \n\t\x00 \U0001f600", 0, -1, 10**40, 1.5e-05, 1e16, 0.1,
    float("nan"), float("inf"), -float("inf"), True, False, [], {}, [None, [1, [2.5]]],
    {"name": "Ереван", "lat": 40.18, "lon": 44.51, "tags": ["a", None], "n": {"x": {}}},
    [{"url": "https://e.org/?a=1&b=<2>", "published": "2020-11-26"}] * 3,
]


@pytest.mark.parametrize("separators", [(", ", ": "), (",", ":")])
def test_same_text_as_json_dumps(separators):
    encode = jsontext.encoder(separators)
    for v in VALUES:
        assert encode(v) == json.dumps(v, ensure_ascii=False, separators=separators), v


def test_default_applies_and_unknown_types_raise_as_json_does():
    with_str = jsontext.encoder(default=str)
    for v in (date(2020, 11, 26), {"when": datetime(2020, 11, 26, tzinfo=UTC)}):
        assert with_str(v) == json.dumps(v, ensure_ascii=False, default=str)
    with pytest.raises(TypeError):
        jsontext.encoder()(date(2020, 11, 26))
