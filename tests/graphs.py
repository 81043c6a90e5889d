"""Looking straight into a live server's graph engine, to see what a request changed."""

import hashlib
import json

import httpx

from catalog.store.falkor_backend import FalkorStore


def engine_of(server_url: str) -> FalkorStore:
    """The catalog graph inside the server's embedded engine."""
    return FalkorStore("127.0.0.1", httpx.get(server_url + "/health").json()["graph"]["port"])


def counts(graph: FalkorStore) -> tuple[int, int]:
    nodes = graph.query("MATCH (n) RETURN count(n) AS c", read_only=True)[0]["c"]
    edges = graph.query("MATCH ()-[r]->() RETURN count(r) AS c", read_only=True)[0]["c"]
    return nodes, edges


def snapshot_rows(graph: FalkorStore) -> set[str]:
    """Every node and edge with all its properties, one canonical line each."""
    nodes = graph.query("MATCH (n) RETURN labels(n) AS l, properties(n) AS p", read_only=True)
    edges = graph.query("MATCH (a)-[r]->(b) RETURN a.key AS a, type(r) AS t, properties(r) AS p, b.key AS b",
                        read_only=True)
    return {json.dumps(row, sort_keys=True, default=str) for row in nodes + edges}


def snapshot(graph: FalkorStore) -> str:
    return hashlib.sha256("\n".join(sorted(snapshot_rows(graph))).encode()).hexdigest()
