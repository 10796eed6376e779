"""``plan_job``: the dry run in Dagster. For the day (its partition), each routed unit's plan is an
observation of its ``_loaded`` asset: the counts and the first changes, in the asset's UI page beside
its materializations, with nothing sent and nothing recorded."""

# No ``from __future__ import annotations``: Dagster reads the op's resource types from its annotations.
import dagster as dg

from batch_orchestration.load.loader import DeleteGuard
from batch_orchestration.load.plan import UnitPlan, plan_day
from batch_orchestration.orchestration.assets import asset_key
from batch_orchestration.orchestration.resources import PipelineSettingsResource, WarehouseResource
from batch_orchestration.targets.routing import Routing

PLAN_JOB = "plan_job"
LISTED = 50  # updates and held-back records shown per unit; the command line's --json gives them all


def _listing(plan: UnitPlan) -> str:
    lines = ["| record | what | detail |", "|---|---|---|"]
    for update in plan.updates[:LISTED]:
        changed = "; ".join(f"{c.field}: {c.old!r} -> {c.new!r}" for c in update.changes) or "its lines or a parent id"
        lines.append(f"| {update.source_key} | update {update.target_id} | {changed} |")
    lines += [f"| {held.source_key} | held back | {held.code}: {held.message} |" for held in plan.held_back[:LISTED]]
    return "\n".join(line.replace("\n", " ") for line in lines)


def observation(plan: UnitPlan, day: str) -> dg.AssetObservation:
    return dg.AssetObservation(
        asset_key=asset_key(plan.entity, "loaded"),
        partition=day,
        description=f"plan of {day}: nothing sent",
        metadata={
            "plan/target": plan.target,
            "plan/records": plan.records,
            "plan/creates": len(plan.creates),
            "plan/updates": len(plan.updates),
            "plan/deletes": len(plan.deletes),
            "plan/stopped_by_delete_guard": plan.stopped or "",
            "plan/skips": plan.skips,
            "plan/held_back": len(plan.held_back),
            "plan/in_doubt": plan.in_doubt,
            "plan/changes": dg.MetadataValue.md(_listing(plan)),
        },
    )


def build_plan_job(partitions: dg.PartitionsDefinition, routing: Routing) -> dg.JobDefinition:
    @dg.op(name="plan_day", description="What a load of the day would do per unit; sends nothing")
    def plan_op(context: dg.OpExecutionContext, warehouse: WarehouseResource,
                settings: PipelineSettingsResource) -> None:
        day = context.partition_key
        guard = DeleteGuard(settings.max_delete_share, settings.confirm_deletes)
        for plan in plan_day(warehouse.open(), routing, day, guard=guard):
            context.log_event(observation(plan, day))
            context.log.info(f"{plan.entity} into {plan.target}: {len(plan.creates)} creates, {len(plan.updates)} "
                             f"updates, {len(plan.deletes)} deletes, {plan.skips} skips, {len(plan.held_back)} "
                             f"held back, {plan.in_doubt} in doubt")

    @dg.job(name=PLAN_JOB, partitions_def=partitions,
            description="Dry run of a day: each routed unit's creates, updates (with the changed fields), skips "
                        "and held-back records, as observations of its _loaded asset. Nothing is sent.")
    def job() -> None:
        plan_op()

    return job
