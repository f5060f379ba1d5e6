"""The live-reload hook of `build --watch`: the open page reloads itself after each rebuild.

A page opened from disk may not fetch() a file beside it, but it may load a script: so every
second the page loads `build-stamp.js` again (a new `?t=` each time, which a local server
must not answer from a cache), and that script hands over the stamp of the latest build. A
stamp other than the one the page was built with means newer outputs are in place: reload
(the hash, which holds the page's state, survives). The same works served over HTTP. Only
watch builds carry the snippet; the normal map stays free of it.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import write_atomic

STAMP_FILE = "build-stamp.js"
CALLBACK = "__conflictmapBuildStamp"
POLL_MS = 1000

_SNIPPET = """<script>
(function () {
  var mine = %(stamp)s, tag = null;
  window.%(callback)s = function (latest) {
    if (latest !== mine) { location.reload(); }
  };
  setInterval(function () {
    if (tag) { tag.remove(); }
    tag = document.createElement("script");
    tag.src = %(file)s + "?t=" + Date.now();
    document.head.appendChild(tag);
  }, %(poll)d);
})();
</script>
"""


def with_reload(html: str, stamp: str) -> str:
    """The page with the polling snippet before `</body>`; `stamp` names this build."""
    snippet = _SNIPPET % {"stamp": json.dumps(stamp), "callback": CALLBACK,
                          "file": json.dumps(STAMP_FILE), "poll": POLL_MS}
    end = html.rindex("</body>")
    return html[:end] + snippet + html[end:]


def write_stamp(folder: Path, stamp: str) -> Path:
    """Tell open pages that the outputs of build `stamp` are in place (written after them)."""
    return write_atomic(folder / STAMP_FILE,
                        f"window.{CALLBACK} && window.{CALLBACK}({json.dumps(stamp)});\n")
