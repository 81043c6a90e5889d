"""API keys and roles: who may do what, with keys stored only as hashes.

A key reads ``lc_<id>_<secret>``: the id finds its row, the SHA-256 of the whole key is
compared in constant time. The secret is 256 random bits, so a fast hash is enough (a slow
one such as bcrypt defends guessable passwords, and would cost every request). The key
itself is shown once, by ``catalog keys create``; only the id appears in logs and in the
governance log.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from catalog.eventlog import sqlite_at
from catalog.govlog import GovernanceLog
from catalog.logstore.base import Database

KEYS_FILE = "keys.sqlite3"  # in the data directory
SCHEMA = [
    (1, "keys", [
        "CREATE TABLE IF NOT EXISTS keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
        " namespaces TEXT NOT NULL, digest TEXT NOT NULL, created_at {bigint} NOT NULL, revoked_at {bigint})",
    ]),
]
ACTIONS = ("key_created", "key_revoked")

# What each permission lets a key do; routes and GraphQL fields each name one.
READ = "catalog:read"  # lineage, datasets, jobs, classifications, policies, history
INGEST = "lineage:write"  # post OpenLineage events
STEWARD = "catalog:steward"  # descriptions, tags, owners, governance attributes, scans, classification decisions
POLICY = "policy:write"  # load, reload and remove policies
AUDIT = "audit:run"  # run compliance audits
COMPLIANCE = "compliance:read"  # audit runs, findings, reports, the Art. 30 register, erasure impact
PERMISSIONS = (READ, INGEST, STEWARD, POLICY, AUDIT, COMPLIANCE)

ROLES: dict[str, frozenset[str]] = {
    "producer": frozenset({INGEST}),
    "viewer": frozenset({READ}),
    "steward": frozenset({READ, STEWARD, COMPLIANCE}),
    "compliance_officer": frozenset({READ, POLICY, AUDIT, COMPLIANCE}),
    "admin": frozenset(PERMISSIONS),
}

_KEY = re.compile(r"lc_([0-9a-f]{12})_[A-Za-z0-9_-]{43}")


class ApiKeyError(ValueError):
    """A key that cannot be created or revoked as asked (unknown role or id, bad namespace)."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    role: str
    namespaces: tuple[str, ...]  # for producers: namespace globs they may write to; empty = any
    created_at: int
    revoked_at: int | None = None

    @property
    def actor(self) -> str:
        return f"key:{self.id}"

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role, "namespaces": list(self.namespaces),
                "createdAt": self.created_at, "revokedAt": self.revoked_at}


def namespace_allowed(globs: tuple[str, ...], namespace: str) -> bool:
    """No globs: any namespace; else one must match (``fnmatch``, case-sensitive)."""
    return not globs or any(fnmatch.fnmatchcase(namespace, glob) for glob in globs)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class KeyStore:
    """The keys of a catalog; safe to share between the server and ``catalog keys``.

    ``target``: a database, or a data directory (keys.sqlite3 in it). With ``cache_seconds``, a key that
    authenticated is trusted that long without asking the database again: a shared database costs a round
    trip per request otherwise, and a revocation then takes up to that long to reach every replica.
    """

    def __init__(self, target: Database | Path, cache_seconds: float = 0.0):
        self.db = sqlite_at(target if isinstance(target, Database) else Path(target) / KEYS_FILE)
        self.db.migrate("keys", SCHEMA)
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey]] = {}
        self._cache_lock = threading.Lock()

    def create(self, name: str, role: str, namespaces: tuple[str, ...] = (),
               governance: GovernanceLog | None = None, actor: str = "system") -> tuple[ApiKey, str]:
        """A new key and its secret token (shown once, never stored)."""
        if role not in ROLES:
            raise ApiKeyError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        if namespaces and role != "producer":
            raise ApiKeyError("namespaces restrict producers only; other roles are not tied to namespaces")
        if not name.strip():
            raise ApiKeyError("give the key a name that says who uses it (e.g. 'airflow-prod')")
        if any(not ns.strip() for ns in namespaces):
            raise ApiKeyError("a namespace must not be empty")
        key_id = secrets.token_hex(6)
        token = f"lc_{key_id}_{secrets.token_urlsafe(32)}"
        key = ApiKey(key_id, name.strip(), role, tuple(namespaces), int(time.time() * 1000))
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, NULL)",
                       (key.id, key.name, key.role, "\n".join(key.namespaces), _digest(token), key.created_at))
        if governance:
            governance.record(actor, f"apikey:{key.id}", "key_created",
                              {"name": key.name, "role": key.role, "namespaces": list(key.namespaces)})
        return key, token

    def revoke(self, key_id: str, governance: GovernanceLog | None = None, actor: str = "system") -> ApiKey:
        """Revoke a key from now on; revoking twice keeps the first time."""
        now = int(time.time() * 1000)
        with self.db.transaction() as tx:
            updated = tx.execute("UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id",
                                 (now, key_id))
        key = self.get(key_id)
        if key is None:
            raise ApiKeyError(f"no key with id {key_id!r}: `catalog keys list` shows the ids")
        with self._cache_lock:
            self._cache.clear()
        if updated and governance:
            governance.record(actor, f"apikey:{key.id}", "key_revoked", {"name": key.name, "role": key.role})
        return key

    def get(self, key_id: str) -> ApiKey | None:
        rows = self.db.query("SELECT id, name, role, namespaces, created_at, revoked_at FROM keys WHERE id = ?",
                             (key_id,))
        return _key(rows[0]) if rows else None

    def list(self) -> list[ApiKey]:
        rows = self.db.query("SELECT id, name, role, namespaces, created_at, revoked_at FROM keys "
                             "ORDER BY created_at, id")
        return [_key(row) for row in rows]

    def rows(self) -> list[tuple]:
        """Every key as stored (its hash included), for moving a catalog to another database."""
        return self.db.query("SELECT id, name, role, namespaces, digest, created_at, revoked_at FROM keys ORDER BY id")

    def insert_rows(self, rows: list[tuple]) -> None:
        with self.db.transaction() as tx:
            for row in rows:
                tx.execute("INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?)", tuple(row))

    def authenticate(self, token: str) -> ApiKey | None:
        """The live key this token is, or None (malformed, unknown, wrong secret or revoked)."""
        match = _KEY.fullmatch(token)
        if not match:
            return None
        digest = _digest(token)
        if self.cache_seconds:
            with self._cache_lock:
                cached = self._cache.get(digest)
            if cached and time.monotonic() - cached[0] < self.cache_seconds:
                return cached[1]
        rows = self.db.query("SELECT id, name, role, namespaces, created_at, revoked_at, digest FROM keys "
                             "WHERE id = ?", (match.group(1),))
        if not rows or not hmac.compare_digest(rows[0][6], digest) or rows[0][5] is not None:
            return None
        key = _key(rows[0][:6])
        if self.cache_seconds:
            with self._cache_lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (time.monotonic(), key)
        return key

    def close(self) -> None:
        self.db.close()


def _key(row) -> ApiKey:
    key_id, name, role, namespaces, created_at, revoked_at = row
    return ApiKey(key_id, name, role, tuple(filter(None, namespaces.split("\n"))), created_at, revoked_at)
