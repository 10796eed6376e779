"""The code location's shape: what an operator sees in the UI."""

from __future__ import annotations

import dagster as dg

from batch_orchestration.definitions import defs
from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.orchestration.partitions import PREVIOUS_DAY
from batch_orchestration_tests.orchestration.harness import BIGLEDGER_ENTITIES


def test_every_entity_has_its_three_assets_and_they_load() -> None:
    dg.Definitions.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    for entity in ENTITIES:
        assert {f"{entity}_staged", f"{entity}_validated", f"landing/{entity}"} <= keys
        assert (f"{entity}_loaded" in keys) == (entity in BIGLEDGER_ENTITIES), entity  # the default routing


def test_dependencies_follow_the_entities_and_the_days() -> None:
    graph = defs.resolve_asset_graph()

    def parents(key: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey(key)).parent_keys}

    assert parents("invoices_validated") >= {"invoices_staged", "customers_validated"}
    assert parents("invoice_line_items_validated") >= {"invoice_line_items_staged", "items_validated"}
    assert parents("invoices_loaded") >= {"customers_loaded", "items_loaded", "invoices_validated",
                                          "invoice_line_items_validated", "invoices_loaded"}
    assert parents("invoice_line_items_loaded") >= {"customers_loaded", "items_loaded", "invoice_line_items_loaded"}
    # A unit's members are one step: none depends on another (an asset backfill could not group them).
    steps = {graph.get(key).assets_def for key in defs.resolve_all_asset_keys()
             if key.to_user_string().endswith(("_validated", "_loaded"))}
    for step in steps:
        for key in step.keys:
            assert not (graph.get(key).parent_keys & (set(step.keys) - {key})), key
    # The order the target's references impose (seed 000): parents load first.
    assert parents("bills_loaded") >= {"suppliers_loaded", "items_loaded"}
    assert parents("journal_entries_loaded") >= {"accounts_loaded", "journal_entry_lines_validated"}
    assert parents("stock_adjustments_loaded") >= {"items_loaded"}
    assert parents("payments_loaded") >= {"customers_loaded", "suppliers_loaded", "invoices_loaded", "bills_loaded"}
    for entity in ENTITIES:  # each day's validation and load follow the entity's previous day
        for stage in ("validated", "loaded") if entity in BIGLEDGER_ENTITIES else ("validated",):
            key = dg.AssetKey(f"{entity}_{stage}")
            assert graph.get(key).assets_def.get_partition_mapping_for_dep(key) == PREVIOUS_DAY, key


def test_a_header_and_its_lines_are_validated_and_loaded_by_one_step() -> None:
    for header, lines in (("invoices", "invoice_line_items"), ("bills", "bill_line_items"),
                          ("journal_entries", "journal_entry_lines")):
        for stage in ("validated", "loaded"):
            step = defs.resolve_assets_def(f"{header}_{stage}")
            assert dg.AssetKey(f"{lines}_{stage}") in step.keys, (header, stage)


def test_loads_share_one_pool_and_retry_with_backoff() -> None:
    for entity in BIGLEDGER_ENTITIES:
        assets_def = defs.resolve_assets_def(f"{entity}_loaded")
        node = assets_def.node_def
        assert node.pool == "bigledger_api"
        assert node.retry_policy is not None and node.retry_policy.backoff == dg.Backoff.EXPONENTIAL


def test_nightly_schedule_and_sensors() -> None:
    schedule = defs.resolve_schedule_def("nightly_sync")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "daily_sync_job"
    assert {s.name for s in defs.sensors} == {"local_landing_sensor", "s3_landing_sensor", "run_failure_alert"}
    # Every loaded asset is expected fresh by 06:00, from a load after the 02:00 sync started.
    graph = defs.resolve_asset_graph()
    for entity in BIGLEDGER_ENTITIES:
        policy = graph.get(dg.AssetKey(f"{entity}_loaded")).freshness_policy
        assert (policy.deadline_cron, policy.lower_bound_delta.total_seconds(), policy.timezone) == (
            "0 6 * * *", 4 * 3600, "UTC"), entity


def test_the_api_key_is_not_in_the_definitions_config() -> None:
    target = defs.resources["target_bigledger"]
    assert "EnvVar" in type(target.api_key).__name__ or str(target.api_key).startswith("EnvVar")


def test_every_column_of_the_staged_and_validated_tables_is_described_from_the_model() -> None:
    graph = defs.resolve_asset_graph()
    for entity in ENTITIES:
        for stage in ("staged", "validated"):
            schema = graph.get(dg.AssetKey(f"{entity}_{stage}")).metadata["dagster/column_schema"]
            assert all(column.description for column in schema.columns), (entity, stage)
    validated = graph.get(dg.AssetKey("customers_validated")).metadata["dagster/column_schema"]
    name = next(column for column in validated.columns if column.name == "name")
    assert name.description == "Name; required; at least 1 characters; at most 100 characters; " \
                               "from the legacy column CUST_NAME"  # the model's rules, the mapping's column
