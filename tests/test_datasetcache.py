"""The checked-dataset cache: a read from an unchanged file gives exactly the table a fresh
read gives (a row the model remade included), a changed file is never served stale, a damaged
entry is ignored, each model has its own entries, and `cache=False` goes around it."""

from __future__ import annotations

import builtins
import hashlib
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from benchmarks.synthetic import events as synthetic_events

from conflictmap import dataset, datasetcache
from conflictmap.aggregate import Window
from conflictmap.dataset import flat_record, read_records, write_table
from conflictmap.pipeline import load_records
from conflictmap.recordcache import ENV
from conflictmap.store import InvalidEvents

from .test_record_fields import SCHEMA_W, Witnessed, event_data

N = 40
UNTIDY = 3  # the row whose title the model has to strip


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(ENV, str(folder))
    datasetcache._KNOWN.clear()
    return folder


@pytest.fixture
def checks(monkeypatch) -> list[str]:
    """The files actually read and checked (not served from the cache)."""
    seen: list[str] = []
    real = dataset.check_table

    def counting(frame, path, schema=dataset.SCHEMA):
        seen.append(path)
        return real(frame, path, schema)

    monkeypatch.setattr(dataset, "check_table", counting)
    return seen


def records(title: str | None = None) -> pd.DataFrame:
    """Synthetic rows as a records table, one with a title the model must tidy."""
    evs = synthetic_events(N)
    rows = pd.DataFrame([flat_record(ev) for ev in evs], columns=dataset.COLUMNS)
    rows["_loc"] = [ev.location.model_dump() for ev in evs]
    rows.loc[UNTIDY, "title"] = f"  {title or rows.loc[UNTIDY, 'title']} \t"
    return rows


def write(target: Path, title: str | None = None) -> Path:
    return write_table(records(title), target)


def entries(cache: Path) -> list[Path]:
    return sorted((cache / datasetcache.FOLDER).rglob("*.arrow"))


def assert_identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(a.dtypes.astype(str)) == list(b.dtypes.astype(str))
    for column in ("location", "actors", "source_urls", "title"):  # types and keys, not only ==
        assert [(type(v), list(v) if isinstance(v, dict) else v) for v in a[column]] == \
               [(type(v), list(v) if isinstance(v, dict) else v) for v in b[column]]


@pytest.mark.parametrize("name", ["events.gpkg", "events.parquet"])
def test_a_warm_read_gives_the_fresh_table_without_checking(tmp_path, cache, checks, name):
    source = write(tmp_path / name)
    fresh = read_records(source)
    assert fresh.loc[UNTIDY, "title"] == fresh.loc[UNTIDY, "title"].strip()  # remade
    n_parts = len(checks)
    cold = read_records(source, cache=True)
    assert len(entries(cache)) == n_parts >= 1  # one entry per file (each GeoParquet part)
    datasetcache._KNOWN.clear()  # as a new process: the bytes are hashed again
    warm = read_records(source, cache=True)
    assert len(checks) == 2 * n_parts  # the warm read checked nothing
    assert_identical(cold, fresh)
    assert_identical(warm, fresh)


def test_a_changed_file_is_read_afresh_and_its_entry_replaced(tmp_path, cache, checks):
    source = write(tmp_path / "events.gpkg")
    first = read_records(source, cache=True)
    write(source, title="A new title")  # same path, same size class, new bytes
    second = read_records(source, cache=True)
    assert second.loc[UNTIDY, "title"] == "A new title" != first.loc[UNTIDY, "title"]
    assert len(checks) == 2 and len(entries(cache)) == 1
    assert_identical(second, read_records(source))


def test_an_entry_made_by_other_code_is_not_used_and_goes(tmp_path, cache, checks, monkeypatch):
    source = write(tmp_path / "events.gpkg")
    read_records(source, cache=True)
    (old,) = entries(cache)
    monkeypatch.setattr(datasetcache, "code_key", lambda: "a-newer-version")
    read_records(source, cache=True)
    (new,) = entries(cache)
    assert len(checks) == 2 and new.parent.name == "a-newer-version" and not old.exists()


