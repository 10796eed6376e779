"""The asset factory: each registry entry becomes ``<entity>_staged``, ``_validated`` and ``_loaded``.

Staging is per entity (per export). Validation and loading are per unit, an aggregate root with its
parts or a lone entity: one step materializes the unit's ``_validated`` (or ``_loaded``) assets
together. Dependencies follow the registry: a record's validation reads the validated records it
refers to, its loading waits for theirs, and each validation and load waits for its own previous day. No target
system is named here: the routing gives each unit's target, resource key and pool.
"""


import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TypeVar

import dagster as dg

from batch_orchestration.entities.registry import ENTITIES, EntitySpec, members, units
from batch_orchestration.load.loader import DeleteGuard, DeletesStopped, Loader
from batch_orchestration.load.payload_lineage import sampled_lineage
from batch_orchestration.load.reconcile import CHECK_NAME as RECONCILIATION_CHECK
from batch_orchestration.load.reconcile import reconcile_unit
from batch_orchestration.orchestration import run_lineage
from batch_orchestration.orchestration.day_order import require_previous_day_settled
from batch_orchestration.orchestration.jobs import nightly_freshness
from batch_orchestration.orchestration.metadata import (
    column_schema,
    landing_key,
    rejects_metadata,
    staged_lineage,
    validated_lineage,
)
from batch_orchestration.orchestration.partitions import PREVIOUS_DAY
from batch_orchestration.orchestration.resources import (
    LandingZoneResource,
    PipelineSettingsResource,
    WarehouseResource,
)
from batch_orchestration.orchestration.stages import stage_day, unaccounted_records
from batch_orchestration.targets.base import AmbiguousOutcome, NotApplied, TargetRefused
from batch_orchestration.targets.routing import Route, Routing
from batch_orchestration.targets.systems import SYSTEMS, TargetResource
from batch_orchestration.validate.rejects import reject_sample
from batch_orchestration.validate.unit import validate_unit
from batch_orchestration.warehouse.schema import staged_table, validated_table

# Step retries for what can fail transiently (the landing store, the target API).
STEP_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


Checked = TypeVar("Checked", dg.AssetChecksDefinition, dg.AssetCheckSpec)

def asset_key(entity: str, stage: str) -> dg.AssetKey:
    """``<entity>_<stage>``: the one spelling of an entity's asset keys."""
    return dg.AssetKey(f"{entity}_{stage}")


PREPARING_STAGES = ("staged", "validated")  # what a day needs before its loads, and none of them needs a load


def prepares(key: dg.AssetKey) -> bool:
    """An entity's staged or validated asset (not its loaded one)."""
    return key.path[-1].endswith(tuple(f"_{stage}" for stage in PREPARING_STAGES))


def _run_of(context: dg.AssetExecutionContext) -> tuple[str, str]:
    """The Dagster run a stage runs in, as its OpenLineage parent."""
    return context.run_id, context.job_name


def _landing_spec(entity: EntitySpec) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=landing_key(entity),
        description=f"Legacy {entity.name} CSV exports: <landing root>/{entity.name}/<YYYY-MM-DD>/*.csv",
        group_name="landing_zone",
        kinds={"csv"},
    )


def _staged_asset(entity: EntitySpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=asset_key(entity.name, "staged"),
        deps=[landing_key(entity)],
        partitions_def=partitions,
        group_name=entity.name,
        kinds={"csv", "sql"},
        retry_policy=STEP_RETRY,
        description=f"Raw {entity.name} rows of the day's files, mapped to canonical columns, with lineage.",
        metadata={"dagster/column_schema": column_schema(entity, typed=False),
                  "dagster/column_lineage": staged_lineage(entity)},
    )
    def staged(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
               landing: LandingZoneResource) -> dg.MaterializeResult:
        day = context.partition_key
        files_of_day = run_lineage.landing_files(landing.kind, landing.root, landing.s3_bucket, landing.s3_prefix,
                                                 entity.name, day)
        shown = warehouse.open().shown_url
        with run_lineage.stage_run(asset_key(entity.name, "staged").to_user_string(), day, _run_of(context),
                                   [files_of_day], [run_lineage.staged_table(shown, entity, files_of_day)]):
            result = stage_day(warehouse.open(), landing.open(), entity, day)
        files = [
            {"file": f.key, "rows_staged": f.rows_staged, "rejected": f.rejected, "read_by": f.read_by,
             "notes": "; ".join(n.message for n in f.notes)}
            for f in result.files
        ]
        context.log.info(f"staged {result.rows_staged} {entity.name} rows of {day} from {len(files)} files")
        if result.ignored:
            # Names are untrusted: repr() shows control characters escaped, never raw in the log.
            listed = "; ".join(f"{e.key!r} ({e.reason})" for e in result.ignored)
            context.log.warning(f"{len(result.ignored)} {entity.name} files of {day} ignored, not staged: {listed}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.rows_staged,
                **result.summary(),
                "files_detail": dg.MetadataValue.json(files),
                "files_ignored_detail": dg.MetadataValue.json(
                    [{"file": e.key, "reason": e.reason} for e in result.ignored]
                ),
                **rejects_metadata(Counter(r.code for r in result.rejects),
                                   reject_sample(warehouse.open(), entity.name, day)),
            }
        )

    return staged


