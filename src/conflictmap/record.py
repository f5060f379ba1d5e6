"""The record's shape as every output sees it, derived from the model so that it is said once.

A records table (a dataset file, the build's records frame) holds one row per event: the
model's plain fields as columns of their own, its nested parts (lists, mappings, sub-records)
as JSON text in `<field>_json`. An exported CSV carries the same fields after the dataset's own
columns, plain ones as `<field>_cm` so they never clash with a dataset's column of that name.
The popup shows every field whose model field has a `title` (its label). All of it is read from
the model class, so a field added to the model reaches every table, export and the page without
another list to update.

`schema_of(model)` gives these lists for a model class (the pipeline and exporters take the
schema they are given; `SCHEMA` is the one for `model.Event`, and the module-level names below
are its lists for code that only ever handles the standard record).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, cached_property
from typing import Any

from pydantic import BaseModel

from .model import Event


def _kind(annotation: Any) -> type | None:
    """dict or list when a field's values are nested (JSON in a table), else None."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        kinds = {_kind(a) for a in typing.get_args(annotation)} - {None}
        return kinds.pop() if len(kinds) == 1 else None
    if origin is typing.Annotated:
        return _kind(typing.get_args(annotation)[0])
    if origin is list or annotation is list:
        return list
    if origin is dict or annotation is dict:
        return dict
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return dict
    return None


def _text_list(annotation: Any) -> bool:
    """A list of plain text (tags): flat outputs can give it whole as a list column."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_text_list(a) for a in typing.get_args(annotation))
    if origin is not list:
        return False
    (item,) = typing.get_args(annotation) or (None,)
    if typing.get_origin(item) is typing.Annotated:
        item = typing.get_args(item)[0]
    return item is str


def _scalar_type(annotation: Any) -> str:
    """How a plain field is typed in a table: "int", "float", "bool" or "text" (dates, enums
    and strings travel as text). Chooses the nullable column type of exports."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        kinds = {_scalar_type(a) for a in typing.get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else "text"
    if origin is typing.Annotated:
        return _scalar_type(typing.get_args(annotation)[0])
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    return "text"


# Plain fields exported under their own name: the first CSV exports named them so, and no
# dataset we read has a column of that name. Every other plain field is `<name>_cm`.
_BARE_NAMES = frozenset({"title", "status"})

# Nested parts the flat exports (GeoJSON, GPKG) give as derived columns instead of JSON:
# the location as the point, place_name and geo_precision; the dataset row as dataset/dataset_id.
FLAT_ELSEWHERE = frozenset({"location", "dataset"})

# What the popup says for an absent value of a labelled field, where silence would mislead
POPUP_ABSENT = {"fatalities": "not reported"}
# The popup's facts made from several fields or from what enrichment found (keys start with
# "_": never a model field's name), before and after the record's labelled fields
POPUP_BEFORE = (("_date", "Date"), ("_type", "Type"), ("_place", "Place"),
                ("_area", "Country / admin-1"), ("_candidates", "District could be"),
                ("_border", "To the border"), ("_controller", "Controller that day"))
POPUP_AFTER = (("_dataset", "Dataset"),)


@dataclass(frozen=True)
class FieldSpec:
    """One field of the record as tables, exports and the popup see it."""

    name: str
    nested: type | None  # dict or list: JSON text in tables
    scalar: str  # "int", "float", "bool" or "text" for a plain field
    required: bool
    default: Any
    label: str | None  # the popup's label (the model field's `title`); None: not a fact
    text_list: bool = False  # a list of plain text, whole as a list column in flat outputs

    @property
    def column(self) -> str:
        """Its column in a records table."""
        return f"{self.name}_json" if self.nested else self.name

    @property
    def exported(self) -> str:
        """Its column in an exported CSV, after the dataset's own columns."""
        if self.nested:
            return f"{self.name}_json"
        return self.name if self.name in _BARE_NAMES else f"{self.name}_cm"


# What enrichment adds, in an exported CSV (after the record's fields): column -> frame column
DERIVED_EXPORT = {"geo_precision_cm": "geo_precision", "geocoder": "geocoder",
                  "admin1_layer": "admin1", "admin1_uncertain": "admin1_uncertain",
                  "admin1_candidates_json": "admin1_candidates",
                  "border_distance_km": "border_distance_km", "side_uncertain": "side_uncertain",
                  "controller": "controller"}


