"""Stewardship edits: descriptions, tags, owners and the governance attributes audits read.

Every edit is first recorded in the governance log (who, what, when), then applied to the
graph by :func:`apply_change`. The log, not the graph, is the record: rebuilding the graph
replays events and then these changes, in order.
"""

from __future__ import annotations

import re

from catalog.govlog import GovernanceLog
from catalog.store import reads
from catalog.store.base import GraphStore

LEGAL_BASES = ("consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests")
# GDPR Art. 9(2)(a)-(j): the conditions under which special category data may be processed.
SPECIAL_CATEGORY_CONDITIONS = (
    "explicit_consent", "employment_and_social_security", "vital_interests", "not_for_profit_body",
    "made_public_by_data_subject", "legal_claims", "substantial_public_interest", "health_or_social_care",
    "public_health", "archiving_research_statistics")
GOVERNANCE_FIELDS = ("legalBasis", "specialCategoryCondition", "purpose", "retentionDays", "storageLocation",
                     "storageCountry", "dataSubjectCategories", "recipients")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class StewardshipError(ValueError):
    pass


def _require(store: GraphStore, node_id: str, allowed: tuple[str, ...]) -> str:
    label = reads.node_label(node_id)
    if label not in allowed:
        kinds = " or ".join(f"{a.lower()}" for a in allowed)
        raise StewardshipError(f"nodeId must name a {kinds}, got {node_id!r}")
    if not reads.nodes(store, label, [node_id]):
        raise StewardshipError(f"no {label.lower()} with nodeId {node_id!r}")
    return label


def _clean(text: str, what: str, limit: int = 200) -> str:
    text = (text or "").strip()
    if not text:
        raise StewardshipError(f"{what} must not be empty")
    if len(text) > limit:
        raise StewardshipError(f"{what} is longer than {limit} characters")
    return text


def set_description(store, log: GovernanceLog, actor: str, node_id: str, description: str) -> dict:
    label = _require(store, node_id, ("Dataset", "Field", "Job"))
    return _commit(store, log, actor, node_id, "set_description",
                   {"label": label, "description": _clean(description, "description", 10_000)})


def add_tag(store, log, actor, node_id: str, tag: str) -> dict:
    label = _require(store, node_id, ("Dataset", "Field", "Job"))
    return _commit(store, log, actor, node_id, "add_tag", {"label": label, "tag": _clean(tag, "tag")})


def remove_tag(store, log, actor, node_id: str, tag: str) -> dict:
    label = _require(store, node_id, ("Dataset", "Field", "Job"))
    return _commit(store, log, actor, node_id, "remove_tag", {"label": label, "tag": _clean(tag, "tag")})


def add_owner(store, log, actor, node_id: str, owner: str, owner_type: str | None = None) -> dict:
    label = _require(store, node_id, ("Dataset", "Job"))
    return _commit(store, log, actor, node_id, "add_owner",
                   {"label": label, "owner": _clean(owner, "owner"), "type": owner_type})


def remove_owner(store, log, actor, node_id: str, owner: str) -> dict:
    label = _require(store, node_id, ("Dataset", "Job"))
    return _commit(store, log, actor, node_id, "remove_owner", {"label": label, "owner": _clean(owner, "owner")})


def set_governance(store, log, actor, node_id: str, attrs: dict) -> dict:
    """Set (or, with None, clear) governance attributes of a dataset; unknown names are refused."""
    _require(store, node_id, ("Dataset",))
    unknown = sorted(set(attrs) - set(GOVERNANCE_FIELDS))
    if unknown:
        raise StewardshipError(f"unknown governance attributes {unknown}; known: {list(GOVERNANCE_FIELDS)}")
    basis = attrs.get("legalBasis")
    if basis is not None and basis not in LEGAL_BASES:
        raise StewardshipError(f"legalBasis must be one of {list(LEGAL_BASES)} (GDPR Art. 6(1)), got {basis!r}")
    condition = attrs.get("specialCategoryCondition")
    if condition is not None and condition not in SPECIAL_CATEGORY_CONDITIONS:
        raise StewardshipError(f"specialCategoryCondition must be one of {list(SPECIAL_CATEGORY_CONDITIONS)} "
                               f"(GDPR Art. 9(2)(a)-(j)), got {condition!r}")
    days = attrs.get("retentionDays")
    if days is not None and (not isinstance(days, int) or days < 0):
        raise StewardshipError(f"retentionDays must be a whole number of days >= 0, got {days!r}")
    country = attrs.get("storageCountry")
    if country is not None and not _COUNTRY.match(country):
        raise StewardshipError(f"storageCountry must be an ISO 3166-1 alpha-2 code such as 'DE', got {country!r}")
    for name in ("dataSubjectCategories", "recipients"):
        items = attrs.get(name)
        if items is not None and (not isinstance(items, list) or not all(isinstance(c, str) for c in items)):
            raise StewardshipError(f"{name} must be a list of strings")
    return _commit(store, log, actor, node_id, "set_governance", {"label": "Dataset", "attrs": attrs})


def _commit(store, log: GovernanceLog, actor: str, node_id: str, action: str, detail: dict) -> dict:
    change = log.record(actor, node_id, action, detail)
    apply_change(store, change)
    return change


def apply_change(store: GraphStore, change: dict) -> None:
    """Write one recorded change to the graph; idempotent, so replays are safe."""
    detail, node_id = change["detail"], change["nodeId"]
    label = detail["label"]
    if label not in ("Dataset", "Field", "Job"):
        raise ValueError(f"unexpected label {label}")
    match = f"MATCH (n:{label} {{key: $key}}) "
    action = change["action"]
    if action == "set_description":
        store.query(match + "SET n.stewardDescription = $text", {"key": node_id, "text": detail["description"]})
    elif action == "add_tag":
        store.query(match + "MERGE (t:Tag {key: $tagKey}) ON CREATE SET t.name = $tag "
                    "MERGE (n)-[e:TAGGED]->(t) SET e.bySteward = true",
                    {"key": node_id, "tag": detail["tag"], "tagKey": f"tag:{detail['tag']}="})
    elif action == "remove_tag":
        store.query(match + "MATCH (n)-[e:TAGGED]->(t:Tag) WHERE t.name = $tag DELETE e",
                    {"key": node_id, "tag": detail["tag"]})
    elif action == "add_owner":
        store.query(match + "MERGE (o:Owner {key: $ownerKey}) ON CREATE SET o.name = $owner "
                    "MERGE (o)-[e:OWNS]->(n) SET e.type = $type, e.bySteward = true",
                    {"key": node_id, "owner": detail["owner"], "ownerKey": f"owner:{detail['owner']}",
                     "type": detail.get("type")})
    elif action == "remove_owner":
        store.query(match + "MATCH (o:Owner)-[e:OWNS]->(n) WHERE o.name = $owner DELETE e",
                    {"key": node_id, "owner": detail["owner"]})
    elif action == "set_governance":
        values = {f"gov_{k}": v for k, v in detail["attrs"].items()}
        store.query(match + "SET n += $values", {"key": node_id, "values": values})
    else:
        raise ValueError(f"unknown governance action {action!r}")


def governance(props: dict) -> dict:
    """The governance attributes stored on a dataset node."""
    return {name: props.get(f"gov_{name}") for name in GOVERNANCE_FIELDS}


def stored_locations(props: dict) -> set[str]:
    """A dataset's storage location and country, what policy location selectors match."""
    attrs = governance(props)
    return {v for v in (attrs["storageLocation"], attrs["storageCountry"]) if v}
