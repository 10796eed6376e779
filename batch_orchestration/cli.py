"""The ``batch-orchestration`` command line."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from batch_orchestration.console import output_console
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY, FaultConfig, SandboxConfig

if TYPE_CHECKING:
    from collections.abc import Callable

    from batch_orchestration.orchestration.settings import Settings
    from batch_orchestration.targets.base import Connector, Validates
    from batch_orchestration.targets.routing import Routing
    from batch_orchestration.targets.systems import SharedState, System
    from batch_orchestration.warehouse import Warehouse

app = typer.Typer(help="Migrate legacy accounting CSV exports into a target ledger, and keep them in sync.",
                  no_args_is_help=True)
sandbox_app = typer.Typer(help="The local stand-in for the target systems.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


def _parse_companies(pairs: list[str]) -> dict[str, str]:
    companies: dict[str, str] = {}
    for pair in pairs:
        company, sep, key = pair.partition("=")
        if not sep or not company or not key:
            raise typer.BadParameter(f"{pair!r} is not COMPANY_ID=API_KEY", param_hint="--company")
        companies[company] = key
    return companies or {DEMO_COMPANY: DEMO_API_KEY}


@sandbox_app.command("serve")
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    db: Annotated[str, typer.Option(help="SQLite file that keeps everything accepted.")] = "sandbox.sqlite",
    company: Annotated[list[str] | None, typer.Option(help="COMPANY_ID=API_KEY; repeatable.")] = None,
    window_seconds: Annotated[float, typer.Option(help="Length of the rate-limit minute.")] = 60.0,
    faults: Annotated[str, typer.Option(help="e.g. 5xx=0.1,429=0.05,lost=0.02,latency_ms=200")] = "",
    fault_seed: Annotated[int | None, typer.Option(help="Seed for repeatable faults.")] = None,
    allow_future_invoice_dates: Annotated[bool, typer.Option(help="Accept invoices dated later than today.")]
    = False,
    s3_endpoint_url: Annotated[str | None, typer.Option(help="Presign eBill uploads against this S3.")] = None,
) -> None:
    """Serve the sandbox until interrupted."""
    from batch_orchestration.sandbox.server import serve

    try:
        fault_config = FaultConfig.parse(faults)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from exc
    config = SandboxConfig(
        db_path=db,
        companies=_parse_companies(company or []),
        window_seconds=window_seconds,
        faults=fault_config,
        fault_seed=fault_seed,
        allow_future_invoice_dates=allow_future_invoice_dates,
        s3_endpoint_url=s3_endpoint_url,
    )
    typer.echo(f"sandbox on http://{host}:{port} (db {db}, companies: {', '.join(config.companies)})")
    serve(config, host, port)


def _known_system(target: str) -> None:
    from batch_orchestration.targets.systems import SYSTEMS

    if target not in SYSTEMS:
        raise typer.BadParameter(f"{target!r} is not a target system; choose one of {', '.join(SYSTEMS)}",
                                 param_hint="--target")


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the export, warehouse and sandbox live.")] = Path(
        ".demo"
    ),
    days: Annotated[int, typer.Option(min=1, help="Days of exports (partitions).")] = 3,
    customers: Annotated[int, typer.Option(min=50, help="Customers in the generated export.")] = 3000,
    window_seconds: Annotated[float, typer.Option(help="The sandbox's shortened rate-limit minute.")] = 1.0,
    target: Annotated[str, typer.Option(help="The target system (bigledger, ebill, import, payables): every entity it "
                                              "takes is loaded there, the others are validated only.")] = "bigledger",
) -> None:
    """Generate a legacy export, start the sandbox, run every day through Dagster, print the summary.

    Run it again on the same directory: nothing is sent twice.
    """
    from batch_orchestration.demo.run import DemoOptions, run_demo

    _known_system(target)
    ok = run_demo(DemoOptions(directory=directory, days=days, customers=customers, window_seconds=window_seconds,
                              target=target), output_console())
    raise typer.Exit(0 if ok else 1)


@app.command()
def ui(
    directory: Annotated[Path, typer.Option("--dir", help="The demo's folder (its export is generated when "
                                                          "missing).")] = Path(".demo"),
    port: Annotated[int, typer.Option(help="The Dagster UI's port.")] = 3000,
    days: Annotated[int, typer.Option(min=1, help="Days of an export generated now (a reused one says its own).")] = 3,
    customers: Annotated[int, typer.Option(min=50, help="Customers in an export generated now.")] = 3000,
    window_seconds: Annotated[float, typer.Option(help="The sandbox's shortened rate-limit minute.")] = 1.0,
    target: Annotated[str, typer.Option(help="The target system every entity it takes is routed to.")] = "bigledger",
) -> None:
    """The Dagster UI on the demo's folder, with the sandbox started beside it: runs and backfills launched
    from the UI load into the sandbox, and the partitions begin on the export's first day."""
    from batch_orchestration.demo.run import DemoOptions, serve_ui

    _known_system(target)
    code = serve_ui(DemoOptions(directory=directory, days=days, customers=customers,
                                window_seconds=window_seconds, target=target), output_console(), port)
    raise typer.Exit(code)


