"""The asset factory: each registry entry becomes ``<entity>_staged``, ``_validated`` and ``_loaded``.

Dependencies follow the registry: a child's validation reads its parents' validated records, its
loading waits for its parents' loading, and every load waits for its own previous day.
"""


import warnings

import dagster as dg

from batch_orchestration.entities.registry import ENTITIES, EntitySpec
from batch_orchestration.load.loader import Loader
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
from batch_orchestration.orchestration.stages import stage_day, unaccounted_records, validate_day
from batch_orchestration.targets.base import TargetRefused
from batch_orchestration.targets.routing import Route, Routing
from batch_orchestration.targets.systems import TargetResource
from batch_orchestration.validate.rejects import reject_sample

# Step retries for what can fail transiently (the landing store, the target API).
STEP_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def _key(entity: str, stage: str) -> dg.AssetKey:
    return dg.AssetKey(f"{entity}_{stage}")


def _landing_spec(entity: EntitySpec) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=landing_key(entity),
        description=f"Legacy {entity.name} CSV exports: <landing root>/{entity.name}/<YYYY-MM-DD>/*.csv",
        group_name="landing_zone",
        kinds={"csv"},
    )


def _staged_asset(entity: EntitySpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=_key(entity.name, "staged"),
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
        result = stage_day(warehouse.open(), landing.open(), entity, day)
        files = [
            {"file": f.key, "rows_staged": f.rows_staged, "rejected": f.rejected,
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
                **rejects_metadata(result.rejects, reject_sample(warehouse.open(), entity.name, day)),
            }
        )

    return staged


def _validated_asset(entity: EntitySpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    check_name = "reject_rate_under_threshold"
    deps = [_key(entity.name, "staged")]
    deps += [_key(parent, "validated") for parent in entity.parents]
    deps += [_key(other, "staged") for other in entity.validate_with]

    @dg.asset(
        key=_key(entity.name, "validated"),
        deps=deps,
        partitions_def=partitions,
        group_name=entity.name,
        kinds={"pydantic", "sql"},
        description=f"{entity.name} that pass the row rules ({entity.model.__name__}) and the set rules "
        f"(dbt_like_sql/validated/{entity.name}_set_rejects.sql).",
        metadata={"dagster/column_schema": column_schema(entity, typed=True),
                  "dagster/column_lineage": validated_lineage(entity, _key(entity.name, "staged"))},
        check_specs=[dg.AssetCheckSpec(check_name, asset=_key(entity.name, "validated"), blocking=True,
                                       description="Rejected share of the day's rows is under the threshold")],
    )
    def validated(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  settings: PipelineSettingsResource) -> dg.MaterializeResult:
        day = context.partition_key
        result = validate_day(warehouse.open(), entity, day)
        rate = result.rejected_rows / result.staged_rows if result.staged_rows else 0.0
        models = {run.name: ", ".join(run.upstream_tables) for run in result.models_run}
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.valid_rows,
                "rows_in": result.staged_rows,
                "reject_rate": rate,
                "sql_models": dg.MetadataValue.json(models),
                **rejects_metadata(result.rejects, reject_sample(warehouse.open(), entity.name, day)),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=check_name,
                    passed=rate <= settings.max_reject_rate,
                    metadata={"reject_rate": rate, "threshold": settings.max_reject_rate},
                    severity=dg.AssetCheckSeverity.ERROR,
                )
            ],
        )

    return validated


def _loaded_asset(entity: EntitySpec, partitions: dg.PartitionsDefinition, route: Route) -> dg.AssetsDefinition:
    own_key = _key(entity.name, "loaded")
    deps: list[dg.AssetDep | dg.AssetKey] = [_key(entity.name, "validated")]
    deps += [_key(parent, "loaded") for parent in entity.parents]
    deps += [_key(child.name, "validated") for child in ENTITIES.values() if child.travels_with == entity.name]
    deps.append(dg.AssetDep(own_key, partition_mapping=PREVIOUS_DAY))
    travels = f"; they travel inside their {entity.travels_with}" if entity.travels_with else ""

    @dg.asset(
        key=own_key,
        deps=deps,
        partitions_def=partitions,
        group_name=entity.name,
        kinds={"api", route.config.system},
        pool=route.pool,
        retry_policy=STEP_RETRY,
        required_resource_keys={"warehouse", route.resource_key},
        metadata={"target": route.target, "target_system": route.config.system},
        description=(f"{entity.name} in the target {route.target} ({route.config.system}): created, updated or "
                     f"skipped from the ID map{travels}"),
    )
    def loaded(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        day = context.partition_key
        target: TargetResource = getattr(context.resources, route.resource_key)
        connector = target.connector()

        def progress(done: int, total: int) -> None:
            if total and (done == total or done % 1000 < connector.max_batch(entity.travels_with or entity.name)):
                context.log.info(f"{entity.name} {day}: {done}/{total} records sent")

        loader = Loader(context.resources.warehouse.open(), connector, progress=progress)
        try:
            report = loader.load_partition(entity, day)
        except TargetRefused as refused:
            # No retry can change this answer: fail now, without step retries, with what to check.
            raise dg.Failure(description=str(refused), allow_retries=False) from None
        return dg.MaterializeResult(
            metadata={
                "created": report.created,
                "updated": report.updated,
                "skipped": report.skipped,
                "rejected": report.rejected,
                "batches_sent": report.batches_sent,
                "ambiguous_batches": report.ambiguous_batches,
                "recovered_by_lookup": report.recovered_by_lookup,
                "reconciled_intents": report.reconciled_intents,
                "records_per_second": round(report.records_per_second, 1),
                "seconds": round(report.seconds, 2),
                **{f"rejects/{code}": n for code, n in sorted(report.rejects_by_code.items())},
            },
        )

    return loaded


def _conservation_check(entity: EntitySpec, partitions: dg.PartitionsDefinition,
                        route: Route) -> dg.AssetChecksDefinition:
    """A check of its own, so it can be re-run on a day without loading it again.

    Partitioned, so each result belongs to its day; Dagster 1.13 marks partitioned checks as a preview
    and warns at every definition, which this one place acknowledges (the Dagster set is pinned).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec")
        return _partitioned_conservation_check(entity, partitions, route)


def _partitioned_conservation_check(entity: EntitySpec, partitions: dg.PartitionsDefinition,
                                    route: Route) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=_key(entity.name, "loaded"),
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


def build_entity_assets(partitions: dg.PartitionsDefinition,
                        routing: Routing) -> list[dg.AssetsDefinition | dg.AssetSpec]:
    assets: list[dg.AssetsDefinition | dg.AssetSpec] = []
    for entity in ENTITIES.values():
        assets += [
            _landing_spec(entity),
            _staged_asset(entity, partitions),
            _validated_asset(entity, partitions),
            _loaded_asset(entity, partitions, routing.route(entity.name)),
        ]
    return assets


def build_entity_checks(partitions: dg.PartitionsDefinition, routing: Routing) -> list[dg.AssetChecksDefinition]:
    return [_conservation_check(entity, partitions, routing.route(entity.name)) for entity in ENTITIES.values()]
