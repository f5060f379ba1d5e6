"""Text from records made safe to print on a terminal.

A title or a file name can hold escape sequences: OSC 52 writes the reader's clipboard,
`ESC[2J` clears the screen, a carriage return or a bidi override hides what precedes it.
Whatever we print from a record shows such characters as visible escapes instead.
"""

from __future__ import annotations

import re
from datetime import date, datetime

# C0 controls but tab and newline, DEL, C1 controls, the bidi embedding/override/isolate
# marks that reorder what a terminal shows, and lone surrogates (a file name's undecodable
# bytes), which stdout cannot encode
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    # \u for DEL and up: the same text stays valid inside a JSON string (JSON escapes C0 itself)
    return f"\\x{code:02x}" if code < 0x7F else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control character shown as an escape (`\\x1b`), tab and newline kept."""
    return _UNPRINTABLE.sub(_escape, text)


def when(value: date | datetime | str | None) -> str:
    """A record's date the way records write it: `2020-11-10` for a day, ISO 8601 with the
    record's own offset for a date-time (`2020-11-10T00:00:00+03:00`); never `str()`'s
    space-separated form, so every command prints the same date the same way."""
    if value is None:
        return ""
    return value if isinstance(value, str) else value.isoformat()
