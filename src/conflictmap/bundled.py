"""The data that ships inside the package: the bundled layers, gazetteer and example events.

They live at the repository root (`geodata/`, `events/`) and the wheel carries them as
`conflictmap/_geodata/` and `conflictmap/_events/` (see pyproject.toml), so an installed
conflictmap builds a map from any folder. In a source checkout (an editable install) they are
read where they are. A project folder overrides them (`project.py`).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent.parent  # src/conflictmap -> the repository root


def _folder(installed: str, in_checkout: str) -> Path:
    """The data folder inside an installed package, else the source checkout's."""
    here = PACKAGE / installed
    return here if here.is_dir() else CHECKOUT / in_checkout


def manifest() -> Path:
    """The layer manifest shipped with the package (its gazetteer.yaml sits beside it)."""
    return _folder("_geodata", "geodata") / "layers.yaml"


def example_events() -> Path:
    """The folder of the bundled example records (the Sotk / Kalbajar case of Nov 2020)."""
    return _folder("_events", "events")
