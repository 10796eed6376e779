"""Routing: one file says where each entity loads; the asset graph and the state follow it."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest
import yaml

from batch_orchestration.definitions import build_definitions
from batch_orchestration.entities.registry import ENTITIES, units
from batch_orchestration.orchestration.runner import run_days
from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY
from batch_orchestration.targets.bigledger.bindings import BINDINGS as BIGLEDGER_BINDINGS
from batch_orchestration.targets.routing import RoutingError, default_routing, load_routing
from batch_orchestration.targets.systems import SYSTEMS
from batch_orchestration_tests.orchestration.harness import (
    BIGLEDGER_ENTITIES,
    DAY_KEYS,
    Pipeline,
    make_settings,
    small_export,
)


def _write(path: Path, targets: dict[str, dict[str, object]], entities: dict[str, str | None]) -> Path:
    path.write_text(yaml.safe_dump({"targets": targets, "entities": entities}), encoding="utf-8")
    return path


def _target(url: str = "http://127.0.0.1:8765", system: str = "bigledger") -> dict[str, object]:
    return {"system": system, "base_url": url, "company_id": DEMO_COMPANY, "api_key_env": "EU_LEDGER_KEY",
            "rate_window_seconds": 1.0}


def test_without_a_file_every_entity_goes_to_one_bigledger_target() -> None:
    routing = default_routing("http://127.0.0.1:8765", DEMO_COMPANY, 60.0)
    routes = {entity: routing.route(entity) for entity in ENTITIES}
    assert {entity: route.target for entity, route in routes.items() if route} == dict.fromkeys(BIGLEDGER_ENTITIES,
                                                                                                "bigledger")
    assert {entity for entity, route in routes.items() if route is None} == {
        "purchase_orders", "purchase_order_lines", "item_receipts", "item_receipt_lines",
        "payables"}  # BigLedger takes none
    assert routing.route("customers").pool == "bigledger_api"


def test_no_system_takes_deletes_of_a_document_with_lines() -> None:
    """A delete would leave its lines' ID-map rows behind (docs/architecture.md, "Deletes"): none is taken."""
    deletable = {(name, entity) for name, system in SYSTEMS.items() for entity, binding in system.bindings.items()
                 if binding.deletable}
    assert deletable == {("bigledger", "customers"), ("bigledger", "suppliers"), ("bigledger", "items")}
    assert not any(ENTITIES[entity].parts for _, entity in deletable)


ROOTS = [root.name for root in units()]
# Every unit BigLedger takes into "eu", the others (purchase orders, item receipts) nowhere.
INTO_EU: dict[str, str | None] = {root: "eu" if root in BIGLEDGER_BINDINGS else None for root in ROOTS}


@pytest.mark.parametrize(("targets", "entities", "message"), [
    ({"eu": _target(system="sap")}, dict.fromkeys(ENTITIES, "eu"), "unknown system 'sap'"),
    ({"eu": _target()}, dict.fromkeys(ROOTS[:-1], "eu"), re.escape(f"missing ['{ROOTS[-1]}']")),
    ({"eu": _target()}, {**dict.fromkeys(ENTITIES, "eu"), "invoices": "us"}, "routed to 'us'"),
    ({"eu": _target(), "us": _target()}, {**INTO_EU, "payments": "us"},
     "payments in us refer to their customers: route both to the same target"),
    ({"eu": _target()}, {**INTO_EU, "customers": None},
     "invoices in eu refer to their customers"),
    ({"eu": _target(), "us": _target()}, {**INTO_EU, "invoice_line_items": "us"},
     "invoice_line_items travel with their invoices"),
    ({"eu": _target()}, {**INTO_EU, "purchase_orders": "eu"}, "bigledger takes only customers"),
    ({"EU": _target()}, dict.fromkeys(ENTITIES, "EU"), "lower-case identifier"),
    ({"eu": {**_target(), "api_key": "secret-in-a-file"}}, dict.fromkeys(ENTITIES, "eu"), "api_key"),
])
def test_a_routing_that_cannot_work_is_refused_naming_the_file(tmp_path: Path, targets: dict[str, dict[str, object]],
                                                               entities: dict[str, str | None], message: str) -> None:
    path = _write(tmp_path / "routing.yaml", targets, entities)
    with pytest.raises(RoutingError, match=message) as refused:
        load_routing(path)
    assert str(path) in str(refused.value)


def test_a_routed_target_names_the_assets_pool_and_state(tmp_path: Path, sandbox,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EU_LEDGER_KEY", DEMO_API_KEY)
    routing_file = _write(tmp_path / "routing.yaml", {"eu": _target(sandbox.url)}, INTO_EU)
    small_export(tmp_path / "landing", customers=30)
    settings = make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}", routing_path=str(routing_file),
                             target_base_url="http://127.0.0.1:1")  # the default target is not used
    defs = build_definitions(settings)

    loaded = defs.resolve_assets_def("invoices_loaded")
    assert loaded.op.pool == "eu_api"
    assert loaded.metadata_by_key[dg.AssetKey("invoices_loaded")]["target"] == "eu"
    assert "target_eu" in defs.resources and "target_bigledger" not in defs.resources
    with dg.DagsterInstance.ephemeral() as instance:  # a real instance, its storage in memory
        (result,) = run_days(defs, DAY_KEYS[:1], instance)
    assert result.success
    pipeline = Pipeline(settings, defs, sandbox)
    assert {target for (target,) in pipeline.query("SELECT DISTINCT target FROM id_map")} == {"eu"}
    assert pipeline.target_counts()["customers"] == len(pipeline.mapped_keys("customers"))
