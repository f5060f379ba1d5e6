"""The validated-records cache: the same rows, problems and warnings as reading afresh; only
changed files are parsed again; a damaged pack is ignored, a changed file never served stale."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest
from benchmarks.synthetic import events as synthetic_events
from benchmarks.synthetic import write_yaml

from conflictmap import recordcache, yamlrecords
from conflictmap.recordcache import ENV, RecordCache


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(ENV, str(folder))
    return folder


@pytest.fixture
def folder(tmp_path) -> Path:
    out = tmp_path / "events"
    write_yaml(synthetic_events(12), out)
    files = sorted(out.glob("*.yaml"))
    # a file with problems, and one whose name disagrees with its date (a warning)
    files[3].write_text(files[3].read_text("utf-8").replace("title:", "titel:"), "utf-8")
    files[5].rename(out / "2019-01-01-wrong-day.yaml")
    (out / "notes.txt").write_text("not an event", "utf-8")
    return out


def read(folder: Path, cache: bool = True) -> tuple[pd.DataFrame, list, list]:
    warnings: list = []
    records, problems = yamlrecords.read_yaml([folder], warnings, cache=cache)
    return records, problems, warnings


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The files actually parsed (a spy around the real parser)."""
    seen: list[str] = []
    real = yamlrecords.parse_text

    def spy(text, path, *args, **kwargs):
        seen.append(Path(path).name)
        return real(text, path, *args, **kwargs)

    monkeypatch.setattr(yamlrecords, "parse_text", spy)
    return seen


def test_cached_reads_give_the_same_rows_problems_and_warnings(folder, cache, parsed):
    fresh = read(folder, cache=False)
    assert fresh[1] and fresh[2]  # the fixture has both, so the comparison means something
    assert len(parsed) == 12
    first, second = read(folder), read(folder)
    assert len(parsed) == 24  # the first cached read parsed all; the second none
    for got in (first, second):
        pd.testing.assert_frame_equal(got[0], fresh[0])
        assert got[1] == fresh[1]
        assert [str(w) for w in got[2]] == [str(w) for w in fresh[2]]


def test_a_rebuild_parses_only_the_changed_file_even_with_the_same_size_and_time(
        folder, cache, parsed):
    read(folder)
    target = sorted(folder.glob("syn-*.yaml"))[0]
    before = target.stat()
    text = target.read_text("utf-8")
    old_title = next(line for line in text.splitlines() if line.startswith("title: "))
    new_title = "title: " + "X" * (len(old_title) - len("title: "))  # same length
    target.write_text(text.replace(old_title, new_title), "utf-8")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))  # same mtime too
    parsed.clear()
    records, _, _ = read(folder)
    assert parsed == [target.name]
    assert records.loc[records["id"] == target.stem, "title"].item() == new_title[7:]


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "wrong-shape"])
def test_a_damaged_pack_is_ignored_and_rewritten(folder, cache, parsed, damage):
    fresh = read(folder, cache=False)
    read(folder)
    recordcache.settle()  # the pack is written in the background
    pack = RecordCache([folder], yamlrecords.ALL_COLUMNS).path
    raw = pack.read_bytes()
    if damage == "truncate":
        pack.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":
        pack.write_bytes(raw[:-100] + bytes([raw[-100] ^ 1]) + raw[-99:])
    elif damage == "garbage":
        pack.write_bytes(b"\x00\xff not json")
    else:  # a checksum that matches a body of another shape
        import hashlib

        body = b'{"columns": "x", "entries": [1, 2]}'
        pack.write_bytes(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
    parsed.clear()
    got = read(folder)
    assert len(parsed) == 12  # everything validated again
    pd.testing.assert_frame_equal(got[0], fresh[0])
    assert got[1] == fresh[1]
    parsed.clear()
    read(folder)
    assert parsed == []  # and the pack was written anew


def test_a_deleted_file_leaves_the_records_and_the_pack(folder, cache):
    read(folder)
    gone = sorted(folder.glob("syn-*.yaml"))[-1]
    gone.unlink()
    records, _, _ = read(folder)
    assert gone.stem not in set(records["id"])
    pack = RecordCache([folder], yamlrecords.ALL_COLUMNS)
    pack.load()
    assert len(pack._stored) == 11  # its entry is not kept for ever


def test_a_rebuild_in_the_same_process_reads_only_files_whose_stat_changed(
        folder, cache, parsed, monkeypatch):
    """`build --watch` reads no bytes of a file whose inode, size and times are as when it was
    read; an edit that keeps size and modification time still changes the change time."""
    long_ago = time.time() - 3600
    for f in folder.iterdir():
        os.utime(f, (long_ago, long_ago))
    # a file's times are trusted once settled; here after 50 ms instead of 2 s
    monkeypatch.setattr(yamlrecords, "RACY_NS", 50_000_000)
    read(folder)  # just changed (utime moves the change time): read, not remembered
    time.sleep(0.1)
    read(folder)  # settled: remembered now
    opened: list[str] = []
    real = yamlrecords.read_bytes

    def spy(path, *args, **kwargs):
        opened.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(yamlrecords, "read_bytes", spy)
    parsed.clear()
    first = read(folder)
    assert parsed == [] and opened == []
    target = sorted(folder.glob("syn-*.yaml"))[0]
    text = target.read_text("utf-8")
    old_title = next(line for line in text.splitlines() if line.startswith("title: "))
    new_title = "title: " + "Y" * (len(old_title) - len("title: "))
    target.write_text(text.replace(old_title, new_title), "utf-8")
    os.utime(target, (long_ago, long_ago))  # same size, same mtime: only ctime moved
    opened.clear()
    records, _, _ = read(folder)
    assert parsed == [target.name] and target.name in opened
    assert records.loc[records["id"] == target.stem, "title"].item() == new_title[7:]
    assert len(records) == len(first[0])
