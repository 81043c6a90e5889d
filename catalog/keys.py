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

from catalog.eventlog import open_durable
from catalog.govlog import GovernanceLog

KEYS_FILE = "keys.sqlite3"
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
    """The keys of one data directory; safe to share between the server and ``catalog keys``."""

    def __init__(self, data_dir: Path):
        self._lock = threading.Lock()
        self._db = open_durable(Path(data_dir) / KEYS_FILE)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
            " namespaces TEXT NOT NULL, digest TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER)")

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
        with self._lock:
            self._db.execute("INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, NULL)",
                             (key.id, key.name, key.role, "\n".join(key.namespaces), _digest(token), key.created_at))
        if governance:
            governance.record(actor, f"apikey:{key.id}", "key_created",
                              {"name": key.name, "role": key.role, "namespaces": list(key.namespaces)})
        return key, token

    def revoke(self, key_id: str, governance: GovernanceLog | None = None, actor: str = "system") -> ApiKey:
        """Revoke a key from now on; revoking twice keeps the first time."""
        now = int(time.time() * 1000)
        with self._lock:
            updated = self._db.execute("UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                       (now, key_id)).rowcount
        key = self.get(key_id)
        if key is None:
            raise ApiKeyError(f"no key with id {key_id!r}: `catalog keys list` shows the ids")
        if updated and governance:
            governance.record(actor, f"apikey:{key.id}", "key_revoked", {"name": key.name, "role": key.role})
        return key

    def get(self, key_id: str) -> ApiKey | None:
        with self._lock:
            row = self._db.execute("SELECT id, name, role, namespaces, created_at, revoked_at FROM keys WHERE id = ?",
                                   (key_id,)).fetchone()
        return _key(row) if row else None

    def list(self) -> list[ApiKey]:
        with self._lock:
            rows = self._db.execute("SELECT id, name, role, namespaces, created_at, revoked_at FROM keys "
                                    "ORDER BY created_at, id").fetchall()
        return [_key(row) for row in rows]

    def authenticate(self, token: str) -> ApiKey | None:
        """The live key this token is, or None (malformed, unknown, wrong secret or revoked)."""
        match = _KEY.fullmatch(token)
        if not match:
            return None
        with self._lock:
            row = self._db.execute("SELECT id, name, role, namespaces, created_at, revoked_at, digest FROM keys "
                                   "WHERE id = ?", (match.group(1),)).fetchone()
        if not row or not hmac.compare_digest(row[6], _digest(token)) or row[5] is not None:
            return None
        return _key(row[:6])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _key(row) -> ApiKey:
    key_id, name, role, namespaces, created_at, revoked_at = row
    return ApiKey(key_id, name, role, tuple(filter(None, namespaces.split("\n"))), created_at, revoked_at)
