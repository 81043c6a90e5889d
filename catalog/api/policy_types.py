"""GraphQL types for policies: the policies themselves, which rules apply, and the dry run."""

from __future__ import annotations

from datetime import datetime

import orjson
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from catalog.api.times import datetime_of

from policies import registry
from policies.anonymize import Plan



@strawberry.type
class PolicyRule:
    name: str
    description: str | None
    applies_to: JSON = strawberry.field(description="selectors: datasets globs, tags, classifications, locations")
    entities: JSON = strawberry.field(description="entity type -> operator")
    columns: JSON = strawberry.field(description="column -> operator")
    k_anonymity: JSON | None
    access: JSON = strawberry.field(description="role -> clear | anonymized | hidden")
    retention_days: int | None
    allowed_locations: list[str]
    require_anonymized: bool

    @classmethod
    def of(cls, rule: dict) -> "PolicyRule":
        return cls(name=rule["name"], description=rule.get("description"), applies_to=rule.get("applies_to", {}),
                   entities=rule.get("entities", {}), columns=rule.get("columns", {}),
                   k_anonymity=rule.get("k_anonymity"), access=rule.get("access", {}),
                   retention_days=rule.get("retention_days"), allowed_locations=rule.get("allowed_locations", []),
                   require_anonymized=rule.get("require_anonymized", False))


@strawberry.type
class PolicyVersion:
    version: str
    loaded_at: datetime
    loaded_by: str
    source: str | None


@strawberry.type(description="A GDPR policy loaded into the catalog; `version` is its content hash.")
class Policy:
    name: str
    version: str
    description: str | None
    source: str | None
    loaded_at: datetime
    loaded_by: str
    active: bool
    document: JSON
    rules: list[PolicyRule]
    anonymizing_jobs: list[str]

    @classmethod
    def of(cls, row: dict) -> "Policy":
        document = orjson.loads(row["document"])
        return cls(name=row["name"], version=row["version"], description=row.get("description"),
                   source=row.get("source"), loaded_at=datetime_of(row["loadedAt"]), loaded_by=row["loadedBy"],
                   active=bool(row.get("active")), document=document,
                   rules=[PolicyRule.of(r) for r in document["rules"]],
                   anonymizing_jobs=document.get("anonymizing_jobs", []))

    @strawberry.field(description="Every version loaded, newest first.")
    async def versions(self, info: Info) -> list[PolicyVersion]:
        rows = await info.context.call(registry.versions_of, info.context.catalog.store, self.name)
        return [PolicyVersion(version=r["v"]["version"], loaded_at=datetime_of(r["v"]["loadedAt"]),
                              loaded_by=r["v"]["loadedBy"], source=r["v"].get("source")) for r in rows]


@strawberry.type
class PolicyLoad:
    policy: Policy
    changed: bool = strawberry.field(description="false when this content already was the active version")


@strawberry.type(description="A policy rule that applies to a dataset, and why.")
class AppliedRule:
    policy: str
    version: str
    rule: str
    why: list[str]


@strawberry.type(description="What anonymize would do to one column.")
class ColumnAction:
    column: str
    entities: list[str] = strawberry.field(description="entity types the column is classified as (not rejected)")
    entity: str | None = strawberry.field(description="the entity type the operator was chosen for")
    operator: str | None = strawberry.field(description="null: the column is kept as is")
    parameters: JSON
    description: str
    subtype: str = strawberry.field(description="the columnLineage subtype the run will emit (IDENTITY if kept)")
    rule: str | None
    reason: str


@strawberry.type(description="A dry run of `catalog anonymize` for a catalogued dataset under one policy.")
class AnonymizationPlan:
    policy: str
    version: str
    dataset_id: str
    rules: list[AppliedRule]
    columns: list[ColumnAction]
    k_anonymity: JSON
    unprotected: list[str] = strawberry.field(description="columns with personal data no rule anonymizes")
    problems: list[str]

    @classmethod
    def of(cls, dataset_id: str, plan: Plan) -> "AnonymizationPlan":
        data = plan.to_dict()
        return cls(policy=data["policy"], version=data["version"], dataset_id=dataset_id,
                   rules=[AppliedRule(policy=data["policy"], version=data["version"], rule=r["rule"], why=r["why"])
                          for r in data["rules"]],
                   columns=[ColumnAction(**c) for c in data["columns"]], k_anonymity=data["kAnonymity"],
                   unprotected=data["unprotected"], problems=data["problems"])
