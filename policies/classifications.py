"""Classifications in the catalog: scan results, steward decisions, and reading them back.

A classification says "field F holds entity E" (GDPR category, Art. 9 or not) and lives in
the graph as ``(:Field)-[:CLASSIFIED_AS]->(:Classification)``, one node per field and
entity. Its state is ``suggested`` (from a scan; re-evaluated by every scan of the field),
``confirmed`` or ``rejected`` (a steward's decision; scans never overwrite it). Propagated
classifications (origin ``propagated``) are derived from these by :mod:`policies.propagate`.

Scans and decisions are recorded in the governance log first (who, when, the evidence,
never a value) and replayed from it after a rebuild, like stewardship edits.
"""

from __future__ import annotations

from catalog.govlog import GovernanceLog
from catalog.store import reads
from catalog.store.base import GraphStore, Read
from catalog.store.writes import search_text
from ingestors.openlineage import dataset_id, field_id
from policies.entities import ENTITIES

SCAN = "classification_scan"
CONFIRM = "classification_confirm"
REJECT = "classification_reject"
ACTIONS = (SCAN, CONFIRM, REJECT)
STATES = ("suggested", "confirmed", "rejected")
_EVIDENCE = ("recognizer", "score", "matched", "sampled", "evidence")


class ClassificationError(ValueError):
    pass


def classification_key(field_key: str, entity: str) -> str:
    return f"classification:{field_key}:{entity}"


def record_scan(store: GraphStore, log: GovernanceLog, actor: str, namespace: str, name: str, scan: dict) -> dict:
    """Record a scan of a catalogued dataset (a ScanResult.to_dict()) and apply it."""
    key = dataset_id(namespace, name)
    if not reads.nodes(store, "Dataset", [key]):
        raise ClassificationError(f"no dataset {namespace}/{name} in the catalog; ingest its lineage first")
    for column in scan["columns"]:
        for finding in column["findings"]:
            if finding["entity"] not in ENTITIES:
                raise ClassificationError(f"column {column['column']!r}: unknown entity type {finding['entity']!r}")
    detail = {"label": "Dataset", "namespace": namespace, "name": name, **scan}
    change = log.record(actor, key, SCAN, detail)
    apply_change(store, change)
    return change


def decide(store: GraphStore, log: GovernanceLog, actor: str, field_key: str, entity: str, confirm: bool,
           note: str | None = None) -> dict:
    """A steward confirms or rejects that a field holds an entity type (overrides scans)."""
    if reads.node_label(field_key) != "Field" or not reads.nodes(store, "Field", [field_key]):
        raise ClassificationError(f"no field with nodeId {field_key!r}")
    if entity not in ENTITIES:
        raise ClassificationError(f"unknown entity type {entity!r}; known: {sorted(ENTITIES)}")
    if note is not None and len(note) > 2000:
        raise ClassificationError("note is longer than 2000 characters")
    change = log.record(actor, field_key, CONFIRM if confirm else REJECT,
                        {"label": "Field", "entity": entity, "note": note})
    apply_change(store, change)
    return change


def apply_change(store: GraphStore, change: dict) -> None:
    """Write one recorded scan or decision to the graph; idempotent."""
    if change["action"] == SCAN:
        _apply_scan(store, change)
    elif change["action"] in (CONFIRM, REJECT):
        _apply_decision(store, change)
    else:
        raise ValueError(f"not a classification change: {change['action']!r}")


def _apply_scan(store: GraphStore, change: dict) -> None:
    detail = change["detail"]
    ns, name, dataset = detail["namespace"], detail["name"], change["nodeId"]
    fields, rows = [], []
    for column in detail["columns"]:
        key = field_id(ns, name, column["column"])
        fields.append({"key": key, "name": column["column"], "searchText": search_text(column["column"]),
                       "sampled": column["sampled"], "note": column.get("note"),
                       "entities": [f["entity"] for f in column["findings"]]})
        for finding in column["findings"]:
            spec = ENTITIES[finding["entity"]]
            props = {k: finding[k] for k in _EVIDENCE}
            props["jsonPath"] = finding.get("json_path")
            props.update(entity=spec.name, category=spec.category, special=spec.special, field=key, dataset=dataset, scannedAt=change["at"],
                         actor=change["actor"], scanSeq=change["seq"], source=None, path=None)
            rows.append({"key": classification_key(key, finding["entity"]), "field": key, "props": props})
    store.execute_writes([
        ("MATCH (d:Dataset {key: $dataset}) SET d.scannedAt = $at, d.scanSource = $source, d.scanRows = $rows",
         {"dataset": dataset, "at": change["at"], "source": detail.get("source"), "rows": detail.get("rows")}),
        ("UNWIND $fields AS f MATCH (d:Dataset {key: $dataset}) MERGE (n:Field {key: f.key}) "
         "ON CREATE SET n.dataset = $dataset, n.name = f.name, n.searchText = f.searchText MERGE (d)-[:HAS_FIELD]->(n) "
         "SET n.scannedAt = $at, n.scanSampled = f.sampled, n.scanNote = f.note",
         {"fields": fields, "dataset": dataset, "at": change["at"]}),
        # Suggestions this scan no longer makes go; decisions stay.
        ("UNWIND $fields AS f MATCH (:Field {key: f.key})-[:CLASSIFIED_AS]->(c:Classification) "
         "WHERE c.origin = 'scan' AND c.state = 'suggested' AND NOT c.entity IN f.entities DETACH DELETE c",
         {"fields": fields}),
        ("UNWIND $rows AS r MATCH (n:Field {key: r.field}) MERGE (c:Classification {key: r.key}) "
         "MERGE (n)-[:CLASSIFIED_AS]->(c) "
         "WITH c, r WHERE c.origin IS NULL OR c.origin = 'propagated' OR c.state = 'suggested' "
         "SET c += r.props, c.state = 'suggested', c.origin = 'scan'",
         {"rows": rows}),
    ])