@app.command()
def generate(
    root: Annotated[Path, typer.Argument(help="Landing root to write <entity>/<YYYY-MM-DD>/*.csv into.")],
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = "2024-03-01",
    days: Annotated[int, typer.Option(min=1)] = 3,
    customers: Annotated[int, typer.Option(min=50)] = 3000,
    invoices_per_customer: Annotated[float, typer.Option(min=0.1)] = 6.67,
    bad_fraction: Annotated[float, typer.Option(min=0.0, max=0.5)] = 0.03,
    seed: Annotated[int, typer.Option()] = 7,
    summary_path: Annotated[Path | None, typer.Option("--summary", help="Where the export's whole summary (JSON) "
                                                      "goes. Default: <root>_summary.json beside the root")] = None,
) -> None:
    """Write a realistic legacy export (with a few per cent of known bad records), its whole summary as JSON
    (every bad record, what each target must reject) beside it, and print the counts."""
    from rich.table import Table

    from batch_orchestration.demo.generate import generate_export

    try:
        first = date.fromisoformat(start)
    except ValueError as exc:
        raise typer.BadParameter(f"{start!r} is not YYYY-MM-DD", param_hint="--start") from exc
    summary = generate_export(
        root,
        start=first,
        n_days=days,
        customers=customers,
        invoices_per_customer=invoices_per_customer,
        lines_per_invoice=(1, 5),
        bad_fraction=bad_fraction,
        seed=seed,
    )
    # Beside the root, not in it: the landing root holds the export only.
    written = summary_path or root.resolve().with_name(f"{root.resolve().name}_summary.json")
    written.write_text(summary.to_json(), encoding="utf-8")
    table = Table()
    table.add_column("entity")
    table.add_column("rows", justify="right")
    table.add_column("bad", justify="right")
    bad = Counter(record.entity for record in summary.bad_records)
    for entity, rows in summary.totals.items():
        table.add_row(entity, str(rows), str(bad[entity]))
    console = output_console()
    console.print(f"an export of {', '.join(summary.days)} in {root}:")
    console.print(table)
    console.print(f"what it holds, record by record: {written}")


def _launch(days: Callable[[Settings], list[str]], job: str, entity: str | None) -> None:
    """Run ``job`` for the days (from the settings) as ``migrate`` and ``sync`` do; exit 1 unless all passed."""
    from batch_orchestration.orchestration.launch import LaunchError, launch
    from batch_orchestration.orchestration.settings import Settings

    settings = Settings.from_env()
    try:
        ok = launch(settings, days(settings), job, output_console(), entity)
    except LaunchError as exc:
        raise typer.BadParameter(str(exc)) from None
    raise typer.Exit(0 if ok else 1)