@dataclass(frozen=True)
class Schema:
    """Every list of the record's fields, for one model class."""

    model: type[Event]
    fields: tuple[FieldSpec, ...]

    def __getitem__(self, name: str) -> FieldSpec:
        return self.by_name[name]

    @cached_property
    def by_name(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @cached_property
    def nested(self) -> dict[str, type]:
        """Nested part -> the JSON shape it must have when present (the model checks the rest)."""
        return {f.name: f.nested for f in self.fields if f.nested is not None}

    @cached_property
    def scalars(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.nested is None)

    @cached_property
    def table_columns(self) -> list[str]:
        """A records table's columns: plain fields, then the nested parts as JSON text."""
        return [*self.scalars, *(f"{k}_json" for k in self.nested)]

    @cached_property
    def required_columns(self) -> list[str]:
        """A table must have these; the others may be left out (read as absent)."""
        return [f.column for f in self.fields if f.required or f.name == "id"]

    @cached_property
    def defaults(self) -> dict[str, str]:
        """Plain fields whose absence means a default text (status: reported, ...)."""
        return {f.name: f.default for f in self.fields if f.nested is None
                and not f.required and isinstance(f.default, str)}

    @cached_property
    def own_columns(self) -> tuple[str, ...]:
        """Our columns after a dataset's in an exported CSV: with the dataset's they carry the
        whole record (and what enrichment found), so the CSV comes back in without loss."""
        return (*(f.exported for f in self.fields), *DERIVED_EXPORT)

    @cached_property
    def popup(self) -> list[tuple[str, str]]:
        """(field, label) of the record's fields the popup lists, in the model's order."""
        return [(f.name, f.label) for f in self.fields if f.label]

    @cached_property
    def popup_facts(self) -> list[tuple[str, str]]:
        """(key, label) of every fact the popup lists, in order: the page's data contract."""
        return [*POPUP_BEFORE, *self.popup, *POPUP_AFTER]


@cache
def schema_of(model: type[Event] = Event) -> Schema:
    """The record's lists for `model` (Event or a subclass adding fields)."""
    fields = []
    for name, info in model.model_fields.items():
        required = info.is_required()
        fields.append(FieldSpec(
            name=name, nested=_kind(info.annotation), scalar=_scalar_type(info.annotation),
            required=required,
            default=None if required else info.get_default(call_default_factory=True),
            label=info.title, text_list=_text_list(info.annotation)))
    return Schema(model, tuple(fields))


SCHEMA = schema_of(Event)
FIELDS: tuple[str, ...] = SCHEMA.names
NESTED: dict[str, type] = SCHEMA.nested
SCALARS: tuple[str, ...] = SCHEMA.scalars
TABLE_COLUMNS: list[str] = SCHEMA.table_columns
REQUIRED_COLUMNS: list[str] = SCHEMA.required_columns
OWN_COLUMNS: tuple[str, ...] = SCHEMA.own_columns


def cell_text(value: Any) -> str:
    """A plain field's value as a CSV cell: empty when absent, whole numbers without `.0`
    (a table column of counts with gaps holds floats), flags as true/false."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def drop_none(value: Any) -> Any:
    """Record data without unset parts, so the model applies its defaults."""
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value]
    return value


def event_to_data(event: Event) -> dict[str, Any]:
    """Plain data for YAML: aliases ('from'), no empty or unset optional parts, and an actor
    with nothing but a name written as the plain name."""
    data = event.model_dump(mode="python", by_alias=True, exclude_none=True)
    if "actors" in data:
        data["actors"] = [a["name"] if set(a) == {"name"} else a for a in data["actors"]]
    columns = data.get("dataset", {}).get("columns")

    def prune(value: Any) -> Any:  # only containers are walked: most values are text
        if isinstance(value, dict):
            return {k: prune(v) if isinstance(v, (dict, list)) else v
                    for k, v in value.items()
                    if v is not None and (v or not isinstance(v, (dict, list)))}
        if isinstance(value, list):
            return [prune(v) if isinstance(v, (dict, list)) else v for v in value]
        return value

    data = prune(data)
    if columns is not None:  # a dataset's empty cells are part of its row
        data["dataset"]["columns"] = columns
    return data


# the column holding each dataset's own id
DATASET_ID = {"acled": "event_id_cnty", "ucdp": "id"}
