"""Erasure and subject-access impact: every dataset and column fed by one source column.

When a data subject asks for their data, or for its erasure, the source column (say
``customers.email``) is where the search starts: every column derived from it, at any depth,
may hold their data too. The walk follows ``DERIVES_FROM`` downstream, all of it, and says per
column whether it holds the value itself (every step on the way copies it) or only something
derived from it (a masking, hashing, aggregating, indirect or anonymizing step on the way),
since pseudonymized data is still personal data for whoever holds the key (GDPR Recital 26).
"""

from __future__ import annotations

from collections import defaultdict

from catalog.stewardship import governance
from catalog.store import reads
from catalog.store.base import GraphStore
from policies import classifications, registry
from policies.propagate import carries

MAX_DEPTH = 50
MAX_FIELDS = 10_000


class ImpactError(ValueError):
    pass


def erasure_impact(store: GraphStore, field_key: str, max_depth: int = MAX_DEPTH,
                   max_fields: int = MAX_FIELDS) -> dict:
    """The source column, every column it feeds (with depth, path, the step that reached it and whether
    it holds the value) and the datasets they belong to (with owners and storage)."""
    if not 1 <= max_depth <= MAX_DEPTH:
        raise ImpactError(f"depth must be between 1 and {MAX_DEPTH}, got {max_depth}")
    source = reads.nodes(store, "Field", [field_key]).get(field_key) if reads.node_label(field_key) == "Field" \
        else None
    if source is None:
        raise ImpactError(f"no field with nodeId {field_key!r}; give a column id such as "
                          "datasetField:<namespace>:<dataset>:<column>")
    anonymizing = registry.anonymizing_jobs(store)
    reached = {field_key: {"field": field_key, "dataset": source["dataset"], "name": source["name"], "depth": 0,
                           "path": [field_key], "job": None, "subtype": None, "holdsValue": True}}
    frontier, truncated = [field_key], False
    for depth in range(1, max_depth + 1):
        rows = store.query(
            "UNWIND $keys AS k MATCH (a:Field {key: k})<-[e:DERIVES_FROM]-(b:Field) "
            "RETURN a.key AS src, b.key AS dst, b.dataset AS dataset, b.name AS name, e.job AS job, "
            "e.subtype AS subtype, e.masking AS masking, e.transformations AS transformations ORDER BY dst, src",
            {"keys": frontier}, read_only=True)
        following = []
        for r in rows:
            if r["dst"] in reached:
                continue
            if len(reached) >= max_fields:
                truncated = True
                break
            parent = reached[r["src"]]
            reached[r["dst"]] = {"field": r["dst"], "dataset": r["dataset"], "name": r["name"], "depth": depth,
                                 "path": parent["path"] + [r["dst"]], "job": r["job"], "subtype": r["subtype"],
                                 "holdsValue": parent["holdsValue"] and carries(r, anonymizing)}
            following.append(r["dst"])
        if not following or truncated:
            break
        frontier = following
    else:
        truncated = bool(frontier) and bool(store.query(
            "UNWIND $keys AS k MATCH (:Field {key: k})<-[:DERIVES_FROM]-(b:Field) RETURN b.key AS k LIMIT 1",
            {"keys": frontier}, read_only=True))
    fields = sorted(reached.values(), key=lambda f: (f["depth"], f["field"]))
    return {"source": {**fields[0], "classifications": [
                {k: c.get(k) for k in ("entity", "category", "special", "state", "origin")}
                for c in classifications.of_fields(store, [field_key])[field_key]]},
            "fields": fields[1:], "datasets": _datasets(store, fields), "truncated": truncated,
            "limits": {"depth": max_depth, "fields": max_fields}}


def _datasets(store: GraphStore, fields: list[dict]) -> list[dict]:
    columns: defaultdict[str, list[dict]] = defaultdict(list)
    for f in fields:
        columns[f["dataset"]].append(f)
    keys = sorted(columns)
    props = reads.nodes(store, "Dataset", keys)
    owners = reads.owners_of(store, "Dataset", keys)
    out = []
    for key in keys:
        attrs = governance(props.get(key, {}))
        out.append({"dataset": key, "namespace": props.get(key, {}).get("namespace"),
                    "name": props.get(key, {}).get("name"), "columns": sorted(f["name"] for f in columns[key]),
                    "holdsValue": any(f["holdsValue"] for f in columns[key]),
                    "minDepth": min(f["depth"] for f in columns[key]),
                    "owners": [o["name"] for o in owners.get(key, [])],
                    "storage": {"location": attrs["storageLocation"], "country": attrs["storageCountry"]},
                    "retentionDays": attrs["retentionDays"]})
    return sorted(out, key=lambda d: (d["minDepth"], d["dataset"]))
