"""Classification propagation along column lineage.

A field derived from a classified field holds the same personal data unless the step
between them removes it. Starting from every suggested or confirmed classification, a
breadth-first walk follows ``DERIVES_FROM`` edges downstream and stops:

* at a masking step: the edge has ``masking`` set or a subtype such as MASKED, HASHED,
  AGGREGATION (see ``ingestors.openlineage.MASKING_SUBTYPES``);
* at an edge whose transformations are all INDIRECT (a filter or join key influences the
  output but does not copy the value into it);
* at an edge written by a job declared anonymizing (glob patterns on job ids);
* at a field where a steward rejected that entity, and at fields classified directly
  (they are sources of their own).

Each propagated classification keeps the path of field ids it came by (the shortest one)
and the key of the classification it came from. The result is a set; :func:`propagate`
writes only its difference with what the graph holds, so re-running it after lineage or
classifications change is cheap when little changed.
"""

from __future__ import annotations

import fnmatch
import json
import threading
from collections import defaultdict

from catalog.store.base import GraphStore
from policies import registry
from policies.classifications import classification_key

MAX_DEPTH = 50


def carries(edge: dict, anonymizing_jobs: tuple[str, ...] = ()) -> bool:
    """Whether a DERIVES_FROM edge copies personal data from its input into its output."""
    if edge["masking"]:
        return False
    # ``masking`` was derived from these transformations (flag or subtype) when the edge was written.
    transformations = json.loads(edge["transformations"] or "[]")
    if transformations and all((t.get("type") or "").upper() == "INDIRECT" for t in transformations):
        return False
    job = edge["job"] or ""
    return not any(fnmatch.fnmatchcase(job, pattern) for pattern in anonymizing_jobs)


def _downstream(store: GraphStore, fields: list[str]) -> list[dict]:
    return store.query(
        "UNWIND $keys AS k MATCH (a:Field {key: k})<-[e:DERIVES_FROM]-(b:Field) "
        "RETURN a.key AS src, b.key AS dst, b.dataset AS dataset, e.masking AS masking, "
        "e.transformations AS transformations, e.job AS job",
        {"keys": fields}, read_only=True)


def desired(store: GraphStore, anonymizing_jobs: tuple[str, ...] = ()) -> dict[str, dict]:
    """Classification key -> properties of every classification propagation should produce."""
    direct = store.query(
        "MATCH (c:Classification) WHERE c.origin <> 'propagated' "
        "RETURN c.key AS key, c.field AS field, c.entity AS entity, c.state AS state, "
        "c.category AS category, c.special AS special", read_only=True)
    classified = {(c["field"], c["entity"]) for c in direct}
    roots: defaultdict[str, list[dict]] = defaultdict(list)
    for c in direct:
        if c["state"] in ("suggested", "confirmed"):
            roots[c["entity"]].append(c)
    edges: dict[str, list[dict]] = {}
    out: dict[str, dict] = {}
    for entity, sources in roots.items():
        # Multi-source BFS: each reached field remembers the field it was reached from.
        came_from: dict[str, str | None] = {c["field"]: None for c in sources}
        origin = {c["field"]: c for c in sources}
        frontier = list(came_from)
        for _ in range(MAX_DEPTH):
            missing = [f for f in frontier if f not in edges]
            if missing:
                for f in missing:
                    edges[f] = []
                for edge in _downstream(store, missing):
                    edges[edge["src"]].append(edge)
            following = []
            for src in frontier:
                for edge in edges[src]:
                    dst = edge["dst"]
                    if dst in came_from or (dst, entity) in classified or not carries(edge, anonymizing_jobs):
                        continue
                    came_from[dst] = src
                    origin[dst] = origin[src]
                    following.append(dst)
                    path = [dst]
                    while came_from[path[-1]] is not None:
                        path.append(came_from[path[-1]])
                    root = origin[dst]
                    out[classification_key(dst, entity)] = {
                        "field": dst, "dataset": edge["dataset"], "entity": entity, "category": root["category"],
                        "special": root["special"], "state": root["state"], "source": root["key"],
                        "path": json.dumps(path[::-1]), "depth": len(path) - 1,
                    }
            if not following:
                break
            frontier = following
    return out


def propagate(store: GraphStore, anonymizing_jobs: tuple[str, ...] = ()) -> dict[str, int]:
    """Bring the graph's propagated classifications in line with :func:`desired`."""
    wanted = desired(store, anonymizing_jobs)
    held = {r["key"]: r["c"] for r in store.query(
        "MATCH (c:Classification {origin: 'propagated'}) RETURN c.key AS key, c {.*} AS c", read_only=True)}
    stale = [key for key in held if key not in wanted]
    changed = [{"key": key, "field": props["field"], "props": props} for key, props in wanted.items()
               if key not in held or any(held[key].get(k) != v for k, v in props.items())]
    store.execute_writes([
        ("UNWIND $keys AS k MATCH (c:Classification {key: k, origin: 'propagated'}) DETACH DELETE c", {"keys": stale}),
        ("UNWIND $rows AS r MATCH (n:Field {key: r.field}) MERGE (c:Classification {key: r.key}) "
         "ON CREATE SET c.origin = 'propagated' MERGE (n)-[:CLASSIFIED_AS]->(c) "
         "WITH c, r WHERE c.origin = 'propagated' SET c += r.props", {"rows": changed}),
    ])
    return {"propagated": len(wanted), "added_or_changed": len(changed), "removed": len(stale)}


class Propagator:
    """Runs :func:`propagate` one at a time for a store, with the anonymizing jobs of the settings
    and of the active policies."""

    def __init__(self, store: GraphStore, anonymizing_jobs: tuple[str, ...] = ()):
        self.store = store
        self.anonymizing_jobs = tuple(anonymizing_jobs)
        self._lock = threading.Lock()

    def run(self) -> dict[str, int]:
        with self._lock:
            return propagate(self.store, self.anonymizing_jobs + registry.anonymizing_jobs(self.store))