def _apply_decision(store: GraphStore, change: dict) -> None:
    entity = change["detail"]["entity"]
    spec = ENTITIES[entity]
    field_key = change["nodeId"]
    store.query(
        "MATCH (n:Field {key: $field}) MERGE (c:Classification {key: $key}) MERGE (n)-[:CLASSIFIED_AS]->(c) "
        "SET c.entity = $entity, c.field = $field, c.dataset = n.dataset, c.category = $category, "
        "c.special = $special, c.state = $state, c.decidedBy = $actor, c.decidedAt = $at, c.note = $note, "
        "c.origin = CASE WHEN c.origin = 'scan' THEN 'scan' ELSE 'steward' END, c.source = null, c.path = null",
        {"field": field_key, "key": classification_key(field_key, entity), "entity": entity,
         "category": spec.category, "special": spec.special,
         "state": "confirmed" if change["action"] == CONFIRM else "rejected",
         "actor": change["actor"], "at": change["at"], "note": change["detail"].get("note")},
    )


# reads -----------------------------------------------------------------------------------
def _grouped(match: str, keys: list[str], order) -> Read:
    def shape(rows: list[tuple]) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {k: [] for k in keys}
        for key, classification in rows:
            out[key].append(classification)
        for items in out.values():
            items.sort(key=order)
        return out
    return Read(f"UNWIND $keys AS k {match} RETURN k, c {{.*}} AS c", {"keys": keys}, shape)


def of_fields(store: GraphStore, field_keys: list[str]) -> dict[str, list[dict]]:
    return store.read(of_fields_read(field_keys))[0]


def of_fields_read(field_keys: list[str]) -> Read:
    """Classifications per field: rejected last, then by score."""
    return _grouped("MATCH (:Field {key: k})-[:CLASSIFIED_AS]->(c:Classification)", field_keys,
                    lambda c: (c["state"] == "rejected", -(c.get("score") or 0), c["entity"]))


def of_datasets(store: GraphStore, dataset_keys: list[str]) -> dict[str, list[dict]]:
    return store.read(of_datasets_read(dataset_keys))[0]


def of_datasets_read(dataset_keys: list[str]) -> Read:
    """Classifications of every field of each dataset, by field and entity."""
    return _grouped("MATCH (c:Classification {dataset: k})", dataset_keys, lambda c: (c["field"], c["entity"]))


def pii_datasets(store: GraphStore, special_only: bool = False, limit: int = 100, after: str | None = None
                 ) -> list[dict]:
    """Datasets with at least one field classified as personal data (not rejected), by key."""
    rows = store.query(
        "MATCH (c:Classification) WHERE c.state <> 'rejected' AND ($special = false OR c.special = true) "
        "AND ($after IS NULL OR c.dataset > $after) "
        "WITH c.dataset AS dataset, collect(DISTINCT c.category) AS categories, "
        "collect(DISTINCT c.entity) AS entities, count(DISTINCT c.field) AS fields, "
        "max(CASE WHEN c.special THEN 1 ELSE 0 END) AS special "
        "RETURN dataset, categories, entities, fields, special = 1 AS special ORDER BY dataset LIMIT $limit",
        {"special": special_only, "after": after, "limit": limit}, read_only=True)
    for row in rows:
        row["categories"].sort()
        row["entities"].sort()
    return rows


def by_category(store: GraphStore) -> list[dict]:
    """Datasets and fields per GDPR category of personal data (not rejected), the special categories marked."""
    rows = store.query(
        "MATCH (c:Classification) WHERE c.state <> 'rejected' "
        "RETURN c.category AS category, max(CASE WHEN c.special THEN 1 ELSE 0 END) = 1 AS special, "
        "count(DISTINCT c.dataset) AS datasets, count(DISTINCT c.field) AS fields, "
        "collect(DISTINCT c.entity) AS entities", read_only=True)
    for row in rows:
        row["entities"].sort()
    return sorted(rows, key=lambda r: (-r["datasets"], r["category"]))
