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
from operator import itemgetter

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
    """The DERIVES_FROM edges out of ``fields`` (to the fields derived from them), each with the entities its
    destination is classified as directly (any state: a rejection stops propagation as a classification does)."""
    return store.query(
        "UNWIND $keys AS k MATCH (a:Field {key: k})<-[e:DERIVES_FROM]-(b:Field) "
        "OPTIONAL MATCH (b)-[:CLASSIFIED_AS]->(c:Classification) WHERE c.origin <> 'propagated' "
        "RETURN a.key AS src, b.key AS dst, b.dataset AS dataset, e.masking AS masking, "
        "e.transformations AS transformations, e.job AS job, collect(c.entity) AS direct",
        {"keys": fields}, read_only=True)


def _roots(store: GraphStore) -> list[dict]:
    """Suggested and confirmed classifications, not propagated, of the fields other fields derive from: the only
    ones propagation can carry. Found from the column lineage, so a run costs what the lineage holds, not what the
    catalog's scans found."""
    # Classifications first: FalkorDB would scan every node to find the DERIVES_FROM edges.
    return store.query(
        "MATCH (c:Classification) WHERE c.origin <> 'propagated' AND c.state IN ['suggested', 'confirmed'] "
        "MATCH (a:Field)-[:CLASSIFIED_AS]->(c) MATCH (a)<-[:DERIVES_FROM]-(:Field) WITH DISTINCT c "
        "RETURN c.key AS key, c.field AS field, c.entity AS entity, c.state AS state, "
        "c.category AS category, c.special AS special", read_only=True)


class _Search:
    """One entity's multi-source breadth-first search: each reached field remembers the field it was reached from
    and the classification it carries."""

    def __init__(self, entity: str, sources: list[dict]):
        self.entity = entity
        self.came_from: dict[str, str | None] = {c["field"]: None for c in sources}
        self.origin = {c["field"]: c for c in sources}
        self.frontier = list(self.came_from)

    def advance(self, edges: dict[str, list[dict]], anonymizing_jobs: tuple[str, ...], out: dict) -> None:
        following = []
        for src in self.frontier:
            for edge in edges[src]:
                dst = edge["dst"]
                if dst in self.came_from or self.entity in edge["direct"] or not carries(edge, anonymizing_jobs):
                    continue
                self.came_from[dst] = src
                root = self.origin[dst] = self.origin[src]
                following.append(dst)
                path = [dst]
                while self.came_from[path[-1]] is not None:
                    path.append(self.came_from[path[-1]])
                out[classification_key(dst, self.entity)] = {
                    "field": dst, "dataset": edge["dataset"], "entity": self.entity, "category": root["category"],
                    "special": root["special"], "state": root["state"], "source": root["key"],
                    "path": json.dumps(path[::-1]), "depth": len(path) - 1,
                }
        self.frontier = following


def desired(store: GraphStore, anonymizing_jobs: tuple[str, ...] = ()) -> dict[str, dict]:
    """Classification key -> properties of every classification propagation should produce."""
    roots: defaultdict[str, list[dict]] = defaultdict(list)
    for c in sorted(_roots(store), key=itemgetter("field", "key")):  # ties go the same way on every run
        roots[c["entity"]].append(c)
    searches = [_Search(entity, sources) for entity, sources in roots.items()]
    edges: dict[str, list[dict]] = {}  # field -> the edges out of it, read once for every entity's search
    out: dict[str, dict] = {}
    for _ in range(MAX_DEPTH):
        missing = sorted({f for search in searches for f in search.frontier if f not in edges})
        for f in missing:
            edges[f] = []
        for edge in sorted(_downstream(store, missing) if missing else [], key=itemgetter("dst")):
            edges[edge["src"]].append(edge)
        for search in searches:
            search.advance(edges, anonymizing_jobs, out)
        searches = [search for search in searches if search.frontier]
        if not searches:
            break
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
