"""The running catalog: graph engine, store, the logs and ingestion, opened and closed together."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlparse

from catalog.config import Settings
from catalog.engine import DataDirLock, DataDirLocked, EmbeddedEngine
from catalog.eventlog import EventLog
from catalog.govlog import GovernanceLog
from catalog.ingest import Projector
from catalog.keys import KeyStore
from catalog.logstore.logs import Logs, open_logs
from catalog.retention import Retention
from catalog.store.base import GraphStore
from policies import classifications, registry
from policies.propagate import Propagator

log = logging.getLogger("catalog.runtime")


def open_store(settings: Settings, engine: EmbeddedEngine | None) -> GraphStore:
    """The store for ``settings.graph_url``: Neo4j for neo4j:// and bolt://, else FalkorDB."""
    url = settings.graph_url
    if url and urlparse(url).scheme.split("+")[0] in ("neo4j", "bolt"):
        from catalog.store.neo4j_backend import Neo4jStore

        return Neo4jStore(url, settings.neo4j_user, settings.neo4j_password, settings.neo4j_database,
                          retry_seconds=settings.neo4j_retry_seconds)
    from catalog.store.falkor_backend import FalkorStore

    # A server's processes write one at a time (see FalkorStore); Neo4j's uniqueness constraints do that for it.
    write_lock = settings.data_dir / "graph-writes.lock" if settings.workers > 1 else None
    if url:
        parsed = urlparse(url)
        if parsed.scheme not in ("falkordb", "redis"):
            raise ValueError(f"unsupported graph URL scheme {parsed.scheme!r}: use neo4j://, bolt:// or falkordb://")
        return FalkorStore(parsed.hostname or "127.0.0.1", parsed.port or 6379, write_lock_file=write_lock)
    return FalkorStore("127.0.0.1", engine.port, write_lock_file=write_lock)


def retention_of(settings: Settings) -> Retention:
    return Retention(settings.retention_days, settings.audit_retention_days)


@dataclass
class Catalog:
    settings: Settings
    engine: EmbeddedEngine | None
    store: GraphStore
    logs: Logs
    projector: Projector
    lock: DataDirLock
    propagator: Propagator
    worker: bool = False  # a further process of a server started with --workers (catalog.workers)

    @property
    def log(self) -> EventLog:
        return self.logs.events

    @property
    def governance(self) -> GovernanceLog:
        return self.logs.governance

    @property
    def keys(self) -> KeyStore:
        return self.logs.keys

    @classmethod
    def open(cls, settings: Settings, worker: bool = False, replay: bool = True) -> "Catalog":
        """Start the embedded engine when no graph URL is set, open the logs, and, if this process is the
        projector (always, unless replicas share a PostgreSQL log), catch the graph up with the log.

        ``worker``: a further process of a server started with --workers (catalog.workers). Its primary holds
        the data directory, has started the engine (``settings.graph_url`` points at it), prepared the graph
        and loaded the policies; the worker opens the same logs and graph. ``replay=False``: no catching up
        (``catalog rebuild`` replays everything itself, whatever the graph holds).

        Call from the main thread: the engine is tied to the thread that spawns it.
        """
        lock = DataDirLock(settings.data_dir)
        if not worker:
            lock.acquire()
        elif not lock.held_by_another():
            raise DataDirLocked(f"no server holds {settings.data_dir}: a worker runs beside its primary only")
        engine = logs = None
        try:
            logs = open_logs(settings.data_dir, settings.database_url, processes=settings.workers)
            if not settings.graph_url:
                engine = EmbeddedEngine(settings.data_dir).start()
            store = open_store(settings, engine)
            if not worker:
                store.ensure_schema()
                store.backfill_search_text()
                store.backfill_latest()
            propagator = Propagator(store, tuple(settings.anonymizing_jobs))
            projector = Projector(logs.events, store, governance=logs.governance, propagator=propagator,
                                  lease=logs.coordination.lease("projector"), retention=retention_of(settings),
                                  retention_interval=settings.retention_interval_seconds)
            if not projector.lead():
                log.info("another replica projects the event log; this one logs events and serves reads")
            elif replay:
                fresh_graph = projector.applied == 0
                replayed = projector.catch_up()
                if fresh_graph:
                    projector.replay_governance()
                if replayed:
                    log.info("replayed events from the log", extra={"events": replayed})
            for policy, changed in registry.load_files(store, logs.governance, "system:startup",
                                                       [] if worker else settings.policies, propagator):
                log.info("policy loaded" if changed else "policy unchanged",
                         extra={"policy": policy["name"], "version": policy["version"]})
        except BaseException:
            if engine:
                engine.stop()
            if logs:
                logs.close()
            lock.release()
            raise
        return cls(settings, engine, store, logs, projector, lock, propagator, worker)

    def decide_classification(self, actor: str, field_id: str, entity: str, confirm: bool,
                              note: str | None = None) -> dict:
        """A steward's decision on a field's classification, propagated downstream; the decided classification."""
        classifications.decide(self.store, self.governance, actor, field_id, entity, confirm, note)
        self.propagator.run()
        return next(c for c in classifications.of_fields(self.store, [field_id])[field_id] if c["entity"] == entity)

    def close(self) -> None:
        self.projector.lease.release()
        self.store.close()
        self.logs.close()
        if self.engine:
            self.engine.stop()
        self.lock.release()