@app.command()
def migrate(
    first: Annotated[str, typer.Option("--from", help="The first day, YYYY-MM-DD")],
    last: Annotated[str, typer.Option("--to", help="The last day, YYYY-MM-DD (included)")],
    entity: Annotated[str | None, typer.Option(help="Only this entity's unit (its header or lines with it)")] = None,
) -> None:
    """Run migration_job for each day from --from to --to, oldest first, in the instance of $DAGSTER_HOME.

    Stops at the first day that fails; exits 1 when a day or a check failed.
    """
    from batch_orchestration.orchestration.jobs import MIGRATION_JOB
    from batch_orchestration.orchestration.launch import day_range

    start, end = date.fromisoformat(_day(first)), date.fromisoformat(_day(last))
    _launch(lambda settings: day_range(start, end), MIGRATION_JOB, entity)


@app.command()
def sync(
    entity: Annotated[str | None, typer.Option(help="Only this entity's unit (its header or lines with it)")] = None,
) -> None:
    """Run daily_sync_job for the day that ended (yesterday in BATCH_ORCHESTRATION_TIMEZONE), as the nightly
    schedule does; exits 1 when it or a check failed."""
    from batch_orchestration.orchestration.jobs import DAILY_SYNC_JOB
    from batch_orchestration.orchestration.launch import day_that_ended

    _launch(lambda settings: [day_that_ended(settings)], DAILY_SYNC_JOB, entity)


