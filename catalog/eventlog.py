"""The event log: every accepted event, durably, before it is acknowledged.

SQLite in WAL mode with ``synchronous=FULL``: a committed append survives a crash of the
process or the machine. Events are stored as canonical JSON with their SHA-256; a
duplicate (same canonical JSON) is recognised and not stored twice, which makes retries
and replays idempotent. ``seq`` orders the log for replay; the graph's checkpoint is a seq.
"""

from __future__ import annotations

import sqlite3
import threading
import time as time_module
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    digest: str
    body: str


def open_durable(path: Path) -> sqlite3.Connection:
    """A SQLite connection whose commits survive a crash: WAL with synchronous=FULL, explicit transactions."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


class EventLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_durable(self.path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS events ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " digest TEXT NOT NULL UNIQUE,"
            " event_type TEXT NOT NULL,"
            " event_time INTEGER NOT NULL,"
            " received_at INTEGER NOT NULL,"
            " body TEXT NOT NULL)"
        )

    def append(self, events: list[tuple[str, str, str, int]]) -> list[tuple[int, bool]]:
        """Append (digest, body, type, time) tuples in one transaction.

        Returns (seq, is_new) per event, in order; a duplicate gets the seq it had first.
        """
        results = []
        now = int(time_module.time() * 1000)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for digest, body, kind, time in events:
                    # Look up first: a failed INSERT would still consume a seq and leave a gap.
                    known = self._db.execute("SELECT seq FROM events WHERE digest = ?", (digest,)).fetchone()
                    if known:
                        results.append((known[0], False))
                        continue
                    cur = self._db.execute(
                        "INSERT INTO events (digest, event_type, event_time, received_at, body) "
                        "VALUES (?, ?, ?, ?, ?) RETURNING seq",
                        (digest, kind, time, now, body),
                    )
                    results.append((cur.fetchone()[0], True))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return results

    def last_seq(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT max(seq) FROM events").fetchone()
        return row[0] or 0

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM events").fetchone()[0]

    def read(self, after: int = 0, limit: int = 1000) -> list[LoggedEvent]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, digest, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()
        return [LoggedEvent(*row) for row in rows]

    def iterate(self, after: int = 0, chunk: int = 1000) -> Iterator[list[LoggedEvent]]:
        while True:
            batch = self.read(after, chunk)
            if not batch:
                return
            yield batch
            after = batch[-1].seq

    def close(self) -> None:
        with self._lock:
            self._db.close()
