"""The static figure: `conflictmap figure` and `figure.plot`, checked by the figure's own
artists (gids, legend texts, renderer boxes), not by pixels; one figure shared by the
module keeps this under ~15 s."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from PIL import Image

from conflictmap import figure
from conflictmap.model import ACLED_TYPES
from conflictmap.pipeline import Result, build
from conflictmap.render.map import controller_colors

from .conftest import ROOT

EXE = Path(sys.executable).with_name("conflictmap")
DAY = date(2020, 11, 26)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def result() -> Result:
    return build(ROOT / "events", ROOT / "geodata" / "layers.yaml")


@pytest.fixture(scope="module")
def fig(result: Result) -> Figure:
    return figure.plot(result.frame, date=DAY, layers=result.layers, timeline=result.timeline)


def by_gid(fig: Figure, gid: str) -> list:
    return fig.findobj(lambda a: a.get_gid() == gid)


def test_cli_writes_a_png_of_the_column_size_at_300_dpi(tmp_path: Path) -> None:
    out = tmp_path / "fig.png"
    proc = run("figure", "--date", "2020-11-26", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    with Image.open(out) as img:
        assert img.format == "PNG"
        assert img.size == figure.SIZES["column"].pixels == (1051, 1417)
        assert round(img.info["dpi"][0]) == 300


def test_a_wrong_date_is_said_plainly_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "fig.png"
    proc = run("figure", "--date", "2020-11-31", "--out", str(out))
    assert proc.returncode == 1
    assert "--date: '2020-11-31' is not a date" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not out.exists() and not list(tmp_path.iterdir())


def test_the_four_panels_and_the_furniture_are_there(fig: Figure) -> None:
    axes = {ax.get_gid() for ax in fig.axes}
    assert {"map", "timeline", "legend", "inset"} <= axes
    for gid in ("scalebar", "scalebar-label", "north-arrow", "north-arrow-label",
                "attribution", "date-mark", "date-label", "handover:Kalbajar"):
        assert by_gid(fig, gid), gid
    (credit,) = by_gid(fig, "attribution")
    text = credit.get_text().replace("\n", " ")
    for source in ("Natural Earth (public domain)", "GeoNames (CC BY 4.0)",
                   "dates CC BY 4.0 conflictmap"):
        assert source in text
    bars = {a.get_gid() for a in fig.findobj() if str(a.get_gid()).startswith("bars:")}
    assert bars == {"bars:Strategic developments"}


def test_districts_are_coloured_by_who_held_them_that_day(fig: Figure, result: Result) -> None:
    colors = controller_colors(result.timeline)
    held = {}
    for name in result.timeline.areas:
        (patch,) = by_gid(fig, f"handover:{name}")
        face = to_rgb(patch.get_facecolor()[0])
        assert face == to_rgb(colors[result.timeline.controller(name, DAY)])
        held[name] = face
    # Kalbajar went back on the 25th, Lachin only on 1 December
    assert held["Kalbajar"] == to_rgb(colors["Azerbaijan"])
    assert held["Lachin"] == to_rgb(colors["Armenia"])


def test_no_two_texts_overlap(fig: Figure) -> None:
    shown = figure.texts(fig)
    assert len(shown) > 25  # labels, ticks, legends, furniture: the check has work to do
    assert {t.get_gid() for t in shown} >= {"label:country", "label:district", "title"}
    assert figure.collisions(fig) == []


def test_the_overlap_check_sees_an_overlap() -> None:
    f = Figure(figsize=(2, 1), dpi=100)
    f.text(0.1, 0.5, "Kalbajar")
    f.text(0.15, 0.5, "Lachin")
    f.text(0.1, 0.1, "alone")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(f)
    assert [(a.get_text(), b.get_text()) for a, b in figure.collisions(f)] == [
        ("Kalbajar", "Lachin")]


def test_the_legend_lists_the_types_present_and_svg_is_the_same_twice(result: Result) -> None:
    frame = result.frame.copy()
    kinds = ["Battles", "Protests", "Strategic developments"]
    frame["event_type"] = [kinds[i % 3] for i in range(len(frame))]
    frame.loc[0, "side_uncertain"] = True
    made = [figure.plot(frame, date="2020-12-01", size="page", layers=result.layers,
                        timeline=result.timeline, towns=False) for _ in range(2)]
    (legend,) = by_gid(made[0], "legend-types")
    assert [t.get_text() for t in legend.get_texts()] == [t for t in ACLED_TYPES if t in kinds]
    assert by_gid(made[0], "side-uncertain")
    assert figure.collisions(made[0]) == []
    svg = [figure.to_bytes(f, "svg") for f in made]
    assert svg[0] == svg[1] and svg[0].startswith(b"<?xml")


def test_bad_arguments_to_plot(result: Result) -> None:
    with pytest.raises(figure.FigureError, match="not a date"):
        figure.plot(result.frame, date="26/11/2020", layers=result.layers)
    with pytest.raises(figure.UsageError, match="--size"):
        figure.plot(result.frame, size="poster", layers=result.layers)
    with pytest.raises(figure.FigureError, match="no events"):
        figure.plot(result.frame.iloc[:0], layers=result.layers)
