"""Boundary layers as declared data: a YAML manifest, read with GDAL, checked, cached.

Analysts bring their own layers (geoBoundaries, GADM, a hand-drawn line of contact), so what a
layer is and where it came from lives in `geodata/layers.yaml`, not in code.
"""

from __future__ import annotations

import glob
import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pyproj
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import layercache
from .atomic import write_atomic
from .errors import ConflictmapError
from .model import ID_PATTERN, Event
from .yamlio import Problem, load_yaml, locate, read_bytes, validation_problems

MANIFEST = Path("geodata/layers.yaml")
COMMON = ["layer", "name", "iso", "kind", "source"]
AREAS = ("Polygon", "MultiPolygon")
LINES = ("LineString", "MultiLineString")


class Kind(StrEnum):
    country = "country"
    admin1 = "admin1"
    admin2 = "admin2"
    disputed = "disputed"
    handover = "handover"
    line = "line"
    water = "water"  # context only (lakes): drawn and labelled, never joined
    custom = "custom"


class LayerSpec(BaseModel):
    """One manifest entry: where a layer is, what it is, and whose it is."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True, str_strip_whitespace=True)

    name: str = Field(pattern=ID_PATTERN)
    title: str = ""
    path: str = Field(min_length=1)
    kind: Kind
    name_field: str = Field(min_length=1)
    iso_field: str | None = None
    source: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    accuracy_km: float = Field(gt=0, le=1000)
    style: dict[str, str | int | float] = Field(default_factory=dict)


# the geometry each kind of layer is made of (enrichment joins points to areas, measures to lines)
GEOMETRY = {Kind.country: AREAS, Kind.admin1: AREAS, Kind.admin2: AREAS, Kind.disputed: AREAS,
            Kind.handover: AREAS, Kind.line: LINES + AREAS}


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layers: list[LayerSpec] = Field(default_factory=list)


class LayerError(ConflictmapError):
    """Raised with every problem found in a manifest or its layers."""


@dataclass(frozen=True)
class Layer:
    spec: LayerSpec
    file: Path
    frame: gpd.GeoDataFrame  # WGS84; columns COMMON + the file's own attributes
    repaired: int  # invalid geometries repaired with make_valid


def read_manifest(path: Path = MANIFEST, raw: bytes | None = None,
                  ) -> tuple[Manifest, list[Problem]]:
    """The manifest's layer entries (from `raw`, its bytes, when the caller has read them)."""
    docs, problems = load_yaml(path, raw=raw)
    if problems:
        return Manifest(), problems
    if len(docs) != 1 or not isinstance(docs[0][1], dict):
        return Manifest(), [Problem(str(path), 1, 1, "(manifest)",
                                    "expected one mapping with a `layers:` list")]
    node, data = docs[0]
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        return Manifest(), validation_problems(str(path), node, exc)
    seen: set[str] = set()
    for i, spec in enumerate(manifest.layers):
        if spec.name in seen:
            problems.append(Problem(str(path), 1, 1, f"layers[{i}].name",
                                    f"duplicate layer name {spec.name!r}"))
        seen.add(spec.name)
    return manifest, problems


