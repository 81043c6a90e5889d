"""The token vault: reverses pseudonyms for whoever holds its key, and nobody else.

A SQLite file maps each token to its original value encrypted with AES-SIV (deterministic,
authenticated; the token is bound in as associated data, so a ciphertext moved to another
token does not decrypt). The encryption key is derived from the vault's secret with HKDF;
a keyed check value in the file makes a wrong key fail at once with a clear error.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"lineage-catalog token vault v1"


class VaultError(ValueError):
    pass


def _derive(secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_INFO).derive(secret)


class Vault:
    def __init__(self, path: Path, secret: bytes, create: bool = True):
        path = Path(path)
        if not create and not path.exists():
            raise VaultError(f"no vault at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._key = _derive(secret)
        self._aead = AESSIV(self._key)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, sealed BLOB NOT NULL)")
        check = hmac.new(self._key, b"vault-check", hashlib.sha256).hexdigest()
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('check', ?)", (check,))
        stored = self._db.execute("SELECT value FROM meta WHERE name = 'check'").fetchone()[0]
        if not hmac.compare_digest(stored, check):
            self._db.close()
            raise VaultError(f"the key does not open the vault {path}: it was made with another key "
                             "(use that key, or another vault path for a new vault)")

    def put_many(self, pairs: list[tuple[str, str]]) -> None:
        """Record token -> value pairs; a token already held keeps its value."""
        rows = [(token, self._aead.encrypt(value.encode(), [token.encode()])) for token, value in pairs]
        with self._lock, self._db:
            self._db.executemany("INSERT OR IGNORE INTO tokens VALUES (?, ?)", rows)

    def reveal(self, token: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT sealed FROM tokens WHERE token = ?", (token,)).fetchone()
        if row is None:
            return None
        try:
            return self._aead.decrypt(row[0], [token.encode()]).decode()
        except InvalidTag:
            raise VaultError(f"token {token!r} does not decrypt with this key (tampered vault?)") from None

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM tokens").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
