"""GraphQL types for audits: runs, findings, and the erasure impact of a source column."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from catalog.api.times import datetime_of


@strawberry.enum
class Severity(enum.Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@strawberry.enum
class FindingStatus(enum.Enum):
    NEW = "new"
    UNCHANGED = "unchanged"
    RESOLVED = "resolved"


@strawberry.type
class AuditedPolicy:
    name: str
    version: str


@strawberry.type
class AuditRun:
    id: str
    started_at: datetime
    finished_at: datetime
    actor: str
    policies: list[AuditedPolicy]
    datasets: int = strawberry.field(description="datasets audited")
    previous: str | None = strawberry.field(description="id of the run this one is compared with")
    open: int
    new: int
    resolved: int
    unchanged: int
    summary: JSON = strawberry.field(description="open findings by severity, article, rule and namespace")
    report_url: str = strawberry.field(description="the HTML report, served by the app")

    @classmethod
    def of(cls, run: dict) -> "AuditRun":
        return cls(id=run["id"], started_at=datetime_of(run["startedAt"]), finished_at=datetime_of(run["finishedAt"]),
                   actor=run["actor"], policies=[AuditedPolicy(name=p["name"], version=p["version"])
                                                 for p in run["policies"]],
                   datasets=run["datasets"], previous=run["previous"], open=run["open"], new=run["new"],
                   resolved=run["resolved"], unchanged=run["unchanged"], summary=run["summary"],
                   report_url=f"/audits/{run['id']}")


@strawberry.type
class Finding:
    run: str
    index: int
    status: FindingStatus
    severity: Severity
    rule: str
    article: str
    namespace: str
    dataset_id: str
    field_id: str | None
    message: str
    remediation: str
    evidence: JSON = strawberry.field(description="what the rule saw: the personal data, the lineage path, limits")
    fingerprint: str

    @classmethod
    def of(cls, f: dict) -> "Finding":
        return cls(run=f["run"], index=f["index"], status=FindingStatus(f["status"]), severity=Severity(f["severity"]),
                   rule=f["rule"], article=f["article"], namespace=f["namespace"], dataset_id=f["dataset"],
                   field_id=f["field"], message=f["message"], remediation=f["remediation"], evidence=f["evidence"],
                   fingerprint=f["fingerprint"])


@strawberry.type
class ImpactedField:
    field_id: str
    dataset_id: str
    name: str
    depth: int
    path: list[str]
    job: str | None = strawberry.field(description="the job whose column lineage reached this field")
    subtype: str | None
    holds_value: bool = strawberry.field(description="every step on the way copies the value (no masking, "
                                                     "aggregation or indirect step)")

    @classmethod
    def of(cls, f: dict) -> "ImpactedField":
        return cls(field_id=f["field"], dataset_id=f["dataset"], name=f["name"], depth=f["depth"], path=f["path"],
                   job=f["job"], subtype=f["subtype"], holds_value=f["holdsValue"])


@strawberry.type
class ImpactedDataset:
    dataset_id: str
    columns: list[str]
    holds_value: bool
    owners: list[str]
    storage_location: str | None
    storage_country: str | None
    retention_days: int | None


@strawberry.type
class ErasureImpact:
    source: ImpactedField
    fields: list[ImpactedField]
    datasets: list[ImpactedDataset]
    truncated: bool = strawberry.field(description="the walk stopped at the depth or field limit")

    @classmethod
    def of(cls, impact: dict) -> "ErasureImpact":
        return cls(source=ImpactedField.of(impact["source"]), fields=[ImpactedField.of(f) for f in impact["fields"]],
                   datasets=[ImpactedDataset(dataset_id=d["dataset"], columns=d["columns"], holds_value=d["holdsValue"],
                                             owners=d["owners"], storage_location=d["storage"]["location"],
                                             storage_country=d["storage"]["country"],
                                             retention_days=d["retentionDays"]) for d in impact["datasets"]],
                   truncated=impact["truncated"])
