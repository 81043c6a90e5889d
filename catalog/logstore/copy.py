"""Copying a catalog's logs to another backend (``catalog move``), exactly: the same seqs, hashes and keys."""

from __future__ import annotations

from collections.abc import Callable

from catalog.eventlog import Snapshot
from catalog.logstore.logs import Logs

CHUNK = 2000


class CopyRefused(RuntimeError):
    """The target already holds a catalog, or the copy did not come out identical."""


def copy_size(source: Logs) -> int:
    return (source.events.count() + source.events.snapshot_size() + source.governance.head()[0]
            + len(source.keys.rows()))


def copy_logs(source: Logs, target: Logs, progress: Callable[[int], None] = lambda rows: None) -> dict:
    """Copy every event, governance entry and key from ``source`` into an empty ``target``; counts per part."""
    held = {"events": target.events.last_seq(), "governance entries": target.governance.head()[0],
            "keys": len(target.keys.rows())}
    if any(held.values()):
        raise CopyRefused(f"{target.where} already holds a catalog ("
                          + ", ".join(f"{n} {part}" for part, n in held.items() if n)
                          + "): move into an empty database")
    copied = {"events": _copy_by_seq(source.events.rows, target.events.insert_rows, progress),
              "snapshotRows": _copy_snapshot(source, target, progress),
              "governance": _copy_by_seq(source.governance.entries, target.governance.insert_entries, progress)}
    target.events.adopt_identity(source.events.catalog_id)
    keys = source.keys.rows()
    target.keys.insert_rows(keys)
    copied["keys"] = len(keys)
    progress(len(keys))
    if target.governance.head() != source.governance.head() or not target.governance.verify()[0]:
        raise CopyRefused("the copied governance log does not verify; the target database is left as it is")
    if _event_log_shape(target) != _event_log_shape(source):
        raise CopyRefused("the copied event log differs from the source; the target database is left as it is")
    return copied


def _copy_by_seq(read: Callable[[int, int], list[tuple]], write: Callable[[list[tuple]], None],
                 progress: Callable[[int], None]) -> int:
    """Copy rows whose first column is their seq, a chunk at a time; how many."""
    copied = after = 0
    while rows := read(after, CHUNK):
        write(rows)
        copied += len(rows)
        progress(len(rows))
        after = rows[-1][0]
    return copied


def _copy_snapshot(source: Logs, target: Logs, progress: Callable[[int], None]) -> int:
    """The rows of events folded away by retention, and the snapshot's seq (new events go on after it)."""
    copied = 0
    for kind in source.events.snapshot_kinds():
        after = ""
        while rows := source.events.snapshot_rows(kind, after, CHUNK):
            target.events.insert_snapshot(rows, Snapshot())
            copied += len(rows)
            progress(len(rows))
            after = rows[-1].ident
    target.events.insert_snapshot([], source.events.snapshot())
    return copied


def _event_log_shape(logs: Logs) -> tuple:
    return (logs.events.identity(), logs.events.count(), logs.events.last_seq(), logs.events.snapshot_size(),
            logs.events.snapshot())
