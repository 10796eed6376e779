"""The load step's column lineage, observed on the real payload builders (``load/payload_lineage.py``)."""

from __future__ import annotations

from decimal import Decimal

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.load.payload_lineage import payload_lineage
from batch_orchestration.targets.bigledger.bindings import BINDINGS
from batch_orchestration.targets.ebill.bindings import BINDINGS as EBILL
from batch_orchestration_tests.load.conftest import customer, invoice, line


def test_each_payload_field_comes_from_the_fields_that_move_it() -> None:
    first = customer("C1")
    second = {**customer("C2"), "phone": "+60312345678", "street": "1 Jalan Ampang"}  # optional fields, elsewhere
    lineage = payload_lineage(BINDINGS["customers"], ENTITIES["customers"], [(first, []), (second, [])])
    assert lineage["email"] == (("customers", "email"),)
    assert lineage["phone"] == (("customers", "phone"),)  # empty in the first record: given the second's
    assert lineage["address.street"] == (("customers", "street"),)
    assert not any(("customers", "customer_key") in sources for sources in lineage.values())  # not sent


def test_lines_and_fallbacks_are_followed_into_the_payload() -> None:
    header = {**invoice("I1", "C1", "10.00"), "reference": None}
    lines = [{**line("I1", 1, "2", "5.00"), "item_code": None}, line("I1", 2, "1", "0.00")]
    lineage = payload_lineage(BINDINGS["invoices"], ENTITIES["invoices"], [(header, lines)])
    assert lineage["customerId"] == (("invoices", "customer_key"),)  # through the target id of the customer
    assert lineage["items[].unitPrice"] == (("invoice_line_items", "unit_price"),)
    assert lineage["reference"] == (("invoices", "invoice_key"), ("invoices", "reference"))  # its fallback
    # The same lines into another system's binding: what it names is its own.
    ebill = payload_lineage(EBILL["invoices"], ENTITIES["invoices"], [(header, lines)])
    assert ebill and ebill != lineage


def test_a_record_no_binding_can_build_says_nothing() -> None:
    header = {**invoice("I1", "C1", "10.00"), "total_amount": Decimal("10.00")}
    assert payload_lineage(BINDINGS["invoices"], ENTITIES["invoices"], [(header, [])]) == {}  # no lines


def test_no_binding_of_any_system_fails_the_observation_whatever_the_record() -> None:
    """A probe guesses values (an item type ``servicex``, a status ``x``) that builders look up and refuse;
    whatever they raise, the observation says what it can and never raises (it runs in every load step)."""
    from batch_orchestration.targets.systems import SYSTEMS

    def guessed(entity: str, n: int) -> dict[str, object]:
        spec = ENTITIES[entity]
        return {name: {"TEXT": f"v{n}", "BIGINT": n}.get(spec.sql_type(name), Decimal(n)) for name in spec.fields}

    for system in SYSTEMS.values():
        for entity, binding in system.bindings.items():
            root = ENTITIES[entity]
            parts = [guessed(root.parts.entity, n) for n in (1, 2)] if root.parts else []
            assert isinstance(payload_lineage(binding, root, [(guessed(entity, 1), parts)]), dict), entity
