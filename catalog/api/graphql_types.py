"""The GraphQL API's types: datasets, fields, classifications, jobs, runs, lineage graphs and pages.

Field resolvers are thin: they call the plain functions in catalog.browse, catalog.store.reads and
policies.* in a worker thread (``info.context.call``), or batch through the request's DataLoaders
(catalog.api.graphql_context.Context).
"""

from __future__ import annotations

import enum
import json
from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from catalog import browse, stewardship
from catalog.api.audit_types import AuditRun, Finding
from catalog.api.policy_types import AppliedRule
from catalog.api.times import datetime_of
from catalog.store import reads
from policies import registry


@strawberry.type
class Owner:
    name: str
    type: str | None


@strawberry.type
class Governance:
    legal_basis: str | None
    special_category_condition: str | None
    purpose: str | None
    retention_days: int | None
    storage_location: str | None
    storage_country: str | None
    data_subject_categories: list[str] | None
    recipients: list[str] | None


@strawberry.input
class GovernanceInput:
    legal_basis: str | None = strawberry.UNSET
    special_category_condition: str | None = strawberry.UNSET
    purpose: str | None = strawberry.UNSET
    retention_days: int | None = strawberry.UNSET
    storage_location: str | None = strawberry.UNSET
    storage_country: str | None = strawberry.UNSET
    data_subject_categories: list[str] | None = strawberry.UNSET
    recipients: list[str] | None = strawberry.UNSET


@strawberry.type
class Change:
    seq: int
    at: datetime
    actor: str
    node_id: str
    action: str
    detail: JSON

    @classmethod
    def of(cls, change: dict) -> "Change":
        return cls(seq=change["seq"], at=datetime_of(change["at"]), actor=change["actor"], node_id=change["nodeId"],
                   action=change["action"], detail=change["detail"])


@strawberry.enum
class ClassificationState(enum.Enum):
    SUGGESTED = "suggested"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@strawberry.type(description="A field holds personal data of an entity type: the finding and its evidence. "
                             "Raw values are never stored.")
class Classification:
    id: str
    field_id: str
    dataset_id: str
    entity: str
    category: str = strawberry.field(description="GDPR category (contact, identity, financial, health, ...)")
    special: bool = strawberry.field(description="an Art. 9 special category")
    state: ClassificationState
    origin: str = strawberry.field(description="scan, steward, or propagated along column lineage")
    recognizer: str | None
    score: float | None
    matched: int | None = strawberry.field(description="sampled cells that matched")
    sampled: int | None = strawberry.field(description="non-empty cells sampled")
    evidence: str | None = strawberry.field(description="values, values+name or name (the column name alone)")
    json_path: str | None = strawberry.field(description="for a column of JSON cells: where inside them the "
                                                         "values were found ($.contact.email)")
    scanned_at: datetime | None
    actor: str | None
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    source_id: str | None = strawberry.field(description="for propagated ones: the classification it came from")
    path: list[str] | None = strawberry.field(description="for propagated ones: field ids from the source to here")

    @classmethod
    def of(cls, c: dict) -> "Classification":
        return cls(id=c["key"], field_id=c["field"], dataset_id=c.get("dataset") or "", entity=c["entity"],
                   category=c.get("category") or "", special=bool(c.get("special")),
                   state=ClassificationState(c["state"]), origin=c.get("origin") or "scan",
                   recognizer=c.get("recognizer"), score=c.get("score"), matched=c.get("matched"),
                   sampled=c.get("sampled"), evidence=c.get("evidence"), json_path=c.get("jsonPath"),
                   scanned_at=datetime_of(c.get("scannedAt")),
                   actor=c.get("actor"), decided_by=c.get("decidedBy"), decided_at=datetime_of(c.get("decidedAt")),
                   note=c.get("note"), source_id=c.get("source"),
                   path=json.loads(c["path"]) if c.get("path") else None)


@strawberry.type
class DatasetField:
    id: str
    name: str
    type: str | None
    description: str | None
    tags: list[str]
    dataset_id: str

    @strawberry.field(description="What personal data this field holds, with evidence; rejected ones last.")
    async def classifications(self, info: Info) -> list[Classification]:
        return [Classification.of(c) for c in await info.context.field_classifications.load(self.id)]


@strawberry.type
class QualityAssertion:
    assertion: str
    success: bool
    column: str | None
    run_id: str


@strawberry.type
class DatasetVersion:
    id: str
    version: str
    run_id: str | None
    created_at: datetime | None


@strawberry.type
class Run:
    node_id: str
    id: str
    job_id: str
    state: str | None
    started_at: datetime | None
    ended_at: datetime | None
    nominal_start_time: datetime | None
    nominal_end_time: datetime | None
    error_message: str | None

    @classmethod
    def of(cls, props: dict) -> "Run":
        return cls(node_id=props["key"], id=props["runId"], job_id=props.get("job"), state=props.get("state"),
                   started_at=datetime_of(props.get("startTime")), ended_at=datetime_of(props.get("endTime")),
                   nominal_start_time=datetime_of(props.get("nominalStartTime")),
                   nominal_end_time=datetime_of(props.get("nominalEndTime")), error_message=props.get("errorMessage"))

    @strawberry.field
    async def facets(self, info: Info) -> JSON:
        return await info.context.call(reads.facets_of, info.context.catalog.store, "Run", self.node_id)

    @strawberry.field
    async def job(self, info: Info) -> "Job | None":
        return await info.context.job(self.job_id)


