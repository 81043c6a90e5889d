"""Lineage traversal: a frontier-per-hop breadth-first search over derived edges.

Each hop is one ``UNWIND $frontier`` query over the derived Dataset-to-Dataset ``FEEDS``
edges (out for downstream, in for upstream) or the field-level ``DERIVES_FROM`` edges,
on the engine's node ids. It runs on both engines, never uses variable-length patterns
(which undercount on FalkorDB) and gives depth-by-depth results, so limits cut at a clean
depth boundary and a page of lineage needs only the hops that reach it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache

from catalog.store import reads
from catalog.store.base import GraphStore, Plan, Read

DIRECTIONS = ("UPSTREAM", "DOWNSTREAM", "BOTH")


class LineageError(ValueError):
    """A lineage request that cannot be answered as asked (unknown node, bad depth)."""


@dataclass
class Traversal:
    depth_of: dict[str, int]  # node key -> hops from the start (0 for the start nodes)
    edges: set[tuple[str, str]] = field(default_factory=set)  # (from, to) in data-flow order
    depth_reached: int = 0
    is_partial: bool = False


class Walk:
    """A breadth-first search over engine node ids, advanced one hop at a time by :meth:`step`.

    BOTH is the union of an upstream and a downstream search, each with its own visited set
    (a node seen upstream must still be expanded downstream). Once ``max_nodes`` nodes are
    found the walk is partial: the hop that would overflow is cut, so every node found is at
    its true shortest distance.
    """

    def __init__(self, store: GraphStore, start: list, direction: str, *, max_nodes: int,
                 as_of: int | None = None, field_level: bool = False):
        if direction not in DIRECTIONS:
            raise LineageError(f"direction must be one of {', '.join(DIRECTIONS)}")
        self.store, self.max_nodes, self.as_of = store, max_nodes, as_of
        self.prefix = "FIELD_" if field_level else ""
        self.directions = ("UPSTREAM", "DOWNSTREAM") if direction == "BOTH" else (direction,)
        self.depth_of: dict = {node: 0 for node in start}  # engine id -> hops from the start
        self.found = [len(self.depth_of)]  # nodes first found at each hop
        self.pairs: dict[tuple, int] = {}  # (from, to) in data-flow order -> the hop that found it
        self.hops = 0
        self.is_partial = False
        self._visited = {d: set(start) for d in self.directions}
        self._frontiers = {d: list(start) for d in self.directions}

    @property
    def exhausted(self) -> bool:
        return self.is_partial or not any(self._frontiers.values())

    def reads(self, limit: int | None = None) -> list[Read]:
        """The expansions the next hop needs, one per direction with a frontier (each cut at ``limit`` pairs of
        the lowest target ids, if given)."""
        return [self.store.expansion(self._frontiers[d], self.prefix + d, as_of=self.as_of, limit=limit)
                for d in self.directions if self._frontiers[d]]

    def covers(self, expanded: list[list[tuple]], limit: int, wanted: int) -> bool:
        """Whether expansions read with ``limit`` hold the ``wanted`` lowest-id nodes this hop finds: no
        expansion was cut, or at least ``wanted`` new nodes lie below every cut (targets seen before took
        some of the rows otherwise, and the hop must be read further)."""
        cuts = [pairs[-1][1] for pairs in expanded if len(pairs) >= limit]
        if not cuts:
            return True
        bound = min(cuts)
        return len({dst for pairs in expanded for _, dst in pairs if dst <= bound and dst not in self.depth_of}) \
            >= wanted

    def advance(self, expanded: list[list[tuple]], limit: int | None = None) -> None:
        """Take the next hop from the results of :meth:`reads`. If an expansion was cut at ``limit``, the hop
        is partial: the walk ends with it, and only its lowest-id nodes are certain to be all there."""
        if limit is not None and any(len(pairs) >= limit for pairs in expanded):
            self.is_partial = True
        hop = self.hops + 1
        known = len(self.depth_of)
        for dirn, pairs in zip([d for d in self.directions if self._frontiers[d]], expanded):
            visited, new = self._visited[dirn], []
            for src, dst in pairs:
                if dst not in visited:
                    if dst not in self.depth_of and len(self.depth_of) >= self.max_nodes:
                        self.is_partial = True
                        continue
                    visited.add(dst)
                    self.depth_of.setdefault(dst, hop)
                    new.append(dst)
                self.pairs.setdefault((src, dst) if dirn == "DOWNSTREAM" else (dst, src), hop)
            self._frontiers[dirn] = new
        self.found.append(len(self.depth_of) - known)
        self.hops = hop

    def steps(self, depth: int) -> Plan[Walk]:
        """The hops up to ``depth``, one round trip each."""
        while self.hops < depth and not self.exhausted:
            self.advance((yield self.reads()))
        return self

    def run(self, depth: int) -> Walk:
        return self.store.run(self.steps(depth))

    @property
    def depth_reached(self) -> int:
        return max(self.depth_of.values(), default=0)


def traverse(store: GraphStore, start: list[str], direction: str, depth: int, *, as_of: int | None = None,
             max_nodes: int = 5000, field_level: bool = False) -> Traversal:
    """Nodes (by key) within ``depth`` hops of the ``start`` keys, following data flow in ``direction``."""
    ids = store.node_ids("Field" if field_level else "Dataset", start)
    walk = Walk(store, list(ids.values()), direction, max_nodes=max_nodes, as_of=as_of,
                field_level=field_level).run(depth)
    key = {i: node["key"] for i, node in store.describe(list(walk.depth_of)).items()}
    return Traversal(depth_of={key[i]: d for i, d in walk.depth_of.items()},
                     edges={(key[a], key[b]) for a, b in walk.pairs},
                     depth_reached=walk.depth_reached, is_partial=walk.is_partial)


def _start_label(node_id: str) -> str:
    """Dataset or Job, for a node id lineage can start from; raises LineageError."""
    label = reads.node_label(node_id)
    if label not in ("Dataset", "Job"):
        raise LineageError(f"nodeId must look like dataset:<namespace>:<name> or job:<namespace>:<name>, got {node_id!r}")
    return label


def _unknown(label: str, node_id: str) -> LineageError:
    return LineageError(f"no {label.lower()} with nodeId {node_id!r}")


def _start(store: GraphStore, node_id: str, as_of: int | None) -> Plan[tuple[tuple[object, dict] | None, list]]:
    """The start job (its engine id and itself as a node at depth 0; None for a dataset start), and the dataset ids
    a walk starts from: the dataset itself, or the job's inputs and outputs. Raises LineageError for a node not in
    the graph."""
    label = _start_label(node_id)
    start_ids = (yield [store.lookup(label, [node_id])])[0]
    if not start_ids:
        raise _unknown(label, node_id)
    if label == "Dataset":
        return None, list(start_ids.values())
    start_job = start_ids[node_id]
    described, consumes, produces = yield [store.description([start_job]),
                                           store.job_edges([start_job], "CONSUMES", as_of),
                                           store.job_edges([start_job], "PRODUCES", as_of)]
    return ((start_job, _node(described[start_job], "JOB", 0)),
            sorted({d for _, d, _ in consumes} | {d for _, d, _ in produces}, key=str))


def _check_depth(depth: int, max_depth: int) -> None:
    if depth < 0 or depth > max_depth:
        raise LineageError(f"depth must be between 0 and {max_depth}, got {depth}")


def _offset(after: str | None) -> int:
    if after is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(after.encode()).decode()
        if not text.startswith("o:"):
            raise ValueError
        return int(text[2:])
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise LineageError(f"malformed cursor {after!r}: pass an endCursor from a previous page") from None


def _check_first(first: int, max_nodes: int) -> None:
    if not 1 <= first <= max_nodes:
        raise LineageError(f"first must be between 1 and {max_nodes}, got {first}")


def _whole(nodes: list[dict], edges: list[dict], found: Traversal) -> dict:
    """A lineage answered in one page, nodes ordered by (depth, type, id)."""
    nodes.sort(key=lambda n: (n["depth"], n["type"], n["id"]))
    return {
        "nodes": nodes, "edges": sorted(edges, key=lambda e: (e["origin"], e["destination"])),
        "depthReached": found.depth_reached, "isPartial": found.is_partial, "totalReachable": len(nodes),
        "hasNextPage": False, "endCursor": _cursor(len(nodes)) if nodes else None,
    }


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def lineage_page(store: GraphStore, node_id: str, direction: str, depth: int, **options) -> dict:
    """:func:`lineage_plan` run on this thread."""
    return store.run(lineage_plan(store, node_id, direction, depth, **options))


def lineage_plan(store: GraphStore, node_id: str, direction: str, depth: int, *, max_depth: int, max_nodes: int,
                 as_of: int | None = None, first: int = 500, after: str | None = None,
                 count_all: bool = True) -> Plan[dict]:
    """Datasets and the jobs between them around a dataset or job, a page at a time.

    Nodes are ordered by depth, datasets before jobs, so a page needs only the hops up to its
    last node: with ``count_all`` false the walk stops there and ``totalReachable`` is None
    unless the walk reached its end anyway. A job is in the lineage when it consumes and produces the
    two ends of a traversed edge, at the hop that first found such an edge (0 for the start
    job); its edges are all its inputs and outputs within the lineage.
    """
    _check_depth(depth, max_depth)
    _check_first(first, max_nodes)
    start = _offset(after)
    needed = start + first + 1  # one more than the page, to know whether another follows
    start_job, seeds = yield from _start(store, node_id, as_of)
    walk = Walk(store, seeds, direction, max_nodes=max_nodes, as_of=as_of)
    jobs: dict = dict([start_job] if start_job else [])  # job id -> node

    def carriage(hop: int) -> list[Read]:
        """The read for the jobs carrying the edges found at ``hop`` (none when there are none)."""
        pairs = [pair for pair, at in walk.pairs.items() if at == hop]
        return [store.carriage(pairs, as_of)] if pairs else []

    def add_jobs(hop: int, carried: list[tuple]) -> None:
        for _, _, job, key, namespace, name in carried:
            if job not in jobs:  # hops come in order: the first is the job's depth
                jobs[job] = {"id": key, "type": "JOB", "depth": hop, "namespace": namespace, "name": name}

    def fills_page(hop: int) -> bool:
        """Whether the nodes shallower than ``hop`` and ``hop``'s datasets reach past this page."""
        return sum(walk.found[:hop + 1]) + len(jobs) >= needed  # jobs found so far are all shallower

    # After hop h the nodes up to depth h-1 are known, then come hop h's datasets and then its
    # jobs: a page that those datasets fill needs neither the jobs nor any further hop. Each hop's
    # expansion goes to the engine together with the previous hop's jobs, in one round trip.
    # Without a total to count, a hop is read only as far as the page needs, lowest ids first (the order of a
    # depth's datasets on the page): a hub's thousands of neighbours cost a page, and the answer is partial.
    while walk.hops < depth and not walk.exhausted and not (walk.hops and not count_all and fills_page(walk.hops)):
        wanted = None if count_all else max(1, needed - len(walk.depth_of) - len(jobs))
        jobs_read = carriage(walk.hops)
        results = yield [*walk.reads(wanted), *jobs_read]
        expanded = results[:len(results) - len(jobs_read)]
        limit = wanted
        while limit is not None and not walk.covers(expanded, limit, wanted):
            limit *= 4
            expanded = yield walk.reads(limit)
        walk.advance(expanded, limit)
        if jobs_read:
            add_jobs(walk.hops - 1, results[-1])
    complete = count_all or not fills_page(walk.hops)
    if complete:
        for carried in (yield carriage(walk.hops)):
            add_jobs(walk.hops, carried)
    complete = complete and (walk.hops >= depth or walk.exhausted)

    # Within a depth, datasets come before jobs, each in engine-id order (stable while the graph
    # is not rebuilt): then only the datasets up to this page need describing, not all the last hop found.
    order = sorted([(d, "DATASET", i) for i, d in walk.depth_of.items()] +
                   [(n["depth"], "JOB", j) for j, n in jobs.items()])
    end = min(start + first, len(order))
    page_jobs = [i for _, kind, i in order[:end] if kind == "JOB"]
    described, consumes, produces = yield [
        store.description([i for _, kind, i in order[:end] if kind == "DATASET"]),
        store.job_edges(page_jobs, "CONSUMES", as_of), store.job_edges(page_jobs, "PRODUCES", as_of)]
    nodes = {i: jobs[i] if kind == "JOB" else _node(described[i], kind, d) for d, kind, i in order[:end]}
    position = {i: p for p, (_, _, i) in enumerate(order[:end])}
    # Each edge comes with the page of its later end, so only jobs up to this page's end have edges on it.
    edges = [{"origin": nodes[d]["id"], "destination": nodes[j]["id"], "impliedBy": implied}
             for j, d, implied in consumes if d in position and max(position[j], position[d]) >= start]
    edges += [{"origin": nodes[j]["id"], "destination": nodes[d]["id"]} for j, d, _ in produces
              if d in position and max(position[j], position[d]) >= start]
    return {
        "nodes": [nodes[i] for _, _, i in order[start:end]],
        "edges": sorted(edges, key=lambda e: (e["origin"], e["destination"])),
        "depthReached": walk.depth_reached, "isPartial": walk.is_partial,
        "totalReachable": len(order) if complete else None, "hasNextPage": end < len(order),
        "endCursor": _cursor(end) if end > start else None,
    }


