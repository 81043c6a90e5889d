"""Plain-text tables for the CLI."""

from __future__ import annotations


def table(header: tuple, rows: list[tuple]) -> str:
    """Left-aligned columns with a dashed rule under the header."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in [header, tuple("-" * w for w in widths), *rows])
