"""Lineage traversal: a frontier-per-hop breadth-first search over derived edges.

Each hop is one ``UNWIND $frontier`` query over Dataset-to-Dataset ``FEEDS`` (downstream)
or ``FED_BY`` (upstream) edges, or the field-level ``FEEDS_FIELD`` / ``DERIVES_FROM``.
It runs on both engines, never uses variable-length patterns (which undercount on
FalkorDB) and gives depth-by-depth results, so limits cut at a clean depth boundary.
"""

from __future__ import annotations

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


def marquez_graph(store: GraphStore, node_id: str, depth: int, *, max_depth: int, max_nodes: int,
                  as_of: int | None = None) -> dict:
    """Lineage around a node in Marquez's ``GET /api/v1/lineage`` shape: datasets and jobs."""
    if depth < 0 or depth > max_depth:
        raise LineageError(f"depth must be between 0 and {max_depth}, got {depth}")
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