def _node(row: dict, kind: str, depth: int) -> dict:
    return {"id": row["key"], "type": kind, "depth": depth, "namespace": row["namespace"], "name": row["name"]}


def column_lineage(store: GraphStore, node_id: str, direction: str, depth: int, *, max_depth: int,
                   max_nodes: int) -> dict:
    """Field-level lineage around ``datasetField:<ns>:<name>:<field>``, with transformations on edges."""
    _check_depth(depth, max_depth)
    if reads.node_label(node_id) != "Field":
        raise LineageError(f"nodeId must look like datasetField:<namespace>:<name>:<field>, got {node_id!r}")
    if not reads.nodes(store, "Field", [node_id]):
        raise LineageError(f"no field with nodeId {node_id!r}")
    found = traverse(store, [node_id], direction, depth, max_nodes=max_nodes, field_level=True)
    fields = reads.nodes(store, "Field", sorted(found.depth_of))
    datasets = reads.nodes(store, "Dataset", sorted({f["dataset"] for f in fields.values()}))
    nodes = [{"id": k, "type": "FIELD", "depth": d, "name": fields[k]["name"], "datasetId": fields[k]["dataset"],
              "namespace": datasets[fields[k]["dataset"]]["namespace"]}
             for k, d in found.depth_of.items() if k in fields]
    rows = store.query(
        "UNWIND $pairs AS p MATCH (d:Field {key: p[1]})-[e:DERIVES_FROM]->(s:Field {key: p[0]}) "
        "RETURN s.key AS origin, d.key AS destination, e.type AS type, e.subtype AS subtype, e.masking AS masking",
        {"pairs": [list(edge) for edge in sorted(found.edges)]}, read_only=True,
    )
    return _whole(nodes, [dict(r) for r in rows], found)