def test_each_way_of_naming_a_file_has_its_own_entry(tmp_path, cache, checks, monkeypatch):
    source = write(tmp_path / "events.gpkg")
    monkeypatch.chdir(tmp_path)
    for name in (str(source), "events.gpkg", str(source), "events.gpkg"):
        table = read_records(name, cache=True)
        assert set(table["origin_path"]) == {name}  # problems and outputs name it as given
    assert len(checks) == 2 and len(entries(cache)) == 2


@pytest.mark.parametrize("damage", ["truncated", "flipped", "foreign", "empty"])
def test_a_damaged_entry_is_ignored_and_rewritten(tmp_path, cache, checks, damage):
    source = write(tmp_path / "events.gpkg")
    fresh = read_records(source, cache=True)
    (entry,) = entries(cache)
    raw = entry.read_bytes()
    entry.write_bytes({"truncated": raw[: len(raw) // 2],
                       "flipped": raw[:-40] + bytes([raw[-40] ^ 1]) + raw[-39:],
                       "foreign": foreign(),
                       "empty": b""}[damage])
    datasetcache._KNOWN.clear()
    assert_identical(read_records(source, cache=True), fresh)
    assert len(checks) == 2 and entry.read_bytes() == raw  # read again, stored again


def foreign() -> bytes:
    """A whole, checksummed Arrow file that is not an entry (no layout, no digest)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, pa.schema([("id", pa.string())])) as writer:
        writer.write_table(pa.table({"id": ["x"]}))
    body = sink.getvalue().to_pybytes()
    return hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def test_a_subclass_model_has_entries_of_its_own(tmp_path, cache, checks):
    rows = [Witnessed.model_validate(event_data(ident, 40.20 + k * 0.05))
            for k, ident in enumerate(("row-seen", "row-unseen"))]
    source = dataset.write_dataset(rows, tmp_path / "rows.gpkg")
    plain = read_records(source, cache=True)
    witnessed = read_records(source, SCHEMA_W, cache=True)
    assert len(checks) == 2 and len(entries(cache)) == 2
    assert not plain.equals(witnessed)  # the subclass's model remade the row it fills
    assert_identical(read_records(source, SCHEMA_W, cache=True), witnessed)
    assert_identical(read_records(source, cache=True), plain)
    assert len(checks) == 2
    assert_identical(witnessed, read_records(source, SCHEMA_W))
    assert_identical(plain, read_records(source))


def test_problems_are_never_stored(tmp_path, cache, checks):
    rows = records()
    rows.loc[5, "event_type"] = "Picnic"
    source = write_table(rows, tmp_path / "bad.gpkg")
    for _ in range(2):
        with pytest.raises(InvalidEvents, match="event_type"):
            read_records(source, cache=True)
    assert len(checks) == 2 and entries(cache) == []


def test_no_cache_and_windows_go_around_it(tmp_path, cache, checks):
    source = write(tmp_path / "events.gpkg")
    empty = tmp_path / "no-events"
    empty.mkdir()
    load_records([empty], [source], cache=False)
    read_records(source, window=Window(start=date(2020, 10, 1)), cache=True)
    assert entries(cache) == []
    load_records([empty], [source])  # the build's default keeps it
    load_records([empty], [source], cache=False)
    assert len(checks) == 4 and len(entries(cache)) == 1


@pytest.mark.parametrize("values", [
    [{"name": "A", "lat": 40.5, "lon": 45}, {"name": None, "lat": 40, "lon": 45.5}],  # int/float
    [{"lat": 1.0, "lon": 2.0}, {"lon": 2.0, "lat": 1.0}, {}],  # key order and key sets differ
    [{"n": True, "x": 1}, {"n": False, "x": 2**70}],  # bool stays bool; an int past 64 bits
    [{"x": float("nan")}, {"x": None}, {"x": [1, {"y": "z"}]}],  # NaN is not None
    [["a", "b"], [], ["c"]],
    [["a", None], [1], []],  # not all text
    [None, float("nan"), 3, 2.5, "t", [], {}],  # a column the model remade: anything JSON
])
def test_entries_give_back_values_of_every_shape_exactly(tmp_path, values):
    frame = pd.DataFrame({"v": pd.Series(values, dtype=object), "n": range(len(values))})
    data = datasetcache.dump(frame, "digest")
    path = tmp_path / "entry.arrow"
    path.write_bytes(b"".join(data))
    back = datasetcache.load(path, "digest")
    assert datasetcache.load(path, "another file's digest") is None
    pd.testing.assert_frame_equal(back[["n"]], frame[["n"]], check_exact=True)
    assert back["v"].dtype == object and isinstance(back.index, pd.RangeIndex)
    shapes = [json.dumps(v) for v in values]  # keys in order, 1 vs 1.0, true vs 1, NaN vs null
    assert [json.dumps(v) for v in back["v"]] == shapes


def test_a_value_an_entry_cannot_hold_is_not_stored(tmp_path, cache):
    frame = pd.DataFrame({"v": pd.Series([date(2020, 1, 1)], dtype=object)})
    source = tmp_path / "file"
    source.write_bytes(b"data")
    assert datasetcache.dump(frame, "digest") is None
    for _ in range(2):
        assert datasetcache.cached(str(source), dataset.SCHEMA, lambda: frame) is frame
    assert entries(cache) == []


def test_a_file_changed_while_it_was_checked_is_not_stored(tmp_path, cache):
    source = tmp_path / "file"
    source.write_bytes(b"before")
    frame = pd.DataFrame({"v": ["made from the bytes before or after?"]})

    def check() -> pd.DataFrame:
        source.write_bytes(b"after!")  # same size: only the bytes tell
        return frame

    assert datasetcache.cached(str(source), dataset.SCHEMA, check) is frame
    assert entries(cache) == []


def test_an_entry_made_in_batches_gives_back_the_table(tmp_path, monkeypatch):
    """Arrow data is made BATCH rows at a time; a column's kind is decided on all its rows,
    so a mapping column that is plain in one batch and not in another is still one kind."""
    monkeypatch.setattr(datasetcache, "BATCH", 2)
    values = [{"lat": 1.0, "lon": 2.0}, {"lat": 3.0, "lon": 4.0}, {"lat": 5.0, "lon": None},
              {"lat": 1.5, "lon": 2**70}, {"lat": 0.0, "lon": 0.0}]
    frame = pd.DataFrame({"v": pd.Series(values, dtype=object), "n": range(5),
                          "t": ["a", None, "c", "d", "é"],
                          "l": pd.Series([["x"], [], ["y", "z"], [], ["w"]], dtype=object)})
    path = tmp_path / "entry.arrow"
    path.write_bytes(b"".join(datasetcache.dump(frame, "digest")))
    back = datasetcache.load(path, "digest")
    assert back["v"].tolist() == values and back["t"].tolist() == frame["t"].tolist()
    assert back["l"].tolist() == frame["l"].tolist() and back["n"].tolist() == list(range(5))


def test_a_settled_file_is_not_hashed_again_in_a_new_run_while_its_stat_holds(
        tmp_path, cache, checks, monkeypatch):
    monkeypatch.setattr(datasetcache, "_SETTLED_NS", 0)  # as if written long before
    source = write(tmp_path / "events.gpkg")
    cold = read_records(source, cache=True)
    (note,) = (cache / datasetcache.FOLDER).rglob("*.stat")
    opened: list[Path] = []

    def spy(f, *a, **k):
        opened.append(Path(f))
        return builtins.open(f, *a, **k)

    monkeypatch.setattr(datasetcache, "open", spy, raising=False)
    datasetcache._KNOWN.clear()  # a new run
    warm = read_records(source, cache=True)
    assert opened == [] and len(checks) == 1  # neither hashed nor checked
    assert_identical(warm, cold)
    write(source, title="Another title")  # a write moves the stat: hashed, read afresh
    datasetcache._KNOWN.clear()
    again = read_records(source, cache=True)
    assert source in opened and len(checks) == 2
    assert again.loc[UNTIDY, "title"] == "Another title"
    for damaged in ("{not json", "[[1, 2], 3]", ""):
        note.write_text(damaged)
        datasetcache._KNOWN.clear()
        opened.clear()
        assert_identical(read_records(source, cache=True), again)
        assert source in opened


def test_a_file_written_moments_ago_gets_no_note(tmp_path, cache):
    source = write(tmp_path / "events.gpkg")  # its times are within the clock's tick of now
    read_records(source, cache=True)
    assert entries(cache) and not list((cache / datasetcache.FOLDER).rglob("*.stat"))
