"""Exports read back by GDAL (ogrinfo and pyogrio) and imports from ACLED / UCDP CSV."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from conflictmap import export, ingest
from conflictmap.codes import ACLED_GEO, ACLED_TIME, UCDP_DATE, UCDP_WHERE
from conflictmap.pipeline import build
from conflictmap.store import load_events

from .conftest import DATA, ROOT

EXE = Path(sys.executable).with_name("conflictmap")


def cm(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def result():
    return build(ROOT / "events", ROOT / "geodata" / "layers.yaml",
                 gazetteer=ROOT / "geodata" / "gazetteer.yaml")


@pytest.fixture(scope="module")
def files(tmp_path_factory, result) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("export")
    return {fmt: export.export(result, fmt, out / f"events{export.SUFFIX[fmt]}")
            for fmt in export.FORMATS}


def ogrinfo(path: Path) -> str:
    r = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_ogrinfo_opens_every_format(files, fmt):
    info = ogrinfo(files[fmt])
    assert "Feature Count: 8" in info
    for field in {"geojson": ["id", "border_distance_km", "side_uncertain", "source_urls"],
                  "gpkg": ["id", "geo_precision", "controller"],
                  "kml": ["timestamp", "begin", "end"],
                  "csv": ["event_id_cnty", "time_precision", "geo_precision", "latitude"],
                  "ucdp-csv": ["where_prec", "date_prec", "date_start"],
                  "fgb": ["id", "admin1", "country"]}[fmt]:
        assert f"\n{field}:" in info, (fmt, field)


def test_gpkg_keeps_every_source_in_its_own_table(files, result):
    sources = pyogrio.read_dataframe(files["gpkg"], layer="sources")
    assert len(sources) == sum(len(ev.sources) for ev in result.events)
    urls = {s.url for ev in result.events for s in ev.sources if s.url}
    assert set(sources["url"].dropna()) == urls


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "fgb"])
def test_values_read_back_match_the_records(files, result, fmt):
    back = pyogrio.read_dataframe(files[fmt], layer="events" if fmt != "geojson" else None,
                                  datetime_as_string=True).set_index("id")
    for ev, row in zip(result.events, result.frame.itertuples(index=False), strict=True):
        got = back.loc[ev.id]
        assert str(got["date"])[:10] == ev.day.isoformat()
        assert got["date_precision"] == ev.date_precision
        assert got["geo_precision"] == row.geo_precision
        assert abs(got.geometry.x - row.geometry.x) < 1e-6
        assert abs(got.geometry.y - row.geometry.y) < 1e-6
        urls = got["source_urls"]
        urls = json.loads(urls) if isinstance(urls, str) else list(urls)
        assert urls == [s.url for s in ev.sources if s.url]
    mine = back.loc["2020-11-26-sotk-mine-entry"]
    assert bool(mine["side_uncertain"]) and mine["admin1"] == "Gegharkunik"


def test_district_doubt_travels_as_a_list_or_json_text(files):
    mine_id = "2020-11-26-sotk-mine-entry"
    both = ["Gegharkunik", "Kəlbəcər"]
    doc = json.loads(files["geojson"].read_text("utf-8"))
    props = {f["properties"]["id"]: f["properties"] for f in doc["features"]}
    assert props[mine_id]["admin1_uncertain"] is True
    assert props[mine_id]["admin1_candidates"] == both
    for fmt in ("gpkg", "fgb"):
        back = pyogrio.read_dataframe(files[fmt], layer="events").set_index("id")
        assert json.loads(back.loc[mine_id, "admin1_candidates"]) == both
        assert bool(back.loc[mine_id, "admin1_uncertain"])
    import csv

    rows = {r["event_id_cnty"]: r for r in csv.DictReader(files["csv"].open(encoding="utf-8"))}
    assert json.loads(rows[mine_id]["admin1_candidates_json"]) == both
    assert rows[mine_id]["admin1_uncertain"] == "true"


def test_an_unknown_controller_is_written_as_null(tmp_path):
    events = tmp_path / "events"
    shutil.copytree(ROOT / "events", events)
    (events / "1992-06-01-kalbajar-shelling.yaml").write_text(
        "date: 1992-06-01\ntitle: Shelling near Kalbajar\nevent_type: Explosions/Remote violence\n"
        "location: {name: Kalbajar, lat: 40.1067, lon: 46.0383, precision: settlement}\n"
        "sources: [{publisher: p, published: 1992-06-02}]\n", "utf-8")
    result = build(events, ROOT / "geodata" / "layers.yaml",
                   gazetteer=ROOT / "geodata" / "gazetteer.yaml")
    ident = "1992-06-01-kalbajar-shelling"
    out = {fmt: export.export(result, fmt, tmp_path / f"e{export.SUFFIX[fmt]}")
           for fmt in ("geojson", "gpkg", "fgb", "csv")}
    doc = json.loads(out["geojson"].read_text("utf-8"))
    props = {f["properties"]["id"]: f["properties"] for f in doc["features"]}
    assert props[ident]["controller"] is None
    assert props["2020-11-25-kalbajar-handover"]["controller"] == "Azerbaijan"
    for fmt in ("gpkg", "fgb"):
        back = pyogrio.read_dataframe(out[fmt], layer="events").set_index("id")
        assert pd.isna(back.loc[ident, "controller"]), fmt  # NULL, not "" or "None"
    import csv

    rows = {r["event_id_cnty"]: r for r in csv.DictReader(out["csv"].open(encoding="utf-8"))}
    assert rows[ident]["controller"] == ""  # CSV's only null: an empty cell, never "None"


def test_kml_has_times_and_escaped_balloons(files, result):
    kml = files["kml"].read_text("utf-8")
    assert "<TimeStamp>" in kml and "<when>2020-11-26T00:00:00Z</when>" in kml
    back = pyogrio.read_dataframe(files["kml"], datetime_as_string=True)
    assert back["timestamp"].notna().sum() == len(result.events)
    assert "2020-11-10T00:00:00+03:00" in kml  # the offset of the ceasefire time is kept


def test_csv_speaks_acled(files, result):
    import csv

    rows = list(csv.DictReader(files["csv"].open(encoding="utf-8")))
    by_id = {r["event_id_cnty"]: r for r in rows}
    mine = by_id["2020-11-26-sotk-mine-entry"]
    assert mine["event_date"] == "2020-11-26" and mine["country"] == "Armenia"
    assert mine["iso"] == "51" and mine["geo_precision"] == str(ACLED_GEO["site"])
    assert mine["time_precision"] == str(ACLED_TIME["day"])
    assert mine["actor1"] == "Military Forces of Azerbaijan"


# ---------------------------------------------------------------- GeoJSON, RFC 7946

def _coords(geom: dict) -> list:
    out: list = []

    def walk(c):
        if isinstance(c[0], int | float):
            out.append(c)
        else:
            for x in c:
                walk(x)

    walk(geom["coordinates"])
    return out


@pytest.mark.parametrize("name", ["events.geojson", "layers.geojson"])
def test_build_geojson_follows_rfc7946(tmp_path, name):
    r = cm("build", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / name).read_text("utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    assert len(doc["bbox"]) == 4
    for f in doc["features"]:
        assert f["type"] == "Feature" and set(f) >= {"geometry", "properties"}
        for lon, lat, *_ in _coords(f["geometry"]):
            assert -180 <= lon <= 180 and -90 <= lat <= 90
            assert len(repr(lon).split(".")[-1]) <= 6 and len(repr(lat).split(".")[-1]) <= 6
        if f["geometry"]["type"] in ("Polygon", "MultiPolygon"):
            shape = shapely.geometry.shape(f["geometry"])
            for poly in getattr(shape, "geoms", [shape]):
                assert poly.exterior.is_ccw  # exteriors counter-clockwise
                assert all(not ring.is_ccw for ring in poly.interiors)
    if name == "events.geojson":
        props = doc["features"][0]["properties"]
        for key in ("id", "date", "end_date", "date_precision", "title", "event_type",
                    "sub_event_type", "actors", "status", "place_name", "geo_precision",
                    "geocoder", "country", "admin1", "border_distance_km", "side_uncertain",
                    "controller", "source_urls"):
            assert key in props
        assert isinstance(props["actors"], list) and isinstance(props["source_urls"], list)


def test_export_refuses_the_events_folder(tmp_path):
    events = tmp_path / "events"
    shutil.copytree(ROOT / "events", events)
    r = cm("export", "--events", str(events), "--out", str(events / "x.geojson"))
    assert r.returncode == 1 and "inside the events folder" in r.stderr
    assert not (events / "x.geojson").exists()


# ---------------------------------------------------------------- round trips and imports

@pytest.mark.parametrize(("kind", "fmt"), [("acled", "csv"), ("ucdp", "ucdp-csv")])
def test_exported_csv_imports_back_to_the_same_events(files, tmp_path, kind, fmt):
    report = ingest.import_csv(kind, files[fmt], tmp_path / "events")
    assert report.skipped == [] and len(report.written) == 8
    original = {e.id: e.model_dump() for e in load_events([ROOT / "events"])}
    back = {e.id: e.model_dump() for e in load_events([tmp_path / "events"])}
    assert back == original


def test_plain_acled_rows_are_mapped_and_bad_ones_reported(tmp_path):
    events, skipped = ingest.convert("acled", DATA / "acled_sample.csv")
    assert [e.id for e in events] == ["ARM100", "AZE200"]  # the dataset's own ids
    sotk, kalbajar = events
    assert sotk.day == date(2020, 11, 26) and sotk.location.country == "AM"
    assert sotk.location.precision == "settlement" and sotk.date_precision == "day"
    assert sotk.sources[0].publisher == "ACLED"
    assert sotk.sources[0].provenance == "Aysor; Hetq"  # ACLED's source list, not a quote
    assert sotk.sources[0].published == date(2020, 12, 3)  # the record's timestamp
    assert kalbajar.location.precision == "province" and kalbajar.date_precision == "week"
    assert [(a.name, a.role, a.inter) for a in kalbajar.actors] == [
        ("Military Forces of Azerbaijan (2003-)", "side_a", 1),
        ("Military Forces of Armenia (2018-)", "side_b", 1)]
    assert sotk.dataset is not None and sotk.dataset.name == "acled"
    assert sotk.dataset.columns["inter2"] == "0" and sotk.dataset.columns["actor2"] == ""
    assert kalbajar.tags == ["district handover", "ceasefire"]
    reasons = {s.row_id: s.reason for s in skipped}
    assert "not a sub-event type of 'Protests'" in reasons["ARM101"]
    assert "location.lat" in reasons["ARM102"]


def test_plain_ucdp_rows_are_mapped(tmp_path):
    events, skipped = ingest.convert("ucdp", DATA / "ucdp_sample.csv")
    assert [e.id for e in events] == ["354001", "354002"]
    shelling, civilians = events
    assert shelling.event_type == "Battles" and shelling.fatalities == 3
    assert shelling.figures == {"best": 3, "deaths_a": 0, "deaths_b": 2, "deaths_civilians": 1,
                                "deaths_unknown": 0, "low": 3, "high": 5}
    assert shelling.location.precision == "settlement"
    assert shelling.sources[0].publisher == "Agence France Presse,2020-10-04"
    assert civilians.event_type == "Violence against civilians"
    assert civilians.date_precision == "month" and civilians.location.precision == "province"
    assert str(civilians.end_date) == "2020-10-31"
    assert len(skipped) == 1 and skipped[0].row_id == "354003"


def test_import_never_overwrites_and_dry_run_writes_nothing(tmp_path):
    events = tmp_path / "events"
    r = cm("import", "acled", str(DATA / "acled_sample.csv"), "--events", str(events),
           "--dry-run")
    assert r.returncode == 1 and not events.exists()  # two rows would be skipped
    assert "id: ARM100" in r.stdout and "2 rows skipped" in r.stderr
    r = cm("import", "acled", str(DATA / "acled_sample.csv"), "--events", str(events))
    assert r.returncode == 1 and "wrote 2 event files" in r.stdout
    assert "the other rows were written" in r.stdout
    before = {p.name: p.read_bytes() for p in events.iterdir()}
    again = cm("import", "acled", str(DATA / "acled_sample.csv"), "--events", str(events))
    assert again.returncode == 1 and "wrote 0 event files" in again.stdout
    assert again.stderr.count("id already in use") == 2
    assert {p.name: p.read_bytes() for p in events.iterdir()} == before


def test_precision_codes_cover_our_vocabulary():
    from conflictmap.model import DatePrecision, GeoPrecision

    for p in [*GeoPrecision, "unspecified"]:
        key = p.value if hasattr(p, "value") else p
        assert key in ACLED_GEO and key in UCDP_WHERE
    for d in DatePrecision:
        assert d.value in ACLED_TIME and d.value in UCDP_DATE


# ---------------------------------------------------------------- datasets

def test_import_to_dataset_then_build_maps_it_with_the_yaml(tmp_path):
    ds = tmp_path / "acled.gpkg"
    r = cm("import", "acled", str(DATA / "acled_sample.csv"), "--to", str(ds))
    assert r.returncode == 1 and "wrote 2 events to the dataset" in r.stdout  # 2 skipped
    assert "Feature Count: 2" in ogrinfo(ds)
    again = cm("import", "acled", str(DATA / "acled_sample.csv"), "--to", str(ds))
    assert again.returncode == 1 and "exists" in again.stderr
    out = tmp_path / "out"
    r = cm("build", "--dataset", str(ds), "--out", str(out))
    assert r.returncode == 0, r.stderr
    ids = [f["properties"]["id"] for f in
           json.loads((out / "events.geojson").read_text("utf-8"))["features"]]
    assert len(ids) == 10 and {"ARM100", "AZE200"} <= set(ids)


def test_a_dataset_maps_from_a_folder_without_events(tmp_path):
    """An analyst with an ACLED export and no YAML events of their own: build, export and
    enrich read the dataset alone; a missing folder named with --events is still an error."""
    ds = tmp_path / "acled.gpkg"
    assert cm("import", "acled", str(DATA / "acled_hdx_armenia.csv"), "--to", str(ds),
              cwd=tmp_path).returncode == 0
    n = len(pyogrio.read_dataframe(ds, read_geometry=False))
    r = cm("build", "--dataset", "acled.gpkg", "--out", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"{n} events mapped" in r.stdout
    assert len(json.loads((tmp_path / "out" / "events.geojson").read_text("utf-8"))
               ["features"]) == n
    r = cm("export", "--dataset", "acled.gpkg", "--format", "csv", "--out", "e.csv",
           cwd=tmp_path)
    assert r.returncode == 0 and f"{n} events" in r.stdout, r.stderr
    r = cm("build", "--dataset", "acled.gpkg", "--events", "nowhere", "--out", "out2",
           cwd=tmp_path)
    assert r.returncode == 1 and "nowhere:1:1: (path): no such file or folder" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "out2").exists()


def test_dataset_round_trip_is_exact(tmp_path):
    from conflictmap.dataset import read_records, record_from_row, write_dataset
    from conflictmap.model import Event

    events, _ = ingest.convert("ucdp", DATA / "ucdp_sample.csv")
    write_dataset(events, tmp_path / "u.gpkg")
    back = [Event.model_validate(record_from_row(r))
            for r in read_records(tmp_path / "u.gpkg").to_dict("records")]
    assert [e.model_dump() for e in back] == [e.model_dump() for e in events]


def test_bad_dataset_rows_are_reported_with_their_row(tmp_path):
    import pyogrio

    from conflictmap.dataset import read_records, write_dataset
    from conflictmap.store import InvalidEvents

    events, _ = ingest.convert("ucdp", DATA / "ucdp_sample.csv")
    write_dataset(events, tmp_path / "u.gpkg")
    frame = pyogrio.read_dataframe(tmp_path / "u.gpkg", layer="events")
    frame.loc[1, "event_type"] = "Battels"
    frame.loc[0, "sources_json"] = frame.loc[0, "sources_json"].replace(
        '"publisher"', '"url": "javascript:alert(1)", "publisher"')
    pyogrio.write_dataframe(frame, tmp_path / "bad.gpkg", layer="events")
    with pytest.raises(InvalidEvents) as info:
        read_records(tmp_path / "bad.gpkg")
    found = {(p.line, p.field) for p in info.value.problems}
    assert (1, "sources[0].url") in found and (2, "event_type") in found



@pytest.mark.parametrize(("column", "text", "message"), [
    ("figures_json", '{"killed": 3', "not valid JSON"),
    ("figures_json", '{"killed": NaN}', "not valid JSON"),  # Python reads it, browsers do not
    ("actors_json", '{"a": 1}', "expected a JSON array"),
    ("location_json", "[40.2, 45.9]", "expected a JSON object"),
    ("tags_json", "tag-without-quotes", "not valid JSON"),
    ("actors_json", "[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
])
def test_broken_json_in_a_dataset_is_a_clear_error(tmp_path, column, text, message):
    import pyogrio

    from conflictmap.dataset import write_dataset

    events, _ = ingest.convert("ucdp", DATA / "ucdp_sample.csv")
    write_dataset(events, tmp_path / "u.gpkg")
    frame = pyogrio.read_dataframe(tmp_path / "u.gpkg", layer="events")
    frame.loc[2, column] = text
    pyogrio.write_dataframe(frame, tmp_path / "bad.gpkg", layer="events")
    empty = tmp_path / "no-events"
    empty.mkdir()
    r = cm("build", "--events", str(empty), "--dataset", str(tmp_path / "bad.gpkg"),
           "--out", str(tmp_path / "out"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"bad.gpkg:3:1: {column}: {message}" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def test_dataset_without_a_record_column_names_it(tmp_path):
    import pyogrio

    from conflictmap.dataset import read_records, write_dataset
    from conflictmap.store import InvalidEvents

    events, _ = ingest.convert("ucdp", DATA / "ucdp_sample.csv")
    write_dataset(events, tmp_path / "u.gpkg")
    frame = pyogrio.read_dataframe(tmp_path / "u.gpkg", layer="events")
    pyogrio.write_dataframe(frame.drop(columns=["title"]), tmp_path / "bad.gpkg",
                            layer="events")
    with pytest.raises(InvalidEvents) as info:
        read_records(tmp_path / "bad.gpkg")
    assert [(p.field, p.message) for p in info.value.problems] == [
        ("title", "column missing from the dataset")]
    # an optional column left out reads as absent (or the model's default), not as an error
    pyogrio.write_dataframe(frame.drop(columns=["status", "tags_json", "dataset_json"]),
                            tmp_path / "lean.gpkg", layer="events")
    lean = read_records(tmp_path / "lean.gpkg")
    assert set(lean["status"]) == {"reported"} and lean["dataset_json"].isna().all()

def test_dataset_id_clashing_with_yaml_is_an_error(tmp_path):
    from conflictmap.dataset import write_dataset

    events = load_events([ROOT / "events"])[:1]
    write_dataset(events, tmp_path / "dup.gpkg")
    r = cm("build", "--dataset", str(tmp_path / "dup.gpkg"), "--out", str(tmp_path / "out"))
    assert r.returncode == 1 and "duplicate id '2020-11-10-trilateral-ceasefire'" in r.stderr
    assert not (tmp_path / "out" / "map.html").exists()


def test_geojson_written_in_pieces_is_the_same_document(result, tmp_path):
    """Big outputs are written a chunk of features at a time: any chunk size gives the same
    text, and GDAL reads every feature back."""
    from conflictmap import geojson

    def text(pieces) -> str:
        return b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces).decode()

    frame = export.events_frame(result)
    whole = text(geojson.feature_collection_pieces(frame, "events", chunk=len(frame) + 1))
    for chunk in (1, 3):
        assert text(geojson.feature_collection_pieces(frame, "events", chunk=chunk)) == whole
    assert geojson.feature_collection_text(frame, "events") == whole
    target = geojson.write(frame, tmp_path / "events.geojson")
    assert target.read_text("utf-8") == whole
    back = pyogrio.read_dataframe(target)
    assert back["id"].tolist() == frame["id"].tolist()
    assert json.loads(whole)["features"][2]["properties"]["id"] == frame["id"].iloc[2]


def test_geojson_cells_keep_their_values_on_either_writer(tmp_path):
    """orjson writes the properties; a chunk it refuses (an integer past 64 bits) and a frame
    with a column type it is not given (dates) go through pandas' writer. Either way a cell
    reads back as its value: text as it is, missing (None, NaN, NA, inf) as null, floats
    exact, lists as arrays."""
    from shapely.geometry import Point

    from conflictmap import geojson

    frame = gpd.GeoDataFrame({
        "text": ["Сотк </script> \"q\" \\", None, "\u2028", float("nan")],
        "n": pd.array([1, None, -3, 2**62], dtype="Int64"),
        "x": [0.1 + 0.2, float("nan"), float("inf"), 1e-7],
        "flag": [True, False, None, True],
        "lists": [["a", "ü"], [], None, ["b"]],
        "big": [1, 2, 2**70, 4],  # the third chunk (of one row) goes pandas' way
    }, geometry=[Point(45.1, 40.2), None, Point(46, 39.5), Point(44.5, 41)], crs=4326)
    want = [
        {"text": "Сотк </script> \"q\" \\", "n": 1, "x": 0.1 + 0.2, "flag": True,
         "lists": ["a", "ü"], "big": 1},
        {"text": None, "n": None, "x": None, "flag": False, "lists": [], "big": 2},
        {"text": "\u2028", "n": -3, "x": None, "flag": None, "lists": None, "big": 2**70},
        {"text": None, "n": 2**62, "x": 1e-7, "flag": True, "lists": ["b"], "big": 4},
    ]
    for chunk in (1, 4):
        doc = json.loads(geojson.feature_collection_text(frame, "t") if chunk == 4 else "".join(
            p if isinstance(p, str) else p.decode()
            for p in geojson.feature_collection_pieces(frame, "t", chunk=chunk)))
        got = [f["properties"] for f in doc["features"]]
        # pandas' writer rounds floats to 15 digits: exact only where orjson wrote the chunk
        if chunk == 1:
            assert got[2] == want[2] and got[:2] + got[3:] == want[:2] + want[3:]
        else:
            assert got[2]["big"] == 2**70 and [g["x"] for g in got] == [0.3, None, None, 1e-7]
        assert doc["features"][1]["geometry"] is None
    dated = frame.assign(day=pd.to_datetime(["2020-11-26"] * 4)).drop(columns="big")
    doc = json.loads(geojson.feature_collection_text(dated, "t"))
    assert [f["properties"]["day"] for f in doc["features"]] == ["2020-11-26T00:00:00.000"] * 4
    target = geojson.write(frame.drop(columns="big"), tmp_path / "t.geojson")
    back = pyogrio.read_dataframe(target)
    assert back["text"].iloc[0] == want[0]["text"] and back["n"].tolist()[2] == -3


def test_events_geojson_made_in_two_processes_is_the_same_text(result, tmp_path, monkeypatch):
    """Past SPLIT_MIN events (the kill test in test_publish builds 4,500) the second half is
    written by a forked child and appended: the file is the one a single process writes, and
    no part file is left behind."""
    one = export.write_events_geojson(result, tmp_path / "one.geojson")
    monkeypatch.setattr(export, "SPLIT_MIN", 2)
    two = export.write_events_geojson(result, tmp_path / "two.geojson")
    assert len(result.frame) >= 4
    text = two.read_text("utf-8").replace('"name":"two"', '"name":"one"')
    assert text == one.read_text("utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.geojson", "two.geojson"]
    assert len(pyogrio.read_dataframe(two)) == len(result.frame)


def test_a_failing_second_half_leaves_nothing(result, tmp_path, monkeypatch):
    real = export.events_frame

    def second_half_fails(res, rows=None):
        if rows is not None and rows.start:
            raise ValueError("disk on fire")
        return real(res, rows)

    monkeypatch.setattr(export, "SPLIT_MIN", 2)
    monkeypatch.setattr(export, "events_frame", second_half_fails)
    with pytest.raises(ValueError, match="disk on fire"):
        export.write_events_geojson(result, tmp_path / "events.geojson")
    assert list(tmp_path.iterdir()) == []


def test_dataset_count_past_64_bits_gets_the_models_verdict(tmp_path):
    """A dataset's fatalities stored as a real number past 64 bits passes no bulk check: the
    row gets the model's verdict, with the limit, as a YAML file would."""
    from conflictmap.dataset import read_records, write_dataset
    from conflictmap.store import InvalidEvents

    events, _ = ingest.convert("ucdp", DATA / "ucdp_sample.csv")
    write_dataset(events, tmp_path / "u.gpkg")
    frame = pyogrio.read_dataframe(tmp_path / "u.gpkg", layer="events")
    frame["fatalities"] = frame["fatalities"].astype(float)
    frame.loc[1, "fatalities"] = 1e20
    pyogrio.write_dataframe(frame, tmp_path / "big.gpkg", layer="events")
    with pytest.raises(InvalidEvents) as info:
        read_records(tmp_path / "big.gpkg")
    assert [(p.line, p.field, p.message) for p in info.value.problems] == [
        (2, "fatalities", "100000000000000000000 is too large: at most 9,223,372,036,854,775,807")]