# What the Marquez-shaped view shows of each node: only these are read, not the stored facets.
DATASET_VIEW = ("key", "namespace", "name", "description", "sourceName", "datasetType", "lifecycleState", "firstSeen",
                "lastSeen")
FIELD_VIEW = ("name", "type", "description")
JOB_VIEW = ("key", "namespace", "name", "jobType", "integration", "description", "firstSeen", "lastSeen")
RUN_VIEW = ("runId", "state", "startTime", "endTime", "nominalStartTime", "nominalEndTime", "errorMessage")


# Up to this many datasets, a REST view reads the jobs around them in one statement with the datasets; beyond,
# their edges and then the jobs, which costs a round trip more but less time (docs/benchmarks.md).
JOBS_AROUND_MAX = 50


def marquez_plan(store: GraphStore, node_id: str, depth: int, *, max_depth: int, max_nodes: int,
                 as_of: int | None = None, jobs_around_max: int = JOBS_AROUND_MAX) -> Plan[dict]:
    """Lineage around a node in Marquez's ``GET /api/v1/lineage`` shape: datasets and jobs.

    The datasets within ``depth`` (both directions), and every job consuming or producing one of them (and the
    start job). After the walk, one round trip: the datasets with their fields, and the jobs around them with
    their latest runs and edges; past ``jobs_around_max`` datasets, the jobs' edges come with the datasets and the
    jobs in a round trip after."""
    _check_depth(depth, max_depth)
    start_job, seeds = yield from _start(store, node_id, as_of)
    walk = yield from Walk(store, seeds, "BOTH", max_nodes=max_nodes, as_of=as_of).steps(depth)
    dataset_ids = list(walk.depth_of)
    if len(dataset_ids) <= jobs_around_max:
        datasets, around = yield [store.datasets_with_fields(dataset_ids, DATASET_VIEW, FIELD_VIEW),
                                  store.jobs_around(dataset_ids, JOB_VIEW, RUN_VIEW, as_of)]
        jobs = {j: (props, run) for j, (props, run, _) in around.items()}
        links = [(j, rel, d) for j, (_, _, edges) in around.items() for rel, d in edges]
    else:
        datasets, consumes, produces = yield [
            store.datasets_with_fields(dataset_ids, DATASET_VIEW, FIELD_VIEW),
            store.dataset_jobs(dataset_ids, "CONSUMES", as_of), store.dataset_jobs(dataset_ids, "PRODUCES", as_of)]
        links = [(j, "CONSUMES", d) for j, d in consumes] + [(j, "PRODUCES", d) for j, d in produces]
        jobs = (yield [store.jobs_with_latest_runs(list({j for j, _, _ in links}), JOB_VIEW, RUN_VIEW)])[0]
    if start_job and start_job[0] not in jobs:  # a job with no inputs or outputs (as of then)
        jobs |= (yield [store.jobs_with_latest_runs([start_job[0]], JOB_VIEW, RUN_VIEW)])[0]
    # Each read is its own statement, and writes commit between them (Neo4j reads committed data per
    # statement, even inside one transaction): keep only nodes every read saw, and edges between them.
    key = {i: props["key"] for i, (props, _) in (datasets | jobs).items()}
    in_edges: dict[str, list[dict]] = {k: [] for k in key.values()}
    out_edges: dict[str, list[dict]] = {k: [] for k in key.values()}
    for job, rel, dataset in sorted((key[j], rel, key[d]) for j, rel, d in links if j in jobs and d in datasets):
        origin, destination = (dataset, job) if rel == "CONSUMES" else (job, dataset)
        edge = {"origin": origin, "destination": destination}
        out_edges[origin].append(edge)
        in_edges[destination].append(edge)
    graph = [{"id": props["key"], "type": "DATASET", "data": dataset_data(props, fields),
              "inEdges": in_edges[props["key"]], "outEdges": out_edges[props["key"]]}
             for props, fields in sorted(datasets.values(), key=lambda d: d[0]["key"])]
    graph += [{"id": props["key"], "type": "JOB", "data": job_data(props, run),
               "inEdges": in_edges[props["key"]], "outEdges": out_edges[props["key"]]}
              for props, run in sorted(jobs.values(), key=lambda j: j[0]["key"])]
    return {"graph": graph, "depthReached": walk.depth_reached, "isPartial": walk.is_partial}


