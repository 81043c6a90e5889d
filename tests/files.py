"""Real files for tests."""

import csv
from collections.abc import Iterable
from pathlib import Path


def write_csv(path: Path, header: list[str], rows: Iterable[Iterable]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_columns_csv(path: Path, columns: dict[str, list]) -> Path:
    """A CSV from equally long columns."""
    return write_csv(path, list(columns), zip(*columns.values()))