@strawberry.type
class Job:
    id: str
    namespace: str
    name: str
    type: str | None
    integration: str | None
    processing_type: str | None
    description: str | None
    sql: str | None
    source_code_url: str | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, props: dict) -> "Job":
        return cls(id=props["key"], namespace=props["namespace"], name=props["name"], type=props.get("jobType"),
                   integration=props.get("integration"), processing_type=props.get("processingType"),
                   description=props.get("stewardDescription") or props.get("description"), sql=props.get("sql"),
                   source_code_url=props.get("sourceCodeUrl"), created_at=datetime_of(props.get("firstSeen")),
                   updated_at=datetime_of(props.get("lastSeen")))

    @strawberry.field
    async def owners(self, info: Info) -> list[Owner]:
        return [Owner(**o) for o in await info.context.job_owners.load(self.id)]

    @strawberry.field
    async def latest_run(self, info: Info) -> Run | None:
        props = await info.context.latest_runs.load(self.id)
        return Run.of(props) if props else None

    @strawberry.field
    async def runs(self, info: Info, first: int = 20) -> list[Run]:
        runs = await info.context.call(browse.runs_of_job, info.context.catalog.store, self.id, first)
        return [Run.of(r) for r in runs]

    @strawberry.field
    async def facets(self, info: Info) -> JSON:
        return await info.context.call(reads.facets_of, info.context.catalog.store, "Job", self.id)

    @strawberry.field
    async def inputs(self, info: Info) -> list["Dataset"]:
        ins, _ = await info.context.call(reads.job_datasets, info.context.catalog.store, self.id)
        return [Dataset.of(p) for p in await info.context.datasets.load_many(ins) if p]

    @strawberry.field
    async def outputs(self, info: Info) -> list["Dataset"]:
        _, outs = await info.context.call(reads.job_datasets, info.context.catalog.store, self.id)
        return [Dataset.of(p) for p in await info.context.datasets.load_many(outs) if p]


@strawberry.type
class Dataset:
    id: str
    namespace: str
    name: str
    description: str | None
    source_name: str | None
    source_uri: str | None
    dataset_type: str | None
    lifecycle_state: str | None
    created_at: datetime | None
    updated_at: datetime | None
    governance: Governance
    scanned_at: datetime | None = strawberry.field(description="when a PII scan last covered this dataset")

    @classmethod
    def of(cls, props: dict) -> "Dataset":
        return cls(id=props["key"], namespace=props["namespace"], name=props["name"],
                   description=props.get("stewardDescription") or props.get("description"),
                   source_name=props.get("sourceName"), source_uri=props.get("sourceUri"),
                   dataset_type=props.get("datasetType"), lifecycle_state=props.get("lifecycleState"),
                   created_at=datetime_of(props.get("firstSeen")), updated_at=datetime_of(props.get("lastSeen")),
                   governance=Governance(**{snake(k): v for k, v in stewardship.governance(props).items()}),
                   scanned_at=datetime_of(props.get("scannedAt")))

    @strawberry.field(description="Classifications of all its fields (direct and propagated).")
    async def classifications(self, info: Info) -> list[Classification]:
        return [Classification.of(c) for c in await info.context.dataset_classifications.load(self.id)]

    @strawberry.field
    async def fields(self, info: Info) -> list[DatasetField]:
        return [DatasetField(id=f["key"], name=f["name"], type=f.get("type"),
                             description=f.get("stewardDescription") or f.get("description"),
                             tags=f.get("tags", []), dataset_id=self.id)
                for f in await info.context.fields.load(self.id) or []]

    @strawberry.field
    async def tags(self, info: Info) -> list[str]:
        return await info.context.dataset_tags.load(self.id)

    @strawberry.field
    async def owners(self, info: Info) -> list[Owner]:
        return [Owner(**o) for o in await info.context.dataset_owners.load(self.id)]

    @strawberry.field
    async def facets(self, info: Info) -> JSON:
        return await info.context.call(reads.facets_of, info.context.catalog.store, "Dataset", self.id)

    @strawberry.field
    async def versions(self, info: Info, first: int = 20) -> list[DatasetVersion]:
        browse.check_page_size(first)
        rows = await info.context.call(reads.versions_of, info.context.catalog.store, self.id, first)
        return [DatasetVersion(id=v["key"], version=v["version"], run_id=v.get("run", "").removeprefix("run:") or None,
                               created_at=datetime_of(v.get("firstSeen"))) for v in rows]

    @strawberry.field
    async def latest_run(self, info: Info) -> Run | None:
        version = await info.context.call(reads.latest_version, info.context.catalog.store, self.id)
        if not version or not version.get("run"):
            return None
        runs = await info.context.call(reads.nodes, info.context.catalog.store, "Run", [version["run"]])
        return Run.of(runs[version["run"]]) if runs else None

    @strawberry.field
    async def quality_assertions(self, info: Info) -> list[QualityAssertion]:
        found = await info.context.call(reads.quality_assertions, info.context.catalog.store, self.id)
        return [QualityAssertion(assertion=a.get("assertion", ""), success=bool(a.get("success")),
                                 column=a.get("column"), run_id=a["run"].removeprefix("run:")) for a in found]

    @strawberry.field
    async def history(self, info: Info, first: int = 50) -> list[Change]:
        browse.check_page_size(first)
        return [Change.of(c) for c in await info.context.call(info.context.catalog.governance.history, self.id, first)]

    @strawberry.field(description="Rules of the active policies that apply to this dataset, and why.")
    async def policies(self, info: Info) -> list[AppliedRule]:
        found = await info.context.call(registry.applicable, info.context.catalog.store, self.id)
        return [AppliedRule(policy=p.name, version=p.version, rule=rule, why=why) for p, rule, why in found]


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class DatasetConnection:
    nodes: list[Dataset]
    page_info: PageInfo
    total_count: int


