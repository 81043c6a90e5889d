"""Read OpenLineage events from files: JSON objects, JSON arrays, JSON Lines, and folders of them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

EVENT_SUFFIXES = (".json", ".jsonl", ".ndjson")
SAMPLES = Path(__file__).parent / "samples"  # bundled sample lineage (Marquez's food-delivery seed)


@dataclass(frozen=True)
class FileEvent:
    source: str  # file, with :line for JSON Lines or [index] for arrays
    event: object | None
    error: str | None = None


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named directly, plus event files found recursively in folders, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in EVENT_SUFFIXES))
        else:
            files.append(path)
    return files


def read_events(path: Path) -> Iterator[FileEvent]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        yield FileEvent(str(path), None, f"cannot read file: {exc}")
        return
    if path.suffix in (".jsonl", ".ndjson"):
        yield from _lines(path, text)
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # Not one JSON document: perhaps JSON Lines under a .json name.
        if "\n" in text.strip():
            yield from _lines(path, text)
        else:
            yield FileEvent(str(path), None, f"invalid JSON: {exc}")
        return
    if isinstance(data, list):
        for index, event in enumerate(data):
            yield FileEvent(f"{path}[{index}]", event)
    else:
        yield FileEvent(str(path), data)


def _lines(path: Path, text: str) -> Iterator[FileEvent]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield FileEvent(f"{path}:{number}", json.loads(line))
        except json.JSONDecodeError as exc:
            yield FileEvent(f"{path}:{number}", None, f"invalid JSON: {exc}")
