"""Read queries shared by the REST and GraphQL layers: plain functions over a GraphStore.

The reads GraphQL batches per request (its DataLoaders) come as a :class:`Read` too (``*_read``), which the
server awaits on the event loop (``GraphStore.aread``); the plain function runs it on the calling thread."""

from __future__ import annotations

import json

from catalog.store.base import GraphStore, Read
from catalog.store.writes import run_order
from ingestors.openlineage import FACET_PREFIX, VERSION_PREFIX

_NODE_LABELS = {"dataset": "Dataset", "job": "Job", "datasetField": "Field", "run": "Run"}


def plain(props: dict) -> dict:
    """Node properties without the stored facets and their versions."""
    return {k: v for k, v in props.items() if not k.startswith((FACET_PREFIX, VERSION_PREFIX))}


def node_label(node_id: str) -> str | None:
    """The label for a Marquez-style node id (``dataset:ns:name``, ``job:ns:name``, ...)."""
    prefix = node_id.split(":", 1)[0]
    return _NODE_LABELS.get(prefix) if ":" in node_id else None


def nodes(store: GraphStore, label: str, keys: list[str]) -> dict[str, dict]:
    """Properties of nodes by key; label is one of _NODE_LABELS' values."""
    read = nodes_read(label, keys)
    return store.read(read)[0] if keys else {}


def nodes_read(label: str, keys: list[str]) -> Read:
    if label not in _NODE_LABELS.values():
        raise ValueError(f"unknown label {label}")
    return Read(f"UNWIND $keys AS k MATCH (n:{label} {{key: k}}) RETURN n {{.*}} AS n", {"keys": keys},
                lambda rows: {n["key"]: plain(n) for n, in rows})


def fields_of(store: GraphStore, dataset_keys: list[str]) -> dict[str, list[dict]]:
    return store.read(fields_read(dataset_keys))[0]


def fields_read(dataset_keys: list[str]) -> Read:
    """Fields by dataset key, by name, each with its sorted tags."""
    def shape(rows: list[tuple]) -> dict[str, list[dict]]:
        by_dataset: dict[str, list[dict]] = {k: [] for k in dataset_keys}
        for dataset, props, tags in rows:
            field = plain(props)
            field["tags"] = sorted(t for t in tags if t)
            by_dataset[dataset].append(field)
        for fields in by_dataset.values():
            fields.sort(key=lambda f: f["name"])
        return by_dataset
    return Read("UNWIND $keys AS k MATCH (f:Field {dataset: k}) OPTIONAL MATCH (f)-[:TAGGED]->(t:Tag) "
                "RETURN k AS dataset, f {.*} AS field, collect(t.name) AS tags", {"keys": dataset_keys}, shape)


def facets_of(store: GraphStore, label: str, key: str) -> dict[str, dict]:
    return store.read(facets_read(label, key))[0]


def facets_read(label: str, key: str) -> Read:
    """The latest facets of a node, by name."""
    if label not in _NODE_LABELS.values():
        raise ValueError(f"unknown label {label}")

    def shape(rows: list[tuple]) -> dict[str, dict]:
        props = rows[0][0] if rows else {}
        return {k[len(FACET_PREFIX):]: json.loads(v) for k, v in sorted(props.items()) if k.startswith(FACET_PREFIX)}
    return Read(f"MATCH (n:{label} {{key: $key}}) RETURN properties(n) AS p", {"key": key}, shape)


def latest_version(store: GraphStore, dataset_key: str) -> dict | None:
    return store.read(latest_version_read(dataset_key))[0]


def latest_version_read(dataset_key: str) -> Read:
    """A dataset's latest version (by last seen, then key), as the dataset points at it, or None."""
    return Read("MATCH (d:Dataset {key: $key}) WITH d.latestVersion AS latest MATCH (v:DatasetVersion {key: latest}) "
                "RETURN v {.*} AS v", {"key": dataset_key},
                lambda rows: plain(rows[0][0]) if rows else None)


def job_edges(store: GraphStore, dataset_keys: list[str], as_of: int | None = None) -> list[tuple[str, str, str]]:
    """(job key, CONSUMES|PRODUCES, dataset key) for jobs touching the given datasets."""
    rows = store.query(
        "UNWIND $keys AS k MATCH (j:Job)-[e:CONSUMES|PRODUCES]->(d:Dataset {key: k}) "
        "WHERE $asOf IS NULL OR e.firstSeen <= $asOf RETURN j.key AS job, type(e) AS rel, d.key AS dataset",
        {"keys": dataset_keys, "asOf": as_of}, read_only=True,
    )
    return [(r["job"], r["rel"], r["dataset"]) for r in rows]


def job_datasets(store: GraphStore, job_key: str, as_of: int | None = None) -> tuple[list[str], list[str]]:
    """(inputs, outputs) of a job."""
    edges = store.query(
        "MATCH (j:Job {key: $key})-[e:CONSUMES|PRODUCES]->(d:Dataset) "
        "WHERE $asOf IS NULL OR e.firstSeen <= $asOf RETURN type(e) AS rel, d.key AS dataset",
        {"key": job_key, "asOf": as_of}, read_only=True,
    )
    inputs = sorted(r["dataset"] for r in edges if r["rel"] == "CONSUMES")
    outputs = sorted(r["dataset"] for r in edges if r["rel"] == "PRODUCES")
    return inputs, outputs


