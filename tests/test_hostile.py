"""Issue #13: no input ends in a traceback. Every hostile file, through the real executable:
`validate` and `build` exit 1 naming the file (0 with warnings for what is only doubtful)."""

from __future__ import annotations

import json
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


def test_a_count_past_64_bits_is_refused_by_name_with_the_limit():
    """Tables (GPKG, Parquet) and the page hold whole numbers in 64 bits: a larger count was a
    traceback in the page or in events.geojson; now the record is refused, on its line."""
    r = run("validate", BAD / "fatalities-too-large.yaml")
    assert r.returncode == 1
    assert ("fatalities-too-large.yaml:6:1: fatalities: 100000000000000000000 is too large: "
            "at most 9,223,372,036,854,775,807") in r.stderr


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


# --- layer and gazetteer corpora: run in-process through `cli.main` (the real entry point and
# error handling, without an interpreter start per command), so ~30 files x 3 commands stay cheap

def cli(*args: str | Path) -> tuple[int, str]:
    """`conflictmap ARGS` through cli.main in this process: exit code and stderr."""
    import contextlib
    import io

    from conflictmap import cli as entry

    err = io.StringIO()
    argv = sys.argv
    sys.argv = ["conflictmap", *map(str, args)]
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                entry.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
    return code, err.getvalue()


def checked(code_err: tuple[int, str], name: str, where: str = "") -> None:
    code, err = code_err
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == 1, err
    assert name in err and (not where or where in err), err


BAD_LAYERS = DATA / "bad-layers"


def _local_crs(folder: Path) -> str:
    """A shapefile in an engineering CRS: no datum, so no way to WGS84."""
    import geopandas as gpd
    from shapely.geometry import box

    gpd.GeoDataFrame({"name": ["A"]}, geometry=[box(0, 0, 1000, 1000)],
                     crs='LOCAL_CS["Unknown",UNIT["metre",1]]').to_file(folder / "local.shp")
    return "local.shp"


def _binary(folder: Path) -> str:
    (folder / "binary.geojson").write_bytes(bytes(range(256)) * 8)
    return "binary.geojson"


def _gpkg_without_layers(folder: Path) -> str:
    """A real GeoPackage whose only layer was dropped (as `DROP TABLE` in a SQL tool leaves it)."""
    import sqlite3

    import geopandas as gpd
    from shapely.geometry import box

    path = folder / "empty.gpkg"
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[box(45, 40, 46, 41)], crs=4326).to_file(
        path, layer="x")
    con = sqlite3.connect(path)
    con.executescript("DROP TABLE x; DELETE FROM gpkg_geometry_columns; "
                      "DELETE FROM gpkg_contents;")
    con.close()
    return "empty.gpkg"


LAYER_GENERATED = {"local-crs": _local_crs, "binary": _binary, "gpkg-without-layers":
                   _gpkg_without_layers}


def _bad_layer(case: str, folder: Path) -> Path:
    if case in LAYER_GENERATED:
        return folder / LAYER_GENERATED[case](folder)
    return BAD_LAYERS / case


def _manifest_with(folder: Path, layer: Path) -> Path:
    """A manifest that holds the bad layer as if written by hand (past `layers add`)."""
    manifest = folder / "m" / "layers.yaml"
    manifest.parent.mkdir()
    manifest.write_text(f"layers:\n  - name: bad\n    path: {json.dumps(str(layer))}\n"
                        "    kind: admin1\n    name_field: name\n    source: s\n"
                        "    licence: l\n    accuracy_km: 1\n", "utf-8")
    return manifest


@pytest.mark.parametrize("case", sorted([p.name for p in BAD_LAYERS.glob("*.geojson")]
                                        + list(LAYER_GENERATED)))
def test_every_bad_layer_is_refused_by_add_check_and_build(case, tmp_path):
    layer = _bad_layer(case, tmp_path)
    target = tmp_path / "layers.yaml"
    checked(cli("layers", "add", layer, "--name", "bad", "--kind", "admin1", "--name-field",
                "name", "--source", "s", "--licence", "l", "--manifest", target), layer.name,
            f"{layer}:1:1: ")
    assert not target.exists()
    manifest = _manifest_with(tmp_path, layer)
    checked(cli("layers", "check", "--manifest", manifest, "--events", GOOD), layer.name,
            f"{manifest}:2:1: ")  # the line its entry starts on
    checked(cli("build", "--manifest", manifest, "--events", GOOD, "--out", tmp_path / "out"),
            layer.name, f"{manifest}:2:1: ")
    assert not (tmp_path / "out").exists()


