"""Validating one unit (an aggregate: a header with its lines; or a lone entity) for one day.

A changes export's day that names operations is sorted by operation first (``validate/changes.py``):
its deletes are kept apart, and only the records go on.

Row rules (the pydantic models: over the whole day in the warehouse, ``validate/vectorized.py``, and
through the model for the rows that vectorized form does not vouch for, ``validate/rows.py``) for each
member, then the set rules (``validate/set_rules.py``, and an entity's own SQL model), in this order:
each line's own rules; the header's (a header with a rejected line falls whole; the others count only
the lines still standing); last, the lines whose header fell. The validated rows and the rejects of
every member are replaced together, in one session.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd

from batch_orchestration.entities.registry import ENTITIES, EntitySpec, members
from batch_orchestration.ingest.mapping import OPERATION_FIELD, ColumnMapping, load_mapping
from batch_orchestration.validate.changes import DELETE_COLUMNS, replace_deletes, split_changes
from batch_orchestration.validate.rejects import (
    RejectRecord,
    RejectTally,
    append_rejects,
    clear_rejects,
    tally_rejects,
)
from batch_orchestration.validate.rows import validate_frame
from batch_orchestration.validate.set_rules import (
    REFUSED_PARTS,
    REJECT_COLUMNS,
    SetRule,
    candidate_table,
    duplicate_key,
    hand_written_model,
    header_not_valid,
    line_rejected,
    open_candidates,
    record_rules,
)
from batch_orchestration.validate.vectorized import RowCheck, check_rows, insert_valid
from batch_orchestration.warehouse import Warehouse, WarehouseSession
from batch_orchestration.warehouse.backend import quote_identifier
from batch_orchestration.warehouse.schema import staged_table, validated_table
from batch_orchestration.warehouse.sql_models import ModelRun, SqlModelError, model_graph, run_models


def _staged_frame(session: WarehouseSession, entity: EntitySpec, day: str) -> pd.DataFrame:
    table = quote_identifier(staged_table(entity.name))
    return session.fetch_df(f"SELECT * FROM {table} WHERE partition_day = ? ORDER BY source_file, source_row", (day,))


def _says_operations(session: WarehouseSession, entity: EntitySpec, day: str, mapping: ColumnMapping) -> bool:
    """A changes export whose day names an operation on some row (most days of most exports do not)."""
    if mapping.sync != "changes" or OPERATION_FIELD not in mapping.fields:
        return False
    table, column = quote_identifier(staged_table(entity.name)), quote_identifier(OPERATION_FIELD)
    return bool(session.fetch_all(f"SELECT 1 FROM {table} WHERE partition_day = ? AND {column} IS NOT NULL LIMIT 1",
                                  (day,)))


def _row_rules(session: WarehouseSession, entity: EntitySpec, day: str) -> tuple[RowCheck, pd.DataFrame]:
    """The row rules of the day, whose valid rows replace the day's in the validated table (seen by the set rules
    as ``candidate_<entity>``), and its deletes.

    A day of upserts is checked in the warehouse (``validate/vectorized.py``); a day that names operations
    is sorted out first (``validate/changes.py``), then its records go through the model.
    """
    mapping = load_mapping(entity.name)
    table = quote_identifier(validated_table(entity.name))
    session.execute(f"DELETE FROM {table} WHERE partition_day = ?", (day,))
    open_candidates(session, entity, day)
    if not _says_operations(session, entity, day, mapping):
        return check_rows(session, entity, day, mapping), pd.DataFrame(columns=list(DELETE_COLUMNS))
    changes = split_changes(entity, _staged_frame(session, entity, day), mapping)
    checked = validate_frame(entity, changes.upserts, mapping)
    insert_valid(session, entity, checked.valid)
    append_rejects(session, changes.rejects + checked.rejects)
    row_check = RowCheck(checked_rows=len(changes.upserts) + len(changes.rejects), valid_rows=len(checked.valid))
    return row_check, changes.deletes


@dataclass
class ValidationResult:
    staged_rows: int
    valid_rows: int
    rejects: RejectTally  # of validation and the set rules (the records are in the ``rejects`` table)
    models_run: list[ModelRun] = field(default_factory=list)
    deletes: int = 0  # rows of a changes export that delete their record (``validate/changes.py``)

    @property
    def rejected_rows(self) -> int:
        """Rows rejected, once each: a row may break several set rules."""
        return self.rejects.rows


class _SetRuleRun:
    """Runs set rules in a session: each rule's rejects are written, then dropped from the candidates, so later
    rules see only the rows still standing."""

    def __init__(self, session: WarehouseSession, day: str) -> None:
        self.session, self.day = session, day
        self.available = {node.name for node in model_graph().models}
        self.runs: dict[str, list[ModelRun]] = {}

    def apply(self, entity: EntitySpec, rules: list[SetRule]) -> None:
        """Generated rules, all against the same candidates (a row may break several)."""
        frames = []
        for rule in rules:
            frame = self.session.fetch_df(rule.sql, rule.params)
            frames.append(frame)
            self.runs.setdefault(entity.name, []).append(ModelRun(rule.name, "generated", rule.reads, len(frame)))
        self._reject(entity, frames)

    def apply_model(self, entity: EntitySpec) -> None:
        """The entity's own SQL model, if it has one (``dbt_like_sql/validated/<entity>_set_rejects.sql``)."""
        model = hand_written_model(entity, self.available)
        if model:
            runs = run_models(self.session, select=[model], count_rows=False)
            try:
                found = self.session.fetch_df(f"SELECT * FROM {quote_identifier(model)}")  # the model runs once
            except Exception as error:
                raise SqlModelError(f"model {model} failed on {self.session.dialect}: {error}") from error
            counted = [dataclasses.replace(run, row_count=len(found)) if run.name == model else run for run in runs]
            self.runs.setdefault(entity.name, []).extend(counted)
            self._reject(entity, [found])

    def _reject(self, entity: EntitySpec, frames: list[pd.DataFrame]) -> None:
        found = pd.concat([f.reindex(columns=list(REJECT_COLUMNS)) for f in frames]) if frames else pd.DataFrame()
        if found.empty:
            return
        append_rejects(self.session, [
            RejectRecord(entity=entity.name, partition_day=self.day, source_file=r.source_file,
                         source_row=int(r.source_row), source_key=r.source_key, stage="set_rule",
                         code=r.code, message=r.message)
            for r in found.itertuples(index=False)
        ])
        rows = found[["source_file", "source_row"]].drop_duplicates().astype({"source_row": "int64"})
        self.session.create_temp_table("set_rule_rejected", rows, {"source_file": "TEXT", "source_row": "BIGINT"})
        table = quote_identifier(validated_table(entity.name))  # under the candidates' view
        self.session.execute(
            f"DELETE FROM {table} WHERE partition_day = ? AND EXISTS (SELECT 1 FROM set_rule_rejected AS r "
            f"WHERE r.source_file = {table}.source_file AND r.source_row = {table}.source_row)", (self.day,)
        )


