"""What runs of days did, as the demo and the run commands print it: per entity, from the assets' metadata."""

from __future__ import annotations

from collections import Counter

from rich import box
from rich.console import Console
from rich.table import Table

from batch_orchestration.entities.registry import ENTITIES
from batch_orchestration.orchestration.runner import DayResult


def totals(results: list[DayResult], entity: str) -> tuple[Counter[str], Counter[str]]:
    """Numbers summed over the days from the assets' metadata (``<stage>.<name>``), and rejects by code."""
    summed: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for result in results:
        for stage in ("staged", "validated", "loaded"):
            for key, value in result.metadata.get(f"{entity}_{stage}", {}).items():
                if key.startswith("rejects/") and isinstance(value, int):
                    codes[key.removeprefix("rejects/")] += value
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    summed[f"{stage}.{key}"] += value
    return summed, codes


def records_sent(results: list[DayResult]) -> int:
    """Creates, updates and deletes the loads sent, over the days."""
    return sum(int(r.metadata.get(f"{e}_loaded", {}).get(k, 0))
               for r in results for e in ENTITIES for k in ("created", "updated", "deleted"))


def print_summary(console: Console, results: list[DayResult], expected: dict[str, list[str]] | None = None) -> None:
    """Per entity: rows staged, rows rejected (at validation or load; a row breaking two rules counts once),
    against ``expected`` rejects when given (the demo's generator knows them), and what the load did (a
    changes export's delete rows are neither rejected nor loaded records: they are the deletes). Entities
    the runs did not touch are left out."""
    # Compact, so that the eight columns fit an 80-column terminal: rejected/expected in one.
    table = Table(title=f"Summary ({len(results)} day{'s' if len(results) != 1 else ''})", box=box.SIMPLE_HEAD,
                  padding=(0, 0), pad_edge=False)
    table.add_column("entity", no_wrap=True, min_width=max(map(len, ENTITIES)))
    for column in ("staged", "rej/exp" if expected is not None else "rejected", "created", "updated", "deleted",
                   "skipped", "load s"):
        table.add_column(column, justify="right")
    rejects_by_entity = {}
    for entity in ENTITIES:
        summed, codes = totals(results, entity)
        if not summed and not codes:
            continue
        rejects_by_entity[entity] = codes
        rejected = int(summed["validated.rows_in"] - summed["validated.dagster/row_count"]
                       - summed["validated.deletes"] + summed["loaded.rejected"])
        shown = rejected if expected is None else f"{rejected}/{len(expected[entity]) if entity in expected else '-'}"
        table.add_row(entity, str(int(summed["staged.dagster/row_count"])), str(shown),
                      *(str(int(summed[f"loaded.{name}"])) for name in ("created", "updated", "deleted", "skipped")),
                      f"{summed['loaded.seconds']:.1f}")
    console.print(table)
    console.print("rejected by code:")
    for entity, codes in rejects_by_entity.items():
        listed = ", ".join(f"{code} {n}" for code, n in codes.most_common()) or "none"
        console.print(f"  {entity}: {listed}")
