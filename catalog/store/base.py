"""The store interface: what the catalog asks of a graph engine.

A backend supplies ``query`` (run one parameterised openCypher statement and return rows
as dicts), reads awaited on the event loop (``aread``), its index DDL and how to empty the
graph, and where the engines differ, the function naming a node's id (``id_function``) and
full-text search (``text_search``); it may send several reads in one round trip (``read``).
Everything else, every read and write, is written once here and in :mod:`catalog.store.writes`
/ :mod:`catalog.store.reads`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from typing import Any, NamedTuple, TypeVar

from catalog.store.writes import QUERIES, search_text, write_plan
from ingestors.openlineage import GraphWrites, unindexable_keys

# Labels with a unique ``key`` property; every node the catalog writes has one.
KEYED_LABELS = ("Namespace", "Dataset", "Field", "Job", "Run", "DatasetVersion", "RunInput", "Owner", "Tag",
                "Classification", "Policy", "PolicyVersion", "AuditRun", "Finding", "CatalogMeta")
# Full-text search: labels and the properties their index covers (searchText: see writes.search_words).
SEARCH_INDEXED = {label: ("searchText", "description", "stewardDescription") for label in ("Dataset", "Job", "Field")}
# Non-unique lookup properties: (label, property).
INDEXED_PROPERTIES = (("Field", "dataset"), ("Run", "job"), ("DatasetVersion", "dataset"), ("RunInput", "run"),
                      ("RunInput", "dataset"), ("Classification", "dataset"), ("Classification", "origin"),
                      ("Finding", "run"))

# Traversals: name -> the one-hop pattern from (a) to (b), in the direction travelled. The
# traversal reads name no labels: FEEDS joins only datasets, DERIVES_FROM only fields and
# CONSUMES/PRODUCES only jobs and datasets, and a label check costs per row.
TRAVERSALS = {
    "DOWNSTREAM": "(a)-[e:FEEDS]->(b)",
    "UPSTREAM": "(a)<-[e:FEEDS]-(b)",
    "FIELD_DOWNSTREAM": "(a)<-[e:DERIVES_FROM]-(b)",
    "FIELD_UPSTREAM": "(a)-[e:DERIVES_FROM]->(b)",
}


def _seen_by(keyword: str, as_of: int | None, *edges: str) -> str:
    """The clause keeping edges first seen by ``$asOf``; none without one, so a read of the
    present does not fetch a property per row to compare it with nothing."""
    if as_of is None:
        return ""
    return f"{keyword} " + " AND ".join(f"{e}.firstSeen <= $asOf" for e in edges)


def _projection(variable: str, props: tuple[str, ...]) -> str:
    """A map projection of the named properties (constants of the caller's, never input)."""
    return f"{variable} {{{', '.join('.' + p for p in props)}}}"


# Compare-and-set of the projection's checkpoint: a row when it moved, none when the graph held another value.
CHECKPOINT_MOVE = ("MERGE (m:CatalogMeta {key: 'checkpoint'}) WITH m WHERE coalesce(m.seq, 0) = $expected "
                   "SET m.seq = $seq RETURN m.seq AS seq")


class Read(NamedTuple):
    """A read-only statement and how to turn its rows (tuples) into the caller's result."""
    cypher: str
    params: dict
    shape: Callable[[list[tuple]], Any] = list


T = TypeVar("T")
# A read made of round trips: a generator that yields the reads of each round trip, is sent their results and
# returns the answer. Written once, it runs on a thread (GraphStore.run) or on the event loop (GraphStore.arun).
Plan = Generator[list[Read], list, T]


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

    @abstractmethod
    def ping(self) -> bool:
        """Whether the engine answers, quickly and without raising."""

    @abstractmethod
    def version(self) -> str:
        """The engine's name and version, e.g. ``Neo4j Kernel 5.26.30 (community)``."""

    def text_search(self, label: str, words: list[str], limit: int) -> list[dict] | None:
        """Nodes of ``label`` (key, name, namespace, dataset, description) with words starting with each
        of ``words``, best first, through the engine's full-text index; None if it has none."""
        return None

    def backfill_search_text(self, batch: int = 10_000) -> int:
        """Give searchText to nodes written before it existed; returns how many were updated."""
        if self.rows("MATCH (m:CatalogMeta {key: 'searchText'}) RETURN m.key"):
            return 0
        updated = 0
        for label in SEARCH_INDEXED:
            while True:
                rows = self.rows(f"MATCH (n:{label}) WHERE n.searchText IS NULL AND n.name IS NOT NULL "
                                 f"RETURN n.key, n.name LIMIT {int(batch)}")
                if not rows:
                    break
                self.query(f"UNWIND $rows AS r MATCH (n:{label} {{key: r[0]}}) SET n.searchText = r[1]",
                           {"rows": [[key, search_text(name)] for key, name in rows]})
                updated += len(rows)
        self.query("MERGE (:CatalogMeta {key: 'searchText'})")
        return updated

    def backfill_latest(self) -> int:
        """Point the jobs and datasets of a graph written before they kept their latest run and version at them,
        once; returns how many were looked at."""
        if self.rows("MATCH (m:CatalogMeta {key: 'latest'}) RETURN m.key"):
            return 0
        repointed = self.repoint_latest_runs() + self._repoint(
            "MATCH (d:Dataset) OPTIONAL MATCH (v:DatasetVersion {key: d.latestVersion}) WITH d, v WHERE v IS NULL "
            "RETURN d.key", "latest_versions", "dataset", "versions")
        self.query("MERGE (:CatalogMeta {key: 'latest'})")
        return repointed

    def repoint_latest_runs(self) -> int:
        """Read again the runs of every job whose latest run is unset or no longer in the graph (pruned), to
        point it at its latest; returns how many jobs were looked at."""
        return self._repoint("MATCH (j:Job) OPTIONAL MATCH (r:Run {key: j.latestRun}) WITH j, r WHERE r IS NULL "
                             "RETURN j.key", "latest_runs", "job", "runs")

    def _repoint(self, unpointed: str, kind: str, group: str, members: str, batch: int = 1_000) -> int:
        """Run ``kind``'s pointer statement on the groups ``unpointed`` finds, naming no member: with the pointer
        unset or dangling, the statement reads all of a group's members."""
        keys = [key for (key,) in self.rows(unpointed)]
        for start in range(0, len(keys), batch):
            rows = [{group: key, members: []} for key in keys[start:start + batch]]
            self.execute_writes([(QUERIES[kind], {"rows": rows})])
        return len(keys)

    def rows(self, cypher: str, params: dict | None = None) -> list[tuple]:
        """A read-only statement's rows as tuples in RETURN order, for reads too large for a dict per row."""
        return [tuple(r.values()) for r in self.query(cypher, params, read_only=True)]

    def read(self, *reads: Read) -> list:
        """Several reads' results, in order; backends may send them in one round trip."""
        return [r.shape(self.rows(r.cypher, r.params)) for r in reads]

    @abstractmethod
    async def aread(self, *reads: Read) -> list:
        """:meth:`read` awaited on the event loop, with the engine's client for asyncio: no thread per round trip."""

    def run(self, plan: Plan[T]) -> T:
        """A plan's answer, each of its steps one round trip (a step without reads, none)."""
        try:
            step = next(plan)
            while True:
                step = plan.send(self.read(*step) if step else [])
        except StopIteration as finished:
            return finished.value

    async def arun(self, plan: Plan[T]) -> T:
        """:meth:`run` on the event loop, the plan's own work included (docs/architecture.md, Traversal: what a large
        page costs the loop)."""
        try:
            step = next(plan)
            while True:
                step = plan.send(await self.aread(*step) if step else [])
        except StopIteration as finished:
            return finished.value

    async def aclose(self) -> None:
        """Close what :meth:`aread` opened on the running event loop."""

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
        statements = self._statements(writes)
        self.execute_writes(statements)
        return sum(len(params["rows"]) for _, params in statements)

    def commit(self, writes: GraphWrites, expected: int, seq: int) -> bool:
        """Apply writes and move the checkpoint from ``expected`` to ``seq``; False if the graph
        holds another checkpoint. Engines with transactions do both in one (see write_and_checkpoint)."""
        return self.write_and_checkpoint(self.prepare(writes), expected, seq)

    def prepare(self, writes: GraphWrites) -> list[tuple[str, dict | None]]:
        """The statements that write ``writes``, for write_and_checkpoint: compacted, in dependency order,
        and as far along towards the engine as the backend can take them without it (ingestion prepares
        one group while the engine writes the one before)."""
        return self._statements(writes)

    def write_and_checkpoint(self, statements: list[tuple[str, dict]], expected: int, seq: int) -> bool:
        """Here the writes first, then the checkpoint: an engine that loses its last writes loses the
        checkpoint with them, and the compare-and-set sends the projector back to replay."""
        self.execute_writes(statements)
        return self.advance_checkpoint(expected, seq)

    @staticmethod
    def _statements(writes: GraphWrites, plan=write_plan) -> list[tuple[str, dict]]:
        unindexable = unindexable_keys(writes)
        if unindexable:
            raise ValueError(f"keys must not be empty or start or end with whitespace: {unindexable[:5]!r}")
        return [(cypher, {"rows": rows}) for _kind, cypher, rows in plan(writes)]

    def checkpoint(self) -> int:
        return self.checkpoint_and_catalog()[0]

    def checkpoint_and_catalog(self) -> tuple[int, str | None]:
        """The checkpoint, and the id of the catalog whose event log the graph is written from (None until one
        claims it)."""
        rows = self.query("MATCH (m:CatalogMeta {key: 'checkpoint'}) RETURN m.seq AS seq, m.catalog AS catalog",
                          read_only=True)
        if not rows:
            return 0, None
        return int(rows[0]["seq"] or 0), rows[0]["catalog"]

    def claim(self, catalog_id: str) -> str:
        """Claim the graph for ``catalog_id`` unless another catalog holds it already; the id it holds now. Of two
        catalogs claiming one graph at once, one gets it: the first SET write-locks the node before its claim is
        read (Neo4j reads a property without a lock, so a read-then-set alone could lose one claim to the other)."""
        rows = self.query("MERGE (m:CatalogMeta {key: 'checkpoint'}) SET m.claiming = true "
                          "WITH m SET m.catalog = coalesce(m.catalog, $catalog) REMOVE m.claiming "
                          "RETURN m.catalog AS catalog", {"catalog": catalog_id})
        return rows[0]["catalog"]

    def advance_checkpoint(self, expected: int, seq: int) -> bool:
        """Move the checkpoint from ``expected`` to ``seq``; False if the graph holds another value."""
        return bool(self.query(CHECKPOINT_MOVE, {"expected": expected, "seq": seq}))

    # traversal ------------------------------------------------------------------------
    # Traversals walk the engine's own node ids: a seek by id costs a fraction of a lookup
    # by key through the index. Ids live for one request only; they are never stored or shown.
    id_function = "id"  # the openCypher function giving a node's engine id (Neo4j 5: elementId)

    def node_ids(self, label: str, keys: list[str]) -> dict[str, object]:
        """Engine ids of nodes by key (keys not in the graph are left out)."""
        return self.read(self.lookup(label, keys))[0]

    def lookup(self, label: str, keys: list[str]) -> Read:
        """{key: engine id} of nodes by key (keys not in the graph are left out)."""
        return Read(f"UNWIND $keys AS k MATCH (n:{label} {{key: k}}) RETURN k, {self.id_function}(n) AS node",
                    {"keys": keys}, dict)

    # Each traversal read comes as a Read: ``store.read(...)`` runs several in one round trip.
    def expansion(self, ids: list, traversal: str, as_of: int | None = None, limit: int | None = None) -> Read:
        """One hop from the nodes ``ids`` along a traversal: (from, to) id pairs, optionally as of a time.

        With ``limit``, the ``limit`` pairs of the lowest target ids, in that order: a hub's hop read only as
        far as a page needs (the engine still matches every pair, but sends and decodes only these)."""
        fn = self.id_function
        cut = f" ORDER BY target LIMIT {int(limit)}" if limit is not None else ""
        return Read(f"UNWIND $ids AS i MATCH (a) WHERE {fn}(a) = i MATCH {TRAVERSALS[traversal]} "
                    f"{_seen_by('WHERE', as_of, 'e')} RETURN i, {fn}(b) AS target{cut}", {"ids": ids, "asOf": as_of})

    def description(self, ids: list) -> Read:
        """Key, namespace and name (and a field's dataset) of nodes by engine id."""
        return Read(f"UNWIND $ids AS i MATCH (n) WHERE {self.id_function}(n) = i "
                    "RETURN i, n.key AS key, n.namespace AS namespace, n.name AS name, n.dataset AS dataset", {"ids": ids},
                    lambda rows: {i: {"key": key, "namespace": namespace, "name": name, "dataset": dataset}
                                  for i, key, namespace, name, dataset in rows})

    def carriage(self, pairs: list[tuple], as_of: int | None = None) -> Read:
        """The jobs that consume the input and produce the output of (input, output) id pairs:
        rows of (input, output, job id, job key, namespace, name)."""
        fn = self.id_function
        return Read(
            # Named first: FalkorDB seeks by id only on a variable, and scans every node for `id(o) = p[1]`.
            f"UNWIND $pairs AS p WITH p[0] AS src, p[1] AS dst MATCH (o) WHERE {fn}(o) = dst "
            f"MATCH (o)<-[w:PRODUCES]-(j)-[c:CONSUMES]->(i) WHERE {fn}(i) = src {_seen_by('AND', as_of, 'c', 'w')} "
            f"RETURN src, dst, {fn}(j) AS job, j.key AS key, j.namespace AS namespace, j.name AS name",
            {"pairs": [list(p) for p in pairs], "asOf": as_of})

    def job_edges(self, job_ids: list, rel: str, as_of: int | None = None) -> Read:
        """(job, dataset, impliedBy) of the jobs' CONSUMES or PRODUCES edges (one type per read: measured 2x
        faster than CONSUMES|PRODUCES); impliedBy is "columnLineage" for an input only column lineage names."""
        fn = self.id_function
        return Read(f"UNWIND $ids AS x MATCH (j) WHERE {fn}(j) = x MATCH (j)-[e:{rel}]->(d) "
                    f"{_seen_by('WHERE', as_of, 'e')} RETURN x, {fn}(d) AS dataset, e.impliedBy AS impliedBy",
                    {"ids": job_ids, "asOf": as_of})

    def datasets_with_fields(self, ids: list, props: tuple[str, ...], field_props: tuple[str, ...]) -> Read:
        """Datasets by engine id, each with its fields by name and their tags: {id: (properties, [field, ...])},
        each field's properties with a sorted ``tags`` list. Only ``props`` are read, not the stored facets."""
        fn = self.id_function
        return Read(f"UNWIND $ids AS i MATCH (d) WHERE {fn}(d) = i OPTIONAL MATCH (d)-[:HAS_FIELD]->(f:Field) "
                    "OPTIONAL MATCH (f)-[:TAGGED]->(t:Tag) WITH i, d, f, collect(t.name) AS tags "
                    # A map projection of a missing node is a map of nulls on FalkorDB: the CASE makes it no row.
                    f"RETURN i, {_projection('d', props)} AS dataset, "
                    f"collect(CASE WHEN f IS NULL THEN NULL ELSE [{_projection('f', field_props)}, tags] END) AS fields",
                    {"ids": ids},
                    lambda rows: {i: (dict(d), sorted(({**f, "tags": sorted(t for t in tags if t)} for f, tags in fields),
                                                      key=lambda f: f["name"]))
                                  for i, d, fields in rows})

    def dataset_jobs(self, dataset_ids: list, rel: str, as_of: int | None = None) -> Read:
        """(job, dataset) engine ids of the CONSUMES or PRODUCES edges into the datasets, optionally as of a time."""
        fn = self.id_function
        return Read(f"UNWIND $ids AS x MATCH (d) WHERE {fn}(d) = x MATCH (j)-[e:{rel}]->(d) "
                    f"{_seen_by('WHERE', as_of, 'e')} RETURN {fn}(j) AS job, x", {"ids": dataset_ids, "asOf": as_of})

    def jobs_around(self, dataset_ids: list, props: tuple[str, ...], run_props: tuple[str, ...],
                    as_of: int | None = None) -> Read:
        """The jobs consuming or producing the datasets (engine ids), optionally as of a time, each with the latest
        run it points at and its edges to them: {job id: (properties, run or None, [(rel, dataset id), ...])}.
        One statement, where reading both edge types and then the jobs takes three and a round trip more; but
        slower than those past about fifty datasets (FalkorDB projects grouped nodes slowly)."""
        fn = self.id_function
        return Read(f"UNWIND $ids AS x MATCH (d) WHERE {fn}(d) = x MATCH (j)-[e:CONSUMES|PRODUCES]->(d) "
                    f"{_seen_by('WHERE', as_of, 'e')} WITH j, collect([type(e), x]) AS links "
                    "OPTIONAL MATCH (r:Run {key: j.latestRun}) "
                    f"RETURN {fn}(j) AS job, links, {_projection('j', props)} AS props, "
                    f"CASE WHEN r IS NULL THEN NULL ELSE {_projection('r', run_props)} END AS run",
                    {"ids": dataset_ids, "asOf": as_of},
                    lambda rows: {j: (dict(p), dict(r) if r else None, [tuple(link) for link in links])
                                  for j, links, p, r in rows})

    def jobs_with_latest_runs(self, ids: list, props: tuple[str, ...], run_props: tuple[str, ...]) -> Read:
        """Jobs by engine id with the latest run each points at: {id: (properties, run or None)}."""
        fn = self.id_function
        return Read(f"UNWIND $ids AS x MATCH (j) WHERE {fn}(j) = x OPTIONAL MATCH (r:Run {{key: j.latestRun}}) "
                    f"RETURN x, {_projection('j', props)} AS job, "
                    f"CASE WHEN r IS NULL THEN NULL ELSE {_projection('r', run_props)} END AS run",
                    {"ids": ids}, lambda rows: {x: (dict(j), dict(r) if r else None) for x, j, r in rows})

    def describe(self, ids: list) -> dict[object, dict]:
        return self.read(self.description(ids))[0]

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
