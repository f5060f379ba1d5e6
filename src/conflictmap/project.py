"""Where the project is: the folder holding `events/` and `geodata/layers.yaml`.

Defaults (the events folder, the layer manifest, the outputs folder) resolve against it, never
against the bare working folder, so `conflictmap build` works from a subfolder, and from
anywhere with `--project DIR` or CONFLICTMAP_PROJECT.
"""

from __future__ import annotations

import os
from pathlib import Path

MARKER = Path("geodata") / "layers.yaml"


def find(start: Path | None = None, given: Path | None = None) -> Path:
    """`given` (from --project), else CONFLICTMAP_PROJECT, else the nearest folder from
    `start` upwards that holds geodata/layers.yaml; else `start` itself."""
    if given is not None:
        return given
    env = os.environ.get("CONFLICTMAP_PROJECT")
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    return here


def default(path: Path | None, relative: str, root: Path) -> Path:
    """The path the user gave (as given), or the project's default one."""
    return path if path is not None else root / relative


def manifest(root: Path) -> Path:
    """The layer manifest to read: the project's when it has one, else the layers shipped
    with the package (so an installed conflictmap maps from any folder). Commands that write
    to the manifest (`layers add`, `layers fetch`) use the project's path regardless."""
    own = root / MARKER
    if own.is_file():
        return own
    from . import bundled

    return bundled.manifest()
