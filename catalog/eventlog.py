"""The event log: every accepted event, durably, before it is acknowledged.

Events are stored as canonical JSON with their SHA-256; a duplicate (same canonical JSON) is
recognised and not stored twice, which makes retries and replays idempotent. ``seq`` orders the
log for replay; the graph's checkpoint is a seq. Where it is kept is the backend's business
(catalog.logstore): a SQLite file in WAL mode with ``synchronous=FULL``, or PostgreSQL; either
way a committed append survives a crash of the process or the machine.
"""

from __future__ import annotations

import time as time_module
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from catalog.logstore.base import Database

SCHEMA = [
    (1, "events", [
        "CREATE TABLE IF NOT EXISTS events (seq {serial}, digest TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL,"
        " event_time {bigint} NOT NULL, received_at {bigint} NOT NULL, body TEXT NOT NULL)",
    ]),
]


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    digest: str
    body: str


def sqlite_at(target: Database | Path) -> Database:
    """``target`` itself, or the SQLite database in the file at ``target``."""
    if isinstance(target, Database):
        return target
    from catalog.logstore.sqlite_backend import SQLiteDatabase

    return SQLiteDatabase(Path(target))


class EventLog:
    def __init__(self, target: Database | Path):
        self.db = sqlite_at(target)
        self.db.migrate("events", SCHEMA)

    def append(self, events: list[tuple[str, str, str, int]]) -> list[tuple[int, bool]]:
        """Append (digest, body, type, time) tuples in one transaction.

        Returns (seq, is_new) per event, in order; a duplicate gets the seq it had first.
        """
        with self.db.transaction(serialize="events") as tx:
            return self.db.append_events(tx, events, int(time_module.time() * 1000))

    def last_seq(self) -> int:
        return self.db.query("SELECT max(seq) FROM events")[0][0] or 0

    def count(self) -> int:
        return self.db.query("SELECT count(*) FROM events")[0][0]

    def read(self, after: int = 0, limit: int = 1000) -> list[LoggedEvent]:
        rows = self.db.query("SELECT seq, digest, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
        return [LoggedEvent(*row) for row in rows]

    def rows(self, after: int = 0, limit: int = 1000) -> list[tuple]:
        """Whole rows (seq, digest, type, time, received_at, body), for copying the log elsewhere."""
        return self.db.query("SELECT seq, digest, event_type, event_time, received_at, body FROM events "
                             "WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))

    def insert_rows(self, rows: list[tuple]) -> None:
        """Rows from :meth:`rows` of another log, with their seqs; later appends go on after the last."""
        with self.db.transaction(serialize="events") as tx:
            for row in rows:
                tx.execute("INSERT INTO events (seq, digest, event_type, event_time, received_at, body) "
                           "VALUES (?, ?, ?, ?, ?, ?)", tuple(row))
            self.db.continue_serial(tx, "events", "seq")

    def iterate(self, after: int = 0, chunk: int = 1000) -> Iterator[list[LoggedEvent]]:
        while True:
            batch = self.read(after, chunk)
            if not batch:
                return
            yield batch
            after = batch[-1].seq

    def close(self) -> None:
        self.db.close()
