"""The command line: output, exit codes (0 ok, 1 invalid input, 2 usage), and `add`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conflictmap.cli import app

from .conftest import DATA, ROOT
from .test_store import EXPECTED

EXE = Path(sys.executable).with_name("conflictmap")

ADD = ["add", "--date", "2020-11-28", "--title", "Shots reported near Sotk <b>&</b>",
       "--type", "Explosions/Remote violence", "--sub-type", "Shelling/artillery/missile attack",
       "--place", "Sotk", "--country", "AM", "--publisher", "Example News",
       "--published", "2020-11-28", "--source-url", "https://example.org/a?b=1&c=2",
       "--actor", "Military Forces of Azerbaijan"]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_validate_bundled_events_exits_0_with_count():
    r = run("validate", "events/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "8 events OK"


def test_validate_defaults_to_events_folder():
    assert run("validate").stdout.strip() == "8 events OK"


def test_validate_bad_corpus_exits_1_and_lists_every_file():
    r = run("validate", str(DATA / "bad"))
    assert r.returncode == 1
    problem_lines = [x for x in r.stderr.splitlines() if x.startswith(str(DATA / "bad"))]
    n = len(EXPECTED) + 1  # and dup/second.yaml
    assert len(problem_lines) == n
    assert r.stderr.strip().endswith(f"{n} problem(s) in {n} file(s)")
    assert "Traceback" not in r.stderr


def test_usage_error_exits_2():
    assert run("validate", "--no-such-flag").returncode == 2
    assert run("no-such-command").returncode == 2


def test_help_on_each_command():
    for cmd in ("validate", "list", "add", "schema"):
        r = run(cmd, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout


def test_list_json(runner):
    r = runner.invoke(app, ["list", str(ROOT / "events"), "--json"])
    assert r.exit_code == 0
    rows = json.loads(r.stdout)
    assert next(row["id"] for row in rows) == "2020-11-10-trilateral-ceasefire"
    assert rows[0]["date"] == "2020-11-10T00:00:00+03:00"


def test_list_table_shows_ids(runner):
    r = runner.invoke(app, ["list", str(ROOT / "events")])
    assert r.exit_code == 0
    assert "2020-11-26-sotk-mine-entry" in r.stdout


def test_add_round_trips_and_refuses_duplicates(tmp_path):
    events = tmp_path / "events"
    shutil.copytree(ROOT / "events", events)
    r = run(*ADD, "--events", str(events))
    assert r.returncode == 0, r.stderr
    path = Path(r.stdout.strip())
    assert path.parent == events and path.name.startswith("2020-11-28-shots-reported-near-sotk")
    assert run("validate", str(events)).stdout.strip() == "9 events OK"
    listed = json.loads(run("list", str(events), "--json").stdout)
    new = next(x for x in listed if x["id"] == path.stem)
    assert new["title"] == "Shots reported near Sotk <b>&</b>"
    assert new["sources"][0]["url"] == "https://example.org/a?b=1&c=2"
    before = path.read_bytes()
    again = run(*ADD, "--events", str(events))
    assert again.returncode == 1 and "already exists" in again.stderr
    assert path.read_bytes() == before
    # same id under another title: still refused (id is the key, not the file content)
    other = run(*ADD[:3], "--title", "Another", *ADD[5:], "--id", path.stem,
                "--events", str(events))
    assert other.returncode == 1 and path.read_bytes() == before


def test_add_cannot_escape_the_events_folder(tmp_path):
    events = tmp_path / "deep" / "events"
    events.mkdir(parents=True)
    for evil in ("../../x", "../x", "/tmp/x", "..", "x/../../y"):
        r = run(*ADD, "--id", evil, "--events", str(events))
        assert r.returncode == 1, evil
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_add_invalid_input_names_the_flag(tmp_path):
    r = run("add", "--date", "2020-11-28", "--title", "x", "--type", "Battels",
            "--place", "Sotk", "--publisher", "p", "--published", "2020-11-28",
            "--source-url", "javascript:alert(1)", "--events", str(tmp_path))
    assert r.returncode == 1
    assert "--type: unknown ACLED event type 'Battels'; did you mean 'Battles'?" in r.stderr
    assert "--source-url: only absolute http(s) URLs" in r.stderr
    assert os.listdir(tmp_path) == []


def test_add_without_tty_does_not_prompt(tmp_path):
    r = run("add", "--title", "x", "--events", str(tmp_path))
    assert r.returncode == 1
    assert "--date: required" in r.stderr and "--publisher: required" in r.stderr


def test_add_dry_run_prints_yaml_and_writes_nothing(tmp_path):
    r = run(*ADD, "--dry-run", "--events", str(tmp_path))
    assert r.returncode == 0
    assert r.stdout.startswith("# yaml-language-server: $schema=event.schema.json\n")
    assert "title: Shots reported near Sotk <b>&</b>" in r.stdout
    assert os.listdir(tmp_path) == []


def test_schema_command_matches_committed_file():
    r = run("schema")
    committed = (ROOT / "events" / "event.schema.json").read_text("utf-8")
    assert json.loads(r.stdout) == json.loads(committed)


def test_errors_are_one_clear_message_and_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "ev"
    bad.mkdir()
    (bad / "x.yaml").write_text("date: 2020-11-26\n", "utf-8")
    r = run("build", "--events", str(bad), "--out", str(tmp_path / "out"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "x.yaml:1:1" in r.stderr and "problem(s) in 1 file(s)" in r.stderr
    r = run("--debug", "build", "--events", str(bad), "--out", str(tmp_path / "out"))
    assert r.returncode == 1 and "Traceback" in r.stderr and "InvalidEvents" in r.stderr


def test_version_and_refusing_the_events_folder_as_output(tmp_path):
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("conflictmap ")
    r = run("build", "--out", "events/sub")
    assert r.returncode == 1 and "inside the events folder" in r.stderr
    assert not (ROOT / "events" / "sub").exists()


def test_build_works_from_a_subfolder_and_from_outside_with_project(tmp_path):
    r = run("build", "--out", str(tmp_path / "a"), cwd=ROOT / "events")
    assert r.returncode == 0, r.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run("build", "--project", str(ROOT), "--out", str(tmp_path / "b"), cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b" / "map.html").exists()
    # an explicit manifest brings its gazetteer (the curated Sotk mine, Zod alias ...) along
    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "geodata", copy / "geodata",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copytree(ROOT / "events", copy / "events")
    (copy / "events" / "2020-11-28-zod.yaml").write_text(
        "date: 2020-11-28\ntitle: t\nevent_type: Battles\n"
        "location: {name: Sotk gold mine, country: AM}\n"
        "sources: [{publisher: p, published: 2020-11-28}]\n", "utf-8")
    r = run("build", "--manifest", str(copy / "geodata" / "layers.yaml"), "--events",
            str(copy / "events"), "--out", str(tmp_path / "c"), cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert "9 events mapped" in r.stdout


def test_validate_and_add_resolve_places_as_build_does(tmp_path):
    copy = tmp_path / "p"
    shutil.copytree(ROOT / "geodata", copy / "geodata",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (copy / "events").mkdir()
    (copy / "events" / "2020-11-28-v.yaml").write_text(
        "date: 2020-11-28\ntitle: t\nevent_type: Battles\nlocation:\n  country: AZ\n"
        "  name: Vardenis\nsources: [{publisher: p, published: 2020-11-28}]\n", "utf-8")
    r = run("validate", cwd=copy)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    # the location.name line, and the hint that ruled the Armenian town out
    assert "2020-11-28-v.yaml:6:3: location.name: no place called 'Vardenis' in AZ" in r.stderr
    assert "rules out Vardenis in AM" in r.stderr
    r = run("add", "--date", "2020-11-29", "--title", "x", "--type", "Battles", "--place",
            "Vardenys", "--publisher", "p", "--published", "2020-11-29", cwd=copy)
    assert r.returncode == 1 and "add: --place: no place called 'Vardenys'" in r.stderr
    assert "Vardenis (AM)" in r.stderr
    assert [f.name for f in (copy / "events").iterdir()] == ["2020-11-28-v.yaml"]


def test_list_shows_control_characters_as_escapes(runner, tmp_path):
    """OSC 52 writes the clipboard, ESC[2J clears the screen: neither may reach the terminal."""
    text = (ROOT / "events" / "2020-11-26-sotk-mine-entry.yaml").read_text("utf-8")
    (tmp_path / "2020-11-26-x.yaml").write_text(text.replace(
        "name: Sotk gold mine", 'name: "Sotk \\e]52;c;aGk=\\a\\e[2J [/b] \\x9b"'), "utf-8")
    r = runner.invoke(app, ["list", str(tmp_path)])
    assert r.exit_code == 0, r.stdout
    assert "Sotk \\x1b]52;c;aGk=\\x07\\x1b[2J [/b] \\u009b" in r.stdout
    r = runner.invoke(app, ["list", str(tmp_path), "--json"])
    assert not any(c in r.stdout for c in "\x1b\x07\x9b")
    assert json.loads(r.stdout)[0]["location"]["name"] == "Sotk \x1b]52;c;aGk=\x07\x1b[2J [/b] \x9b"


def test_dates_print_in_the_records_own_form_everywhere(runner, tmp_path):
    """A day as `2020-11-26`, a date-time as ISO 8601 with the record's offset: in the list
    table, in `enrich --json` and in error messages alike (never `2020-11-10 00:00:00+03:00`
    nor `2020-11-26T00:00:00.000`)."""
    table = runner.invoke(app, ["list", str(ROOT / "events")])
    assert "2020-11-10T00:00:00+03:00" in table.stdout and "2020-11-26 " in table.stdout
    assert "00:00:00+03:00 " not in table.stdout.replace("T00:00:00+03:00", "")
    r = runner.invoke(app, ["enrich", "--json", "--events", str(ROOT / "events")])
    assert r.exit_code == 0, r.stdout
    dates = {row["id"]: (row["date"], row["end_date"]) for row in json.loads(r.stdout)}
    assert dates["2020-11-10-trilateral-ceasefire"] == ("2020-11-10T00:00:00+03:00", None)
    assert dates["2020-11-26-sotk-mine-entry"] == ("2020-11-26", None)
    text = (ROOT / "events" / "2020-11-10-trilateral-ceasefire.yaml").read_text("utf-8")
    (tmp_path / "2020-11-10-x.yaml").write_text(
        text.replace("date_precision: day", "end_date: 2020-11-09\ndate_precision: day"), "utf-8")
    bad = run("validate", str(tmp_path))
    assert bad.returncode == 1
    assert "end_date 2020-11-09 is before date 2020-11-10T00:00:00+03:00" in bad.stderr


def _on_a_terminal(*args: str, cwd: Path = ROOT) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (as a person at a terminal sees it); stdout piped."""
    master, slave = os.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    env.pop("CONFLICTMAP_PROGRESS", None)
    proc = subprocess.Popen([str(EXE), *args], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the command has ended and closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    out = proc.stdout.read().decode() if proc.stdout else ""
    return proc.wait(timeout=60), out, seen.decode("utf-8", "replace")


STEPS = ("checking event files", "reading event files", "geocoding 8 events",
         "enriching 8 events", "drawing the map", "writing the outputs")


def test_progress_bars_on_a_terminal(tmp_path):
    code, out, err = _on_a_terminal("build", "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert all(label in err for label in STEPS), err
    assert "━" in err and "8 events mapped" in out  # a bar, and stdout untouched


def test_no_progress_bars_on_a_pipe():
    """`list` reads the folder through the same tracked step a terminal sees as a bar."""
    code, _, on_tty = _on_a_terminal("list")
    assert code == 0 and "checking event files" in on_tty
    piped = run("list")
    assert piped.returncode == 0 and piped.stderr == ""


def test_validate_checks_a_dataset_and_warns_of_a_folder_without_events(tmp_path):
    ds = tmp_path / "a.gpkg"
    assert run("import", "acled", str(DATA / "acled_sample.csv"), "--to", str(ds)).returncode == 1
    r = run("validate", str(ds))  # the rows import skipped are not in it
    assert r.returncode == 0 and r.stdout.strip() == "2 events OK", r.stderr
    r = run("validate", str(DATA / "acled_sample.csv"))
    assert r.returncode == 1 and "import it first" in r.stderr
    (tmp_path / "empty").mkdir()
    r = run("validate", str(tmp_path / "empty"))
    assert r.returncode == 0 and f"warning: no events in {tmp_path / 'empty'}" in r.stderr
