"""Lineage traversal: a frontier-per-hop breadth-first search over derived edges.

Each hop is one ``UNWIND $frontier`` query over the derived Dataset-to-Dataset ``FEEDS``
edges (out for downstream, in for upstream) or the field-level ``DERIVES_FROM`` edges.
It runs on both engines, never uses variable-length patterns (which undercount on
FalkorDB) and gives depth-by-depth results, so limits cut at a clean depth boundary.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime, timezone

from catalog.store import reads
from catalog.store.base import GraphStore

DIRECTIONS = ("UPSTREAM", "DOWNSTREAM", "BOTH")


class LineageError(ValueError):
    """A lineage request that cannot be answered as asked (unknown node, bad depth)."""


@dataclass
class Traversal:
    depth_of: dict[str, int]  # node key -> hops from the start (0 for the start nodes)
    edges: set[tuple[str, str]] = field(default_factory=set)  # (from, to) in data-flow order
    depth_reached: int = 0
    is_partial: bool = False


def traverse(store: GraphStore, start: list[str], direction: str, depth: int, *, as_of: int | None = None,
             max_nodes: int = 5000, field_level: bool = False) -> Traversal:
    """Nodes within ``depth`` hops of ``start`` following data flow in ``direction``.

    BOTH is the union of the upstream and the downstream traversals. Stops early, with
    ``is_partial`` set, once ``max_nodes`` nodes are found; the hop that would overflow is
    cut so every returned node is at its true shortest distance.
    """
    if direction not in DIRECTIONS:
        raise LineageError(f"direction must be one of {', '.join(DIRECTIONS)}")
    prefix = "FIELD_" if field_level else ""
    result = Traversal(depth_of={key: 0 for key in start})
    directions = ("UPSTREAM", "DOWNSTREAM") if direction == "BOTH" else (direction,)
    # Each direction is its own BFS (a node seen upstream must still be expanded downstream).
    visited = {d: set(start) for d in directions}
    frontiers = {d: list(start) for d in directions}
    for hop in range(1, depth + 1):
        for dirn in directions:
            if not frontiers[dirn]:
                continue
            new: list[str] = []
            for src, dst in store.expand(frontiers[dirn], prefix + dirn, as_of=as_of):
                if dst not in visited[dirn]:
                    if dst not in result.depth_of and len(result.depth_of) >= max_nodes:
                        result.is_partial = True
                        continue
                    visited[dirn].add(dst)
                    result.depth_of.setdefault(dst, hop)
                    new.append(dst)
                result.edges.add((src, dst) if dirn == "DOWNSTREAM" else (dst, src))
            frontiers[dirn] = new
        if result.is_partial or not any(frontiers.values()):
            break
    result.depth_reached = max(result.depth_of.values(), default=0)
    return result


def start_datasets(store: GraphStore, node_id: str, as_of: int | None = None) -> tuple[list[str], dict]:
    """Dataset keys to start from, and the start node's properties; raises LineageError."""
    label = reads.node_label(node_id)
    if label not in ("Dataset", "Job"):
        raise LineageError(f"nodeId must look like dataset:<namespace>:<name> or job:<namespace>:<name>, got {node_id!r}")
    found = reads.nodes(store, label, [node_id])
    if not found:
        raise LineageError(f"no {label.lower()} with nodeId {node_id!r}")
    if label == "Dataset":
        return [node_id], found[node_id]
    inputs, outputs = reads.job_datasets(store, node_id, as_of)
    return sorted(set(inputs) | set(outputs)), found[node_id]


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


def _paged(nodes: list[dict], edges: list[dict], found: Traversal, first: int, after: str | None,
           max_nodes: int) -> dict:
    """Nodes ordered by (depth, type, id); each edge comes with the page of its later endpoint."""
    if not 1 <= first <= max_nodes:
        raise LineageError(f"first must be between 1 and {max_nodes}, got {first}")
    start = _offset(after)
    nodes.sort(key=lambda n: (n["depth"], n["type"], n["id"]))
    position = {n["id"]: i for i, n in enumerate(nodes)}
    page = nodes[start:start + first]
    end = start + len(page)
    page_edges = [e for e in edges
                  if e["origin"] in position and e["destination"] in position
                  and start <= max(position[e["origin"]], position[e["destination"]]) < end]
    has_next = end < len(nodes)
    return {
        "nodes": page, "edges": page_edges, "depthReached": found.depth_reached, "isPartial": found.is_partial,
        "totalReachable": len(nodes), "hasNextPage": has_next,
        "endCursor": base64.urlsafe_b64encode(f"o:{end}".encode()).decode() if page else None,
    }


