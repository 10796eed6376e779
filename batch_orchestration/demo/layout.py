"""The legacy export layout: ``<root>/<entity>/<YYYY-MM-DD>/export_partN.csv`` with the legacy headers."""

from __future__ import annotations

import csv
import random
from functools import cache
from pathlib import Path

import yaml

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "entities" / "mappings"
FILE_PATTERN = "export_part*.csv"

Row = dict[str, str]


@cache
def legacy_columns(entity: str) -> tuple[str, ...]:
    """The legacy column names of an entity, in mapping order (right-hand side of its mapping YAML)."""
    mapping = yaml.safe_load((MAPPINGS_DIR / f"{entity}.yaml").read_text(encoding="utf-8"))
    return tuple(mapping["columns"].values())


def write_partition(root: Path, entity: str, day: str, rows: list[Row], rng: random.Random) -> list[str]:
    """Write one day's rows of an entity as one or two CSV files; return their paths relative to root.

    Files left from an earlier generation in the same partition are removed first.
    """
    folder = root / entity / day
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(FILE_PATTERN):
        stale.unlink()
    parts = [rows]
    if len(rows) >= 2 and rng.random() < 0.5:
        cut = rng.randint(len(rows) // 3, 2 * len(rows) // 3) or 1
        parts = [rows[:cut], rows[cut:]]
    written = []
    for number, part in enumerate(parts, start=1):
        path = folder / f"export_part{number}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=legacy_columns(entity))
            writer.writeheader()
            writer.writerows(part)
        written.append(path.relative_to(root).as_posix())
    return written


def split_counts(total: int, n_days: int, first_share: float | None) -> list[int]:
    """Split ``total`` over days: evenly, or ``first_share`` on day 1 and the rest evenly after it."""
    if first_share is None or n_days == 1:
        first, rest_days = total // n_days + (total % n_days > 0), n_days - 1
    else:
        first, rest_days = round(total * first_share), n_days - 1
    rest = total - first
    return [first] + [rest // rest_days + (i < rest % rest_days) for i in range(rest_days)]
