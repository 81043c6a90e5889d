"""The running catalog: graph engine, store, event log and ingestion, opened and closed together."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlparse

from catalog.config import Settings
from catalog.engine import DataDirLock, EmbeddedEngine
from catalog.eventlog import EventLog
from catalog.govlog import GOVERNANCE_FILE, GovernanceLog
from catalog.ingest import Projector
from catalog.keys import KeyStore
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

    if url:
        parsed = urlparse(url)
        if parsed.scheme not in ("falkordb", "redis"):
            raise ValueError(f"unsupported graph URL scheme {parsed.scheme!r}: use neo4j://, bolt:// or falkordb://")
        return FalkorStore(parsed.hostname or "127.0.0.1", parsed.port or 6379)
    return FalkorStore("127.0.0.1", engine.port)


@dataclass
class Catalog:
    settings: Settings
    engine: EmbeddedEngine | None
    store: GraphStore
    log: EventLog
    projector: Projector
    lock: DataDirLock
    governance: GovernanceLog
    propagator: Propagator
    keys: KeyStore

    @classmethod
    def open(cls, settings: Settings) -> "Catalog":
        """Start the embedded engine when no graph URL is set, and catch the graph up with the log.

        Call from the main thread: the engine is tied to the thread that spawns it.
        """
        lock = DataDirLock(settings.data_dir)
        lock.acquire()
        engine = None
        try:
            if not settings.graph_url:
                engine = EmbeddedEngine(settings.data_dir).start()
            store = open_store(settings, engine)
            store.ensure_schema()
            store.backfill_search_text()
            event_log = EventLog(settings.data_dir / "events.sqlite3")
            governance = GovernanceLog(settings.data_dir / GOVERNANCE_FILE)
            propagator = Propagator(store, tuple(settings.anonymizing_jobs))
            projector = Projector(event_log, store, governance=governance, propagator=propagator)
            fresh_graph = projector.load_checkpoint() == 0
            replayed = projector.catch_up()
            if fresh_graph:
                projector.replay_governance()
            for policy, changed in registry.load_files(store, governance, "system:startup", settings.policies,
                                                       propagator):
                log.info("policy loaded" if changed else "policy unchanged",
                         extra={"policy": policy["name"], "version": policy["version"]})
            if replayed:
                log.info("replayed events from the log", extra={"events": replayed})
        except BaseException:
            if engine:
                engine.stop()
            lock.release()
            raise
        return cls(settings, engine, store, event_log, projector, lock, governance, propagator,
                   KeyStore(settings.data_dir))

    def decide_classification(self, actor: str, field_id: str, entity: str, confirm: bool,
                              note: str | None = None) -> dict:
        """A steward's decision on a field's classification, propagated downstream; the decided classification."""
        classifications.decide(self.store, self.governance, actor, field_id, entity, confirm, note)
        self.propagator.run()
        return next(c for c in classifications.of_fields(self.store, [field_id])[field_id] if c["entity"] == entity)

    def close(self) -> None:
        self.store.close()
        self.log.close()
        self.governance.close()
        self.keys.close()
        if self.engine:
            self.engine.stop()
        self.lock.release()