def lineage_page(store: GraphStore, node_id: str, direction: str, depth: int, *, max_depth: int, max_nodes: int,
                 as_of: int | None = None, first: int = 500, after: str | None = None) -> dict:
    """Datasets and the jobs between them around a dataset or job, a page at a time."""
    _check_depth(depth, max_depth)
    seeds, _ = start_datasets(store, node_id, as_of)
    found = traverse(store, seeds, direction, depth, as_of=as_of, max_nodes=max_nodes)
    datasets = reads.nodes(store, "Dataset", sorted(found.depth_of))
    nodes = [{"id": k, "type": "DATASET", "depth": d, "namespace": datasets[k]["namespace"],
              "name": datasets[k]["name"]} for k, d in found.depth_of.items() if k in datasets]
    consumes: dict[str, set[str]] = {}
    produces: dict[str, set[str]] = {}
    for job, rel, dataset in reads.job_edges(store, sorted(found.depth_of), as_of):
        (consumes if rel == "CONSUMES" else produces).setdefault(job, set()).add(dataset)
    start_job = node_id if node_id.startswith("job:") else None
    job_props = reads.nodes(store, "Job", sorted(set(consumes) | set(produces) | ({start_job} - {None})))
    edges = []
    for job in sorted(set(consumes) | set(produces) | ({start_job} - {None})):
        ins, outs = consumes.get(job, set()), produces.get(job, set())
        # A job belongs to this lineage if it carries one of the traversed dataset edges.
        if job != start_job and not any((i, o) in found.edges for i in ins for o in outs):
            continue
        if job != start_job:
            ins = {i for i in ins if any((i, o) in found.edges for o in outs)}
            outs = {o for o in outs if any((i, o) in found.edges for i in ins)}
        depths = [min(found.depth_of[d] for d in side) for side in (ins, outs) if side]
        nodes.append({"id": job, "type": "JOB", "depth": 0 if job == start_job else max(depths),
                      "namespace": job_props[job]["namespace"], "name": job_props[job]["name"]})
        edges += [{"origin": i, "destination": job} for i in sorted(ins)]
        edges += [{"origin": job, "destination": o} for o in sorted(outs)]
    return _paged(nodes, edges, found, first, after, max_nodes)


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
    return _paged(nodes, [dict(r) for r in rows], found, max_nodes, None, max_nodes)


def marquez_graph(store: GraphStore, node_id: str, depth: int, *, max_depth: int, max_nodes: int,
                  as_of: int | None = None) -> dict:
    """Lineage around a node in Marquez's ``GET /api/v1/lineage`` shape: datasets and jobs."""
    _check_depth(depth, max_depth)
    seeds, _ = start_datasets(store, node_id, as_of)
    found = traverse(store, seeds, "BOTH", depth, as_of=as_of, max_nodes=max_nodes)
    dataset_keys = sorted(found.depth_of)
    job_links = reads.job_edges(store, dataset_keys, as_of)
    job_keys = sorted({job for job, _, _ in job_links} | ({node_id} if node_id.startswith("job:") else set()))
    datasets = reads.nodes(store, "Dataset", dataset_keys)
    fields = reads.fields_of(store, dataset_keys)
    jobs = reads.nodes(store, "Job", job_keys)
    runs = reads.latest_runs(store, job_keys)
    in_edges: dict[str, list[dict]] = {k: [] for k in dataset_keys + job_keys}
    out_edges: dict[str, list[dict]] = {k: [] for k in dataset_keys + job_keys}
    for job, rel, dataset in sorted(job_links):
        origin, destination = (dataset, job) if rel == "CONSUMES" else (job, dataset)
        edge = {"origin": origin, "destination": destination}
        out_edges[origin].append(edge)
        in_edges[destination].append(edge)
    graph = []
    for key in dataset_keys:
        graph.append({"id": key, "type": "DATASET", "data": dataset_data(datasets[key], fields.get(key, [])),
                      "inEdges": in_edges[key], "outEdges": out_edges[key]})
    for key in job_keys:
        graph.append({"id": key, "type": "JOB", "data": job_data(jobs[key], runs.get(key)),
                      "inEdges": in_edges[key], "outEdges": out_edges[key]})
    return {"graph": graph, "depthReached": found.depth_reached, "isPartial": found.is_partial}


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


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds (as stored) to an ISO-8601 UTC string (as Marquez answers)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
