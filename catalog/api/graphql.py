"""The GraphQL API (strawberry) at /graphql, with GraphiQL in the browser.

Resolvers are thin: they call the plain functions in catalog.browse, catalog.lineage,
catalog.stewardship and catalog.store.reads in a worker thread (the store is blocking),
and batch per-request lookups through DataLoaders against N+1.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse
from strawberry.asgi import GraphQL
from strawberry.dataloader import DataLoader
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.scalars import JSON
from strawberry.types import Info

from catalog import browse, stewardship
from catalog import lineage as lineage_service
from catalog.api.auth import Principal
from catalog.api.graphql_auth import Forbidden, requires
from catalog.api.graphql_cost import QueryCostLimiter
from catalog.api.audit_types import AuditRun, ErasureImpact, Finding, FindingStatus, Severity
from catalog.api.policy_types import AnonymizationPlan, AppliedRule, Policy, PolicyLoad
from catalog.api.times import datetime_of
from catalog.store import reads
from catalog.web.graphiql import graphiql_html
from catalog.auditing import AuditBusy
from catalog.keys import AUDIT, COMPLIANCE, POLICY, READ, STEWARD
from policies import audit_runs, classifications, registry
from policies.impact import ImpactError, erasure_impact
from policies.policy_files import PolicyError, parse_policy
from policies.register import processing_register

MAX_QUERY_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 3000



class Context:
    """Per-request state: the catalog, the caller, and DataLoaders (a fresh set per request)."""

    def __init__(self, app_state, principal: Principal):
        self.catalog = app_state.catalog
        self.settings = app_state.settings
        self.hub = app_state.hub
        self.auditor = app_state.auditor
        self.principal = principal
        self.actor = principal.actor
        store = self.catalog.store

        def loader(fn):
            async def load(keys):
                found = await run_in_threadpool(fn, list(keys))
                return [found.get(k) for k in keys]
            return DataLoader(load_fn=load)

        self.datasets = loader(lambda keys: reads.nodes(store, "Dataset", keys))
        self.jobs = loader(lambda keys: reads.nodes(store, "Job", keys))
        self.fields = loader(lambda keys: reads.fields_of(store, keys))
        self.dataset_owners = loader(lambda keys: reads.owners_of(store, "Dataset", keys))
        self.job_owners = loader(lambda keys: reads.owners_of(store, "Job", keys))
        self.dataset_tags = loader(lambda keys: reads.tags_of(store, "Dataset", keys))
        self.latest_runs = loader(lambda keys: reads.latest_runs(store, keys))
        self.field_classifications = loader(lambda keys: classifications.of_fields(store, keys))
        self.dataset_classifications = loader(lambda keys: classifications.of_datasets(store, keys))

    async def call(self, fn, *args, **kwargs):
        return await run_in_threadpool(fn, *args, **kwargs)

    async def dataset(self, key: str) -> Dataset | None:
        props = await self.datasets.load(key)
        return Dataset.of(props) if props else None

    async def job(self, key: str) -> Job | None:
        props = await self.jobs.load(key)
        return Job.of(props) if props else None


# ---------------------------------------------------------------------------- types
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
                   governance=Governance(**{_snake(k): v for k, v in stewardship.governance(props).items()}),
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


def _snake(name: str) -> str:
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
    is_partial: bool = strawberry.field(description="The node limit cut the lineage; later pages end there.")
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


def _selects(selections: list, name: str) -> bool:
    """Whether a field called ``name`` is selected anywhere below, through fragments too."""
    return any(getattr(s, "name", None) == name or _selects(s.selections, name) for s in selections)


def _lineage_graph(result: dict) -> LineageGraph:
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


# ------------------------------------------------------------------------ root types
@strawberry.type
class Query:
    @strawberry.field(permission_classes=requires(READ), description="A dataset by namespace and name.")
    async def dataset(self, info: Info, namespace: str, name: str) -> Dataset | None:
        return await info.context.dataset(f"dataset:{namespace}:{name}")

    @strawberry.field(permission_classes=requires(READ), description="Datasets, filtered and paged (keyset cursors).")
    async def datasets(self, info: Info, namespace: str | None = None, search: str | None = None,
                       tag: str | None = None, first: int = 50, after: str | None = None) -> DatasetConnection:
        page = await info.context.call(browse.datasets, info.context.catalog.store, namespace=namespace,
                                       search=search, tag=tag, first=first, after=after)
        return DatasetConnection(nodes=[Dataset.of(p) for p in page.items], total_count=page.total,
                                 page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor))

    @strawberry.field(permission_classes=requires(READ))
    async def job(self, info: Info, namespace: str, name: str) -> Job | None:
        return await info.context.job(f"job:{namespace}:{name}")

    @strawberry.field(permission_classes=requires(READ))
    async def jobs(self, info: Info, namespace: str | None = None, search: str | None = None,
                   first: int = 50, after: str | None = None) -> JobConnection:
        page = await info.context.call(browse.jobs, info.context.catalog.store, namespace=namespace,
                                       search=search, first=first, after=after)
        return JobConnection(nodes=[Job.of(p) for p in page.items], total_count=page.total,
                             page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor))

    @strawberry.field(permission_classes=requires(READ), description="A run by its run id.")
    async def run(self, info: Info, id: str) -> Run | None:
        found = await info.context.call(reads.nodes, info.context.catalog.store, "Run", [f"run:{id}"])
        return Run.of(found[f"run:{id}"]) if found else None

    @strawberry.field(permission_classes=requires(READ),
                      description="Datasets, jobs and fields whose name or description contains the query.")
    async def search(self, info: Info, query: str, types: list[NodeType] | None = None,
                     first: int = 20) -> list[SearchHit]:
        hits = await info.context.call(browse.search, info.context.catalog.store, query,
                                       [t.value for t in types] if types else None, first)
        return [SearchHit(type=NodeType(h["type"]), id=h["key"], name=h["name"], namespace=h.get("namespace"),
                          dataset_id=h.get("dataset"), description=h.get("description")) for h in hits]

    @strawberry.field(permission_classes=requires(READ),
                      description="Datasets and jobs around a node (dataset:<ns>:<name> or job:<ns>:<name>).")
    async def lineage(self, info: Info, node_id: str, direction: LineageDirection = LineageDirection.BOTH,
                      depth: int = 3, as_of: datetime | None = None, first: int = 500,
                      after: str | None = None) -> LineageGraph:
        settings = info.context.settings
        result = await info.context.call(
            lineage_service.lineage_page, info.context.catalog.store, node_id, direction.value, depth,
            max_depth=settings.max_lineage_depth, max_nodes=settings.max_lineage_nodes,
            as_of=int(as_of.timestamp() * 1000) if as_of else None, first=first, after=after,
            count_all=_selects(info.selected_fields, "totalReachable"))
        return _lineage_graph(result)

    @strawberry.field(permission_classes=requires(READ),
                      description="Field-level lineage from a datasetField:<ns>:<name>:<field> node.")
    async def column_lineage(self, info: Info, node_id: str,
                             direction: LineageDirection = LineageDirection.BOTH, depth: int = 3) -> LineageGraph:
        settings = info.context.settings
        result = await info.context.call(
            lineage_service.column_lineage, info.context.catalog.store, node_id, direction.value, depth,
            max_depth=settings.max_lineage_depth, max_nodes=settings.max_lineage_nodes)
        return _lineage_graph(result)

    @strawberry.field(permission_classes=requires(READ),
                      description="Everything downstream of a node, to the depth limit, with owners.")
    async def impact(self, info: Info, node_id: str) -> LineageGraph:
        settings = info.context.settings
        result = await info.context.call(
            lineage_service.lineage_page, info.context.catalog.store, node_id, "DOWNSTREAM",
            settings.max_lineage_depth, max_depth=settings.max_lineage_depth,
            max_nodes=settings.max_lineage_nodes, first=settings.max_lineage_nodes)
        return _lineage_graph(result)

    @strawberry.field(permission_classes=requires(READ),
                      description="Datasets holding personal data (any classification not rejected), by id; "
                                  "page with `after` = the last datasetId.")
    async def personal_datasets(self, info: Info, special_only: bool = False, first: int = 100,
                                after: str | None = None) -> list[PersonalDataset]:
        browse.check_page_size(first)
        rows = await info.context.call(classifications.pii_datasets, info.context.catalog.store, special_only,
                                       first, after)
        return [PersonalDataset(dataset_id=r["dataset"], categories=r["categories"], entities=r["entities"],
                                fields=r["fields"], special=r["special"]) for r in rows]

    @strawberry.field(permission_classes=requires(READ),
                      description="GDPR policies loaded into the catalog (active ones unless includeRemoved).")
    async def policies(self, info: Info, include_removed: bool = False) -> list[Policy]:
        rows = await info.context.call(registry.policy_rows, info.context.catalog.store, include_removed)
        return [Policy.of(r["p"]) for r in rows]

    @strawberry.field(permission_classes=requires(READ))
    async def policy(self, info: Info, name: str) -> Policy | None:
        rows = await info.context.call(registry.policy_rows, info.context.catalog.store, True, name)
        return Policy.of(rows[0]["p"]) if rows else None

    @strawberry.field(permission_classes=requires(READ),
                      description="Dry run: what `catalog anonymize` would do to each column of a dataset "
                                  "(dataset:<ns>:<name>), per active policy with a rule for it, or one policy.")
    async def anonymization_plan(self, info: Info, dataset_id: str,
                                 policy: str | None = None) -> list[AnonymizationPlan]:
        plans = await info.context.call(registry.plans, info.context.catalog.store, dataset_id, policy)
        return [AnonymizationPlan.of(dataset_id, plan) for plan in plans]

    @strawberry.field(permission_classes=requires(COMPLIANCE), description="Compliance audit runs, newest first.")
    async def audits(self, info: Info, first: int = 20) -> list[AuditRun]:
        browse.check_page_size(first)
        return [AuditRun.of(r) for r in await info.context.call(audit_runs.runs, info.context.catalog.store, first)]

    @strawberry.field(permission_classes=requires(COMPLIANCE),
                      description="One audit run by id; the latest one without an id.")
    async def audit_run(self, info: Info, id: str | None = None) -> AuditRun:
        return AuditRun.of(await info.context.call(audit_runs.resolve_run, info.context.catalog.store, id))

    @strawberry.field(permission_classes=requires(COMPLIANCE),
                      description="Findings of an audit run (the latest without runId), most severe first; "
                                  "`severity` is the lowest severity wanted.")
    async def findings(self, info: Info, run_id: str | None = None, severity: Severity | None = None,
                       rule: str | None = None, status: FindingStatus | None = None, namespace: str | None = None,
                       dataset_id: str | None = None, first: int = 100,
                       after: str | None = None) -> FindingConnection:
        browse.check_page_size(first)
        cursor = browse.decode_cursor(after)
        if cursor is not None and not cursor.isdigit():
            raise browse.BrowseError(f"malformed cursor {after!r}: pass an endCursor from a previous page")
        store = info.context.catalog.store
        run = await info.context.call(audit_runs.resolve_run, store, run_id)
        found = await info.context.call(audit_runs.findings, store, run["id"], severity.value if severity else None,
                                        rule, status.value if status else None, namespace, dataset_id, first + 1,
                                        int(cursor) if cursor is not None else None)
        page = found[:first]
        return FindingConnection(
            nodes=[Finding.of(f) for f in page], run=AuditRun.of(run),
            page_info=PageInfo(has_next_page=len(found) > first,
                               end_cursor=browse.encode_cursor(str(page[-1]["index"])) if page else None))

    @strawberry.field(permission_classes=requires(COMPLIANCE),
                      description="The register of processing activities (GDPR Art. 30), as the JSON document "
                                  "GET /api/v1/register returns.")
    async def processing_register(self, info: Info) -> JSON:
        return await info.context.call(processing_register, info.context.catalog.store)

    @strawberry.field(permission_classes=requires(COMPLIANCE),
                      description="Erasure / subject-access impact: every column and dataset fed by a source "
                                  "column (datasetField:<ns>:<dataset>:<column>).")
    async def erasure_impact(self, info: Info, field_id: str, depth: int = 50) -> ErasureImpact:
        return ErasureImpact.of(await info.context.call(erasure_impact, info.context.catalog.store, field_id, depth))

    @strawberry.field(permission_classes=requires(READ),
                      description="Recorded governance changes of a node, newest first.")
    async def history(self, info: Info, node_id: str, first: int = 50) -> list[Change]:
        browse.check_page_size(first)
        return [Change.of(c) for c in await info.context.call(info.context.catalog.governance.history, node_id, first)]


def _steward(fn):
    async def resolve(info: Info, *args):
        change = await info.context.call(fn, info.context.catalog.store, info.context.catalog.governance,
                                         info.context.actor, *args)
        return Change.of(change)
    return resolve


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=requires(STEWARD),
                         description="Set a steward's description on a dataset, field or job.")
    async def set_description(self, info: Info, node_id: str, description: str) -> Change:
        return await _steward(stewardship.set_description)(info, node_id, description)

    @strawberry.mutation(permission_classes=requires(STEWARD))
    async def add_tag(self, info: Info, node_id: str, tag: str) -> Change:
        return await _steward(stewardship.add_tag)(info, node_id, tag)

    @strawberry.mutation(permission_classes=requires(STEWARD))
    async def remove_tag(self, info: Info, node_id: str, tag: str) -> Change:
        return await _steward(stewardship.remove_tag)(info, node_id, tag)

    @strawberry.mutation(permission_classes=requires(STEWARD))
    async def add_owner(self, info: Info, node_id: str, owner: str, type: str | None = None) -> Change:
        return await _steward(stewardship.add_owner)(info, node_id, owner, type)

    @strawberry.mutation(permission_classes=requires(STEWARD))
    async def remove_owner(self, info: Info, node_id: str, owner: str) -> Change:
        return await _steward(stewardship.remove_owner)(info, node_id, owner)

    @strawberry.mutation(permission_classes=requires(STEWARD),
                         description="Set governance attributes of a dataset; null clears one, omitted keeps it.")
    async def set_governance(self, info: Info, node_id: str, attributes: GovernanceInput) -> Change:
        attrs = {name: getattr(attributes, _snake(name)) for name in stewardship.GOVERNANCE_FIELDS
                 if getattr(attributes, _snake(name)) is not strawberry.UNSET}
        return await _steward(stewardship.set_governance)(info, node_id, attrs)


    @strawberry.mutation(permission_classes=requires(STEWARD),
                         description="A steward confirms that a field holds an entity type (e.g. EMAIL_ADDRESS); "
                                     "scans never overwrite the decision.")
    async def confirm_classification(self, info: Info, field_id: str, entity: str,
                                     note: str | None = None) -> Classification:
        return await _decide(info, field_id, entity, True, note)

    @strawberry.mutation(permission_classes=requires(STEWARD),
                         description="A steward rejects a classification of a field: scans keep suggesting it "
                                     "no more, and it stops propagating there.")
    async def reject_classification(self, info: Info, field_id: str, entity: str,
                                    note: str | None = None) -> Classification:
        return await _decide(info, field_id, entity, False, note)

    @strawberry.mutation(permission_classes=requires(POLICY),
                         description="Load a policy document (YAML or JSON); errors name the line and field. "
                                     "Different content becomes a new version of the policy of that name.")
    async def load_policy(self, info: Info, document: str,
                          # Not named `source` in Python: strawberry's permission check takes that name itself.
                          source_name: Annotated[str | None, strawberry.argument(name="source")] = None) -> PolicyLoad:
        catalog = info.context.catalog
        row, changed = await info.context.call(registry.load_text, catalog.store, catalog.governance,
                                               info.context.actor, document, source_name or "<graphql>",
                                               catalog.propagator)
        return PolicyLoad(policy=Policy.of(row), changed=changed)

    @strawberry.mutation(permission_classes=requires(POLICY),
                         description="Re-read the policy files the server was started with (CATALOG_POLICIES).")
    async def reload_policies(self, info: Info) -> list[PolicyLoad]:
        catalog = info.context.catalog
        loaded = await info.context.call(registry.load_files, catalog.store, catalog.governance, info.context.actor,
                                         catalog.settings.policies, catalog.propagator)
        return [PolicyLoad(policy=Policy.of(row), changed=changed) for row, changed in loaded]

    @strawberry.mutation(permission_classes=requires(POLICY),
                         description="Deactivate a policy; its versions stay for the audits that used them.")
    async def remove_policy(self, info: Info, name: str) -> Change:
        catalog = info.context.catalog
        return Change.of(await info.context.call(registry.remove_policy, catalog.store, catalog.governance,
                                                 info.context.actor, name, catalog.propagator))

    @strawberry.mutation(permission_classes=requires(AUDIT),
                         description="Audit every dataset now, against the active policies or the policy document "
                                     "given (used for this run only), and record the run.")
    async def run_audit(self, info: Info, policy: str | None = None) -> AuditRun:
        policies = [parse_policy(policy, "<graphql>")] if policy else None
        return AuditRun.of(await info.context.call(info.context.auditor.run, info.context.actor, policies))


async def _decide(info: Info, field_id: str, entity: str, confirm: bool, note: str | None) -> Classification:
    decided = await info.context.call(info.context.catalog.decide_classification, info.context.actor, field_id,
                                      entity, confirm, note)
    return Classification.of(decided)


@strawberry.type
class Subscription:
    @strawberry.subscription(permission_classes=requires(READ),
                             description="Runs ingested from now on, optionally for one job namespace.")
    async def lineage_events(self, info: Info,
                             namespace: str | None = None) -> AsyncGenerator[LineageEventNotice, None]:
        queue = info.context.hub.subscribe()
        try:
            while True:
                notice = await queue.get()
                if namespace is None or notice["namespace"] == namespace:
                    yield LineageEventNotice(namespace=notice["namespace"], job=notice["job"],
                                             run_id=notice.get("runId"), event_type=notice.get("eventType"),
                                             event_time=datetime_of(notice["eventTime"]))
        finally:
            info.context.hub.unsubscribe(queue)


EXPECTED_ERRORS = (lineage_service.LineageError, browse.BrowseError, stewardship.StewardshipError,
                   classifications.ClassificationError, PolicyError, registry.RegistryError,
                   audit_runs.AuditRunError, ImpactError, AuditBusy, Forbidden)


class CatalogSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # Bad arguments are the client's business: answer them, do not log them as failures.
        unexpected = [e for e in errors if not isinstance(e.original_error, EXPECTED_ERRORS)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


schema = CatalogSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[QueryCostLimiter,
                lambda: QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH),
                lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
                lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS)],
)


class EventHub:
    """Fan-out of newly ingested runs to subscribers; slow subscribers drop notices, never block ingest."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.queues: set[asyncio.Queue] = set()

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self.queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self.queues.discard(queue)

    def publish_threadsafe(self, notices: list[dict]) -> None:
        if self.queues and notices:
            self.loop.call_soon_threadsafe(self._publish, notices)

    def _publish(self, notices: list[dict]) -> None:
        for queue in list(self.queues):
            for notice in notices:
                if queue.full():
                    break
                queue.put_nowait(notice)


class CatalogGraphQL(GraphQL):
    async def render_graphql_ide(self, request) -> HTMLResponse:
        return HTMLResponse(graphiql_html())

    async def get_context(self, request, response) -> Context:
        return Context(request.app.state, request.scope["state"]["principal"])
