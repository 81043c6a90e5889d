"""Looking straight into a live server's graph (``ServerProcess.graph()``), to see what a request changed."""

import hashlib
import json

from catalog.store.base import GraphStore
from catalog.store.writes import NO_TIME


def counts(graph: GraphStore) -> tuple[int, int]:
    nodes = graph.query("MATCH (n) RETURN count(n) AS c", read_only=True)[0]["c"]
    edges = graph.query("MATCH ()-[r]->() RETURN count(r) AS c", read_only=True)[0]["c"]
    return nodes, edges


def snapshot_rows(graph: GraphStore) -> set[str]:
    """Every node and edge with all its properties, one canonical line each."""
    nodes = graph.query("MATCH (n) RETURN labels(n) AS l, properties(n) AS p", read_only=True)
    edges = graph.query("MATCH (a)-[r]->(b) RETURN a.key AS a, type(r) AS t, properties(r) AS p, b.key AS b",
                        read_only=True)
    return {json.dumps(row, sort_keys=True, default=str) for row in nodes + edges}


def snapshot(graph: GraphStore) -> str:
    return hashlib.sha256("\n".join(sorted(snapshot_rows(graph))).encode()).hexdigest()


def latest_by_sorting(graph: GraphStore, job_key: str) -> str | None:
    """A job's latest run found the slow way: all its runs, latest start (else first seen) first, then by key."""
    rows = graph.rows("MATCH (r:Run {job: $job}) RETURN r.key, coalesce(r.startTime, r.firstSeen)", {"job": job_key})
    return min(rows, key=lambda row: (-(NO_TIME if row[1] is None else row[1]), row[0]))[0] if rows else None
