"""GeoParquet datasets: the streamed import gives the rows the whole-file import gives, the
files are GeoParquet 1.1 with a bbox covering that plain geopandas reads, a failed write
leaves nothing behind, and the chunk reader filters by day and box."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest

from conflictmap import ingest
from conflictmap.chunks import iter_chunks
from conflictmap.dataset import read_records
from conflictmap.geoparquet import STAGING, parts

from .scaledata import acled_rows

N = 2_400


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, object]:
    """One CSV imported whole into a GPKG and streamed (chunks of 700 rows) into GeoParquet."""
    base = tmp_path_factory.mktemp("gpq")
    src = acled_rows(N, base / "acled.csv")
    whole = ingest.import_to_dataset("acled", src, base / "whole.gpkg")
    streamed = ingest.import_to_dataset("acled", src, base / "streamed.parquet",
                                        chunk_rows=700)
    return {"base": base, "src": src, "whole": whole, "streamed": streamed}


def comparable(frame: pd.DataFrame) -> dict[str, list[object]]:
    """Columns as plain values (None for every kind of null), rows by id."""
    frame = frame.sort_values("id").reset_index(drop=True)
    return {c: [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v
                for v in frame[c].astype(object)] for c in frame.columns}


def test_streamed_import_keeps_and_skips_the_rows_the_whole_import_does(made):
    whole, streamed = made["whole"], made["streamed"]
    assert streamed.rows == whole.rows == N - 2
    assert [str(s) for s in streamed.skipped] == [str(s) for s in whole.skipped]
    assert any("already on line" in s.reason for s in streamed.skipped)  # across chunks
    a = comparable(read_records(made["base"] / "whole.gpkg").drop(
        columns=["origin_path", "origin_line"]))
    b = comparable(read_records(made["base"] / "streamed.parquet").drop(
        columns=["origin_path", "origin_line"]))
    assert a.keys() == b.keys()
    for column in a:
        assert a[column] == b[column], column
    assert any("Սոթք" in (loc.get("name") or "") for loc in b["location"])


def test_parts_are_geoparquet_1_1_partitioned_by_year_and_read_back_plainly(made):
    folder = made["base"] / "streamed.parquet"
    files = parts(folder)
    assert {Path(f).parent.name for f in files} == {"2019", "2020", "2021"}
    for f in files:
        geo = json.loads(pq.read_schema(f).metadata[b"geo"])
        column = geo["columns"][geo["primary_column"]]
        assert geo["version"] == "1.1.0" and column["encoding"] == "WKB"
        assert column["covering"]["bbox"] == {"xmin": ["bbox", "xmin"],
                                              "ymin": ["bbox", "ymin"],
                                              "xmax": ["bbox", "xmax"],
                                              "ymax": ["bbox", "ymax"]}
        assert column["crs"]["id"] == {"authority": "EPSG", "code": 4326}
        year = Path(f).parent.name
        assert pq.read_table(f, columns=["date"]).column("date").to_pylist()[0][:4] == year
    back = gpd.read_parquet(folder)  # plain geopandas, the whole folder at once
    assert len(back) == N - 2 and back.crs.to_epsg() == 4326
    records = read_records(folder).set_index("id")
    loc = records.loc[back["id"], "location"]
    assert np.allclose(back.geometry.x, [v["lon"] for v in loc])
    assert np.allclose(back.geometry.y, [v["lat"] for v in loc])


@pytest.mark.skipif("Parquet" not in pyogrio.list_drivers(),
                    reason="this pyogrio's GDAL has no Parquet driver (the PyPI wheels lack it)")
def test_pyogrio_reads_the_parts(made):
    f = parts(made["base"] / "streamed.parquet")[0]
    assert len(pyogrio.read_dataframe(f)) == pq.read_metadata(f).num_rows


def test_a_failed_import_leaves_no_dataset_and_no_staging(made, tmp_path):
    src = tmp_path / "broken.csv"
    data = made["src"].read_bytes()
    cut = data.index(b"\n", len(data) * 3 // 4)  # past the first chunks, already written
    src.write_bytes(data[:cut] + b"\n\xff\xfe" + data[cut:])
    with pytest.raises(ingest.DatasetFileError, match="not UTF-8"):
        ingest.import_to_dataset("acled", src, tmp_path / "out.parquet", chunk_rows=500)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.csv"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGING)]


def test_an_existing_dataset_is_never_replaced_by_an_import(made):
    target = made["base"] / "streamed.parquet"
    before = {f: Path(f).stat().st_mtime_ns for f in parts(target)}
    with pytest.raises(FileExistsError):
        ingest.import_to_dataset("acled", made["src"], target)
    assert {f: Path(f).stat().st_mtime_ns for f in parts(target)} == before


@pytest.mark.parametrize("name", ["streamed.parquet", "whole.gpkg"])
def test_chunks_are_bounded_and_filtered_by_day_and_box(made, name):
    path = made["base"] / name
    everything = list(iter_chunks(path, chunk_rows=500))
    assert all(len(c) <= 500 for c in everything)
    assert sum(len(c) for c in everything) == N - 2
    box = (45.2, 39.8, 45.9, 40.5)
    got = pd.concat(list(iter_chunks(path, columns=["id", "date"], start=date(2020, 3, 1),
                                     end=date(2020, 3, 31), bbox=box, chunk_rows=100)))
    assert list(got.columns) == ["id", "date", "geometry"]
    whole = pd.concat(everything)
    day = whole["date"].str.slice(0, 10)
    x, y = whole.geometry.x, whole.geometry.y
    want = whole[(day >= "2020-03-01") & (day <= "2020-03-31") & (x >= box[0]) & (x <= box[2])
                 & (y >= box[1]) & (y <= box[3])]
    assert 0 < len(want) < len(whole) / 10
    assert sorted(got["id"]) == sorted(want["id"])


def test_fsspec_urls_are_read_and_written(made):
    """memory:// stands for s3:// or gs://: the same fsspec calls, no credentials."""
    fsspec = pytest.importorskip("fsspec")
    url = "memory://conflictmap-test/acled.parquet"
    try:
        report = ingest.import_to_dataset("acled", made["src"], url, chunk_rows=1000)
        assert report.rows == N - 2
        assert len(read_records(url)) == N - 2
        assert sum(len(c) for c in iter_chunks(url, columns=["id"])) == N - 2
        with pytest.raises(FileExistsError):
            ingest.import_to_dataset("acled", made["src"], url)
    finally:
        fsspec.filesystem("memory").rm("/conflictmap-test", recursive=True)


@pytest.mark.parametrize("suffix", [".parquet", ".gpkg"])
def test_a_record_with_a_place_name_and_no_point_keeps_no_point(tmp_path, suffix):
    """Our own CSV carries the record's location as written (a name to geocode): the dataset
    row gets no point rather than a crash or an invented one."""
    from conflictmap.export import export
    from conflictmap.pipeline import build

    from .conftest import DATA, ROOT

    result = build(DATA / "optional" / "none", ROOT / "geodata" / "layers.yaml")
    csv_file = export(result, "csv", tmp_path / "own.csv")
    target = tmp_path / f"own{suffix}"
    assert ingest.import_to_dataset("acled", csv_file, target).rows == len(result.frame)
    back = read_records(target).set_index("id")
    loc = back.at["2020-11-26-bare", "location"]
    assert loc.get("name") and "lat" not in loc
    frame = pd.concat(list(iter_chunks(target))).set_index("id")
    assert frame.geometry["2020-11-26-bare"] is None
