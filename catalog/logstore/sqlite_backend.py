"""SQLite: the default, a file per log in the data directory, for one server process.

WAL with ``synchronous=FULL``: a committed transaction survives a crash of the process or the
machine. ``BEGIN IMMEDIATE`` takes the file's write lock, so writers run one at a time (the
``serialize`` lock of the interface comes for free). The data directory's lock
(catalog.engine.DataDirLock) keeps a second server away, so leases, audit progress and rate
limits live in this process's memory.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from catalog.logstore.base import Coordination, Database, Lease

KEPT_PROGRESS = 50  # progress entries of recent audits kept in memory
MAX_TRACKED_CLIENTS = 10_000


def open_durable(path: Path) -> sqlite3.Connection:
    """A SQLite connection whose commits survive a crash: WAL with synchronous=FULL, explicit transactions."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


class _SQLiteTransaction:
    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.connection.execute(sql, params).fetchall()


class SQLiteDatabase(Database):
    kind = "sqlite"
    types = {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "bigint": "INTEGER", "real": "REAL"}

    def __init__(self, path: Path):
        self.path = Path(path)
        self.where = str(self.path)
        self._lock = threading.Lock()
        self.connection = open_durable(self.path)

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


class TokenBuckets:
    """``rate`` requests per second with bursts of ``burst``, per client, in memory."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)

    def take(self, client: str, rate: float, burst: int) -> float:
        now = self.clock()
        tokens, then = self.buckets.get(client, (burst, now))
        tokens = min(burst, tokens + (now - then) * rate)
        if tokens < 1:
            self.buckets[client] = (tokens, now)
            return (1 - tokens) / rate
        if len(self.buckets) >= MAX_TRACKED_CLIENTS and client not in self.buckets:
            # A bucket refilled to the brim holds no information: dropping it changes nothing.
            self.buckets = {c: (t, w) for c, (t, w) in self.buckets.items() if t + (now - w) * rate < burst}
        self.buckets[client] = (tokens - 1, now)
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
