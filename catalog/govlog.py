"""The governance log: an append-only, hash-chained record of every governance change.

Each entry stores who, what, when and the SHA-256 of (previous hash + its own content), so
editing or deleting any entry breaks the chain from that point on (:meth:`verify`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import orjson

from catalog.eventlog import open_durable

GENESIS = "0" * 64
GOVERNANCE_FILE = "governance.sqlite3"  # in the data directory


def _digest(prev: str, at: int, actor: str, node_id: str, action: str, detail: str) -> str:
    return hashlib.sha256("\x1f".join([prev, str(at), actor, node_id, action, detail]).encode()).hexdigest()


class GovernanceLog:
    def __init__(self, path: Path):
        self._lock = threading.Lock()
        self._db = open_durable(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL,"
            " node_id TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL, prev TEXT NOT NULL,"
            " hash TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS changes_node ON changes (node_id, seq)")

    def record(self, actor: str, node_id: str, action: str, detail: dict) -> dict:
        at = int(time.time() * 1000)
        body = orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT hash FROM changes ORDER BY seq DESC LIMIT 1").fetchone()
                prev = row[0] if row else GENESIS
                digest = _digest(prev, at, actor, node_id, action, body)
                seq = self._db.execute(
                    "INSERT INTO changes (at, actor, node_id, action, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "RETURNING seq", (at, actor, node_id, action, body, prev, digest),
                ).fetchone()[0]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return {"seq": seq, "at": at, "actor": actor, "nodeId": node_id, "action": action, "detail": detail}

    def history(self, node_id: str, limit: int = 100) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, at, actor, node_id, action, detail FROM changes WHERE node_id = ? "
                "ORDER BY seq DESC LIMIT ?", (node_id, limit)).fetchall()
        return [{"seq": s, "at": at, "actor": actor, "nodeId": n, "action": action, "detail": orjson.loads(detail)}
                for s, at, actor, n, action, detail in rows]

    def all(self) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT seq, at, actor, node_id, action, detail FROM changes ORDER BY seq").fetchall()
        return [{"seq": s, "at": at, "actor": actor, "nodeId": n, "action": action, "detail": orjson.loads(detail)}
                for s, at, actor, n, action, detail in rows]

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the latest entry; (0, GENESIS) when empty. Record it elsewhere to detect a cut tail."""
        with self._lock:
            row = self._db.execute("SELECT seq, hash FROM changes ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def hash_at(self, seq: int) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT hash FROM changes WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else None

    def verify(self) -> tuple[bool, int | None]:
        """(intact, seq of the first bad entry)."""
        prev = GENESIS
        expected_seq = 1
        with self._lock:
            rows = self._db.execute("SELECT seq, at, actor, node_id, action, detail, prev, hash FROM changes ORDER BY seq")
            for seq, at, actor, node_id, action, detail, stored_prev, digest in rows:
                if seq != expected_seq or stored_prev != prev or _digest(prev, at, actor, node_id, action, detail) != digest:
                    return False, seq
                prev, expected_seq = digest, seq + 1
        return True, None

    def close(self) -> None:
        with self._lock:
            self._db.close()
