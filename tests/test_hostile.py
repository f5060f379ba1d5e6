"""Issue #13: no input ends in a traceback. Every hostile file, through the real executable:
`validate` and `build` exit 1 naming the file (0 with warnings for what is only doubtful)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import DATA, ROOT

EXE = Path(sys.executable).with_name("conflictmap")
BAD = DATA / "bad"
GOOD = ROOT / "events" / "2020-11-26-sotk-mine-entry.yaml"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)


def _link(target: str) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        (folder / "x.yaml").symlink_to(target)
        return "x.yaml"
    return make


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "x.yaml")
    return "x.yaml"


def _big(folder: Path) -> str:
    (folder / "big.yaml").write_bytes(b"# padding\n" * 110_000)
    return "big.yaml"


def _dangling_folder(folder: Path) -> str:
    (folder / "sub").symlink_to(folder / "removed")
    return "sub"


# cases a repository cannot hold as files: each makes its entry in the folder, returns its name
GENERATED = {"symlink-to-passwd": _link("/etc/passwd"), "symlink-to-dev-zero": _link("/dev/zero"),
             "fifo": _fifo, "too-big": _big, "dangling-folder": _dangling_folder}


def check(r: subprocess.CompletedProcess[str], code: int, name: str) -> None:
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == code, r.stderr
    assert name in r.stderr
    assert "\x1b" not in r.stdout + r.stderr


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.glob("*.yaml")))
def test_every_bad_file_fails_validate_and_build_with_its_name(name, tmp_path):
    check(run("validate", BAD / name), 1, name)
    check(run("build", "--events", BAD / name, "--out", tmp_path), 1, name)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("case", sorted(GENERATED))
def test_every_generated_case_fails_validate_and_build(case, tmp_path):
    events = tmp_path / "events"
    events.mkdir()
    (events / GOOD.name).write_bytes(GOOD.read_bytes())
    name = GENERATED[case](events)
    check(run("validate", events), 1, name)
    check(run("build", "--events", events, "--out", tmp_path / "out"), 1, name)
    assert not (tmp_path / "out").exists()


def test_doubtful_files_are_warnings_and_the_run_goes_on(tmp_path):
    r = run("validate", BAD / "warn")
    check(r, 0, "2020-11-26-date-mismatch.yaml")
    assert r.stdout.strip() == "1 events OK"
    warned = sorted(Path(line.removeprefix("warning: ").split(":")[0]).name
                    for line in r.stderr.splitlines())
    assert warned == sorted(["2020-11-26-date-mismatch.yaml", "README", "backup.yml~",
                             "notes.yaml.txt", "upper.YAML"])
    assert all(line.startswith("warning: ") for line in r.stderr.splitlines())
    b = run("build", "--events", BAD / "warn", "--out", tmp_path, "--allow-unresolved")
    check(b, 0, "notes.yaml.txt")
