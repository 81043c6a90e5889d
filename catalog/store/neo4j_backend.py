"""Neo4j 5 backend over Bolt with the official driver (production; cannot run on dev machines here).

Dialect notes: unique constraints with ``CREATE CONSTRAINT ... IF NOT EXISTS``; node ids for
traversals through ``elementId()``; writes go through managed transactions so the driver
retries transient errors (leader switches).
"""

from __future__ import annotations

import neo4j
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from catalog.store.base import INDEXED_PROPERTIES, KEYED_LABELS, SEARCH_INDEXED, GraphStore, GraphUnavailable


class Neo4jStore(GraphStore):
    name = "neo4j"
    id_function = "elementId"  # id() is deprecated in Neo4j 5

    def __init__(self, url: str, user: str, password: str | None, database: str | None = None):
        self._driver = neo4j.GraphDatabase.driver(url, auth=(user, password or ""))
        self._database = database

    def query(self, cypher: str, params: dict | None = None, read_only: bool = False) -> list[dict]:
        def work(tx):
            return [record.data() for record in tx.run(cypher, params or {})]

        try:
            with self._driver.session(database=self._database) as session:
                run = session.execute_read if read_only else session.execute_write
                return run(work)
        except (ServiceUnavailable, SessionExpired) as exc:
            raise GraphUnavailable(f"graph engine unavailable: {exc}") from exc

    def ensure_schema(self) -> None:
        for label in KEYED_LABELS:
            self.query(f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS FOR (n:{label}) REQUIRE n.key IS UNIQUE")
        for label, prop in INDEXED_PROPERTIES:
            self.query(f"CREATE INDEX {label.lower()}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})")
        for label, props in SEARCH_INDEXED.items():
            self.query(f"CREATE FULLTEXT INDEX {label.lower()}_search IF NOT EXISTS FOR (n:{label}) "
                       f"ON EACH [{', '.join('n.' + p for p in props)}] "
                       "OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words'}}")

    def text_search(self, label: str, words: list[str], limit: int) -> list[dict]:
        # Words are letters and digits only (writes.search_words): nothing reaches Lucene's query syntax.
        return self.query(
            "CALL db.index.fulltext.queryNodes($index, $text) YIELD node "
            "RETURN node.key AS key, node.name AS name, node.namespace AS namespace, node.dataset AS dataset, "
            "node.description AS description LIMIT $limit",
            {"index": f"{label.lower()}_search", "text": " AND ".join(w + "*" for w in words), "limit": limit},
            read_only=True)

    def clear(self) -> None:
        # CALL {} IN TRANSACTIONS needs an auto-commit transaction, not a managed one.
        try:
            with self._driver.session(database=self._database) as session:
                session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
        except (ServiceUnavailable, SessionExpired) as exc:
            raise GraphUnavailable(f"graph engine unavailable: {exc}") from exc

    def ping(self) -> bool:
        try:
            self._driver.verify_connectivity()
            return True
        except Exception:
            return False

    def close(self) -> None:
        self._driver.close()