@strawberry.type
class FindingConnection:
    nodes: list[Finding]
    page_info: PageInfo
    run: AuditRun


@strawberry.type
class JobConnection:
    nodes: list[Job]
    page_info: PageInfo
    total_count: int


@strawberry.enum
class LineageDirection(enum.Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@strawberry.enum
class NodeType(enum.Enum):
    DATASET = "DATASET"
    JOB = "JOB"
    FIELD = "FIELD"


@strawberry.type
class LineageNode:
    id: str
    type: NodeType
    depth: int
    namespace: str
    name: str
    dataset_id: str | None = None

    @strawberry.field
    async def dataset(self, info: Info) -> Dataset | None:
        if self.type != NodeType.DATASET:
            return None
        return await info.context.dataset(self.id)

    @strawberry.field
    async def job(self, info: Info) -> Job | None:
        if self.type != NodeType.JOB:
            return None
        return await info.context.job(self.id)

    @strawberry.field
    async def owners(self, info: Info) -> list[Owner]:
        if self.type == NodeType.DATASET:
            return [Owner(**o) for o in await info.context.dataset_owners.load(self.id)]
        if self.type == NodeType.JOB:
            return [Owner(**o) for o in await info.context.job_owners.load(self.id)]
        return []


@strawberry.type
class LineageEdge:
    origin: str
    destination: str
    transformation_type: str | None = None
    transformation_subtype: str | None = None
    masking: bool | None = None
    implied_by: str | None = strawberry.field(
        default=None, description="columnLineage for a job's input that only its outputs' column lineage names "
                                  "(e.g. a dbt seed): no event listed it as an input")


@strawberry.type
class LineageGraph:
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    depth_reached: int = strawberry.field(
        description="The deepest hop explored for this page (the lineage's own depth once the last page is read).")
    is_partial: bool = strawberry.field(description="The walk stopped early: the node limit cut the lineage "
                                        "(later pages end there), or, without totalReachable, a hop too large "
                                        "for this page (a hub's) was read only as far as this page needs (later "
                                        "pages read further).")
    total_reachable: int = strawberry.field(
        description="Nodes in the whole lineage, up to the node limit. Asking for it explores the whole "
                    "lineage; leave it out and a page explores only the hops that reach it.")
    page_info: PageInfo


@strawberry.type
class SearchHit:
    type: NodeType
    id: str
    name: str
    namespace: str | None
    dataset_id: str | None
    description: str | None


@strawberry.type
class PersonalDataset:
    dataset_id: str
    categories: list[str]
    entities: list[str]
    fields: int = strawberry.field(description="fields with a classification that is not rejected")
    special: bool = strawberry.field(description="holds an Art. 9 special category")

    @strawberry.field
    async def dataset(self, info: Info) -> Dataset | None:
        return await info.context.dataset(self.dataset_id)


@strawberry.type
class LineageEventNotice:
    namespace: str
    job: str
    run_id: str | None
    event_type: str | None
    event_time: datetime


def selects(selections: list, name: str) -> bool:
    """Whether a field called ``name`` is selected anywhere below, through fragments too."""
    return any(getattr(s, "name", None) == name or selects(s.selections, name) for s in selections)


def lineage_graph(result: dict) -> LineageGraph:
    return LineageGraph(
        nodes=[LineageNode(id=n["id"], type=NodeType(n["type"]), depth=n["depth"], namespace=n["namespace"],
                           name=n["name"], dataset_id=n.get("datasetId")) for n in result["nodes"]],
        edges=[LineageEdge(origin=e["origin"], destination=e["destination"],
                           transformation_type=e.get("type"), transformation_subtype=e.get("subtype"),
                           masking=e.get("masking"), implied_by=e.get("impliedBy")) for e in result["edges"]],
        depth_reached=result["depthReached"], is_partial=result["isPartial"],
        total_reachable=result["totalReachable"],
        page_info=PageInfo(has_next_page=result["hasNextPage"], end_cursor=result["endCursor"]),
    )
