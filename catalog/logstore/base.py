"""The interface every log backend supplies, and the versioned schema migrations they share.

SQL is written once, with ``?`` placeholders and ``{name}`` type slots (``{serial}``, ``{bigint}``,
``{real}``) that each backend fills in; a backend translates placeholders to its driver's style.
Everything else that differs between engines (locking, durable appends, leases) stays in its
backend module.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import orjson


# What replicas share besides the logs: token buckets per key and audit progress (see TableCoordination).
COORDINATION_SCHEMA = [
    (1, "rate limits and audit progress", [
        "CREATE TABLE IF NOT EXISTS rate_limits (client TEXT PRIMARY KEY, tokens {real} NOT NULL,"
        " at {real} NOT NULL, granted BOOLEAN NOT NULL)",
        "CREATE TABLE IF NOT EXISTS audit_progress (id TEXT PRIMARY KEY, status TEXT NOT NULL, entry TEXT NOT NULL,"
        " updated_at {real} NOT NULL)",
    ]),
]


class LogsUnavailable(RuntimeError):
    """The log database cannot be reached right now; nothing was written. Answered with 503 and Retry-After."""


class Transaction(Protocol):
    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of the statement (empty for statements that return none)."""


class Database(ABC):
    """One database holding one or more of the logs."""

    kind: str  # "sqlite" or "postgresql"
    types: dict[str, str]  # fills the {serial}, {bigint}, {real} slots of the shared DDL

    @abstractmethod
    @contextmanager
    def transaction(self, serialize: str | None = None) -> Iterator[Transaction]:
        """A read-write transaction, committed when the block ends and rolled back if it raises.

        ``serialize`` names a lock held until the commit: transactions naming the same lock run one
        at a time, across processes too (the event log needs commit order = seq order; the governance
        log's hash chain needs each entry to see the previous one).
        """

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.transaction() as tx:
            return tx.execute(sql, params)

    def append_events(self, tx: Transaction, rows: list[tuple[str, str, str, int]], now: int) -> list[tuple[int, bool]]:
        """Insert (digest, body, type, time) rows not yet logged; (seq, is_new) per row, in order."""
        results = []
        for digest, body, kind, event_time in rows:
            # Look up first: a failed INSERT would still consume a seq and leave a gap.
            known = tx.execute("SELECT seq FROM events WHERE digest = ?", (digest,))
            if known:
                results.append((known[0][0], False))
                continue
            [(seq,)] = tx.execute("INSERT INTO events (digest, event_type, event_time, received_at, body) "
                                  "VALUES (?, ?, ?, ?, ?) RETURNING seq", (digest, kind, event_time, now, body))
            results.append((seq, True))
        return results

    def continue_serial(self, tx: Transaction, table: str, column: str, after: int = 0) -> None:
        """After rows were inserted with explicit values of a {serial} column, make new rows continue after them
        (and after ``after``, a value given out before whose row is gone)."""

    def migrate(self, component: str, steps: list[tuple[int, str, list[str]]]) -> int:
        """Apply the component's steps (version, name, statements) not applied yet; the version now."""
        with self.transaction(serialize="migrations") as tx:
            tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER "
                       "NOT NULL, name TEXT NOT NULL, applied_at {bigint} NOT NULL, PRIMARY KEY (component, version))"
                       .format(**self.types))
            [(current,)] = tx.execute("SELECT coalesce(max(version), 0) FROM schema_migrations WHERE component = ?",
                                      (component,))
            for version, name, statements in steps:
                if version <= current:
                    continue
                for statement in statements:
                    tx.execute(statement.format(**self.types))
                tx.execute("INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                           (component, version, name, int(time.time() * 1000)))
                current = version
        return current

    @abstractmethod
    def close(self) -> None: ...


class Lease(ABC):
    """A role only one process holds at a time, released when that process dies."""

    @abstractmethod
    def try_acquire(self) -> bool:
        """Take the lease if it is free; True if this process holds it now."""

    @abstractmethod
    def held(self) -> bool:
        """Whether this process still holds it (False once its connection to the database is gone)."""

    @abstractmethod
    def release(self) -> None: ...


class Coordination(ABC):
    """What replicas must agree on: the projector and audit leases, audit progress, rate limits."""

    shared: bool  # True when other processes share it (so the log is followed closely)
    remote: bool = False  # True when its calls are network round trips (so they run off the event loop)

    @abstractmethod
    def lease(self, name: str) -> Lease: ...

    @abstractmethod
    def take_token(self, client: str, rate: float, burst: int) -> float:
        """0 if ``client`` may make a request now, else the seconds until it may (a token bucket)."""

    @abstractmethod
    def save_progress(self, entry: dict) -> None:
        """Record an audit's progress entry (keyed by its "id"), replacing the previous one."""

    @abstractmethod
    def progress(self, run_id: str) -> dict | None: ...

    @abstractmethod
    def running_audit(self) -> str | None:
        """The id of the audit running now anywhere, if any."""

    @abstractmethod
    def close(self) -> None: ...


class TableCoordination(Coordination):
    """Coordination whose audit progress is a table of a database the replicas share; leases and rate limits
    are the backend's."""

    shared = True
    remote = True
    now_sql: str  # the database's clock in seconds since the epoch, so replicas' clocks need not agree

    def __init__(self, database: Database):
        self.database = database
        database.migrate("coordination", COORDINATION_SCHEMA)

    @abstractmethod
    def audit_lease_taken(self) -> bool:
        """Whether some replica holds the audit lease now."""

    def save_progress(self, entry: dict) -> None:
        with self.database.transaction() as tx:
            tx.execute(f"INSERT INTO audit_progress VALUES (?, ?, ?, {self.now_sql}) ON CONFLICT (id) DO UPDATE SET "
                       "status = EXCLUDED.status, entry = EXCLUDED.entry, updated_at = EXCLUDED.updated_at",
                       (entry["id"], entry["status"], orjson.dumps(entry).decode()))

    def progress(self, run_id: str) -> dict | None:
        rows = self.database.query("SELECT entry FROM audit_progress WHERE id = ?", (run_id,))
        if not rows:
            return None
        entry = orjson.loads(rows[0][0])
        if entry["status"] == "running" and not self.audit_lease_taken():
            entry.update(status="failed", error="the replica running this audit stopped before it finished")
        return entry

    def running_audit(self) -> str | None:
        rows = self.database.query("SELECT id FROM audit_progress WHERE status = 'running' ORDER BY updated_at DESC "
                                   "LIMIT 1")
        return rows[0][0] if rows and self.audit_lease_taken() else None