def _create_refused_parts(session: WarehouseSession, part: EntitySpec, day: str) -> None:
    """``refused_parts``: the part's rows rejected today so far, at staging or by validation.

    Left out: a row superseded by a later row of its key (a superseded duplicate, or a bad row a later
    row corrects: the last row of a key wins). A row refused at staging names its root by its key, whose
    first part is the link (the key fields of a part start with it); a file refused whole names none.
    """
    with_key = "SELECT source_key, source_file, source_row FROM {} WHERE source_key IS NOT NULL"
    standing = {key: (file, int(row)) for key, file, row in session.fetch_all(
        with_key.format(quote_identifier(candidate_table(part.name))))}
    rejects = [RejectRecord(entity=part.name, partition_day=day, source_file=f, source_row=r, source_key=k,
                            stage=stage, code=c, message="")
               for f, r, k, stage, c in session.fetch_all(
                   "SELECT source_file, source_row, source_key, stage, code FROM rejects "
                   "WHERE entity = ? AND partition_day = ? AND stage IN ('staging', 'validation', 'set_rule')",
                   (part.name, day))]
    rows = []
    for reject in rejects:
        kept = standing.get(reject.source_key or "")
        if reject.code == "DUPLICATE_KEY" or (kept and reject.source_row is not None
                                              and (reject.source_file, reject.source_row) < kept):
            continue
        if reject.stage != "staging":
            rows.append((reject.source_file, reject.source_row, None, False))
        elif reject.source_row is None:
            rows.append((reject.source_file, None, None, True))
        elif reject.source_key is not None:
            root_key = reject.source_key.rsplit("/", len(part.key_fields) - 1)[0]
            rows.append((reject.source_file, reject.source_row, root_key, False))
    frame = pd.DataFrame(rows, columns=["source_file", "source_row", "root_key", "whole_file"])
    session.create_temp_table(REFUSED_PARTS, frame, {"source_file": "TEXT", "source_row": "BIGINT",
                                                     "root_key": "TEXT", "whole_file": "BOOLEAN"})


_OWN_STAGES = ("validation", "set_rule")  # the rejects validation writes


def validate_unit(warehouse: Warehouse, root: EntitySpec, day: str) -> dict[str, ValidationResult]:
    """Validate the unit of ``root`` for ``day`` (see the module docstring); one result per member.

    Rejects are written as they are found, in the one session that also replaces the validated rows.
    """
    results: dict[str, ValidationResult] = {}
    with warehouse.session() as session:
        session.create_temp_table("run_context", pd.DataFrame({"partition_day": [day]}))
        checked, deletes = {}, {}
        for member in members(root):
            clear_rejects(session, member.name, day, _OWN_STAGES)
            checked[member.name], deletes[member.name] = _row_rules(session, member, day)
        run = _SetRuleRun(session, day)
        for member in members(root):
            run.apply(member, [duplicate_key(member)])
            if member is root and root.parts:
                _create_refused_parts(session, ENTITIES[root.parts.entity], day)
                run.apply(root, [line_rejected(root, day)])
            run.apply(member, record_rules(member, day))
            run.apply_model(member)
        if root.parts:
            run.apply(ENTITIES[root.parts.entity], [header_not_valid(root, day)])
        for member in members(root):
            table = quote_identifier(validated_table(member.name))
            (valid_rows,) = session.fetch_all(f"SELECT COUNT(*) FROM {table} WHERE partition_day = ?", (day,))[0]
            row_check, day_deletes = checked[member.name], deletes[member.name]
            replace_deletes(session, member.name, day, day_deletes)
            results[member.name] = ValidationResult(
                staged_rows=row_check.checked_rows + len(day_deletes), valid_rows=int(valid_rows),
                rejects=tally_rejects(session, member.name, day, _OWN_STAGES),
                models_run=run.runs.get(member.name, []), deletes=len(day_deletes))
    return results