def dataset_data(props: dict, fields: list[dict]) -> dict:
    return {
        "id": {"namespace": props["namespace"], "name": props["name"]},
        "namespace": props["namespace"],
        "name": props["name"],
        "description": props.get("description"),
        "sourceName": props.get("sourceName"),
        "datasetType": props.get("datasetType"),
        "lifecycleState": props.get("lifecycleState"),
        "createdAt": iso(props.get("firstSeen")),
        "updatedAt": iso(props.get("lastSeen")),
        "fields": [{"name": f["name"], "type": f.get("type"), "description": f.get("description"),
                    "tags": f.get("tags", [])} for f in fields],
    }


def job_data(props: dict, latest_run: dict | None) -> dict:
    return {
        "id": {"namespace": props["namespace"], "name": props["name"]},
        "namespace": props["namespace"],
        "name": props["name"],
        "type": props.get("jobType"),
        "integration": props.get("integration"),
        "description": props.get("description"),
        "createdAt": iso(props.get("firstSeen")),
        "updatedAt": iso(props.get("lastSeen")),
        "latestRun": run_data(latest_run) if latest_run else None,
    }


def run_data(props: dict) -> dict:
    return {
        "id": props["runId"],
        "state": props.get("state"),
        "startedAt": iso(props.get("startTime")),
        "endedAt": iso(props.get("endTime")),
        "nominalStartTime": iso(props.get("nominalStartTime")),
        "nominalEndTime": iso(props.get("nominalEndTime")),
        "errorMessage": props.get("errorMessage"),
    }


@lru_cache(maxsize=65536)  # every lineage answer formats each node's times again
def iso(ms: int | None) -> str | None:
    """Epoch milliseconds (as stored) to an ISO-8601 UTC string (as Marquez answers)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
