"""The event log: every accepted event, durably, before it is acknowledged.

Events are stored as canonical JSON with their SHA-256; a duplicate (same canonical JSON) is
recognised and not stored twice, which makes retries and replays idempotent. ``seq`` orders the
log for replay; the graph's checkpoint is a seq. Where it is kept is the backend's business
(catalog.logstore): a SQLite file in WAL mode with ``synchronous=FULL``, or PostgreSQL; either
way a committed append survives a crash of the process or the machine.
"""

from __future__ import annotations

import time as time_module
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from catalog.logstore.base import Database

SCHEMA = [
    (1, "events", [
        "CREATE TABLE IF NOT EXISTS events (seq {serial}, digest TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL,"
        " event_time {bigint} NOT NULL, received_at {bigint} NOT NULL, body TEXT NOT NULL)",
    ]),
    # Rows merged from events that retention folded away (catalog.retention): they stand in for those events.
    (2, "snapshot", [
        "CREATE TABLE IF NOT EXISTS snapshot_rows (kind TEXT NOT NULL, ident TEXT NOT NULL, subject TEXT,"
        " body TEXT NOT NULL, PRIMARY KEY (kind, ident))",
        "CREATE INDEX IF NOT EXISTS snapshot_rows_subject ON snapshot_rows (subject)",
        "CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), seq {bigint} NOT NULL,"
        " events {bigint} NOT NULL, compacted_at {bigint} NOT NULL)",
    ]),
    # Which catalog this log is: the graph is claimed with it, so a graph written from another log is recognised.
    (3, "catalog identity", [
        "CREATE TABLE IF NOT EXISTS catalog_identity (id INTEGER PRIMARY KEY CHECK (id = 1), catalog TEXT NOT NULL)",
    ]),
]


@dataclass(frozen=True)
class Snapshot:
    seq: int = 0  # every event folded into the snapshot had a seq at most this
    events: int = 0  # how many events were folded into it
    compacted_at: int = 0  # when it last grew (epoch ms)


@dataclass(frozen=True)
class SnapshotRow:
    kind: str
    ident: str  # the row's identity (catalog.store.writes.identity), as JSON
    subject: str | None  # the run or dataset version the row belongs to, if any: it goes when that goes
    body: str  # the merged row, as JSON


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    digest: str
    body: str


