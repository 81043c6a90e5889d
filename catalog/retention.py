"""Retention: bounded growth for a catalog that ingests forever.

Three things grow with every run a pipeline reports, and retention bounds each:

* the graph's runs and dataset versions (with their facets and run inputs). A run whose last event
  is older than the horizon goes, unless it is its job's latest; a dataset version goes likewise
  unless it is its dataset's current one (as Marquez's ``db-retention`` keeps current versions).
* audit runs with their findings, on a horizon of their own (compliance evidence is often kept
  longer), always keeping the newest ones a report compares with.
* raw events. An event older than the horizon, once projected, is folded into the event log's
  snapshot: the rows it wrote (catalog.store.writes), merged with the rows of every event folded
  before it by the same commutative rules the graph writes follow. Loading the snapshot and
  replaying the events left therefore gives the graph a full replay gives, so ``catalog rebuild``
  still gives the same lineage. The snapshot holds one row per node and edge, not one per event.

What stays: datasets, fields, jobs, lineage edges (with their first and last seen times), owners,
tags, the governance log and everything it records (classifications, stewardship). The snapshot
keeps a run's rows only while the run is in the graph: both forget it together.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, fields

from catalog.eventlog import EventLog, LoggedEvent, SnapshotRow
from catalog.store.base import GraphStore
from catalog.store.writes import QUERIES, identity, merge_rows
from ingestors.openlineage import GraphWrites, map_event

log = logging.getLogger("catalog.retention")

DAY_MS = 86_400_000
BATCH = 2000  # nodes deleted, or events folded, per transaction


def _run_of_input(row: dict) -> str:
    return row["key"].partition(">")[0]  # a run input's key is "<run key>>dataset id"


# Rows that belong to one run or dataset version, and how to name it: the row goes when that node goes.
# A parent link belongs to the parent: without its child it does nothing (the child is MATCHed), but it
# would bring back a parent run retention removed.
SUBJECTS: dict[str, tuple[str, Callable[[dict], str]]] = {
    "runs": ("Run", lambda row: row["key"]),
    "run_facets": ("Run", lambda row: row["key"]),
    "parents": ("Run", lambda row: row["dst"]),
    "reads": ("Run", lambda row: row["src"]),
    "implied_reads": ("Run", lambda row: row["src"]),
    "wrote": ("Run", lambda row: row["src"]),
    "run_inputs": ("Run", lambda row: row["run"]),
    "runinput_facets": ("Run", _run_of_input),
    "versions": ("DatasetVersion", lambda row: row["key"]),
    "datasetversion_facets": ("DatasetVersion", lambda row: row["key"]),
}


@dataclass(frozen=True)
class Retention:
    """How long things stay; None keeps them forever (the default)."""

    days: float | None = None  # runs, dataset versions and raw events
    audit_days: float | None = None  # audit runs and their findings
    keep_audits: int = 2  # the newest audit runs stay whatever their age: a report compares with the one before

    def __post_init__(self):
        for name in ("days", "audit_days"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"retention {name} must be positive, got {value}")

    @property
    def enabled(self) -> bool:
        return self.days is not None or self.audit_days is not None

    def horizons(self, now_ms: int) -> tuple[int | None, int | None]:
        """(runs, audits) horizons in epoch ms: what was last seen before them goes."""
        return tuple(None if days is None else now_ms - int(days * DAY_MS) for days in (self.days, self.audit_days))


@dataclass
class Pruned:
    runs: int = 0
    versions: int = 0
    audits: int = 0
    findings: int = 0
    events: int = 0  # raw events folded into the snapshot
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"runs": self.runs, "datasetVersions": self.versions, "auditRuns": self.audits,
                "findings": self.findings, "eventsFolded": self.events, "seconds": round(self.seconds, 3)}

    def add(self, other: "Pruned") -> None:
        for counted in fields(self):
            setattr(self, counted.name, getattr(self, counted.name) + getattr(other, counted.name))


def apply(store: GraphStore, event_log: EventLog, retention: Retention, now_ms: int | None = None,
          progress: Callable[[int], None] | None = None, guard: AbstractContextManager | None = None) -> Pruned:
    """Prune the graph, then fold the raw events past the horizon that the graph holds (up to its checkpoint).

    ``guard`` (the projector's lock) is held around each batch of folding, so that no replay reads the
    log while events leave it; pruning needs no lock (a late event may bring back a run: it goes next time).
    """
    started = time.monotonic()
    runs_before, audits_before = retention.horizons(int(time.time() * 1000) if now_ms is None else now_ms)
    pruned = Pruned()
    if runs_before is not None:
        pruned.runs = _expire(store, "Run", "job", runs_before, event_log.drop_subjects,
                              before_delete="UNWIND $keys AS k MATCH (i:RunInput {run: k}) DETACH DELETE i")
        pruned.runs += _orphaned_parents(store, event_log.drop_subjects)
        if pruned.runs:
            store.repoint_latest_runs()  # a job's latest run may be among the pruned
        pruned.versions = _expire(store, "DatasetVersion", "dataset", runs_before, event_log.drop_subjects)
    if audits_before is not None:
        pruned.audits, pruned.findings = expire_audits(store, audits_before, retention.keep_audits)
    if runs_before is not None:
        pruned.events = fold_events(event_log, store, runs_before, progress, guard or nullcontext())
    pruned.seconds = time.monotonic() - started
    if pruned.runs or pruned.versions or pruned.audits or pruned.events:
        log.info("retention applied", extra=pruned.as_dict())
    return pruned


def _expire(store: GraphStore, label: str, group: str, before: int, forget: Callable[[list[str]], None],
            before_delete: str | None = None) -> int:
    """Delete nodes of ``label`` last seen before ``before``, except the newest of each ``group`` (a run's job,
    a version's dataset) when the group has nothing newer; ``forget`` hears each batch's keys."""
    # The newest expired node per group, kept where the group has no node within the horizon.
    newest = store.rows(f"MATCH (n:{label}) WHERE n.lastSeen < $before RETURN n.{group}, max(n.lastSeen)",
                        {"before": before})
    if not newest:
        return 0
    recent = {g for (g,) in store.rows(f"UNWIND $groups AS g MATCH (n:{label} {{{group}: g}}) "
                                       "WHERE n.lastSeen >= $before RETURN DISTINCT g",
                                       {"groups": [g for g, _ in newest], "before": before})}
    kept = [key for (key,) in store.rows(
        f"UNWIND $pairs AS p MATCH (n:{label} {{{group}: p[0]}}) WHERE n.lastSeen = p[1] RETURN n.key",
        {"pairs": [[g, last] for g, last in newest if g not in recent]})]
    deleted = 0
    while True:
        keys = [key for (key,) in store.rows(
            f"MATCH (n:{label}) WHERE n.lastSeen < $before AND NOT n.key IN $kept RETURN n.key LIMIT {BATCH}",
            {"before": before, "kept": kept})]
        if not keys:
            return deleted
        statements = [(before_delete, {"keys": keys})] if before_delete else []
        statements.append((f"UNWIND $keys AS k MATCH (n:{label} {{key: k}}) DETACH DELETE n", {"keys": keys}))
        store.execute_writes(statements)
        forget(keys)
        deleted += len(keys)


def _orphaned_parents(store: GraphStore, forget: Callable[[list[str]], None]) -> int:
    """Delete parent runs known only from their children's parent facet once no child is left."""
    deleted = 0
    while True:
        keys = [key for (key,) in store.rows(
            "MATCH (p:Run) WHERE p.lastSeen IS NULL OPTIONAL MATCH (c:Run)-[:CHILD_OF]->(p) "
            f"WITH p, count(c) AS children WHERE children = 0 RETURN p.key LIMIT {BATCH}")]
        if not keys:
            return deleted
        store.query("UNWIND $keys AS k MATCH (n:Run {key: k}) DETACH DELETE n", {"keys": keys})
        forget(keys)
        deleted += len(keys)


def expire_audits(store: GraphStore, before: int, keep: int) -> tuple[int, int]:
    """Delete audit runs that finished before ``before``, except the ``keep`` newest; (runs, findings) deleted."""
    audits = store.rows("MATCH (a:AuditRun) RETURN a.key, a.id, a.finishedAt ORDER BY a.startedAt DESC, a.key DESC")
    runs = findings = 0
    for key, run_id, finished in audits[keep:]:
        if finished is None or finished >= before:
            continue
        while count := store.query(f"MATCH (f:Finding {{run: $id}}) WITH f LIMIT {BATCH} DETACH DELETE f "
                                   "RETURN count(*) AS n", {"id": run_id})[0]["n"]:
            findings += count
        store.query("MATCH (a:AuditRun {key: $key}) DETACH DELETE a", {"key": key})
        runs += 1
    return runs, findings


def fold_events(event_log: EventLog, store: GraphStore, before: int,
                progress: Callable[[int], None] | None = None,
                guard: AbstractContextManager = nullcontext()) -> int:
    """Fold the events the graph holds (seq up to its checkpoint) with an event time before ``before`` into the
    snapshot, a batch per transaction; how many were folded."""
    folded = after = 0
    through = store.checkpoint()
    while True:
        with guard:
            batch = event_log.read_before(after, through, before, BATCH)
            if not batch:
                return folded
            event_log.fold(batch, snapshot_rows(event_log, store, batch), int(time.time() * 1000))
        folded += len(batch)
        after = batch[-1].seq
        if progress:
            progress(len(batch))


def snapshot_rows(event_log: EventLog, store: GraphStore, events: list[LoggedEvent]) -> list[SnapshotRow]:
    """The snapshot's rows once ``events`` are folded in: theirs merged with the rows already there, less
    those of runs and versions no longer in the graph (retention removed them)."""
    writes = GraphWrites()
    for event in events:
        map_event(json.loads(event.body), event.digest, writes)
    idents = {kind: {_ident(kind, row) for row in rows} for kind, rows in writes.rows.items()}
    for kind, wanted in idents.items():
        for body in event_log.snapshot_bodies(kind, sorted(wanted)).values():
            writes.add(kind, **json.loads(body))
    merged = merge_rows(writes)
    present = _present_subjects(store, merged)
    rows = []
    for kind, kind_rows in merged.items():
        subject_of = SUBJECTS.get(kind)
        for row in kind_rows:
            subject = subject_of[1](row) if subject_of else None
            if subject_of and (subject_of[0], subject) not in present:
                continue
            rows.append(SnapshotRow(kind, _ident(kind, row), subject, json.dumps(row, sort_keys=True)))
    return rows


def _present_subjects(store: GraphStore, merged: dict[str, list[dict]]) -> set[tuple[str, str]]:
    wanted: dict[str, set[str]] = {}
    for kind, (label, subject_of) in SUBJECTS.items():
        wanted.setdefault(label, set()).update(subject_of(row) for row in merged.get(kind, ()))
    return {(label, key) for label, keys in wanted.items() if keys
            for (key,) in store.rows(f"UNWIND $keys AS k MATCH (n:{label} {{key: k}}) RETURN k", {"keys": sorted(keys)})}


def _ident(kind: str, row: dict) -> str:
    return json.dumps(identity(kind, row))


def load_snapshot(event_log: EventLog, store: GraphStore, progress: Callable[[int], None] | None = None) -> int:
    """Write the snapshot's rows into the graph, kind by kind in the order the writes need; rows written."""
    written = 0
    for kind in QUERIES:
        after = ""
        while rows := event_log.snapshot_rows(kind, after, BATCH):
            writes = GraphWrites()
            writes.rows[kind] = [json.loads(row.body) for row in rows]
            store.apply(writes)
            written += len(rows)
            after = rows[-1].ident
            if progress:
                progress(len(rows))
    return written
