"""YAML folders as records tables: the same rows and problems on one core or several."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from benchmarks.synthetic import events as synthetic_events
from benchmarks.synthetic import write_yaml

from conflictmap import yamlrecords
from conflictmap.pipeline import build
from conflictmap.store import InvalidEvents, load_events

from .conftest import ROOT


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("yaml") / "events"
    write_yaml(synthetic_events(300), out)
    return out


def test_workers_give_the_same_rows_as_one_process(folder, monkeypatch):
    one = yamlrecords.yaml_records([folder], cache=False)
    monkeypatch.setattr(yamlrecords, "PARALLEL_MIN", 50)
    monkeypatch.setattr(yamlrecords, "CHUNK", 40)
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: nothing to run in parallel")
    assert yamlrecords._workers(300) >= 2  # the process pool is what runs below
    many = yamlrecords.yaml_records([folder], cache=False)
    assert len(one) == 300
    pd.testing.assert_frame_equal(one, many)


def test_problems_found_by_workers_are_all_reported(folder, tmp_path, monkeypatch):
    broken = tmp_path / "events"
    shutil.copytree(folder, broken)
    files = sorted(broken.glob("*.yaml"))
    files[10].write_text(files[10].read_text("utf-8").replace("event_type: ", "event_typ: "),
                         "utf-8")
    files[250].write_text("title: [unclosed\n", "utf-8")
    monkeypatch.setattr(yamlrecords, "PARALLEL_MIN", 50)
    monkeypatch.setattr(yamlrecords, "CHUNK", 40)
    with pytest.raises(InvalidEvents) as info:
        yamlrecords.yaml_records([broken], cache=False)
    where = {(Path(p.path).name, p.field) for p in info.value.problems}
    assert (files[10].name, "event_typ") in where
    assert (files[250].name, "(yaml)") in where


def test_events_rebuilt_from_rows_equal_the_loaded_ones():
    result = build(ROOT / "events", ROOT / "geodata" / "layers.yaml",
                   gazetteer=ROOT / "geodata" / "gazetteer.yaml")
    loaded = {ev.id: ev for ev in load_events([ROOT / "events"])}
    assert len(result.events) == len(loaded)
    for ev in result.events:
        assert ev.model_dump() == loaded[ev.id].model_dump()
        assert ev.origin == loaded[ev.id].origin