def _chunks(values: list, size: int) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _marks(values: list) -> str:
    """As many ``?`` placeholders as ``values``, for an IN list."""
    return ", ".join("?" * len(values))


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
        self.catalog_id = self.identity()

    def identity(self) -> str:
        """This log's catalog id, made once when the log is new (or older than ids); replicas share it."""
        with self.db.transaction(serialize="events") as tx:
            rows = tx.execute("SELECT catalog FROM catalog_identity WHERE id = 1")
            if rows:
                return rows[0][0]
            made = uuid.uuid4().hex
            tx.execute("INSERT INTO catalog_identity (id, catalog) VALUES (1, ?)", (made,))
            return made

    def adopt_identity(self, catalog_id: str) -> None:
        """Take another log's catalog id (``catalog move``: the graph stays that catalog's)."""
        with self.db.transaction(serialize="events") as tx:
            tx.execute("UPDATE catalog_identity SET catalog = ? WHERE id = 1", (catalog_id,))
        self.catalog_id = catalog_id

    def append(self, events: list[tuple[str, str, str, int]]) -> list[tuple[int, bool]]:
        """Append (digest, body, type, time) tuples in one transaction.

        Returns (seq, is_new) per event, in order; a duplicate gets the seq it had first.
        """
        with self.db.transaction(serialize="events") as tx:
            return self.db.append_events(tx, events, int(time_module.time() * 1000))

    def last_seq(self) -> int:
        """The highest seq given out, including events folded into the snapshot since."""
        return max(self.db.query("SELECT max(seq) FROM events")[0][0] or 0, self.snapshot().seq)

    def count(self, before_time: int | None = None) -> int:
        """Events in the log (with an event time before ``before_time``, if given)."""
        if before_time is None:
            return self.db.query("SELECT count(*) FROM events")[0][0]
        return self.db.query("SELECT count(*) FROM events WHERE event_time < ?", (before_time,))[0][0]

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

    def read_before(self, after: int, through: int, before_time: int, limit: int = 1000) -> list[LoggedEvent]:
        """Events after seq ``after`` up to ``through`` whose event time is before ``before_time``, in seq order."""
        rows = self.db.query("SELECT seq, digest, body FROM events WHERE seq > ? AND seq <= ? AND event_time < ? "
                             "ORDER BY seq LIMIT ?", (after, through, before_time, limit))
        return [LoggedEvent(*row) for row in rows]

    # the snapshot ---------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        rows = self.db.query("SELECT seq, events, compacted_at FROM snapshot WHERE id = 1")
        return Snapshot(*rows[0]) if rows else Snapshot()

    def snapshot_bodies(self, kind: str, idents: list[str]) -> dict[str, str]:
        """The stored body of each of ``idents`` of ``kind`` that the snapshot holds."""
        found: dict[str, str] = {}
        for part in _chunks(idents, 500):
            found.update(self.db.query(f"SELECT ident, body FROM snapshot_rows WHERE kind = ? AND ident IN "
                                       f"({_marks(part)})", (kind, *part)))
        return found

    def snapshot_rows(self, kind: str, after: str = "", limit: int = 1000) -> list[SnapshotRow]:
        """The snapshot's rows of ``kind`` with an identity after ``after``, in identity order."""
        rows = self.db.query("SELECT kind, ident, subject, body FROM snapshot_rows WHERE kind = ? AND ident > ? "
                             "ORDER BY ident LIMIT ?", (kind, after, limit))
        return [SnapshotRow(*row) for row in rows]

    def snapshot_kinds(self) -> list[str]:
        return [kind for (kind,) in self.db.query("SELECT DISTINCT kind FROM snapshot_rows")]

    def snapshot_size(self) -> int:
        return self.db.query("SELECT count(*) FROM snapshot_rows")[0][0]

    def fold(self, events: list[LoggedEvent], rows: list[SnapshotRow], now: int) -> None:
        """In one transaction: store merged ``rows`` in the snapshot and delete the ``events`` they stand for."""
        with self.db.transaction() as tx:
            self._put_rows(tx, rows)
            for part in _chunks([e.seq for e in events], 500):
                tx.execute(f"DELETE FROM events WHERE seq IN ({_marks(part)})", tuple(part))
            self._put_state(tx, max(e.seq for e in events), len(events), now)

    def drop_subjects(self, subjects: list[str]) -> None:
        """Forget the snapshot's rows of runs or dataset versions that retention removed from the graph."""
        with self.db.transaction() as tx:
            for part in _chunks(subjects, 500):
                tx.execute(f"DELETE FROM snapshot_rows WHERE subject IN ({_marks(part)})", tuple(part))

    def insert_snapshot(self, rows: list[SnapshotRow], state: Snapshot) -> None:
        """Rows and state of another log's snapshot (copying a catalog); later appends go on after its seq."""
        with self.db.transaction(serialize="events") as tx:
            self._put_rows(tx, rows)
            if state.seq:
                self._put_state(tx, state.seq, state.events, state.compacted_at, replace=True)
                self.db.continue_serial(tx, "events", "seq", after=state.seq)

    @staticmethod
    def _put_rows(tx, rows: list[SnapshotRow]) -> None:
        for part in _chunks(rows, 200):  # 200 rows a statement: a round trip each on PostgreSQL
            tx.execute("INSERT INTO snapshot_rows (kind, ident, subject, body) VALUES "
                       + ", ".join(["(?, ?, ?, ?)"] * len(part))
                       + " ON CONFLICT (kind, ident) DO UPDATE SET subject = excluded.subject, body = excluded.body",
                       tuple(value for row in part for value in (row.kind, row.ident, row.subject, row.body)))

    @staticmethod
    def _put_state(tx, seq: int, events: int, now: int, replace: bool = False) -> None:
        added = "excluded.events" if replace else "snapshot.events + excluded.events"
        tx.execute("INSERT INTO snapshot (id, seq, events, compacted_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO "
                   f"UPDATE SET seq = CASE WHEN excluded.seq > snapshot.seq THEN excluded.seq ELSE snapshot.seq END, "
                   f"events = {added}, compacted_at = excluded.compacted_at", (seq, events, now))

    def iterate(self, after: int = 0, chunk: int = 1000) -> Iterator[list[LoggedEvent]]:
        while True:
            batch = self.read(after, chunk)
            if not batch:
                return
            yield batch
            after = batch[-1].seq

    def close(self) -> None:
        self.db.close()
