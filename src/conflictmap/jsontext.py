"""JSON text of many small values, fast: one C encoder made once, not one a call.

`json.JSONEncoder.encode` builds a new C encoder for every call; at nine small values a record
that was a tenth of reading one YAML event file. The text is the same as `json.dumps` with the
same options gives, except that a value holding itself raises RecursionError, not ValueError
(the values here are records' plain data, which cannot hold themselves).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import c_encode_basestring, c_make_encoder  # type: ignore[attr-defined]
from typing import Any


def encoder(separators: tuple[str, str] = (", ", ": "),
            default: Callable[[Any], Any] | None = None) -> Callable[[Any], str]:
    """`json.dumps(v, ensure_ascii=False, separators=separators, default=default)` as a
    function of `v` (a null is answered without the encoder)."""
    slow = json.JSONEncoder(ensure_ascii=False, separators=separators, default=default).encode
    if c_make_encoder is None or c_encode_basestring is None:  # a Python without _json
        return slow
    fail = json.JSONEncoder().default  # raises TypeError, as json.dumps does
    make = c_make_encoder(None, default or fail, c_encode_basestring, None, separators[1],
                          separators[0], False, False, True)

    def encode(value: Any) -> str:
        if value is None:
            return "null"
        if isinstance(value, str):
            return c_encode_basestring(value)
        return "".join(make(value, 0))

    return encode
