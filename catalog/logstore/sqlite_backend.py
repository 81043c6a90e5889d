"""SQLite: the default, a file per log in the data directory, for the processes of one server.

WAL with ``synchronous=FULL``: a committed transaction survives a crash of the process or the
machine. ``BEGIN IMMEDIATE`` takes the file's write lock, so writers run one at a time, across
processes too (the ``serialize`` lock of the interface comes for free). The data directory's lock
(catalog.engine.DataDirLock) keeps a second server away. One process keeps leases, audit progress
and rate limits in its memory (LocalCoordination); a server with ``--workers`` keeps them where
all its processes see them (MachineCoordination): leases as flocks, the rest in
``coordination.sqlite3``.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from catalog.flock import is_locked, try_lock
from catalog.logstore.base import Coordination, Database, Lease, TableCoordination

KEPT_PROGRESS = 50  # progress entries of recent audits kept
MAX_TRACKED_CLIENTS = 10_000
COORDINATION_FILE = "coordination.sqlite3"


def open_durable(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    """A SQLite connection in WAL mode with explicit transactions; with synchronous=FULL (the default) its
    commits survive a crash."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Writers of other processes hold the file for microseconds; wait for them rather than fail.
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db


class _SQLiteTransaction:
    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.connection.execute(sql, params).fetchall()


class SQLiteDatabase(Database):
    kind = "sqlite"
    types = {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "bigint": "INTEGER", "real": "REAL"}

    def __init__(self, path: Path, synchronous: str = "FULL"):
        self.path = Path(path)
        self.where = str(self.path)
        self._lock = threading.Lock()
        self.connection = open_durable(self.path, synchronous)

    @contextmanager
    def transaction(self, serialize: str | None = None) -> Iterator[_SQLiteTransaction]:
        with self._lock:
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteTransaction(self.connection)
                self.connection.execute("COMMIT")
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise

    def continue_serial(self, tx, table, column, after=0):
        # AUTOINCREMENT goes on after the highest value ever used, kept in sqlite_sequence.
        if after and not tx.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ? RETURNING seq",
                                    (after, table)):
            tx.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, after))

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:  # a read needs no write lock
            return self.connection.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self.connection.close()


class LocalLease(Lease):
    """A lease within this process: the data directory's lock already keeps other servers away."""

    def __init__(self):
        self._lock = threading.Lock()
        self._mine = False

    def try_acquire(self) -> bool:
        if not self._mine:
            self._mine = self._lock.acquire(blocking=False)
        return self._mine

    def held(self) -> bool:
        return self._mine

    def release(self) -> None:
        if self._mine:
            self._mine = False
            self._lock.release()


def take_from_bucket(tokens: float, then: float, now: float, rate: float, burst: int) -> tuple[float, float]:
    """A token bucket holding ``tokens`` at ``then``, refilled at ``rate`` per second up to ``burst``: (0 if a
    token was taken now, else the seconds until one can be; the tokens left)."""
    tokens = min(burst, tokens + (now - then) * rate)
    if tokens < 1:
        return (1 - tokens) / rate, tokens
    return 0.0, tokens - 1


