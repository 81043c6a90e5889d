"""The store interface: what the catalog asks of a graph engine.

A backend supplies ``query`` (run one parameterised openCypher statement and return rows
as dicts), its index DDL and how to empty the graph. Everything else, every read and write,
is written once here and in :mod:`catalog.store.writes` / :mod:`catalog.store.reads`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod

from catalog.store.writes import write_plan
from ingestors.openlineage import GraphWrites, unindexable_keys

# Labels with a unique ``key`` property; every node the catalog writes has one.
KEYED_LABELS = ("Namespace", "Dataset", "Field", "Job", "Run", "DatasetVersion", "RunInput", "Owner", "Tag",
                "Classification", "Policy", "PolicyVersion", "AuditRun", "Finding", "CatalogMeta")
# Non-unique lookup properties: (label, property).
INDEXED_PROPERTIES = (("Field", "dataset"), ("Run", "job"), ("RunInput", "run"), ("RunInput", "dataset"),
                      ("Classification", "dataset"), ("Classification", "origin"), ("Finding", "run"))

# Traversals: name -> the one-hop pattern from (a) to (b), in the direction travelled.
TRAVERSALS = {
    "DOWNSTREAM": "(a:Dataset {key: k})-[e:FEEDS]->(b:Dataset)",
    "UPSTREAM": "(a:Dataset {key: k})<-[e:FEEDS]-(b:Dataset)",
    "FIELD_DOWNSTREAM": "(a:Field {key: k})<-[e:DERIVES_FROM]-(b:Field)",
    "FIELD_UPSTREAM": "(a:Field {key: k})-[e:DERIVES_FROM]->(b:Field)",
}


class GraphUnavailable(RuntimeError):
    """The graph engine cannot be reached; the caller may retry later."""


class GraphStore(ABC):
    name: str = "abstract"

    # backend primitives ---------------------------------------------------------
    @abstractmethod
    def query(self, cypher: str, params: dict | None = None, read_only: bool = False) -> list[dict]:
        """Run one statement; raise GraphUnavailable when the engine is unreachable."""

    @abstractmethod
    def ensure_schema(self) -> None:
        """Create indexes/constraints for KEYED_LABELS and INDEXED_PROPERTIES, idempotently."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every node and edge."""

    def close(self) -> None:
        pass

    def execute_writes(self, statements: list[tuple[str, dict]]) -> None:
        """Run write statements in order; backends may send them in one round trip."""
        for cypher, params in statements:
            self.query(cypher, params)

    # writes -------------------------------------------------------------------------
    def apply(self, writes: GraphWrites) -> int:
        """Apply compacted writes in dependency order; returns the number of rows sent.

        Writes with an empty key or one with outer whitespace are refused whole (ValueError): FalkorDB
        crashes indexing such a key. Ingestion refuses them before logging; this also covers old logs.
        """
        unindexable = unindexable_keys(writes)
        if unindexable:
            raise ValueError(f"keys must not be empty or start or end with whitespace: {unindexable[:5]!r}")
        plan = write_plan(writes)
        self.execute_writes([(cypher, {"rows": rows}) for _kind, cypher, rows in plan])
        return sum(len(rows) for _, _, rows in plan)

    def checkpoint(self) -> int:
        rows = self.query("MATCH (m:CatalogMeta {key: 'checkpoint'}) RETURN m.seq AS seq", read_only=True)
        return int(rows[0]["seq"]) if rows and rows[0]["seq"] is not None else 0

    def advance_checkpoint(self, expected: int, seq: int) -> bool:
        """Move the checkpoint from ``expected`` to ``seq``; False if the graph holds another value.

        Written after the batch it covers: an engine that loses its last writes loses this
        too, and the compare-and-set tells the projector to replay from the graph's own value.
        """
        rows = self.query(
            "MERGE (m:CatalogMeta {key: 'checkpoint'}) WITH m WHERE coalesce(m.seq, 0) = $expected "
            "SET m.seq = $seq RETURN m.seq AS seq",
            {"expected": expected, "seq": seq},
        )
        return bool(rows)

    # traversal ------------------------------------------------------------------------
    def expand(self, keys: list[str], traversal: str, as_of: int | None = None) -> list[tuple[str, str]]:
        """One hop from ``keys`` along a traversal: (from, to) pairs, optionally as of a time."""
        cypher = (
            f"UNWIND $keys AS k MATCH {TRAVERSALS[traversal]} "
            "WHERE $asOf IS NULL OR e.firstSeen <= $asOf RETURN a.key AS src, b.key AS dst"
        )
        rows = self.query(cypher, {"keys": keys, "asOf": as_of}, read_only=True)
        return [(r["src"], r["dst"]) for r in rows]

    # inspection -----------------------------------------------------------------------
    def dump(self) -> dict:
        """A canonical, order-free dump of the graph (without the checkpoint), for comparisons."""
        nodes = self.query(
            "MATCH (n) WHERE NOT n:CatalogMeta RETURN labels(n) AS labels, properties(n) AS props",
            read_only=True,
        )
        edges = self.query(
            "MATCH (a)-[e]->(b) RETURN type(e) AS type, a.key AS src, b.key AS dst, properties(e) AS props",
            read_only=True,
        )
        canon = lambda value: json.dumps(value, sort_keys=True, default=str)  # noqa: E731
        return {
            "nodes": sorted(canon([sorted(n["labels"]), n["props"]]) for n in nodes),
            "edges": sorted(canon([e["type"], e["src"], e["dst"], e["props"]]) for e in edges),
        }

    def counts(self) -> dict[str, int]:
        rows = self.query("MATCH (n) RETURN labels(n)[0] AS label, count(*) AS n", read_only=True)
        return {r["label"]: r["n"] for r in rows}
