"""The record defined once: a field added to the model (in a throwaway subclass here) reaches
YAML, a dataset file, GeoJSON, GPKG, CSV and the map's popup with no other change, and stays
null wherever an event leaves it out."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from pydantic import Field

from conflictmap import ingest, store
from conflictmap.dataset import read_records, write_dataset
from conflictmap.export import export
from conflictmap.model import Event
from conflictmap.pipeline import Result, build
from conflictmap.record import SCHEMA, schema_of
from conflictmap.render.map import render

from .browser import chromium, open_offline
from .conftest import ROOT


class Witnessed(Event):
    """Event plus one optional field, labelled for the popup: the only change a new field needs."""

    witness_count: int | None = Field(None, ge=0, title="Witnesses")


SCHEMA_W = schema_of(Witnessed)
# id -> witness_count; the first two are YAML files, the others rows of a dataset file
WITNESSES = {"yaml-seen": 7, "yaml-unseen": None, "row-seen": 3, "row-unseen": None}


def event_data(ident: str, lat: float) -> dict:
    data = {"id": ident, "date": "2020-11-26", "title": f"Event {ident}",
            "event_type": "Strategic developments",
            "location": {"name": "Vardenis", "country": "AM", "lat": lat, "lon": 45.45,
                         "precision": "settlement"},
            "sources": [{"publisher": "P", "published": "2020-11-27"}]}
    if WITNESSES[ident] is not None:
        data["witness_count"] = WITNESSES[ident]
    return data


def test_the_schema_of_a_subclass_lists_the_new_field_everywhere():
    spec = SCHEMA_W["witness_count"]
    assert spec.nested is None and spec.scalar == "int" and not spec.required
    assert "witness_count" in SCHEMA_W.table_columns
    assert "witness_count_cm" in SCHEMA_W.own_columns
    assert ("witness_count", "Witnesses") in SCHEMA_W.popup_facts
    assert "witness_count" not in SCHEMA.table_columns  # the standard record is untouched


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Result]:
    root = tmp_path_factory.mktemp("fields")
    events = root / "events"
    events.mkdir()
    for k, ident in enumerate(("yaml-seen", "yaml-unseen")):
        ev = Witnessed.model_validate(event_data(ident, 40.10 + k * 0.05))
        store.write_event(events, ev)
    rows = [Witnessed.model_validate(event_data(ident, 40.20 + k * 0.05))
            for k, ident in enumerate(("row-seen", "row-unseen"))]
    write_dataset(rows, root / "rows.gpkg")
    result = build(events, ROOT / "geodata" / "layers.yaml", datasets=[root / "rows.gpkg"],
                   schema=SCHEMA_W)
    return root, result


def test_yaml_files_carry_it_and_read_back(built):
    root, _ = built
    for ident in ("yaml-seen", "yaml-unseen"):
        path = next((root / "events").glob(f"*{ident}.yaml"))
        text = path.read_text("utf-8")
        assert ("witness_count: 7" in text) == (ident == "yaml-seen")
        (ev,), problems = store.load_file(path, model=Witnessed)
        assert problems == [] and ev.witness_count == WITNESSES[ident]


def test_a_dataset_file_carries_it_and_reads_back(built):
    root, _ = built
    raw = pyogrio.read_dataframe(root / "rows.gpkg", read_geometry=False)
    got = dict(zip(raw["id"], raw["witness_count"], strict=True))
    assert got["row-seen"] == 3 and pd.isna(got["row-unseen"])
    back = read_records(root / "rows.gpkg", SCHEMA_W)
    assert {i: (None if v != v else v) for i, v in zip(back["id"], back["witness_count"],
                                                      strict=True)} == {
        "row-seen": 3, "row-unseen": None}


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_geojson_and_gpkg_carry_it_null_when_absent(built, tmp_path, fmt):
    _, result = built
    out = export(result, fmt, tmp_path / f"events.{fmt}")
    frame = pyogrio.read_dataframe(out, layer="events" if fmt == "gpkg" else None)
    got = dict(zip(frame["id"], frame["witness_count"], strict=True))
    assert {i: (None if v is None or v != v else int(v)) for i, v in got.items()} == WITNESSES
    if fmt == "geojson":  # written as JSON null, not 0
        text = out.read_text("utf-8")
        assert text.count('"witness_count": null') + text.count('"witness_count":null') == 2


def test_csv_carries_it_and_our_import_reads_it_back(built, tmp_path):
    _, result = built
    out = export(result, "csv", tmp_path / "events.csv")
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["id_cm"]: r["witness_count_cm"] for r in rows} == {
        i: "" if v is None else str(v) for i, v in WITNESSES.items()}
    events, skipped = ingest.convert("acled", out, SCHEMA_W)
    assert skipped == []
    assert {ev.id: ev.witness_count for ev in events} == WITNESSES


@pytest.mark.browser
def test_the_popup_shows_it_with_its_label(built, tmp_path):
    _, result = built
    page = tmp_path / "map.html"
    page.write_text(render(result), "utf-8")
    with chromium() as browser:
        for ident, count in WITNESSES.items():
            w = open_offline(browser, page.as_uri() + f"#event={ident}")
            popup = w.page.locator(f'.leaflet-popup .cm-popup[data-event="{ident}"]')
            popup.wait_for()
            facts = dict(zip(popup.locator("dt").all_text_contents(),
                             popup.locator("dd").all_text_contents(), strict=True))
            assert w.errors == []
            if count is None:  # absent: no row at all, not "0" or an empty one
                assert "Witnesses" not in facts
            else:
                assert facts["Witnesses"] == str(count)
            assert facts["Fatalities"] == "not reported"
            w.page.close()


def test_an_empty_description_stays_null_through_csv(built, tmp_path):
    _, result = built
    assert Witnessed.model_validate({**event_data("yaml-seen", 40.1),
                                     "description": "  "}).description is None
    out = export(result, "csv", tmp_path / "events.csv")
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["description_cm"] for r in rows} == {""}
    rows[0]["description_cm"] = " \t "  # a blank cell, as a spreadsheet may leave it
    edited = tmp_path / "edited.csv"
    with edited.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for path in (out, edited):
        events, skipped = ingest.convert("acled", path, SCHEMA_W)
        assert skipped == [] and len(events) == 4
        assert all(ev.description is None for ev in events)
