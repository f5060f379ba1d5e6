"""Reading YAML input safely: what is not a plain file, too big, or built to explode is a
Problem with a place to look, never a hang, a traceback or a read of some other file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from conflictmap import store, yamlio
from conflictmap.text import printable

from .conftest import ROOT

GOOD = ROOT / "events" / "2020-11-26-sotk-mine-entry.yaml"


def problems_of(folder: Path) -> list[store.Problem]:
    with pytest.raises(store.InvalidEvents) as info:
        store.load_events([folder])
    return info.value.problems


def test_store_keeps_the_moved_names():
    assert store.Problem is yamlio.Problem and store.load_yaml is yamlio.load_yaml
    assert store.validation_problems is yamlio.validation_problems


@pytest.mark.parametrize("target", ["/etc/passwd", "/dev/zero", "missing"])
def test_a_symlink_in_the_events_folder_is_not_followed(tmp_path, target):
    (tmp_path / "x.yaml").symlink_to(target)
    (p,) = problems_of(tmp_path)
    assert (Path(p.path).name, p.message) == ("x.yaml", "is a symbolic link; not followed")


def test_a_symlinked_or_dangling_folder_is_reported_not_skipped(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    assert sorted((Path(p.path).name, p.message) for p in problems_of(tmp_path)) == [
        ("gone", "is a symbolic link; not followed"),
        ("linked", "is a symbolic link; not followed")]


def test_a_file_named_on_the_command_line_may_be_a_link(tmp_path):
    (tmp_path / "x.yaml").symlink_to(GOOD)
    assert [e.id for e in store.load_events([tmp_path / "x.yaml"])] == ["x"]


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "x.yaml")
    (p,) = problems_of(tmp_path)
    assert p.message == "is a FIFO (named pipe), not a regular file; not read"


def test_a_device_named_directly_is_refused():
    raw, problem = yamlio.read_bytes(Path("/dev/zero"))
    assert raw is None and problem and "a character device" in problem.message


def test_a_file_over_the_limit_is_not_read(tmp_path):
    (tmp_path / "big.yaml").write_bytes(b"#" * (yamlio.MAX_BYTES + 1))
    (p,) = problems_of(tmp_path)
    assert "1,048,577 bytes; at most 1,048,576" in p.message


def test_a_folder_that_cannot_be_listed_is_a_problem(tmp_path):
    """A path longer than PATH_MAX cannot be listed even by root (chmod 000 can)."""
    fd = os.open(tmp_path, os.O_RDONLY)
    for _ in range(20):  # 20 x 251 characters: past Linux's 4096
        os.mkdir("d" * 250, dir_fd=fd)
        inner = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    (p,) = problems_of(tmp_path)
    assert p.field == "(folder)" and p.message.startswith("cannot list: File name too long")


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists any folder")
def test_an_unreadable_folder_is_a_problem(tmp_path):
    (tmp_path / "locked").mkdir(mode=0)
    try:
        (p,) = problems_of(tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert p.message.startswith("cannot list: Permission denied")


def test_other_files_are_skipped_with_a_warning(tmp_path):
    names = ["x.YAML", "x.yaml.txt", "x.yml~", "README", ".hidden.txt", "event.schema.json"]
    for name in names:
        (tmp_path / name).write_text("title: never read\n", "utf-8")
    warnings: list[store.Problem] = []
    assert store.load_events([tmp_path], warnings) == []
    assert sorted((Path(w.path).name, w.message) for w in warnings) == [
        (n, "skipped: not a .yaml/.yml file") for n in sorted(names[:4])]


def test_a_date_the_file_name_contradicts_is_a_warning(tmp_path):
    text = GOOD.read_text("utf-8").replace("date: 2020-11-26", "date: 2020-11-27", 1)
    (tmp_path / "2020-11-26-x.yaml").write_text(text, "utf-8")
    warnings: list[store.Problem] = []
    assert len(store.load_events([tmp_path], warnings)) == 1
    (w,) = warnings
    assert (w.field, w.message) == ("date", "2020-11-27 disagrees with the file name's date "
                                            "2020-11-26")


@pytest.mark.parametrize("text", ["a: &x 1\nb: *x\n", "a: &x [1]\n", "a: [*x]\n"])
def test_anchors_and_aliases_are_refused(text):
    docs, problems = yamlio.documents("f.yaml", text)
    assert docs == [] and "anchors and aliases" in problems[0].message


def test_ampersands_and_stars_in_text_are_fine():
    docs, problems = yamlio.documents("f.yaml", "url: 'https://x.org/?a=1&b=2'\nq: '*'\n")
    assert problems == [] and docs[0][1] == {"url": "https://x.org/?a=1&b=2", "q": "*"}


def test_nesting_at_the_limit_is_fine_and_one_deeper_is_not():
    ok = "[" * yamlio.MAX_DEPTH + "]" * yamlio.MAX_DEPTH
    assert yamlio.documents("f.yaml", ok)[1] == []
    deep = "[" + ok + "]"
    assert "nested more than 20" in yamlio.documents("f.yaml", deep)[1][0].message


def test_long_numbers_are_refused_short_ones_read():
    assert yamlio.documents("f.yaml", "n: " + "9" * 100)[0][0][1] == {"n": int("9" * 100)}
    (p,) = yamlio.documents("f.yaml", "a: 1\nn: -" + "9" * 5000)[1]
    assert (p.line, p.col) == (2, 4) and "5000 digits" in p.message
    assert "too long" in yamlio.documents("f.yaml", "n: 0x" + "f" * 5000)[1][0].message


def test_printable_shows_controls_and_keeps_tab_and_newline():
    assert printable("a\x1b]52;c;aGk=\x07\x1b[2J\r\x9b\u202e\udcff\tb\n") == (
        "a\\x1b]52;c;aGk=\\x07\\x1b[2J\\x0d\\u009b\\u202e\\udcff\tb\n")


def test_a_problem_prints_no_escape_sequences():
    p = yamlio.Problem("a\x1b[2J.yaml", 1, 1, "title", "bad \x1b]52;c;aGk=\x07")
    assert str(p) == "a\\x1b[2J.yaml:1:1: title: bad \\x1b]52;c;aGk=\\x07"


def test_a_file_of_endless_documents_is_refused_at_the_limit():
    docs, problems = yamlio.documents("f.yaml", "---\n[]\n" * (yamlio.MAX_DOCUMENTS + 5))
    assert docs == [] and problems[0].line == 2 * yamlio.MAX_DOCUMENTS + 2
    assert "more than 1,000 documents" in problems[0].message


@pytest.mark.parametrize("text", [
    "a: 1\nb: 0x1F\nc: 1_000\nd: 1:30\ne: .inf\nf: -.5e3\ng: yes\nh: ~\ni: ''\nj: '12'\n",
    "k: [1, 2.5, true, null, {x: y}]\nl: {1: one, 2.0: two, false: no, null: n}\n",
    "base: {a: 1}\nmerged: {<<: {a: 2}, b: 3}\n",  # a merge key: PyYAML's own rules
    "dup: 1\ndup: 2\n",  # PyYAML keeps the last; duplicate_keys reports it
    "s: !!set {a, b}\no: !!omap [{a: 1}]\nb: !!binary aGk=\nt: 2020-11-26\n",
    "? [complex, key]\n: value\n",
    "!!str 123\n",
    "- - - deep\n",
])
def test_the_fast_constructor_builds_what_pyyaml_builds(text):
    loader = yamlio._Loader(text)
    try:
        expected: object = loader.get_single_data()
    except yaml.YAMLError as exc:
        expected = type(exc)
    finally:
        loader.dispose()
    docs, problems = yamlio.documents("x.yaml", text)
    if problems:  # the same refusal (an unhashable key here), not a crash
        assert isinstance(expected, type) and issubclass(expected, yaml.YAMLError)
    else:
        assert docs[0][1] == expected and type(docs[0][1]) is type(expected)
