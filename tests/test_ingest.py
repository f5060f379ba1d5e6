"""Issue #13 for CSV imports: every file a user may hand us ends in one clear message naming
the file (and the line), exit 1, and no traceback; rows that are fine are still written."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from conflictmap import ingest

from .conftest import DATA, ROOT

EXE = Path(sys.executable).with_name("conflictmap")
SAMPLE = DATA / "acled_sample.csv"  # rows 1-2 are good, 3-4 are not


def cm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def sample() -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(SAMPLE.open(newline="", encoding="utf-8")))
    return header, rows


def good_row(**cells: str) -> list[str]:
    header, rows = sample()
    row = list(rows[0])
    for k, v in cells.items():
        row[header.index(k)] = v
    return row


def write(path: Path, rows: list[list[str]], header: list[str] | None = None,
          encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(sample()[0] if header is None else header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def import_fails(path: Path, *message: str, to: bool = False) -> str:
    """Import the file through the CLI; it must exit 1 with the message and no traceback."""
    target = ["--to", str(path.with_suffix(".gpkg"))] if to else [
        "--events", str(path.parent / "events")]
    r = cm("import", "acled", str(path), *target)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    for m in message:
        assert m in r.stderr, r.stderr
    return r.stderr


# ---------------------------------------------------------------- the file as a whole


def test_latin1_is_refused_with_the_byte_and_line(tmp_path):
    f = write(tmp_path / "latin.csv", [good_row(), good_row(event_id_cnty="ARM9",
                                                            location="Köl")], encoding="latin-1")
    import_fails(f, f"{f}:3: not UTF-8 (byte 0xf6 at line 3); save the file as UTF-8")
    assert not (tmp_path / "events").exists()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_a_byte_order_mark_says_how_to_read_the_file(tmp_path, encoding):
    f = tmp_path / "x.csv"
    text = write(tmp_path / "y.csv", [good_row(location="Սոթք")]).read_text("utf-8")
    f.write_bytes((("\ufeff" if encoding == "utf-16-be" else "") + text).encode(encoding))
    events, skipped = ingest.convert("acled", f)
    assert skipped == [] and events[0].location.name == "Սոթք"
    assert events[0].dataset.columns["location"] == "Սոթք"


def test_a_long_cell_is_read_and_a_runaway_one_named(tmp_path):
    notes = "x" * 200_000  # over the csv module's default limit of 131,072
    events, skipped = ingest.convert("acled", write(tmp_path / "long.csv", [
        good_row(notes=notes)]))
    assert skipped == [] and events[0].description == notes
    f = tmp_path / "open.csv"
    f.write_text(write(tmp_path / "one.csv", [good_row()]).read_text("utf-8")
                 + 'ARM7,"' + "y" * (ingest.FIELD_LIMIT + 10) + "\r\n", encoding="utf-8")
    import_fails(f, f"{f}:3: a cell of over 10,000,000 characters starts here")


@pytest.mark.parametrize(("text", "message"), [
    ("", "no header row: the file is empty or blank"),
    ("\r\n\r\n", "no header row: the file is empty or blank"),
    ("HEADER", "a header but no rows"),
    ("a,b\r\n1,2\r\n", ":1: no 'event_id_cnty' column"),
])
def test_files_without_rows_or_header_are_refused(tmp_path, text, message):
    f = tmp_path / "f.csv"
    f.write_text(text.replace("HEADER", ",".join(sample()[0]) + "\r\n"), encoding="utf-8")
    import_fails(f, str(f), message)
    import_fails(f, str(f), message, to=True)


def test_repeated_column_names_are_refused(tmp_path):
    header = sample()[0]
    f = write(tmp_path / "rep.csv", [[*good_row(), "x"]], header=[*header, "notes"])
    import_fails(f, f"{f}:1: column(s) named twice: 'notes'")


def test_a_folder_given_as_the_file_is_a_message(tmp_path):
    import_fails(tmp_path, str(tmp_path), "cannot read the file")


# ---------------------------------------------------------------- rows


def test_bad_rows_are_skipped_by_file_and_line_and_the_rest_written(tmp_path):
    rows = sample()[1]
    f = write(tmp_path / "rows.csv", [good_row()[:-3], [*good_row(), "a", "b"], *rows])
    err = import_fails(f, f"{f}:2: (ARM100): 28 cells where the header has 31 columns",
                       f"{f}:3: (ARM100): 33 cells", f"{f}:7: (ARM102): location.lat")
    assert "line 0" not in err
    assert len(list((tmp_path / "events").glob("*.yaml"))) == 2


@pytest.mark.parametrize("to", [False, True])
def test_an_id_twice_in_the_file_names_the_first_line(tmp_path, to):
    rows = sample()[1]
    f = write(tmp_path / "dup.csv", [rows[0], rows[1], rows[0]])
    err = import_fails(f, f"{f}:4: (ARM100): id ARM100 already on line 2", to=to)
    assert "line 0" not in err


@pytest.mark.parametrize(("column", "cell", "message"), [
    ("fatalities", "inf", "fatalities: 'inf' is not a whole number"),
    ("fatalities", "-inf", "fatalities: '-inf' is not a whole number"),
    ("fatalities", "nan", "fatalities: 'nan' is not a whole number"),
    ("fatalities", "1.5", "fatalities: '1.5' is not a whole number"),
    ("inter1", "1e999", "inter1: '1e999' is not a whole number"),
    ("geo_precision", "1e400", "geo_precision: '1e400' is not a whole number"),
    ("inter1", "1e20", "inter1: '1e20' is too large"),
    ("timestamp", "1e20", "timestamp: '1e20' is too large"),
    ("timestamp", "1e12", "timestamp: '1e12' is not a time in seconds from 1970 (to 2242)"),
    ("timestamp", "-5", "timestamp: '-5' is not a time in seconds from 1970 (to 2242)"),
    ("latitude", "nan", "latitude: 'nan' is not a number"),
    ("longitude", "-inf", "longitude: '-inf' is not a number"),
])
def test_numbers_out_of_bounds_are_reasons_for_the_row(tmp_path, column, cell, message):
    f = write(tmp_path / "n.csv", [good_row(**{column: cell}), sample()[1][1]])
    events, skipped = ingest.convert("acled", f)
    assert [e.id for e in events] == ["AZE200"]
    assert [str(s) for s in skipped] == [f"{f}:2: (ARM100): {message}"]


def test_ucdp_counts_out_of_bounds_are_reasons_for_the_row(tmp_path):
    header, *rows = list(csv.reader((DATA / "ucdp_sample.csv").open(encoding="utf-8")))
    row = list(rows[0])
    row[header.index("best")] = "1e999"
    events, skipped = ingest.convert("ucdp", write(tmp_path / "u.csv", [row], header=header))
    assert events == [] and skipped[0].line == 2
    assert skipped[0].reason == "best: '1e999' is not a whole number"


# ---------------------------------------------------------------- our own JSON columns


@pytest.fixture(scope="module")
def ours(tmp_path_factory) -> tuple[list[str], list[list[str]]]:
    """A CSV conflictmap exported (the sample's good rows through YAML and `export`)."""
    tmp_path = tmp_path_factory.mktemp("ours")
    events = tmp_path / "events"
    cm("import", "acled", str(SAMPLE), "--events", str(events))
    out = tmp_path / "ours.csv"
    r = cm("export", "--format", "csv", "--events", str(events), "--out", str(out))
    assert r.returncode == 0, r.stderr
    header, *rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    return header, rows


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(("column", "cell", "message"), [
    ("actors_json", DEEP, "actors_json: JSON nested too deeply"),
    ("dataset_json", '{"a": ' * 50_000 + "1" + "}" * 50_000, "dataset_json: JSON nested too"),
    ("location_json", DEEP, "location_json: JSON nested too deeply"),
    ("figures_json", "[1, 2]", "figures_json: expected a JSON object"),
    ("location_json", '"Sotk"', "location_json: expected a JSON object"),
    ("sources_json", "{}", "sources_json: expected a JSON array"),
    ("tags_json", "[NaN]", "tags_json: not valid JSON"),
    ("control_change_json", "{", "control_change_json: not valid JSON"),
])
@pytest.mark.parametrize("to", [False, True])
def test_broken_json_in_our_columns_is_a_reason_for_the_row(tmp_path, ours, column, cell,
                                                            message, to):
    header, rows = ours[0], [list(r) for r in ours[1]]
    rows[0][header.index(column)] = cell
    f = write(tmp_path / "edited.csv", rows, header=header)
    err = import_fails(f, f"{f}:2: (", message, to=to)
    assert len(err.splitlines()) == 1 and "RecursionError" not in err



# ---------------------------------------------------------------- two imports at once


def many_rows(path: Path, n: int) -> Path:
    header, rows = sample()
    at = header.index("event_id_cnty")
    out = []
    for k in range(n):
        row = list(rows[k % 2])
        row[at] = f"{row[at][:3]}{10_000 + k}"
        out.append(row)
    return write(path, out, header=header)


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(EXE), *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def test_two_imports_into_one_folder_at_once_share_the_rows_without_a_traceback(tmp_path):
    n = 600
    f = many_rows(tmp_path / "many.csv", n)
    events = tmp_path / "events"
    runs = [start("import", "acled", str(f), "--events", str(events)) for _ in range(2)]
    done = [(*p.communicate(timeout=120), p.returncode) for p in runs]
    done = [(code, out, err) for out, err, code in done]
    written = 0
    for code, out, err in done:
        assert "Traceback" not in err and "FileExistsError" not in err, err
        wrote = int(out.split("wrote ")[1].split(" ")[0])
        skipped = int(out.split("; ")[1].split(" ")[0])
        assert wrote + skipped == n and code == (1 if skipped else 0), (out, err)
        assert len(err.splitlines()) == skipped
        assert [x for x in err.splitlines() if not x.startswith(f"{f}:")] == []
        written += wrote
    assert written == n == len(list(events.glob("*.yaml")))  # each row once, by one of them


def test_two_imports_into_one_dataset_at_once_never_replace_each_other(tmp_path):
    f = many_rows(tmp_path / "many.csv", 600)
    target = tmp_path / "d.gpkg"
    runs = [start("import", "acled", str(f), "--to", str(target)) for _ in range(2)]
    done = [(*p.communicate(timeout=120), p.returncode) for p in runs]
    done = [(code, out, err) for out, err, code in done]
    assert sorted(code for code, _, _ in done) == [0, 1]
    for code, out, err in done:
        assert "Traceback" not in err, err
        if code == 1:
            assert f"{target} exists" in err and not out
    assert not list(tmp_path.glob(".d.*"))  # no temp file left behind



def test_line_100_stays_a_line_number(tmp_path):
    """The console must not read ':100:' as an emoji code."""
    f = many_rows(tmp_path / "many.csv", 120)
    text = f.read_text("utf-8").splitlines(keepends=True)
    text[99] = text[99].replace(",1607000000", ",1e999", 1)
    f.write_text("".join(text), encoding="utf-8")
    import_fails(f, f"{f}:100: (ARM10098): timestamp: '1e999' is not a whole number")


def test_a_file_where_the_folder_should_be_is_a_message(tmp_path):
    (tmp_path / "afile").touch()
    r = cm("import", "acled", str(SAMPLE), "--events", str(tmp_path / "afile"))
    assert r.returncode == 1 and "afile: not a folder" in r.stderr and "Traceback" not in r.stderr
    r = cm("import", "acled", str(SAMPLE), "--to", str(tmp_path / "afile" / "d.gpkg"))
    assert r.returncode == 1 and "cannot write the dataset: File exists" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("name", ["all-bad.gpkg", "all-bad.parquet"])
def test_an_import_that_keeps_no_row_writes_no_dataset_and_the_rerun_works(name, tmp_path):
    with (DATA / "acled_sample.csv").open(newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    day = header.index("event_date")
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *[[*r[:day], "not a date", *r[day + 1:]]
                                            for r in rows]])
    target = tmp_path / name
    r = subprocess.run([str(EXE), "import", "acled", str(bad), "--to", str(target)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1 and f"no dataset written to {target}" in r.stdout, r.stderr
    assert "not a date" in r.stderr and not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.csv"]  # no staging left either
    r = subprocess.run([str(EXE), "import", "acled", str(DATA / "acled_sample.csv"), "--to",
                        str(target)], capture_output=True, text=True, cwd=tmp_path)
    assert "events to the dataset" in r.stdout and target.exists(), r.stderr


def test_import_to_a_name_that_is_not_a_dataset_format_is_refused(tmp_path):
    for name in ("x.geojson", "x.shp", "x"):
        r = subprocess.run([str(EXE), "import", "acled", str(DATA / "acled_sample.csv"),
                            "--to", str(tmp_path / name)], capture_output=True, text=True)
        assert r.returncode == 2 and "NAME.gpkg" in r.stderr and "Traceback" not in r.stderr
    assert not any(tmp_path.iterdir())