def _read(spec: LayerSpec, file: Path) -> tuple[gpd.GeoDataFrame | None, list[str]]:
    """The file as WGS84 features, or the reasons it cannot be used."""
    if not file.exists():
        return None, [f"file not found: {file}"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pyogrio.read_dataframe(file, datetime_as_string=True)
    except Exception as exc:  # GDAL raises several types; all mean "cannot read"
        if _is_sqlite(file):
            return None, [f"{file.name}: a GeoPackage (SQLite) file with no layer GDAL can "
                          "read; was its table dropped?"]
        return None, [f"GDAL cannot read {file.name}: {exc}"]
    if isinstance(frame, gpd.GeoDataFrame) and len(frame) == 0:
        return None, [f"{file.name} has no features"]
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.isna().all():
        return None, [f"{file.name} has no geometry: not a spatial layer"]
    if frame.crs is None:
        return None, [f"{file.name} has no CRS: add a .prj or write it with one "
                      "(GeoJSON is WGS84 by definition)"]
    missing = [f for f in (spec.name_field, spec.iso_field) if f and f not in frame.columns]
    if missing:
        has = ", ".join(map(str, frame.columns[:-1]))
        return None, [f"attribute {m!r} not in {file.name} (has: {has})" for m in missing]
    errors = _shape_problems(spec, file, frame)
    return (None, errors) if errors else (frame, [])


def _is_sqlite(file: Path) -> bool:
    try:
        with file.open("rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def entry_lines(manifest: Path) -> list[int]:
    """The line each manifest entry starts on, so a layer's problems point at its entry."""
    docs, problems = load_yaml(manifest)
    if problems or len(docs) != 1 or not isinstance(docs[0][1], dict):
        return []
    node, data = docs[0]
    layers = data.get("layers")
    count = len(layers) if isinstance(layers, list) else 0
    return [locate(node, ("layers", i))[0].start_mark.line + 1 for i in range(count)]


def _features(mask: Any) -> str:
    """"features 2, 5" (1-based, as a person counts them in the file), at most five."""
    rows = [str(i + 1) for i in mask.to_numpy().nonzero()[0][:5]]
    more = ", ..." if int(mask.sum()) > 5 else ""
    return f"feature{'s' if len(rows) > 1 else ''} {', '.join(rows)}{more}"


def _shape_problems(spec: LayerSpec, file: Path, frame: gpd.GeoDataFrame) -> list[str]:
    """What makes a readable file unusable as this kind of layer: features without geometry,
    the wrong geometry for the kind, names that are not text."""
    out = []
    empty = frame.geometry.isna() | frame.geometry.is_empty
    if empty.any():
        out.append(f"{file.name}: {_features(empty)} {'have' if empty.sum() > 1 else 'has'} "
                   "no geometry; remove or draw them")
    allowed = GEOMETRY.get(Kind(spec.kind))
    types = frame.geometry.geom_type
    wrong = ~empty & ~types.isin(allowed) if allowed else empty & False
    if wrong.any():
        found = ", ".join(sorted(set(types[wrong].astype(str))))
        out.append(f"{file.name}: {spec.kind} layers are made of {' or '.join(allowed)}; "
                   f"{_features(wrong)} {'are' if wrong.sum() > 1 else 'is'} {found}")
    names = frame[spec.name_field]
    text = names.map(lambda v: v is None or v != v or isinstance(v, str))
    if not text.all():
        sample = names[~text].iloc[0]
        out.append(f"{file.name}: attribute {spec.name_field!r} holds "
                   f"{type(sample).__name__} values (like {str(sample)[:40]!r}), not names; "
                   "--name-field names the attribute with each feature's name")
    return out


def layer_file(spec: LayerSpec, base: Path) -> Path:
    """The file a layer names: relative to the manifest's folder unless absolute."""
    return (base / spec.path) if not Path(spec.path).is_absolute() else Path(spec.path)


def load_layer(spec: LayerSpec, base: Path) -> tuple[Layer | None, list[str]]:
    file = layer_file(spec, base)
    frame, errors = _read(spec, file)
    if frame is None:
        return None, errors
    try:
        frame = frame.to_crs(4326)
    except (pyproj.exceptions.CRSError, pyproj.exceptions.ProjError):
        return None, [f"{file.name}: its CRS ({frame.crs.name}) cannot be converted to WGS84 "
                      "longitude/latitude; write the file in a CRS with a datum"]
    bounds = frame.geometry.bounds
    outside = ~(bounds["minx"].ge(-180 - 1e-6) & bounds["maxx"].le(180 + 1e-6)
                & bounds["miny"].ge(-90 - 1e-6) & bounds["maxy"].le(90 + 1e-6))
    outside &= frame.geometry.notna() & ~frame.geometry.is_empty
    if outside.any():
        verb = "lie" if outside.sum() > 1 else "lies"
        return None, [f"{file.name}: {_features(outside)} {verb} outside the world's longitude"
                      " and latitude (huge, infinite or swapped coordinates, or the wrong CRS)"]
    invalid = ~frame.geometry.is_valid & frame.geometry.notna()
    if invalid.any():
        frame.loc[invalid, "geometry"] = shapely.make_valid(frame.geometry[invalid].values)
    names = frame[spec.name_field].astype("string")
    dup = names[names.duplicated(keep=False) & names.notna()]
    if names.isna().any():
        errors.append(f"{file.name}: {_features(names.isna())} "
                      f"{'have' if names.isna().sum() > 1 else 'has'} no {spec.name_field!r}")
    if len(dup):
        errors.append(f"{file.name}: names not unique in {spec.name_field!r}: "
                      + ", ".join(sorted(set(dup.astype(str)))))
    # the file's own columns named like ours: a key field is carried as `name`/`iso`, any
    # other keeps its values under `file_<name>` instead of being lost
    keys = {spec.name_field, spec.iso_field}
    clash = [c for c in COMMON if c in frame.columns]
    out = frame.drop(columns=[c for c in clash if c in keys]).rename(
        columns={c: f"file_{c}" for c in clash if c not in keys})
    out.insert(0, "layer", spec.name)
    out["name"] = names
    out["iso"] = frame[spec.iso_field].astype("string") if spec.iso_field else None
    out["kind"] = spec.kind
    out["source"] = spec.source
    out = out[COMMON + [c for c in out.columns if c not in COMMON]]
    return Layer(spec, file, gpd.GeoDataFrame(out, geometry="geometry", crs=4326),
                 int(invalid.sum())), errors


class LayerSet(dict[str, Layer]):
    """The layers of a manifest by name; `key` names the set in `layercache` (None when it is
    not kept there), so what is made of the layers can be kept too."""

    key: str | None = None


_CACHE: dict[tuple[Path, float], LayerSet] = {}


def load_layers(manifest: Path = MANIFEST) -> LayerSet:
    """Every layer of the manifest, WGS84, cached per process (keyed by the manifest's mtime)
    and between runs (`layercache`, keyed by the bytes of the manifest and its files).

    Raises LayerError with all problems; repaired geometries are kept and reported by `check`.
    """
    manifest = manifest.resolve()
    key = (manifest, manifest.stat().st_mtime if manifest.exists() else 0.0)
    if key in _CACHE:
        return _CACHE[key]
    # parsed and hashed from the same bytes, so the entries always match the stored layers
    raw, _ = read_bytes(manifest)
    spec_list, problems = read_manifest(manifest, raw)
    layers = LayerSet()
    files = [layer_file(spec, manifest.parent) for spec in spec_list.layers]
    if not problems and files and raw is not None:
        layers.key = layercache.key_of(manifest, raw, files)
    stored = layercache.load(layers.key, len(files)) if layers.key else None
    if stored is not None:
        for spec, file, (frame, repaired) in zip(spec_list.layers, files, stored, strict=True):
            layers[spec.name] = Layer(spec, file, frame, repaired)
        _CACHE[key] = layers
        return layers
    lines = entry_lines(manifest) if spec_list.layers else []
    for i, spec in enumerate(spec_list.layers):
        layer, errors = load_layer(spec, manifest.parent)
        line = lines[i] if i < len(lines) else 1
        problems += [Problem(str(manifest), line, 1, f"layers[{i}] {spec.name}", e)
                     for e in errors]
        if layer is not None:
            layers[spec.name] = layer
    if problems:
        raise LayerError(problems)
    # GDAL read the files apart from the hashing: one saved in between (an editor, `build
    # --watch`) must not pair its old key with its new layers, so the key is taken again
    if layers.key is not None and (layercache.key_of(manifest, raw, files) != layers.key
                                   or not layercache.save(layers.key, [
                                       (lyr.frame, lyr.repaired) for lyr in layers.values()])):
        layers.key = None  # changed while read, or not kept: nothing is made under its key
    _CACHE[key] = layers
    return layers


def of_kind(layers: dict[str, Layer], kind: str) -> list[Layer]:
    return [lyr for lyr in layers.values() if lyr.spec.kind == kind]


@dataclass(frozen=True)
class Report:
    name: str
    kind: str
    features: int
    bbox: tuple[float, float, float, float] | None
    licence: str
    problems: list[str]
    line: int = 1  # where its entry starts in the manifest


def check(
    manifest: Path = MANIFEST, events: Iterable[Event] = ()
) -> tuple[list[Report], list[Problem]]:
    """Validate every layer, and handover dates against the control-change events."""
    spec_list, problems = read_manifest(manifest)
    reports: list[Report] = []
    by_area = {e.control_change.area: e for e in events if e.control_change}
    lines = entry_lines(manifest) if spec_list.layers else []
    for i, spec in enumerate(spec_list.layers):
        layer, errors = load_layer(spec, manifest.parent)
        if layer is not None:
            if layer.repaired:
                plural = "y" if layer.repaired == 1 else "ies"
                errors.append(f"{layer.repaired} invalid geometr{plural}"
                              " (repaired with make_valid on load; fix the file)")
            if spec.kind == "handover":
                errors += _handover_mismatches(layer.frame, by_area)
        rows = 0 if layer is None else len(layer.frame)
        bbox = (None if layer is None or not rows
                else tuple(round(v, 3) for v in layer.frame.total_bounds))
        reports.append(Report(spec.name, spec.kind, rows, bbox, spec.licence, errors,
                              lines[i] if i < len(lines) else 1))
    return reports, problems


def iso_day(value: object) -> date | None:
    """The calendar day an ISO date (or datetime) text names, or None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _handover_mismatches(frame: gpd.GeoDataFrame, by_area: dict[str, Event]) -> list[str]:
    out = []
    if "handover_date" not in frame.columns:
        return ["handover layer needs a `handover_date` attribute"]
    for row in frame.drop(columns="geometry").to_dict("records"):
        name, when = row["name"], row["handover_date"]
        out += _since_problems(name, when, row)
        ev = by_area.get(str(name))
        if ev is None:
            out.append(f"{name}: no control-change event in events/ for this area")
            continue
        if str(when)[:10] != ev.day.isoformat():
            out.append(f"{name}: handover_date {str(when)[:10]} but event {ev.id} "
                       f"says {ev.day.isoformat()}")
    return out


SINCE_PRECISIONS = ("day", "month")


def _given(value: object) -> bool:
    """An attribute GDAL read back as set: not null, not NaN, not empty text."""
    return value is not None and value == value and value != ""


def _since_problems(name: object, when: object, row: dict[str, Any]) -> list[str]:
    """`from_since` (when the `from` side's control began), if given: an ISO date before the
    handover, with a source and a precision the timeline can state."""
    since = row.get("from_since")
    if not _given(since):
        return []
    day, handover = iso_day(since), iso_day(when)
    if day is None:
        return [f"{name}: from_since {since!r} is not an ISO date (YYYY-MM-DD)"]
    out = []
    if handover is not None and day >= handover:
        out.append(f"{name}: from_since {day.isoformat()} is not before handover_date "
                   f"{handover.isoformat()}")
    if not _given(row.get("from_since_source")):
        out.append(f"{name}: from_since {day.isoformat()} has no from_since_source")
    precision = row.get("from_since_precision")
    if _given(precision) and precision not in SINCE_PRECISIONS:
        out.append(f"{name}: from_since_precision {precision!r} is not one of "
                   + ", ".join(SINCE_PRECISIONS))
    return out


def add(manifest: Path, file: Path, *, name: str, kind: str, name_field: str, source: str,
        licence: str, accuracy_km: float, iso_field: str | None = None, title: str = "",
        copy: bool = False) -> LayerSpec:
    """Register a user's layer: validate it, then append its entry to the manifest atomically."""
    if not file.exists():
        raise LayerError(f"layers add: {file}: no such file")
    spec_list, problems = read_manifest(manifest) if manifest.exists() else (Manifest(), [])
    if problems:
        raise LayerError(problems)
    if any(s.name == name for s in spec_list.layers):
        raise LayerError([Problem(str(manifest), 1, 1, "name", f"layer {name!r} already exists")])
    target = file.resolve()
    rel = _relative(target, manifest.parent.resolve())
    try:
        spec = LayerSpec(name=name, title=title or name, path=rel, kind=kind,
                         name_field=name_field, iso_field=iso_field, source=source,
                         licence=licence, accuracy_km=accuracy_km)
    except ValidationError as exc:  # the values as the user gave them: in the flags' words
        raise LayerError([f"layers add: --{'.'.join(map(str, e['loc'])).replace('_', '-')}: "
                          f"{e['msg']}" for e in exc.errors()]) from None
    layer, errors = load_layer(spec, manifest.parent)
    if layer is None or errors:
        raise LayerError([Problem(str(file), 1, 1, name, e) for e in errors])
    copied: list[Path] = []
    try:
        if copy:
            copied = _copy_beside(target, manifest.parent, name)
            spec = spec.model_copy(update={"path": copied[0].name})
        append(manifest, [spec])
    except BaseException:
        for path in copied:  # the manifest was not changed: take back what we copied
            path.unlink(missing_ok=True)
        raise
    return spec


def append(manifest: Path, specs: list[LayerSpec], note: str = "`conflictmap layers add`",
           ) -> None:
    """Append entries to the manifest in one atomic replace, checked before it lands: readers
    see the old manifest or the new one with all the entries, never a part."""
    text = manifest.read_text("utf-8") if manifest.exists() else "layers:\n"
    if not text.endswith("\n"):
        text += "\n"
    text += "".join(_entry_yaml(spec, note) for spec in specs)
    draft = manifest.with_name(f".{manifest.name}.draft")
    try:
        write_atomic(draft, text)
        _, problems = read_manifest(draft)
        if problems:
            raise LayerError(problems)
        os.replace(draft, manifest)
    finally:
        draft.unlink(missing_ok=True)


# the files that travel with a .shp (index, attributes, projection, encoding, metadata)
SHAPEFILE_PARTS = {".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".shp.xml", ".qmd"}


def _copy_beside(target: Path, folder: Path, name: str) -> list[Path]:
    """Copy a layer file (a shapefile with its sidecar files) into `folder`, never over an
    existing file; the main file comes first in the list returned."""
    sidecars = sorted(p for p in target.parent.glob(f"{glob.escape(target.stem)}.*")
                      if p.name[len(target.stem):].lower() in SHAPEFILE_PARTS
                      ) if target.suffix.lower() == ".shp" else []
    copied: list[Path] = []
    try:
        for src in [target, *sidecars]:
            dest = folder / src.name
            try:
                write_atomic(dest, src.read_bytes(), overwrite=False)
            except FileExistsError:
                raise LayerError([Problem(str(dest), 1, 1, name,
                                          "a file of that name is there")]) from None
            copied.append(dest)
    except BaseException:
        for path in copied:
            path.unlink(missing_ok=True)
        raise
    return copied


def _relative(target: Path, base: Path) -> str:
    try:
        return str(target.relative_to(base))
    except ValueError:
        return str(target)


def _entry_yaml(spec: LayerSpec, note: str = "`conflictmap layers add`") -> str:
    data: dict[str, Any] = spec.model_dump(exclude_none=True, exclude_defaults=False)
    lines = []
    for i, (k, v) in enumerate(data.items()):
        if k == "style" and not v:
            continue
        prefix = "  - " if i == 0 else "    "
        lines.append(f"{prefix}{k}: {json.dumps(v, ensure_ascii=False)}")
    lines.append(f"    # added {date.today().isoformat()} by {note}")
    return "\n".join(lines) + "\n"
