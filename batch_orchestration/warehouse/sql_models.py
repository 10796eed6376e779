"""The dbt_like_sql runner: discover the SQL models, order them by dependency, run a selection.

Each ``dbt_like_sql/<layer>/<name>.sql`` holds one SELECT; the model's name is the file stem, unique
across layers. A model that reads another model's name depends on it; every other table it reads is a
source (a warehouse table, or a temp table the pipeline created in the session). Running a model
creates a session-private TEMP VIEW of that name, so the rules see only the session's data and vanish
with it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from importlib.resources import files
from pathlib import Path

from batch_orchestration.warehouse.backend import WarehouseSession, quote_identifier
from batch_orchestration.warehouse.sql_model_parse import ColumnLineage, SqlModel, SqlModelError, parse_model

# The repository's dbt_like_sql/ folder, installed as this package (pyproject.toml maps it).
MODELS_PACKAGE = "batch_orchestration.dbt_like_sql"


def _installed_models_dir() -> Path:
    """Where the models package is on disk: the repository folder (editable install) or its copy (wheel)."""
    root = files(MODELS_PACKAGE)
    if not isinstance(root, Path):
        raise SqlModelError(f"{MODELS_PACKAGE} is not a folder on disk ({root}); install the package unzipped")
    return root


DEFAULT_MODELS_DIR = _installed_models_dir()

__all__ = [
    "DEFAULT_MODELS_DIR",
    "MODELS_PACKAGE",
    "ModelGraph",
    "ModelNode",
    "ModelRun",
    "SqlModelError",
    "discover_models",
    "model_graph",
    "run_models",
]


@dataclass(frozen=True)
class ModelNode:
    """A model with what it reads split into other models and sources: what the Dagster layer shows."""

    model: SqlModel
    upstream_models: tuple[str, ...]
    upstream_sources: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def layer(self) -> str:
        return self.model.layer

    @property
    def path(self) -> Path:
        return self.model.path

    @property
    def column_lineage(self) -> ColumnLineage:
        """Output column -> the (table, column) pairs it is computed from."""
        return self.model.column_lineage


@dataclass(frozen=True)
class ModelRun:
    """What running one model did."""

    name: str
    layer: str
    upstream_tables: tuple[str, ...]
    row_count: int | None


def discover_models(models_dir: Path | None = None) -> list[SqlModel]:
    """Parse every ``<layer>/<name>.sql`` under ``models_dir``; names must be unique across layers."""
    root = Path(models_dir) if models_dir is not None else DEFAULT_MODELS_DIR
    if not root.is_dir():
        raise SqlModelError(f"no models directory at {root}")
    models: dict[str, SqlModel] = {}
    for path in sorted(root.rglob("*.sql")):
        layer = path.parent.relative_to(root).as_posix()
        if layer == ".":
            raise SqlModelError(f"{path}: a model sits in a layer folder (<layer>/<name>.sql)")
        try:
            quote_identifier(path.stem)
        except ValueError as error:
            raise SqlModelError(f"{path}: the file name is not a usable model name") from error
        model = parse_model(path, layer)
        if model.name in models:
            raise SqlModelError(f"model name {model.name!r} is used twice: {models[model.name].path} and {path}")
        models[model.name] = model
    return list(models.values())


class ModelGraph:
    """The models in dependency order, with selection of a model and everything it reads from."""

    def __init__(self, models: Iterable[SqlModel]) -> None:
        by_name = {model.name: model for model in models}
        nodes = {
            model.name: ModelNode(
                model,
                upstream_models=tuple(t for t in model.upstream_tables if t in by_name),
                upstream_sources=tuple(t for t in model.upstream_tables if t not in by_name),
            )
            for model in by_name.values()
        }
        self.nodes: dict[str, ModelNode] = {name: nodes[name] for name in _topological_order(nodes)}

    @property
    def models(self) -> list[ModelNode]:
        """Every model, dependencies first."""
        return list(self.nodes.values())

    def node(self, name: str) -> ModelNode:
        try:
            return self.nodes[name]
        except KeyError:
            raise SqlModelError(f"no model named {name!r}; known: {', '.join(sorted(self.nodes))}") from None

    def selection(self, select: Iterable[str] | None = None) -> list[ModelNode]:
        """The selected models and every model they depend on, dependencies first (None: all)."""
        if select is None:
            return self.models
        wanted: set[str] = set()
        pending = [self.node(name).name for name in select]
        while pending:
            name = pending.pop()
            if name not in wanted:
                wanted.add(name)
                pending.extend(self.nodes[name].upstream_models)
        return [node for node in self.nodes.values() if node.name in wanted]


def _topological_order(nodes: dict[str, ModelNode]) -> list[str]:
    """Names with dependencies first, ties by name; a cycle raises naming the models and their files."""
    sorter = TopologicalSorter({name: node.upstream_models for name, node in sorted(nodes.items())})
    try:
        sorter.prepare()
    except CycleError as error:
        cycle = error.args[1]
        described = " -> ".join(f"{name} ({nodes[name].path})" for name in cycle)
        raise SqlModelError(f"dependency cycle between models: {described}") from error
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order


def model_graph(models_dir: Path | None = None) -> ModelGraph:
    """Discover and order the models (default: the installed ``dbt_like_sql/``, parsed once per process)."""
    return _installed_graph() if models_dir is None else ModelGraph(discover_models(models_dir))


@functools.cache
def _installed_graph() -> ModelGraph:
    return ModelGraph(discover_models(None))


def run_models(
    session: WarehouseSession,
    select: Iterable[str] | None = None,
    *,
    graph: ModelGraph | None = None,
    count_rows: bool = True,
) -> list[ModelRun]:
    """Create the selected models (and their upstream models) as TEMP VIEWs in ``session``, in order."""
    graph = graph if graph is not None else model_graph()
    runs: list[ModelRun] = []
    for node in graph.selection(select):
        view = quote_identifier(node.name)
        try:
            session.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {node.model.sql(session.dialect)}")
            row_count = session.fetch_all(f"SELECT COUNT(*) FROM {view}")[0][0] if count_rows else None
        except Exception as error:
            raise SqlModelError(f"model {node.name} ({node.path}) failed on {session.dialect}: {error}") from error
        runs.append(ModelRun(node.name, node.layer, node.model.upstream_tables, row_count))
    return runs
