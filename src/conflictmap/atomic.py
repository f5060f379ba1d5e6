"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path


def _temp_beside(path: Path, data: bytes | Iterable[str | bytes]) -> Path:
    """`data` (bytes, or pieces written in turn: text as UTF-8, bytes as they are) in a
    synced temp file beside `path`."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); a map or an event file is meant to be shared
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, bytes):
                fh.write(data)
            else:
                for piece in data:
                    fh.write(piece if isinstance(piece, bytes) else piece.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes | str | Iterable[str | bytes], *,
                 overwrite: bool = True) -> Path:
    """Write `data` to `path` through a temp file in the same folder and a rename. Data may
    come in pieces (str or bytes), written in turn: big outputs never exist as one string.

    With overwrite=False an existing file is never touched (FileExistsError), even when another
    process creates it between our check and our write: the final step is a hard link, which
    fails rather than replaces.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(path, data)
    try:
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise
            except OSError:  # file systems without hard links
                if path.exists():
                    raise FileExistsError(str(path)) from None
                os.rename(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def write_via_temp(target: Path, write: Callable[[Path], None], *,
                   overwrite: bool = True) -> Path:
    """For writers that need a path (GDAL): write a temp name beside `target`, then rename.
    With overwrite=False a file that appeared at `target` meanwhile (another process) is
    never replaced: FileExistsError, as in `write_atomic`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix,
                                dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # GDAL refuses to overwrite some formats; let it create the file
    try:
        write(tmp)
        if overwrite:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return target


def write_new_files(folder: Path, files: dict[str, bytes]) -> tuple[list[Path], list[str]]:
    """Many new files at once, each appearing whole or not at all and never over an existing
    one: all are written into a hidden staging folder beside them, flushed to disk with one
    sync (instead of one fsync a file), then hard-linked into place. Returns the paths
    written and the names that were taken."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    written: list[Path] = []
    taken: list[str] = []
    try:
        mode = 0o666 & ~_umask()
        for name, data in files.items():
            fd = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        os.sync()
        for name in files:
            try:
                os.link(staging / name, folder / name)
            except FileExistsError:
                taken.append(name)
                continue
            written.append(folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written, taken