@app.command()
def rejects(
    entity: Annotated[str, typer.Argument(help="An entity: customers, invoice_line_items, payments...")],
    day: Annotated[str, typer.Argument(help="Partition day, YYYY-MM-DD")],
    warehouse_url: Annotated[str | None, typer.Option(help="Default: BATCH_ORCHESTRATION_WAREHOUSE_URL")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """List the rejected records of an entity and day, with stage, code and reason."""
    from rich.table import Table

    from batch_orchestration.entities.registry import get_entity
    from batch_orchestration.orchestration.settings import Settings
    from batch_orchestration.validate.rejects import reject_sample

    try:
        spec = get_entity(entity)
    except KeyError as exc:
        raise typer.BadParameter(str(exc), param_hint="entity") from None
    day = _day(day)
    warehouse = _pipeline_warehouse(warehouse_url or Settings.from_env().warehouse_url)
    frame = reject_sample(warehouse, spec.name, day, limit)
    table = Table(title=f"{entity} rejected on {day} (first {limit})")
    for column in frame.columns:
        table.add_column(column)
    for row in frame.itertuples(index=False):
        table.add_row(*("" if v is None else str(v) for v in row))
    output_console().print(table)


def _known_entity(entity: str | None) -> None:
    """An ``--entity`` option names an entity of the registry, or is not given."""
    from batch_orchestration.entities.registry import get_entity

    if entity is not None:
        try:
            get_entity(entity)
        except KeyError as exc:
            raise typer.BadParameter(str(exc), param_hint="--entity") from None


def _day(text: str) -> str:
    """A partition day, strictly ``YYYY-MM-DD`` (``date.fromisoformat`` would take ``20240301`` too)."""
    try:
        return datetime.strptime(text, "%Y-%m-%d").date().isoformat()
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a day as YYYY-MM-DD", param_hint="day") from None


def _pipeline_warehouse(url: str) -> Warehouse:
    """The warehouse a command reads, refused when it holds no pipeline state (a wrong URL or home), and
    brought to the code's schema as a run's first step brings it (an older release's lacks a table)."""
    from batch_orchestration.warehouse import open_warehouse
    from batch_orchestration.warehouse.schema import ensure_schema

    warehouse = open_warehouse(url)
    with warehouse.session() as session:
        if not session.table_exists("rejects") or not session.table_exists("id_map"):
            raise typer.BadParameter(f"{warehouse.shown_url} holds no pipeline state: run the pipeline first, or "
                                     "point --warehouse-url (or BATCH_ORCHESTRATION_WAREHOUSE_URL, or "
                                     "BATCH_ORCHESTRATION_HOME: the demo's is .demo) at its warehouse")
    ensure_schema(warehouse)
    typer.echo(f"warehouse: {warehouse.shown_url}", err=True)  # which one was read, out of the way of --json
    return warehouse


@app.command()
def plan(
    day: Annotated[str, typer.Option("--day", help="Partition day, YYYY-MM-DD (staged and validated already)")],
    entity: Annotated[str | None, typer.Option(help="Only this entity's unit (default: every routed unit)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole plan as JSON")] = False,
    warehouse_url: Annotated[str | None, typer.Option(help="Default: BATCH_ORCHESTRATION_WAREHOUSE_URL")] = None,
    limit: Annotated[int, typer.Option(min=0, help="Updates, held-back records and verdicts listed per unit")] = 20,
    ask_target: Annotated[bool, typer.Option(help="Also ask each target that can judge a batch without keeping "
                                                  "it (BigLedger: validateOnly) for its verdict")] = False,
) -> None:
    """What a load of the day would do, per unit and target, without sending anything: creates, updates
    with the fields that changed, records the target holds already, and records held back with why.
    With --ask-target, the would-be sends go to the target with validateOnly (in its rate budget);
    nothing persists there and nothing is recorded here."""
    from rich.table import Table

    from batch_orchestration.load.loader import DeleteGuard
    from batch_orchestration.load.plan import day_has_records, plan_day, plan_json
    from batch_orchestration.orchestration.settings import Settings

    day = _day(day)
    _known_entity(entity)
    settings = Settings.from_env()
    warehouse = _pipeline_warehouse(warehouse_url or settings.warehouse_url)
    if not day_has_records(warehouse, day):
        raise typer.BadParameter(f"{warehouse.shown_url} has no validated records of {day}: stage and validate the "
                                 "day first (migration_job for its partition)", param_hint="--day")
    routing = settings.routing()
    validators = _validators(routing, _shared_state(settings, warehouse), entity) if ask_target else None
    plans = plan_day(warehouse, routing, day, entity, validators, DeleteGuard(settings.max_delete_share))
    if as_json:
        typer.echo(plan_json(plans, day))
        return
    console = output_console()
    console.print(f"plan of {day} (warehouse {warehouse.shown_url}); nothing is sent")
    if not plans:
        console.print("no unit of it is routed to a target")
    table = Table("unit", "target", "records", "create", "update", "delete", "skip", "held back", "in doubt")
    for p in plans:
        table.add_row(p.entity, f"{p.target} ({p.system})", str(p.records), str(len(p.creates)),
                      str(len(p.updates)), str(len(p.deletes)), str(p.skips), str(len(p.held_back)), str(p.in_doubt))
    console.print(table)
    for p in plans:
        if p.stopped:
            console.print(f"  [red]stopped[/red] {p.stopped}")
        for key in p.deletes[:limit]:
            console.print(f"  delete {p.entity} {key}")
        for update in p.updates[:limit]:
            if update.changes is None:
                changed = "the version the target holds was validated again since: not compared"
            else:
                changed = "; ".join(f"{c.field}: {c.old!r} -> {c.new!r}" for c in update.changes) or (
                    "its lines, or a target id its payload names")
            console.print(f"  update {p.entity} {update.source_key} ({update.target_id}): {changed}")
        for held in p.held_back[:limit]:
            console.print(f"  held back {p.entity} {held.source_key}: {held.code}: {held.message}")
        if p.verdicts is not None:
            valid = sum(v.valid is True for v in p.verdicts)
            refused = [v for v in p.verdicts if v.valid is False]
            console.print(f"  {p.target} judged {p.entity}: {valid} valid, {len(refused)} refused, "
                          f"{len(p.verdicts) - valid - len(refused)} not asked")
            for verdict in [v for v in p.verdicts if v.valid is not True][:limit]:
                console.print(f"    {verdict.source_key}: {verdict.code}: {verdict.message}")


def _shared_state(settings: Settings, warehouse: Warehouse) -> SharedState:
    """Where the targets' shared state is, for the warehouse the command reads (its rate budget with it)."""
    from batch_orchestration.targets.systems import SharedState

    return SharedState.of(settings.home, warehouse.url)


def _validators(routing: Routing, state: SharedState, entity: str | None) -> dict[str, Validates]:
    """target name -> its connector, for each target asked about that can judge a batch without keeping it."""
    return _connectors(routing, state, entity, lambda system: system.validates,
                       "cannot judge a batch without keeping it: not asked", "--ask-target")  # type: ignore[return-value]


def _connectors(routing: Routing, state: SharedState, entity: str | None, can: Callable[[System], bool],
                otherwise: str, option: str) -> dict[str, Connector]:
    """target name -> its connector, for each target of the units wanted whose system ``can``; only those
    connectors are made (and need their keys). The others are named on stderr, with ``otherwise``."""
    import dagster as dg

    from batch_orchestration.targets.systems import SYSTEMS

    asked = {route.target: route for root in routing.routed_units(entity) if (route := routing.route(root.name))}
    found: dict[str, Connector] = {}
    for route in asked.values():
        if not can(SYSTEMS[route.config.system]):
            typer.echo(f"{route.target} ({route.config.system}) {otherwise}", err=True)
            continue
        resource = SYSTEMS[route.config.system].resource(route, state)
        try:
            found[route.target] = resource.process_config_and_initialize().connector()  # type: ignore[attr-defined]
        except dg.DagsterInvalidConfigError:  # an unset variable, in Dagster's long words: say which one
            raise typer.BadParameter(f"{route.target}: set ${route.config.api_key_env} to ask it",
                                     param_hint=option) from None
    return found


@app.command()
def adopt(
    entity: Annotated[str | None, typer.Option(help="Only this entity's unit; the units its records name must be "
                                                    "adopted already (else run it without --entity)")] = None,
    warehouse_url: Annotated[str | None, typer.Option(help="Default: BATCH_ORCHESTRATION_WAREHOUSE_URL")] = None,
) -> None:
    """Rebuild the ID map from the targets that can be read back (BigLedger), after the warehouse was lost
    or restored from an old backup: each record the target holds under the pipeline's reference is mapped
    to its target id, so no load creates it again. Only reads are sent; the load that follows updates the
    records the target holds in another version. Run it on a warehouse whose days are validated, with the
    routing of the loads, and while no load runs (it settles the batches a load left open)."""
    from rich.progress import Progress
    from rich.table import Table

    from batch_orchestration.load.adoption import adopt as adopt_units
    from batch_orchestration.load.adoption import days_newest_first
    from batch_orchestration.load.state import WarehouseClaimed, claim_warehouse
    from batch_orchestration.orchestration.settings import Settings

    _known_entity(entity)
    settings = Settings.from_env()
    warehouse = _pipeline_warehouse(warehouse_url or settings.warehouse_url)
    with warehouse.session() as session:
        try:
            claim_warehouse(session, settings.deployment_name, warehouse.shown_url)
        except WarehouseClaimed as exc:
            raise typer.BadParameter(str(exc), param_hint="--warehouse-url") from None
    routing = settings.routing()
    connectors = _connectors(routing, _shared_state(settings, warehouse), entity, lambda system: system.reads_back,
                             "cannot be read back: nothing adopted from it", "adopt")
    total = sum(len(days_newest_first(warehouse, root)) for root in routing.routed_units(entity)
                if (route := routing.route(root.name)) and route.target in connectors)
    console = Console(stderr=True)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("adopting", total=total)
        adoptions = adopt_units(warehouse, routing, connectors, entity,
                                lambda unit, days: bar.update(task, advance=1, description=f"adopting {unit}"))
    table = Table("unit", "target", "days", "adopted", "in another version", "unknown to the source")
    for a in adoptions:
        if a.readable:
            table.add_row(a.entity, a.target, str(a.days), str(a.adopted), str(a.other_version),
                          str(a.unknown_to_source))
        else:
            table.add_row(a.entity, a.target, "-", "not readable", "-", "-")
    console = output_console()
    console.print(f"adopted from the targets into {warehouse.shown_url}")
    console.print(table)


@app.command("trace")
def trace_record(
    entity: Annotated[str, typer.Argument(help="An entity: customers, invoices, invoice_line_items...")],
    record: Annotated[str, typer.Argument(help="A source key (C1, INV-1/2) or a target id (cust_...)")],
    warehouse_url: Annotated[str | None, typer.Option(help="Default: BATCH_ORCHESTRATION_WAREHOUSE_URL")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the history as JSON")] = False,
) -> None:
    """A record's history: the source rows it came from (day, file, row, content hash), its rejects and why,
    each version a target took (and how: created, updated, adopted, settled after a lost answer), and
    what each target holds now. Exits 1 when the warehouse knows nothing of it."""
    import json

    from rich.table import Table

    from batch_orchestration.entities.registry import get_entity
    from batch_orchestration.load.trace import trace
    from batch_orchestration.orchestration.settings import Settings

    try:
        spec = get_entity(entity)
    except KeyError as exc:
        raise typer.BadParameter(str(exc), param_hint="entity") from None
    warehouse = _pipeline_warehouse(warehouse_url or Settings.from_env().warehouse_url)
    found = trace(warehouse, spec, record)
    if as_json:
        typer.echo(json.dumps(found.__dict__, indent=2, default=str, ensure_ascii=False))
        raise typer.Exit(0 if found.found else 1)
    console = output_console()
    if not found.found:
        console.print(f"{warehouse.shown_url} knows no {entity} {record!r} (neither a source key nor a target id)")
        raise typer.Exit(1)
    console.print(f"{entity} {', '.join(found.source_keys)}")
    sections = [("in the source (validated rows)", found.rows), ("rejected", found.rejects),
                ("versions the targets took", found.versions), ("held now (ID map)", found.held)]
    for title, rows in sections:
        if not rows:
            console.print(f"{title}: none")
            continue
        table = Table(*rows[0], title=title, title_justify="left")
        for row in rows:
            table.add_row(*("" if value is None else str(value) for value in row.values()))
        console.print(table)


@app.command()
def reconcile(
    day: Annotated[str, typer.Option("--day", help="Partition day, YYYY-MM-DD (loaded already)")],
    entity: Annotated[str | None, typer.Option(help="Only this entity's unit (default: every routed unit)")] = None,
    warehouse_url: Annotated[str | None, typer.Option(help="Default: BATCH_ORCHESTRATION_WAREHOUSE_URL")] = None,
    limit: Annotated[int, typer.Option(min=0, help="Mismatches listed per unit")] = 20,
) -> None:
    """Read back from each target that can be read (BigLedger) what the ID map says the day loaded, and
    compare: each record as sent, the sums of amounts to the cent, the count of the pipeline's records.
    Exits 1 on any mismatch, listing each by source key and target id."""
    from rich.table import Table

    from batch_orchestration.load.reconcile import reconcile_unit, shown
    from batch_orchestration.orchestration.settings import Settings

    day = _day(day)
    _known_entity(entity)
    settings = Settings.from_env()
    warehouse = _pipeline_warehouse(warehouse_url or settings.warehouse_url)
    routing = settings.routing()
    connectors = _connectors(routing, _shared_state(settings, warehouse), entity, lambda system: system.reads_back,
                             "cannot be read back: not reconciled", "reconcile")
    results = [reconcile_unit(warehouse, connectors[route.target], root, day) for root in routing.routed_units(entity)
               if (route := routing.route(root.name)) and route.target in connectors]
    console = output_console()
    console.print(f"reconciliation of {day} (warehouse {warehouse.shown_url})")
    table = Table("unit", "target", "loaded", "found", "amounts loaded", "amounts found", "pipeline's records",
                  "requests", "ok")
    for r in results:
        table.add_row(r.entity, r.target, str(r.loaded), str(r.found),
                      ", ".join(f"{k} {shown(v)}" for k, v in r.amounts_loaded.items()) or "-",
                      ", ".join(f"{k} {shown(v)}" for k, v in r.amounts_found.items()) or "-",
                      f"{r.held_by_pipeline} held, {r.mapped} mapped", str(r.requests), "yes" if r.passed else "NO")
    console.print(table)
    for r in results:
        for mismatch in r.mismatches[:limit]:
            console.print(f"  {r.entity} {mismatch.source_key} ({mismatch.target_id}): {mismatch.problem}")
        if len(r.mismatches) > limit:
            console.print(f"  ... and {len(r.mismatches) - limit} more {r.entity}")
    raise typer.Exit(0 if all(r.passed for r in results) else 1)


if __name__ == "__main__":
    app()