def _validated_spec(entity: EntitySpec, root: EntitySpec) -> dg.AssetSpec:
    own = [asset_key(entity.name, "staged")]
    # The parents outside the unit (its own members are validated in the same step), and its previous day: a
    # day's records refer to (and in a changes export, delete) earlier days' records.
    outside = [parent for parent in entity.parents if parent not in {m.name for m in members(root)}]
    deps: list[dg.AssetDep | dg.AssetKey] = [*own, *(asset_key(parent, "validated") for parent in outside),
                                             dg.AssetDep(asset_key(entity.name, "validated"),
                                                         partition_mapping=PREVIOUS_DAY)]
    together = f", with its {root.name}" if entity is not root else (
        f", with its {root.parts.entity}" if root.parts else "")
    models = " and the set rules (validate/set_rules.py, dbt_like_sql/validated)"
    return dg.AssetSpec(
        key=asset_key(entity.name, "validated"),
        deps=deps,
        group_name=root.name,
        kinds={"pydantic", "sql"},
        description=f"{entity.name} that pass the row rules ({entity.model.__name__}){models}{together}.",
        metadata={"dagster/column_schema": column_schema(entity, typed=True),
                  "dagster/column_lineage": validated_lineage(entity, own[0])},
    )


def _validated_asset(root: EntitySpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """One step for the unit: an aggregate's lines are validated once, with their header."""
    check_name = "reject_rate_under_threshold"
    unit = members(root)

    @dg.multi_asset(
        name=f"{root.name}_validation",
        specs=[_validated_spec(member, root) for member in unit],
        partitions_def=partitions,
        check_specs=[_partitioned_check(lambda m=member: dg.AssetCheckSpec(
            check_name, asset=asset_key(m.name, "validated"), blocking=True, partitions_def=partitions,
            description="Rejected share of the day's rows is under the threshold")) for member in unit],
    )
    def validated(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  settings: PipelineSettingsResource) -> Iterator[dg.MaterializeResult]:
        day = context.partition_key
        require_previous_day_settled(context, asset_key(root.name, "validated"))
        shown = warehouse.open().shown_url
        read = [run_lineage.table(shown, staged_table(m.name)) for m in unit] + [
            run_lineage.table(shown, validated_table(parent)) for m in unit for parent in m.parents
            if parent not in {u.name for u in unit}]
        written = [run_lineage.validated_table(shown, m) for m in unit] + [run_lineage.table(shown, "rejects")]
        with run_lineage.stage_run(f"{root.name}_validation", day, _run_of(context), read, written):
            results = validate_unit(warehouse.open(), root, day)
        for member in unit:
            result = results[member.name]
            rate = result.rejected_rows / result.staged_rows if result.staged_rows else 0.0
            rules = {run.name: ", ".join(run.upstream_tables) for run in result.models_run}
            yield dg.MaterializeResult(
                asset_key=asset_key(member.name, "validated"),
                metadata={
                    "dagster/row_count": result.valid_rows,
                    "rows_in": result.staged_rows,
                    "deletes": result.deletes,
                    "reject_rate": rate,
                    "sql_models": dg.MetadataValue.json(rules),
                    **rejects_metadata(result.rejects.by_code, reject_sample(warehouse.open(), member.name, day)),
                },
                check_results=[
                    dg.AssetCheckResult(
                        asset_key=asset_key(member.name, "validated"),
                        check_name=check_name,
                        passed=rate <= settings.max_reject_rate,
                        metadata={"reject_rate": rate, "threshold": settings.max_reject_rate},
                        severity=dg.AssetCheckSeverity.ERROR,
                    )
                ],
            )

    return validated


def _loaded_spec(entity: EntitySpec, root: EntitySpec, route: Route, timezone: str) -> dg.AssetSpec:
    own_key = asset_key(entity.name, "loaded")
    deps: list[dg.AssetDep | dg.AssetKey] = [asset_key(member.name, "validated") for member in members(root)]
    resolves = SYSTEMS[route.config.system].bindings[root.name].resolves
    # Every member waits for what the unit's binding resolves; none names another member, as they are one step
    # (Dagster's asset backfill cannot group a multi-asset whose keys depend on each other: it stalls).
    deps += [asset_key(parent, "loaded") for parent in resolves]
    deps.append(dg.AssetDep(own_key, partition_mapping=PREVIOUS_DAY))
    travels = f"; they are loaded with their {root.name}" if entity is not root else ""
    return dg.AssetSpec(
        key=own_key,
        deps=deps,
        group_name=root.name,
        kinds={"api", route.config.system},
        metadata={"target": route.target, "target_system": route.config.system},
        freshness_policy=nightly_freshness(timezone),
        description=(f"{entity.name} in the target {route.target} ({route.config.system}): created, updated or "
                     f"skipped from the ID map{travels}"),
    )


def _loaded_asset(root: EntitySpec, partitions: dg.PartitionsDefinition, route: Route) -> dg.AssetsDefinition:
    """One step for the unit: a header and its lines are sent together, and recorded together."""
    unit = members(root)

    @dg.multi_asset(
        name=f"{root.name}_load",
        specs=[_loaded_spec(member, root, route, partitions.timezone) for member in unit],
        partitions_def=partitions,
        pool=route.pool,
        retry_policy=STEP_RETRY,
        required_resource_keys={"warehouse", "settings", route.resource_key},
    )
    def loaded(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        day = context.partition_key
        require_previous_day_settled(context, asset_key(root.name, "loaded"))
        target: TargetResource = getattr(context.resources, route.resource_key)
        connector = target.connector()
        binding = connector.binding(root.name)
        batch_size = binding.max_batch

        def progress(done: int, total: int) -> None:
            if total and (done == total or done % 1000 < batch_size):
                context.log.info(f"{root.name} {day}: {done}/{total} records sent")

        warehouse = context.resources.warehouse.open()
        settings: PipelineSettingsResource = context.resources.settings
        loader = Loader(warehouse, connector, progress=progress,
                        deletes=DeleteGuard(settings.max_delete_share, settings.confirm_deletes))
        read = [run_lineage.table(warehouse.shown_url, validated_table(m.name)) for m in unit]
        columns = run_lineage.payload_columns(lambda: sampled_lineage(warehouse, binding, root, day))
        written = [run_lineage.target_endpoint(route.config.base_url, binding.endpoint, warehouse.shown_url, columns),
                   *(run_lineage.table(warehouse.shown_url, name) for name in ("id_map", "load_history", "rejects"))]
        with run_lineage.stage_run(f"{root.name}_load", day, _run_of(context), read, written):
            try:
                reports = loader.load_unit(root, day)
            except (TargetRefused, DeletesStopped) as final:
                # No retry can change this: fail now, without step retries, with what to check.
                raise dg.Failure(description=str(final), allow_retries=False) from None
        for member in reversed(unit):  # the root first: its parts' assets depend on it
            report = reports[member.name]
            yield dg.MaterializeResult(
                asset_key=asset_key(member.name, "loaded"),
                metadata={
                    "created": report.created,
                    "updated": report.updated,
                    "deleted": report.deleted,
                    "skipped": report.skipped,
                    "rejected": report.rejected,
                    "batches_sent": report.batches_sent,
                    "ambiguous_batches": report.ambiguous_batches,
                    "recovered_by_lookup": report.recovered_by_lookup,
                    "reconciled_intents": report.reconciled_intents,
                    "adopted": report.adopted,
                    "records_per_second": round(report.records_per_second, 1),
                    "seconds": round(report.seconds, 2),
                    **{f"rejects/{code}": n for code, n in sorted(report.rejects_by_code.items())},
                    # the step's requests, said once for the unit, by its root
                    **({"requests": connector.answers.requests, "responses_429": connector.answers.rate_limited}
                       if member is root else {}),
                },
            )

    return loaded


def _partitioned_check(build: Callable[[], Checked]) -> Checked:
    """Each check's result belongs to its day (without it, a check of a partitioned asset is recorded twice
    a run: planned for the day, and its result for no day); Dagster 1.13 marks partitioned checks as a
    preview and warns at every definition, which this one place acknowledges (the Dagster set is pinned)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec")
        return build()


def _conservation_check(entity: EntitySpec, partitions: dg.PartitionsDefinition,
                        route: Route) -> dg.AssetChecksDefinition:
    """A check of its own, so it can be re-run on a day without loading it again."""

    @dg.asset_check(
        asset=asset_key(entity.name, "loaded"),
        name="every_record_loaded_or_rejected",
        partitions_def=partitions,
        required_resource_keys={"warehouse"},
        description=f"Every validated record of the day is in {route.target}'s ID map or among its load rejects",
    )
    def check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        missing = unaccounted_records(context.resources.warehouse.open(), entity, context.partition_key, route.target)
        return dg.AssetCheckResult(
            passed=missing.empty,
            metadata={"unaccounted": len(missing),
                      "sample": dg.MetadataValue.json(missing.head(10).to_dict(orient="records"))},
        )

    return check


def _reconciliation_check(root: EntitySpec, partitions: dg.PartitionsDefinition,
                          route: Route) -> dg.AssetChecksDefinition:
    """The target read back (``load/reconcile.py``): blocking, so the units that name these records wait,
    where the routing says so."""
    blocking = route.config.block_on_reconciliation
    parts = f" (their {root.parts.entity} inside them)" if root.parts else ""

    @dg.asset_check(
        asset=asset_key(root.name, "loaded"),
        name=RECONCILIATION_CHECK,
        partitions_def=partitions,
        blocking=blocking,
        required_resource_keys={"warehouse", route.resource_key},
        description=(f"{route.target} read back: the {root.name} the day loaded{parts} are there as sent, amounts "
                     "summed to the cent, and it holds as many of the pipeline's records as the ID map"),
    )
    def check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        target: TargetResource = getattr(context.resources, route.resource_key)
        severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN
        try:
            result = reconcile_unit(context.resources.warehouse.open(), target.connector(), root,
                                    context.partition_key)
        except (NotApplied, AmbiguousOutcome, TargetRefused) as exc:  # a target that cannot be read: not passed
            return dg.AssetCheckResult(passed=False, severity=severity,
                                       metadata={"error": f"{route.target} could not be read back: {exc}"})
        return dg.AssetCheckResult(
            passed=result.passed,
            severity=severity,
            metadata={**result.metadata(), "sample": dg.MetadataValue.json(result.mismatch_sample())},
        )

    return check


def build_entity_assets(partitions: dg.PartitionsDefinition,
                        routing: Routing) -> list[dg.AssetsDefinition | dg.AssetSpec]:
    assets: list[dg.AssetsDefinition | dg.AssetSpec] = []
    for entity in ENTITIES.values():
        assets += [_landing_spec(entity), _staged_asset(entity, partitions)]
    for root in units():
        assets.append(_validated_asset(root, partitions))
        route = routing.route(root.name)
        if route is not None:  # a unit routed nowhere is validated, not loaded
            assets.append(_loaded_asset(root, partitions, route))
    return assets


def build_entity_checks(partitions: dg.PartitionsDefinition, routing: Routing) -> list[dg.AssetChecksDefinition]:
    routed = [(entity, route) for entity in ENTITIES.values() if (route := routing.route(entity.name)) is not None]
    checks = [_partitioned_check(lambda e=entity, r=route: _conservation_check(e, partitions, r))
              for entity, route in routed]
    for root in routing.routed_units():
        route = routing.route(root.name)
        if route is not None and SYSTEMS[route.config.system].reads_back:
            checks.append(_partitioned_check(lambda root=root, route=route: _reconciliation_check(root, partitions,
                                                                                                  route)))
    return checks
