"""The row rules over a whole staged day at once, in the warehouse, read off the entity's model.

Each field's annotation is walked as pydantic applies it (before-validators last to first, the type,
then constraints and after-validators in order), and each step is replaced by its SQL twin
(``entities/sql_twins.py``); the model's own validators by theirs. The result is one SQL condition
that holds for the rows the model takes as they are, and the SQL of each validated value. Those rows
become candidates without leaving the warehouse; every other row goes through the model itself
(``validate/rows.py``), which alone writes rejects and their messages. A step without a twin (or a
field the export writes in a declared format) vouches for nothing: the rows that give that field a
value go to the model, and a model validator without a twin sends every row there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import pandas as pd
from annotated_types import Ge, MaxLen, MinLen
from pydantic import AfterValidator, BeforeValidator
from pydantic.fields import FieldInfo

from batch_orchestration.entities.registry import EntitySpec
from batch_orchestration.entities.sql_twins import Check, Sql, twin_of
from batch_orchestration.ingest.landing import check_day
from batch_orchestration.ingest.mapping import ColumnMapping
from batch_orchestration.validate.formats import field_formats
from batch_orchestration.validate.rejects import append_rejects
from batch_orchestration.validate.rows import validate_frame
from batch_orchestration.warehouse.backend import WarehouseSession, quote_identifier
from batch_orchestration.warehouse.schema import staged_table, validated_columns, validated_table

_VOUCHED_INTEGER = "0|[1-9][0-9]{0,17}"  # fits BIGINT, read by int() as written
_KIND_OF_TYPE = {str: "text", int: "integer", Decimal: "decimal", date: "date"}


@dataclass(frozen=True)
class RowPlan:
    """``valid``: SQL condition on a staged row (its fields as columns); ``values``: the SQL of each
    validated field; ``source_key``: the SQL of the record's key."""

    valid: str
    values: dict[str, str]
    source_key: str


def _base_type(annotation: Any) -> Any:
    """``X`` of ``X | None``; any other annotation as it is (a ``Literal`` or a ``list`` has no twin)."""
    if get_origin(annotation) not in (Union, UnionType):
        return annotation
    arguments = [a for a in get_args(annotation) if a is not type(None)]
    return arguments[0] if len(arguments) == 1 else annotation


