"""Policies in the catalog: loaded, versioned in the graph, and matched to datasets.

Loading a policy records it in the governance log (who, when, the whole document) and then
writes ``(:Policy)-[:HAS_VERSION]->(:PolicyVersion)``; a document equal to the current one
(same content hash) is not a new version. Removing one deactivates it and keeps its
versions, since audits name the version they ran under. After a rebuild the governance log
replays them like every other governance change.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from catalog.govlog import GovernanceLog
from catalog.stewardship import stored_locations
from catalog.store import reads
from catalog.store.base import GraphStore
from policies import classifications
from policies.anonymize import Plan, make_plan
from policies.policy import DatasetFacts, Policy, applicable_rules
from policies.policy_files import load_policy, parse_policy, policy_files

if TYPE_CHECKING:  # propagate reads the policies' anonymizing jobs from here
    from policies.propagate import Propagator

LOAD = "policy_load"
REMOVE = "policy_remove"
ACTIONS = (LOAD, REMOVE)


class RegistryError(ValueError):
    pass


def policy_key(name: str) -> str:
    return f"policy:{name}"


def record_policy(store: GraphStore, log: GovernanceLog, actor: str, policy: Policy, source: str) -> dict | None:
    """Make ``policy`` the active version of its name; None when that version is already active."""
    held = store.query("MATCH (p:Policy {key: $key}) RETURN p.version AS version, p.active AS active",
                       {"key": policy_key(policy.name)}, read_only=True)
    if held and held[0]["version"] == policy.version and held[0]["active"]:
        return None
    change = log.record(actor, policy_key(policy.name), LOAD, {
        "label": "Policy", "name": policy.name, "version": policy.version, "source": source,
        "document": policy.document()})
    apply_change(store, change)
    return change


def remove_policy(store: GraphStore, log: GovernanceLog, actor: str, name: str,
                  propagator: Propagator | None = None) -> dict:
    if not store.query("MATCH (p:Policy {key: $key, active: true}) RETURN p.key AS key",
                       {"key": policy_key(name)}, read_only=True):
        raise RegistryError(f"no active policy named {name!r}")
    change = log.record(actor, policy_key(name), REMOVE, {"label": "Policy", "name": name})
    apply_change(store, change)
    if propagator:
        propagator.run()
    return change


def apply_change(store: GraphStore, change: dict) -> None:
    detail = change["detail"]
    if change["action"] == REMOVE:
        store.query("MATCH (p:Policy {key: $key}) SET p.active = false, p.removedAt = $at, p.removedBy = $actor",
                    {"key": change["nodeId"], "at": change["at"], "actor": change["actor"]})
        return
    document = orjson.dumps(detail["document"]).decode()
    props = {"version": detail["version"], "source": detail["source"], "loadedAt": change["at"],
             "loadedBy": change["actor"], "document": document}
    store.execute_writes([
        ("MERGE (p:Policy {key: $key}) SET p += $props, p.name = $name, p.active = true, "
         "p.description = $description, p.removedAt = null, p.removedBy = null",
         {"key": change["nodeId"], "name": detail["name"], "props": props,
          "description": detail["document"].get("description")}),
        ("MATCH (p:Policy {key: $key}) MERGE (v:PolicyVersion {key: $vkey}) "
         "ON CREATE SET v += $props MERGE (p)-[:HAS_VERSION]->(v)",
         {"key": change["nodeId"], "vkey": f"{change['nodeId']}:{detail['version']}", "props": props}),
    ])


def load_files(store: GraphStore, log: GovernanceLog, actor: str, paths: list[Path],
               propagator: Propagator | None = None) -> list[tuple[dict, bool]]:
    """Validate every policy file first (any error: nothing is loaded), then record each one:
    (its policy row, whether it is a new version)."""
    loaded = [(load_policy(path), str(path)) for path in policy_files(paths)]
    names = [policy.name for policy, _ in loaded]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise RegistryError(f"policy names used by more than one file: {', '.join(duplicated)}")
    changed = [record_policy(store, log, actor, policy, source) is not None for policy, source in loaded]
    if propagator and any(changed):
        propagator.run()  # a policy may declare anonymizing jobs
    return [(policy_rows(store, name=policy.name)[0]["p"], new) for (policy, _), new in zip(loaded, changed)]


def load_text(store: GraphStore, log: GovernanceLog, actor: str, text: str, source: str,
              propagator: Propagator | None = None) -> tuple[dict, bool]:
    """Validate and record one policy document (YAML or JSON): (its policy row, whether it is a new version)."""
    policy = parse_policy(text, source)
    changed = record_policy(store, log, actor, policy, source) is not None
    if propagator and changed:
        propagator.run()
    return policy_rows(store, name=policy.name)[0]["p"], changed


# reads -----------------------------------------------------------------------------------
def policy_rows(store: GraphStore, include_removed: bool = False, name: str | None = None) -> list[dict]:
    return store.query(
        "MATCH (p:Policy) WHERE ($all OR p.active) AND ($name IS NULL OR p.name = $name) "
        "RETURN p {.*} AS p ORDER BY p.name", {"all": include_removed, "name": name}, read_only=True)


def versions_of(store: GraphStore, name: str) -> list[dict]:
    return store.query(
        "MATCH (:Policy {key: $key})-[:HAS_VERSION]->(v:PolicyVersion) RETURN v {.*} AS v ORDER BY v.loadedAt DESC",
        {"key": policy_key(name)}, read_only=True)


def active_policies(store: GraphStore) -> list[Policy]:
    return [Policy.model_validate_json(row["p"]["document"]) for row in policy_rows(store)]


def anonymizing_jobs(store: GraphStore) -> tuple[str, ...]:
    """Job globs every active policy declares anonymizing."""
    return tuple(job for policy in active_policies(store) for job in policy.anonymizing_jobs)


def dataset_facts(store: GraphStore, dataset_key: str) -> tuple[DatasetFacts, list[str], dict[str, list[str]]]:
    """What rules match on, the dataset's columns, and each column's entity types (most confident first)."""
    props = reads.nodes(store, "Dataset", [dataset_key]).get(dataset_key)
    if not props:
        raise RegistryError(f"no dataset with nodeId {dataset_key!r}")
    fields = reads.fields_of(store, [dataset_key]).get(dataset_key) or []
    found = classifications.of_fields(store, [f["key"] for f in fields])
    columns = [f["name"] for f in fields]
    column_entities = {f["name"]: [c["entity"] for c in found[f["key"]] if c["state"] != "rejected"] for f in fields}
    facts = DatasetFacts(
        namespace=props["namespace"], name=props["name"],
        tags=set(reads.tags_of(store, "Dataset", [dataset_key]).get(dataset_key) or []),
        locations=stored_locations(props))
    return facts, columns, column_entities


def _policies(store: GraphStore, name: str | None) -> list[Policy]:
    policies = active_policies(store)
    if name is not None:
        policies = [p for p in policies if p.name == name]
        if not policies:
            raise RegistryError(f"no active policy named {name!r}")
    return policies


def applicable(store: GraphStore, dataset_key: str, policy: str | None = None) -> list[tuple[Policy, str, list[str]]]:
    """(policy, rule name, why) for every active rule that applies to the dataset."""
    facts, _, column_entities = dataset_facts(store, dataset_key)
    facts.entities = {e for found in column_entities.values() for e in found}
    return [(p, rule.name, why) for p in _policies(store, policy) for rule, why in applicable_rules(p, facts)]


def plans(store: GraphStore, dataset_key: str, policy: str | None = None) -> list[Plan]:
    """The dry run: what ``catalog anonymize`` would do to each column, per active policy that applies."""
    facts, columns, column_entities = dataset_facts(store, dataset_key)
    out = []
    for p in _policies(store, policy):
        plan = make_plan(p, facts, columns, column_entities)
        if plan.rules:
            out.append(plan)
    return out