def latest_runs(store: GraphStore, job_keys: list[str]) -> dict[str, dict]:
    return store.read(latest_runs_read(job_keys))[0]


def latest_runs_read(job_keys: list[str]) -> Read:
    """The latest run of each job (the first of its runs by :func:`~catalog.store.writes.run_order`), as the job
    points at it."""
    # The run's key goes through WITH: matched straight from j.latestRun, FalkorDB joins on a scan of every run.
    return Read("UNWIND $keys AS k MATCH (j:Job {key: k}) WITH k, j.latestRun AS latest MATCH (r:Run {key: latest}) "
                "RETURN k AS job, r {.*} AS run", {"keys": job_keys},
                lambda rows: {job: plain(run) for job, run in rows})


def owners_of(store: GraphStore, label: str, keys: list[str]) -> dict[str, list[dict]]:
    return store.read(owners_read(label, keys))[0]


def owners_read(label: str, keys: list[str]) -> Read:
    """Owners (name, type) of nodes by key, by name."""
    if label not in _NODE_LABELS.values():
        raise ValueError(f"unknown label {label}")

    def shape(rows: list[tuple]) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {k: [] for k in keys}
        for key, name, kind in rows:
            found[key].append({"name": name, "type": kind})
        return {k: sorted(v, key=lambda o: o["name"]) for k, v in found.items()}
    return Read(f"UNWIND $keys AS k MATCH (o:Owner)-[e:OWNS]->(n:{label} {{key: k}}) "
                "RETURN k AS key, o.name AS name, e.type AS type", {"keys": keys}, shape)


def tags_of(store: GraphStore, label: str, keys: list[str]) -> dict[str, list[str]]:
    return store.read(tags_read(label, keys))[0]


def tags_read(label: str, keys: list[str]) -> Read:
    """Tag names of nodes by key, sorted."""
    if label not in _NODE_LABELS.values():
        raise ValueError(f"unknown label {label}")

    def shape(rows: list[tuple]) -> dict[str, list[str]]:
        found: dict[str, set[str]] = {k: set() for k in keys}
        for key, tag in rows:
            found[key].add(tag)
        return {k: sorted(v) for k, v in found.items()}
    return Read(f"UNWIND $keys AS k MATCH (n:{label} {{key: k}})-[:TAGGED]->(t:Tag) RETURN k AS key, t.name AS tag",
                {"keys": keys}, shape)


def versions_of(store: GraphStore, dataset_key: str, first: int) -> list[dict]:
    rows = store.query(
        "MATCH (:Dataset {key: $key})-[:HAS_VERSION]->(v:DatasetVersion) "
        "RETURN v {.key, .version, .run, .firstSeen, .lastSeen} AS v ORDER BY v.lastSeen DESC, v.key DESC LIMIT $first",
        {"key": dataset_key, "first": first}, read_only=True)
    return [dict(r["v"]) for r in rows]


def quality_assertions(store: GraphStore, dataset_key: str) -> list[dict]:
    """Assertions from the latest run input facet that carries any, for a dataset."""
    rows = store.query(
        "MATCH (i:RunInput {dataset: $key}) MATCH (r:Run {key: i.run}) "
        "RETURN properties(i) AS p, i.run AS run, coalesce(r.endTime, r.lastSeen) AS at ORDER BY at DESC",
        {"key": dataset_key}, read_only=True)
    for row in rows:
        raw = row["p"].get(FACET_PREFIX + "dataQualityAssertions")
        if raw:
            return [{**a, "run": row["run"]} for a in json.loads(raw).get("assertions", [])]
    return []


def run_datasets(store: GraphStore, run_key: str) -> tuple[list[str], list[str]]:
    """(inputs, outputs) of a run: the datasets it read and wrote."""
    rows = store.query("MATCH (:Run {key: $key})-[e:READ|WROTE]->(d:Dataset) RETURN type(e) AS rel, d.key AS dataset",
                       {"key": run_key}, read_only=True)
    return (sorted(r["dataset"] for r in rows if r["rel"] == "READ"),
            sorted(r["dataset"] for r in rows if r["rel"] == "WROTE"))


def run_family(store: GraphStore, run_key: str, first: int = 100) -> tuple[dict | None, list[dict]]:
    """(parent, children) of a run, from the parent facets of its events and of its children's."""
    parent = store.query("MATCH (:Run {key: $key})-[:CHILD_OF]->(p:Run) RETURN p {.*} AS r LIMIT 1",
                         {"key": run_key}, read_only=True)
    children = store.query("MATCH (c:Run)-[:CHILD_OF]->(:Run {key: $key}) RETURN c {.*} AS r "
                           "ORDER BY coalesce(c.startTime, c.firstSeen), c.key LIMIT $first",
                           {"key": run_key, "first": first}, read_only=True)
    return (plain(parent[0]["r"]) if parent else None), [plain(r["r"]) for r in children]


def runs_of_dataset(store: GraphStore, dataset_key: str, first: int = 10) -> list[dict]:
    """The latest runs that read or wrote a dataset, each with ``io`` READ or WROTE."""
    rows = store.query(
        "MATCH (r:Run)-[e:READ|WROTE]->(:Dataset {key: $key}) RETURN r {.*} AS r, type(e) AS io "
        f"ORDER BY {run_order('r')} DESC, r.key LIMIT $first",
        {"key": dataset_key, "first": first}, read_only=True)
    return [{**plain(r["r"]), "io": r["io"]} for r in rows]
