"""Parse one dbt_like_sql model with sqlglot: its single query, upstream tables and column lineage.

Models are written in the SQL subset DuckDB and PostgreSQL share and are read with the DuckDB
dialect. Lineage needs every column to resolve to a table without knowing the tables' schemas, so a
column in a query with several sources must carry its table alias (``c.email``); a column in a query
with one source may stay bare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope, traverse_scope

READ_DIALECT = "duckdb"

ColumnLineage = dict[str, list[tuple[str, str]]]


class SqlModelError(ValueError):
    """A model file that cannot be used: the message names the file."""


@dataclass(frozen=True)
class SqlModel:
    """One parsed model: ``<layer>/<name>.sql`` holding one SELECT."""

    name: str
    layer: str
    path: Path
    query: exp.Query = field(repr=False, compare=False)
    upstream_tables: tuple[str, ...]
    column_lineage: ColumnLineage = field(compare=False)

    @property
    def columns(self) -> list[str]:
        """The output column names, in order."""
        return list(self.column_lineage)

    def sql(self, dialect: str) -> str:
        """The query transpiled to ``dialect`` ("duckdb" or "postgres"), without comments."""
        return self.query.sql(dialect=dialect, comments=False)


def parse_model(path: Path, layer: str) -> SqlModel:
    """Read and parse ``path``; any problem raises :class:`SqlModelError` naming the file."""
    try:
        query = _single_query(path.read_text(encoding="utf-8"))
        tables = _upstream_tables(query)
        column_lineage = _column_lineage(query)
        _refuse_placeholder_characters(query)
    except SqlModelError as error:
        raise SqlModelError(f"{path}: {error}") from error
    except SqlglotError as error:
        raise SqlModelError(f"{path}: sqlglot cannot read this model: {error}") from error
    return SqlModel(path.stem, layer, path, query, tables, column_lineage)


def _single_query(text: str) -> exp.Query:
    """The file's one statement, which must be a query (SELECT, WITH … SELECT, a UNION of SELECTs)."""
    statements = [s for s in sqlglot.parse(text, read=READ_DIALECT) if s is not None]
    if len(statements) != 1:
        raise SqlModelError(f"a model holds exactly one SELECT statement, found {len(statements)}")
    (statement,) = statements
    if not isinstance(statement, exp.Query):
        raise SqlModelError(f"a model is one SELECT statement, not {statement.key.upper()}")
    return statement


def _refuse_placeholder_characters(query: exp.Query) -> None:
    """Sessions read ``?`` as a bound parameter and escape ``%`` for psycopg, so models use neither."""
    text = query.sql(dialect="postgres", comments=False)
    if "?" in text or "%" in text:
        raise SqlModelError("a model may not contain '?' or '%' (the warehouse session's placeholder syntax)")


def _table_name(table: exp.Table) -> str:
    return ".".join(part for part in (table.catalog, table.db, table.name) if part)


def _upstream_tables(query: exp.Query) -> tuple[str, ...]:
    """Every table the query reads, in every scope (subqueries included), CTE names excluded."""
    names = {
        _table_name(source)
        for scope in traverse_scope(query)
        for source in scope.sources.values()
        if isinstance(source, exp.Table)
    }
    return tuple(sorted(names))


def _qualify_single_source_columns(query: exp.Query) -> None:
    """Give bare columns the alias of their scope's only source (sqlglot needs a schema for that)."""
    for scope in traverse_scope(query):
        if len(scope.selected_sources) != 1:
            continue
        (alias,) = scope.selected_sources
        for column in scope.unqualified_columns:
            column.set("table", exp.to_identifier(alias))


def _column_lineage(query: exp.Query) -> ColumnLineage:
    """For each output column, the (table, column) pairs of the upstream tables it is computed from."""
    qualified = query.copy()
    _qualify_single_source_columns(qualified)
    try:
        qualified = qualify(qualified, dialect=READ_DIALECT, validate_qualify_columns=True)
    except SqlglotError as error:
        raise SqlModelError(
            f"cannot resolve the columns for lineage ({error}); prefix columns with their table alias"
        ) from error
    if "*" in qualified.named_selects:
        raise SqlModelError("list the output columns: a `*` over a table of unknown columns cannot be traced")
    scope = build_scope(qualified)
    result: ColumnLineage = {}
    for column in qualified.named_selects:
        node = lineage(column, qualified, schema={}, dialect=READ_DIALECT, scope=scope, copy=False)
        pairs = {
            (_table_name(leaf.expression), leaf.name.split(".")[-1].strip('"'))
            for leaf in node.walk()
            if isinstance(leaf.expression, exp.Table)
        }
        result[column] = sorted(pairs)
    return result
