"""The pinned assets: inlined from verified tarballs, and the members a page uses kept
unpacked give exactly the same text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conflictmap.render import assets


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """A copy of the asset cache's tarballs, nothing unpacked, nothing remembered."""
    out = tmp_path / "npm"
    out.mkdir()
    for pkg in assets.PACKAGES:
        shutil.copy(assets.cache_dir() / pkg.tarball, out)
    monkeypatch.setattr(assets, "_READ", {})
    return out


def texts(folder: Path) -> list[str]:
    assets._READ.clear()
    bundle = assets.Bundle(folder)
    return [bundle.text(a) for a in assets.ASSETS]


def kept(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.members.json"))


def test_kept_members_give_the_tarballs_text(folder, monkeypatch):
    cold = texts(folder)
    assert len(kept(folder)) == len(assets.PACKAGES)
    warm = texts(folder)
    for f in kept(folder):
        f.unlink()
    monkeypatch.setattr(assets, "_needed", lambda pkg, files: set(files))  # all, as before
    assert cold == warm == texts(folder)
    css = {a.member: t for a, t in zip(assets.ASSETS, warm, strict=True)}
    assert "url(data:image/svg+xml;base64," in css["package/Control.FullScreen.css"]
    assert "url(data:image/png;base64," in css["package/dist/leaflet.css"]


def test_damaged_kept_members_are_ignored_and_rewritten(folder):
    first = texts(folder)
    for f in kept(folder):
        data = bytearray(f.read_bytes())
        data[-10] ^= 0x01
        f.write_bytes(bytes(data))
    assert texts(folder) == first
    assert texts(folder) == first  # and read back whole


def test_a_new_asset_of_a_kept_package_is_unpacked_again(folder, monkeypatch):
    texts(folder)
    extra = assets.Asset("https://example.invalid/leaflet-src.js", assets.LEAFLET,
                         "package/dist/leaflet-src.js")
    monkeypatch.setattr(assets, "ASSETS", [*assets.ASSETS, extra])
    assets._READ.clear()
    assert "Leaflet" in assets.Bundle(folder).text(extra)
    assert len(kept(folder)) == len(assets.PACKAGES)  # the old list's file went


def test_a_tarball_off_its_pin_is_refused_even_with_its_members_kept(folder):
    texts(folder)
    tarball = folder / assets.LEAFLET.tarball
    tarball.write_bytes(tarball.read_bytes() + b"\0")
    with pytest.raises(assets.AssetError, match="does not match the pin"):
        texts(folder)
    tarball.unlink()
    with pytest.raises(assets.AssetError, match="conflictmap assets fetch"):
        assets.Bundle(folder).check()
