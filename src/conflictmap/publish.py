"""Publish a set of output files as one unit: a reader finds the old set or the new set.

Every file is written first under a staging name in the target folder; a journal naming them
is written next; only then are they renamed into place, and the journal removed. A run killed
before the journal leaves the old set (and staging files, removed by the next run); one killed
during the renames is rolled forward by the next run, which finds the journal. The renames
themselves take microseconds: that is the only window in which old and new files sit side by
side.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from . import gcpause
from .atomic import write_atomic
from .forking import Child, can_fork

STAGE = ".cm-stage-"
JOURNAL = ".cm-publish.json"


def recover(folder: Path) -> None:
    """Finish a publish that was interrupted during its renames; remove staging leftovers."""
    journal = folder / JOURNAL
    if journal.exists():
        try:
            moves = json.loads(journal.read_text("utf-8"))
        except (OSError, ValueError):
            moves = {}
        for name, staged in moves.items():
            if "/" in name:
                continue
            if staged is None:  # an output the new set does not have: the old one goes
                (folder / name).unlink(missing_ok=True)
                continue
            src = folder / staged
            if src.exists() and "/" not in staged:
                os.replace(src, folder / name)
        journal.unlink(missing_ok=True)
    # staging files, and the temp files of writers killed while writing one
    for leftover in folder.glob(f"*{STAGE}*") if folder.is_dir() else []:
        with contextlib.suppress(OSError):
            leftover.unlink()


@gcpause.paused()
def publish(folder: Path, files: dict[str, Callable[[Path], object]],
            background: Iterable[str] = (), remove: Iterable[str] = ()) -> list[Path]:
    """Write each file with its writer (given the path to write), then put all in place.

    Writers named in `background` run in forked children (see `forking`) while the others run
    here, so two big files are made on two cores; all are waited for before anything moves.
    Files named in `remove` (outputs an earlier set had and this one has not) go in the same
    step, so no old one is left beside the new set.
    """
    folder.mkdir(parents=True, exist_ok=True)
    recover(folder)
    token = secrets.token_hex(4)
    staged = {name: folder / f"{STAGE}{token}-{name}" for name in files}
    behind = set(background) if can_fork() else set()
    children: list[Child] = []
    try:
        for name in files:  # the children first, so they run while this process works
            if name in behind:
                children.append(Child(partial(files[name], staged[name])))
        for name, write in files.items():
            if name not in behind:
                write(staged[name])
        while children:
            children[0].wait()
            children.pop(0)
        moves: dict[str, str | None] = {n: None for n in remove if n not in files}
        moves.update({n: p.name for n, p in staged.items()})
        write_atomic(folder / JOURNAL, json.dumps(moves))
    except BaseException:  # nothing was put in place: the old set stands
        for child in children:
            child.stop()
        for path in staged.values():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        raise
    recover(folder)  # the renames, as a later run would finish them
    return [folder / name for name in files]
