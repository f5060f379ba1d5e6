"""The record's shape as tables see it, derived from the model so that it is said once.

A records table (a dataset file, the build's records frame) holds one row per event: the
model's plain fields as columns of their own, its nested parts (lists, mappings, sub-records)
as JSON text in `<field>_json`. Which is which is read from `model.Event`, so a field added
to the model reaches every table without another list to update.
"""

from __future__ import annotations

import types
import typing
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


FIELDS: tuple[str, ...] = tuple(Event.model_fields)
# nested part -> the JSON shape it must have when present (the model checks the rest)
NESTED: dict[str, type] = {name: k for name, f in Event.model_fields.items()
                           if (k := _kind(f.annotation)) is not None}
SCALARS: tuple[str, ...] = tuple(n for n in FIELDS if n not in NESTED)
TABLE_COLUMNS: list[str] = [*SCALARS, *(f"{k}_json" for k in NESTED)]
# a table must have these columns; the others may be left out (read as absent)
REQUIRED_COLUMNS: list[str] = [c for c in TABLE_COLUMNS
                               if Event.model_fields[c.removesuffix("_json")].is_required()
                               or c == "id"]


# Our own columns, after the dataset's in a CSV we export: together with the dataset's they
# carry the whole record, so the CSV comes back in without loss.
OWN_COLUMNS = ("id_cm", "title", "status", "event_type_cm", "sub_event_type_cm", "date_cm",
               "date_precision_cm", "end_date_cm", "location_json", "description_cm",
               "actors_json", "sources_json", "figures_json", "tags_json",
               "control_change_json", "fatalities_cm", "dataset_json", "geo_precision_cm",
               "geocoder", "admin1_layer", "admin1_uncertain", "admin1_candidates_json",
               "border_distance_km",
               "side_uncertain", "controller")


# the column holding each dataset's own id
DATASET_ID = {"acled": "event_id_cnty", "ucdp": "id"}