class TokenBuckets:
    """``rate`` requests per second with bursts of ``burst``, per client, in memory."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)

    def take(self, client: str, rate: float, burst: int) -> float:
        now = self.clock()
        wait, tokens = take_from_bucket(*self.buckets.get(client, (burst, now)), now, rate, burst)
        if wait:
            self.buckets[client] = (tokens, now)
            return wait
        if len(self.buckets) >= MAX_TRACKED_CLIENTS and client not in self.buckets:
            # A bucket refilled to the brim holds no information: dropping it changes nothing.
            self.buckets = {c: (t, w) for c, (t, w) in self.buckets.items() if t + (now - w) * rate < burst}
        self.buckets[client] = (tokens, now)
        return 0.0


class LocalCoordination(Coordination):
    shared = False

    def __init__(self, clock=time.monotonic):
        self._leases: dict[str, LocalLease] = {}
        self._guard = threading.Lock()
        self._progress: OrderedDict[str, dict] = OrderedDict()
        self.buckets = TokenBuckets(clock)

    def lease(self, name: str) -> Lease:
        with self._guard:
            return self._leases.setdefault(name, LocalLease())

    def take_token(self, client: str, rate: float, burst: int) -> float:
        return self.buckets.take(client, rate, burst)

    def save_progress(self, entry: dict) -> None:
        with self._guard:
            self._progress[entry["id"]] = dict(entry)
            self._progress.move_to_end(entry["id"])
            while len(self._progress) > KEPT_PROGRESS:
                self._progress.popitem(last=False)

    def progress(self, run_id: str) -> dict | None:
        with self._guard:
            entry = self._progress.get(run_id)
            return dict(entry) if entry else None

    def running_audit(self) -> str | None:
        with self._guard:
            return next((k for k, v in reversed(self._progress.items()) if v["status"] == "running"), None)

    def close(self) -> None:
        pass


class FileLease(Lease):
    """A lease across the processes of one machine: an flock on a file, freed by the kernel when its holder
    dies (even by SIGKILL). Re-entrant for its holder, like the other backends' leases."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self._fd is None:
                self._fd = try_lock(self.path)
            return self._fd is not None

    def held(self) -> bool:
        return self._fd is not None

    def taken(self) -> bool:
        """Whether any process holds it now."""
        return is_locked(self.path)

    def release(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)  # drops the flock
                self._fd = None


class MachineCoordination(TableCoordination):
    """Coordination for the processes of one server (``catalog serve --workers``): leases are flocks under
    ``<data-dir>/leases/``; token buckets and audit progress are in ``coordination.sqlite3``, written with
    synchronous=OFF since nothing there needs to outlive the server."""

    remote = False  # a local file: a call takes tens of microseconds
    now_sql = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        super().__init__(SQLiteDatabase(self.data_dir / COORDINATION_FILE, synchronous="OFF"))
        self._leases: dict[str, FileLease] = {}
        self._guard = threading.Lock()

    def lease(self, name: str) -> Lease:
        with self._guard:
            if name not in self._leases:
                self._leases[name] = FileLease(self.data_dir / "leases" / f"{name}.lock")
            return self._leases[name]

    def audit_lease_taken(self) -> bool:
        return self.lease("audit").taken()

    def take_token(self, client: str, rate: float, burst: int) -> float:
        # CLOCK_MONOTONIC is one clock for every process of the machine.
        now = time.monotonic()
        with self.database.transaction() as tx:
            rows = tx.execute("SELECT tokens, at FROM rate_limits WHERE client = ?", (client,))
            wait, tokens = take_from_bucket(*(rows[0] if rows else (burst, now)), now, rate, burst)
            tx.execute("INSERT INTO rate_limits (client, tokens, at, granted) VALUES (?, ?, ?, ?) ON CONFLICT (client) "
                       "DO UPDATE SET tokens = EXCLUDED.tokens, at = EXCLUDED.at, granted = EXCLUDED.granted",
                       (client, tokens, now, not wait))
            if not rows and random.random() < 0.01:
                # Now and then, as new clients come: a bucket refilled to the brim holds no information.
                tx.execute("DELETE FROM rate_limits WHERE tokens + (? - at) * ? >= ?", (now, rate, burst))
        return wait

    def save_progress(self, entry: dict) -> None:
        super().save_progress(entry)
        with self.database.transaction() as tx:
            tx.execute("DELETE FROM audit_progress WHERE id NOT IN (SELECT id FROM audit_progress "
                       "ORDER BY updated_at DESC LIMIT ?)", (KEPT_PROGRESS,))

    def close(self) -> None:
        for lease in self._leases.values():
            lease.release()
        self.database.close()