def test_a_name_field_named_like_our_columns_is_a_layer_like_any(tmp_path):
    """`--name-field layer` crashed `layers add`; the file's own `kind` column is kept."""
    layer = tmp_path / "x.geojson"
    layer.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"layer": "Zone A", "kind": "own"}, "geometry": {
            "type": "Polygon", "coordinates": [[[45, 40], [45.1, 40], [45.1, 40.1], [45, 40]]]}}]}))
    manifest = tmp_path / "layers.yaml"
    assert cli("layers", "add", layer, "--name", "zones", "--kind", "custom", "--name-field",
               "layer", "--source", "s", "--licence", "l", "--manifest", manifest)[0] == 0
    from conflictmap.layerio import load_layers

    frame = load_layers(manifest)["zones"].frame
    assert (frame.at[0, "name"], frame.at[0, "layer"], frame.at[0, "file_kind"]) == (
        "Zone A", "zones", "own")


BAD_GAZETTEER = DATA / "bad-gazetteer"


def _project_with_gazetteer(folder: Path, gazetteer: Path) -> Path:
    """The bundled layers (by absolute path) with a broken gazetteer.yaml beside the manifest."""
    import re

    geo = folder / "geodata"
    geo.mkdir()
    text = (ROOT / "geodata" / "layers.yaml").read_text("utf-8")
    geo.joinpath("layers.yaml").write_text(re.sub(
        r"(?m)^(\s*path: )(.+)$", lambda m: m[1] + str(ROOT / "geodata" / m[2]), text), "utf-8")
    geo.joinpath("gazetteer.yaml").write_bytes(gazetteer.read_bytes())
    return geo / "layers.yaml"


@pytest.mark.parametrize("name", sorted(p.name for p in BAD_GAZETTEER.glob("*.yaml")))
def test_every_bad_gazetteer_fails_geocode_validate_and_build(name, tmp_path):
    manifest = _project_with_gazetteer(tmp_path, BAD_GAZETTEER / name)
    where = f"{manifest.parent / 'gazetteer.yaml'}:"
    checked(cli("geocode", "Sotk", "--manifest", manifest), "gazetteer.yaml", where)
    checked(cli("validate", GOOD, "--manifest", manifest), "gazetteer.yaml", where)
    checked(cli("build", "--events", GOOD, "--manifest", manifest, "--out", tmp_path / "out"),
            "gazetteer.yaml", where)
    assert not (tmp_path / "out").exists()


def test_a_name_field_the_layer_lacks_is_refused_naming_what_it_has(tmp_path):
    good = ROOT / "geodata" / "handover.geojson"
    checked(cli("layers", "add", good, "--name", "x", "--kind", "handover", "--name-field",
                "nosuch", "--source", "s", "--licence", "l", "--manifest", tmp_path / "m.yaml"),
            "attribute 'nosuch' not in handover.geojson (has: name, iso, handover_date")


# --- dataset paths that are not datasets, and outputs the system refuses: exit 1 naming the
# path and the way out, never "internal error"

def _dataset_cases(folder: Path) -> dict[str, tuple[Path, str]]:
    import geopandas as gpd
    from shapely.geometry import Point

    (folder / "folder.gpkg").mkdir()
    (folder / "export.csv").write_text("event_id_cnty,event_date\nX1,2020-01-01\n", "utf-8")
    (folder / "empty.gpkg").write_bytes(b"")
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(45, 40)], crs=4326).to_file(
        folder / "other.gpkg", layer="places")
    (folder / "file.parquet").write_bytes(b"PAR1")
    return {"missing": (folder / "missing.gpkg", "no such dataset"),
            "folder": (folder / "folder.gpkg", "a folder"),
            "csv": (folder / "export.csv", "import it first"),
            "empty": (folder / "empty.gpkg", "not a GeoPackage"),
            "other-table": (folder / "other.gpkg", "no 'events' table (it has places)"),
            "missing-parquet": (folder / "missing.parquet", "no such dataset"),
            "parquet-file": (folder / "file.parquet", "not a Parquet file")}


def test_a_path_that_is_no_dataset_is_refused_by_every_command(tmp_path):
    (tmp_path / "none").mkdir()
    for case, (path, why) in _dataset_cases(tmp_path).items():
        for args in (["build", "--out", tmp_path / "out"],
                     ["export", "--format", "geojson", "--out", tmp_path / "e.geojson"],
                     ["enrich"], ["enrich", "--out", tmp_path / "e.parquet"]):
            checked(cli(*args, "--events", tmp_path / "none", "--dataset", path), path.name,
                    why)
        assert not (tmp_path / "out").exists() and not (tmp_path / "e.geojson").exists(), case


def test_an_output_folder_the_system_refuses_is_named(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:  # root writes through permissions: make it immutable instead
        if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode:
            pytest.skip("chattr +i not available on this filesystem")
    else:
        locked.chmod(0o555)
    try:
        for args in (["build", "--out", locked],
                     ["export", "--format", "gpkg", "--out", locked / "x.gpkg"]):
            checked(cli(*args), "locked", "cannot write there")
        assert not any(locked.iterdir())
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(locked)], check=True)
        locked.chmod(0o755)
