"""The governance log: an append-only, hash-chained record of every governance change.

Each entry stores who, what, when and the SHA-256 of (previous hash + its own content), so
editing or deleting any entry breaks the chain from that point on (:meth:`verify`).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import orjson

from catalog.eventlog import sqlite_at
from catalog.logstore.base import Database

GENESIS = "0" * 64
GOVERNANCE_FILE = "governance.sqlite3"  # in the data directory
SCHEMA = [
    (1, "changes", [
        "CREATE TABLE IF NOT EXISTS changes (seq {bigint} PRIMARY KEY, at {bigint} NOT NULL, actor TEXT NOT NULL,"
        " node_id TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS changes_node ON changes (node_id, seq)",
    ]),
]


def _digest(prev: str, at: int, actor: str, node_id: str, action: str, detail: str) -> str:
    return hashlib.sha256("\x1f".join([prev, str(at), actor, node_id, action, detail]).encode()).hexdigest()


class GovernanceLog:
    def __init__(self, target: Database | Path):
        self.db = sqlite_at(target)
        self.db.migrate("governance", SCHEMA)

    def record(self, actor: str, node_id: str, action: str, detail: dict) -> dict:
        at = int(time.time() * 1000)
        body = orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode()
        with self.db.transaction(serialize="governance") as tx:
            # The chain needs each entry to see the one before: the lock makes appends one at a time.
            row = tx.execute("SELECT seq, hash FROM changes ORDER BY seq DESC LIMIT 1")
            last_seq, prev = row[0] if row else (0, GENESIS)
            digest = _digest(prev, at, actor, node_id, action, body)
            tx.execute("INSERT INTO changes (seq, at, actor, node_id, action, detail, prev, hash) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (last_seq + 1, at, actor, node_id, action, body, prev, digest))
        return {"seq": last_seq + 1, "at": at, "actor": actor, "nodeId": node_id, "action": action, "detail": detail}

    def history(self, node_id: str, limit: int = 100) -> list[dict]:
        return _changes(self.db.query("SELECT seq, at, actor, node_id, action, detail FROM changes WHERE node_id = ? "
                                      "ORDER BY seq DESC LIMIT ?", (node_id, limit)))

    def all(self) -> list[dict]:
        return _changes(self.db.query("SELECT seq, at, actor, node_id, action, detail FROM changes ORDER BY seq"))

    def entries(self, after: int = 0, limit: int = 1000) -> list[tuple]:
        """Raw rows (seq, at, actor, node_id, action, detail, prev, hash) after ``after``, for copies and checks."""
        return self.db.query("SELECT seq, at, actor, node_id, action, detail, prev, hash FROM changes WHERE seq > ? "
                             "ORDER BY seq LIMIT ?", (after, limit))

    def insert_entries(self, rows: list[tuple]) -> None:
        """Rows from :meth:`entries` of another log, verbatim: the chain carries over unchanged."""
        with self.db.transaction(serialize="governance") as tx:
            for row in rows:
                tx.execute("INSERT INTO changes (seq, at, actor, node_id, action, detail, prev, hash) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", tuple(row))

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the latest entry; (0, GENESIS) when empty. Record it elsewhere to detect a cut tail."""
        rows = self.db.query("SELECT seq, hash FROM changes ORDER BY seq DESC LIMIT 1")
        return tuple(rows[0]) if rows else (0, GENESIS)

    def hash_at(self, seq: int) -> str | None:
        rows = self.db.query("SELECT hash FROM changes WHERE seq = ?", (seq,))
        return rows[0][0] if rows else None

    def verify(self) -> tuple[bool, int | None]:
        """(intact, seq of the first bad entry)."""
        prev = GENESIS
        expected_seq = 1
        after = 0
        while rows := self.entries(after, 5000):
            for seq, at, actor, node_id, action, detail, stored_prev, digest in rows:
                if seq != expected_seq or stored_prev != prev or _digest(prev, at, actor, node_id, action, detail) != digest:
                    return False, seq
                prev, expected_seq = digest, seq + 1
            after = rows[-1][0]
        return True, None

    def close(self) -> None:
        self.db.close()


def _changes(rows) -> list[dict]:
    return [{"seq": s, "at": at, "actor": actor, "nodeId": n, "action": action, "detail": orjson.loads(detail)}
            for s, at, actor, n, action, detail in rows]