def _literal(sql: Sql, value: Any) -> str:
    """A field's default in SQL (defaults are code, not data)."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return sql.text(value)
    if isinstance(value, Decimal):
        return f"CAST({sql.text(str(value))} AS DECIMAL(18,4))"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"no SQL for the default {value!r}")


def _steps(info: FieldInfo) -> tuple[list[Any], Any, list[Any]]:
    """A present value's before-validators in the order they run, its type, and the constraints and
    after-validators in order, through one ``Annotated[...] | None`` (an optional amount) if there is one."""
    outer_before = [m for m in info.metadata if isinstance(m, BeforeValidator)]
    outer_rest = [m for m in info.metadata if not isinstance(m, BeforeValidator)]
    inner = _base_type(info.annotation)
    if get_origin(inner) is not Annotated:
        return outer_before[::-1], inner, outer_rest
    kind, *metadata = get_args(inner)
    flat = [item for m in metadata for item in (m.metadata if isinstance(m, FieldInfo) else [m])]
    before = [m for m in flat if isinstance(m, BeforeValidator)]
    rest = [m for m in flat if not isinstance(m, BeforeValidator)]
    return outer_before[::-1] + before[::-1], kind, rest + outer_rest


def _present(info: FieldInfo, column: str, sql: Sql) -> tuple[list[str], str] | None:
    """The conditions a present value must meet, in pydantic's order, and the SQL of its validated value;
    None if some step has no twin."""
    before, kind_of_type, rest = _steps(info)
    conditions: list[str] = []
    value, kind = column, "text"
    for validator in before:
        twin = twin_of(validator.func)
        if twin is None:
            return None
        check = twin(sql, value)
        conditions.append(check.holds)
        value, kind = check.value or value, check.kind or kind
    wanted = _KIND_OF_TYPE.get(kind_of_type)
    if wanted == "integer" and kind == "text":
        conditions.append(sql.matches(value, _VOUCHED_INTEGER))
        value, kind = f"CAST({value} AS BIGINT)", "integer"
    if wanted != kind:
        return None
    for item in rest:
        if isinstance(item, MinLen) and kind == "text":
            check = Check(f"length({value}) >= {item.min_length}")
        elif isinstance(item, MaxLen) and kind == "text":
            check = Check(f"{sql.byte_length(value)} <= {item.max_length}")
        elif isinstance(item, Ge) and kind in ("integer", "decimal"):
            check = Check(f"{value} >= {item.ge}")
        elif isinstance(item, AfterValidator) and (twin := twin_of(item.func)) is not None:
            check = twin(sql, value)
        else:
            return None
        conditions.append(check.holds)
        value = check.value or value
    return conditions, value


# Model settings the plan reproduces: fields are forbidden or not (staged columns are the fields), frozen, and
# stripped (staged values already are). Any other setting (str_to_lower, str_max_length...) could change a
# verdict or a value, so a model that has one is validated by the model alone.
_UNDERSTOOD_CONFIG = {"extra", "str_strip_whitespace", "frozen"}


def _model_conditions(entity: EntitySpec, sql: Sql, values: dict[str, str]) -> list[str]:
    """The model's own validators: each after-validator's twin; any other validator, serializer, computed field
    or setting vouches for no row."""
    decorators, model = entity.model.__pydantic_decorators__, entity.model
    if (decorators.field_validators or decorators.validators or decorators.root_validators
            or decorators.field_serializers or decorators.model_serializers or model.model_computed_fields
            or set(model.model_config) - _UNDERSTOOD_CONFIG):
        return ["FALSE"]
    conditions = []
    for decorator in decorators.model_validators.values():
        twin = twin_of(decorator.func)
        conditions.append(twin(sql, values).holds if twin is not None and decorator.info.mode == "after" else "FALSE")
    return conditions


def plan_rows(entity: EntitySpec, sql: Sql, staged: set[str], formatted: set[str]) -> RowPlan:
    """The row rules of ``entity`` as SQL over its ``staged`` columns (a field its mapping leaves out is read
    as absent); ``formatted``: fields the export writes in a declared format (their conversion is the model
    path's)."""
    conditions: list[str] = []
    values: dict[str, str] = {}
    for name, info in entity.model.model_fields.items():
        column = quote_identifier(name) if name in staged else "CAST(NULL AS TEXT)"
        present = None if name in formatted else _present(info, column, sql)
        absent = "FALSE" if info.is_required() else "TRUE"
        default = "NULL" if info.is_required() else _literal(sql, info.get_default(call_default_factory=True))
        if present is None:
            conditions.append(f"({column} IS NULL AND {absent})")
            values[name] = default
            continue
        holds, value = present
        conditions.append(f"CASE WHEN {column} IS NULL THEN {absent} ELSE {sql.guarded(*holds)} END")
        values[name] = f"CASE WHEN {column} IS NULL THEN {default} ELSE {value} END"
    conditions += _model_conditions(entity, sql, values)
    key = " || '/' || ".join(
        f"CAST({values[name]} AS TEXT)" if entity.sql_type(name) == "BIGINT" else values[name]
        for name in entity.key_fields)
    return RowPlan(valid=f"COALESCE({sql.guarded(*conditions)}, FALSE)", values=values, source_key=key)


CHUNK_ROWS = 50_000  # rows the model validates at a time: memory stays bounded whatever the day's size
_NOT_VOUCHED = "row_check_not_vouched"
_CHUNK = "row_check_chunk"


def insert_valid(session: WarehouseSession, entity: EntitySpec, valid: pd.DataFrame) -> None:
    """Rows the model validated, into the validated table (typed as its columns)."""
    types = validated_columns(entity)
    columns = ", ".join(quote_identifier(c) for c in types)
    session.create_temp_table(_CHUNK, valid.reindex(columns=list(types)), types)
    session.execute(f"INSERT INTO {quote_identifier(validated_table(entity.name))} ({columns}) "
                    f"SELECT {columns} FROM {_CHUNK}")


@dataclass
class RowCheck:
    """The row rules' outcome for one entity and day: the rows that passed are in the validated table, the
    rejects in the ``rejects`` table."""

    checked_rows: int
    valid_rows: int
    vouched_rows: int = 0  # of the valid rows, those the SQL plan took without the model


def check_rows(session: WarehouseSession, entity: EntitySpec, day: str, mapping: ColumnMapping) -> RowCheck:
    """The row rules over the staged day: the rows the plan vouches for go into the validated table in SQL;
    the others go through the model, a chunk at a time (it words the rejects, written as each chunk is done),
    and its valid rows go there too. The caller has emptied the day's validated rows and rejects.

    No parameters: a regular expression's ``?`` is no placeholder (the day is a checked literal).
    """
    sql = Sql(session.dialect)
    plan = plan_rows(entity, sql, set(mapping.fields), set(field_formats(entity, mapping)))
    types = validated_columns(entity)
    staged, validated = quote_identifier(staged_table(entity.name)), quote_identifier(validated_table(entity.name))
    of_the_day = f"partition_day = {sql.text(check_day(day))}"
    computed = {"source_key": plan.source_key, **plan.values}
    select = ", ".join(f"CAST({computed.get(c, quote_identifier(c))} AS {t}) AS {quote_identifier(c)}"
                       for c, t in types.items())
    columns = ", ".join(quote_identifier(c) for c in types)
    session.insert_unordered(f"INSERT INTO {validated} ({columns}) SELECT {select} FROM {staged} "
                             f"WHERE {of_the_day} AND {plan.valid}")
    ((vouched,),) = session.fetch_all(f"SELECT COUNT(*) FROM {validated} WHERE {of_the_day}")
    # The rows the plan left out, found by key rather than by evaluating the plan a second time.
    session.create_temp_table_as(_NOT_VOUCHED, f"SELECT * FROM {staged} AS s WHERE {of_the_day} AND NOT EXISTS "
                                               f"(SELECT 1 FROM {validated} AS v WHERE v.{of_the_day} "
                                               "AND v.source_file = s.source_file AND v.source_row = s.source_row)")
    result = RowCheck(checked_rows=int(vouched), valid_rows=int(vouched), vouched_rows=int(vouched))
    after = ""  # keyset paging: each chunk starts after the last row of the one before
    while True:
        chunk = session.fetch_df(f"SELECT * FROM {_NOT_VOUCHED} {after} ORDER BY source_file, source_row "
                                 f"LIMIT {CHUNK_ROWS}")
        if chunk.empty:
            break
        checked = validate_frame(entity, chunk, mapping)
        insert_valid(session, entity, checked.valid)
        result.checked_rows += len(chunk)
        result.valid_rows += len(checked.valid)
        append_rejects(session, checked.rejects)
        file, row = sql.text(str(chunk["source_file"].iloc[-1])), int(chunk["source_row"].iloc[-1])
        after = f"WHERE source_file > {file} OR (source_file = {file} AND source_row > {row})"
    return result
