"""The logs of one catalog, opened together on the backend its settings name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from catalog.eventlog import EventLog
from catalog.govlog import GOVERNANCE_FILE, GovernanceLog
from catalog.keys import KeyStore
from catalog.logstore.base import Coordination

EVENTS_FILE = "events.sqlite3"


@dataclass
class Logs:
    events: EventLog
    governance: GovernanceLog
    keys: KeyStore
    coordination: Coordination
    where: str  # for messages and /health: a path or the database URL without its password

    def close(self) -> None:
        self.coordination.close()
        for database in {id(part.db): part.db for part in (self.events, self.governance, self.keys)}.values():
            database.close()


def database_kind(url: str | None) -> str:
    """"sqlite" for no URL, "postgresql" for postgresql:// and postgres:// URLs; ValueError otherwise."""
    if not url:
        return "sqlite"
    scheme = urlparse(url).scheme
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use postgresql://user@host:5432/dbname "
                     "(or none, for SQLite files in the data directory)")


def open_logs(data_dir: Path, database_url: str | None = None, processes: int = 1) -> Logs:
    """The logs of a catalog: SQLite files under ``data_dir``, or the PostgreSQL database at ``database_url``.

    ``processes`` > 1: the SQLite logs are shared by that many processes of one server (``--workers``), so
    their coordination is too. Schema migrations run here, under a lock, so replicas starting together
    migrate once.
    """
    if database_kind(database_url) == "postgresql":
        from catalog.logstore.postgres_backend import PostgresCoordination, PostgresDatabase

        database = PostgresDatabase(database_url)
        try:
            return Logs(EventLog(database), GovernanceLog(database), KeyStore(database, cache_seconds=2.0),
                        PostgresCoordination(database), database.where)
        except BaseException:
            database.close()
            raise
    from catalog.logstore.sqlite_backend import LocalCoordination, MachineCoordination

    data_dir = Path(data_dir)
    coordination = MachineCoordination(data_dir) if processes > 1 else LocalCoordination()
    return Logs(EventLog(data_dir / EVENTS_FILE), GovernanceLog(data_dir / GOVERNANCE_FILE), KeyStore(data_dir),
                coordination, str(data_dir))
