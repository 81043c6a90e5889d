"""The GraphQL API (strawberry) at /graphql: its root types (Query, Mutation, Subscription) and the schema
with its limits. The types they return are in catalog.api.graphql_types; the request context, the
subscription fan-out and the ASGI view in catalog.api.graphql_context.

Resolvers are thin: they call the plain functions in catalog.browse, catalog.lineage,
catalog.stewardship and catalog.store.reads in a worker thread (the store is blocking),
and batch per-request lookups through DataLoaders against N+1.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from catalog import browse, stewardship
from catalog import lineage as lineage_service
from catalog.api.audit_types import AuditRun, ErasureImpact, Finding, FindingStatus, Severity
from catalog.api.graphql_auth import Forbidden, requires
from catalog.api.graphql_completion import CompilingExecutionContext
from catalog.api.graphql_cost import QueryCostLimiter
from catalog.api.graphql_documents import CachedDocuments
from catalog.api.graphql_types import (
    Change,
    Classification,
    Dataset,
    DatasetConnection,
    FindingConnection,
    GovernanceInput,
    Job,
    JobConnection,
    LineageDirection,
    LineageEventNotice,
    LineageGraph,
    NodeType,
    PageInfo,
    PersonalDataset,
    Run,
    SearchHit,
    lineage_graph,
    selects,
    snake,
)
from catalog.api.policy_types import AnonymizationPlan, Policy, PolicyLoad
from catalog.api.times import datetime_of
from catalog.auditing import AuditBusy
from catalog.keys import AUDIT, COMPLIANCE, POLICY, READ, STEWARD
from catalog.store import reads
from policies import audit_runs, classifications, registry
from policies.impact import ImpactError, erasure_impact
from policies.policy_files import PolicyError, parse_policy
from policies.register import processing_register


@strawberry.type
class Query:
    @strawberry.field(permission_classes=requires(READ), description="A dataset by namespace and name.")
    async def dataset(self, info: Info, namespace: str, name: str) -> Dataset | None:
        return await info.context.dataset(f"dataset:{namespace}:{name}")

    @strawberry.field(permission_classes=requires(READ),
                      description="Datasets, filtered and paged (keyset cursors). `search`: words starting words "
                                  "of names and descriptions (the full-text index); `personalData`: with a field "
                                  "classified as personal data; `specialCategories`: with Art. 9 data.")
    async def datasets(self, info: Info, namespace: str | None = None, search: str | None = None,
                       tag: str | None = None, owner: str | None = None, personal_data: bool = False,
                       special_categories: bool = False, first: int = 50,
                       after: str | None = None) -> DatasetConnection:
        page = await info.context.call(browse.datasets, info.context.catalog.store, namespace=namespace,
                                       search=search, tag=tag, owner=owner, personal=personal_data,
                                       special=special_categories, first=first, after=after)
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
        store = info.context.catalog.store
        result = await store.arun(lineage_service.lineage_plan(
            store, node_id, direction.value, depth, max_depth=settings.max_lineage_depth,
            max_nodes=settings.max_lineage_nodes, as_of=int(as_of.timestamp() * 1000) if as_of else None,
            first=first, after=after, count_all=selects(info.selected_fields, "totalReachable")))
        return lineage_graph(result)

    @strawberry.field(permission_classes=requires(READ),
                      description="Field-level lineage from a datasetField:<ns>:<name>:<field> node.")
    async def column_lineage(self, info: Info, node_id: str,
                             direction: LineageDirection = LineageDirection.BOTH, depth: int = 3) -> LineageGraph:
        settings = info.context.settings
        result = await info.context.call(
            lineage_service.column_lineage, info.context.catalog.store, node_id, direction.value, depth,
            max_depth=settings.max_lineage_depth, max_nodes=settings.max_lineage_nodes)
        return lineage_graph(result)

    @strawberry.field(permission_classes=requires(READ),
                      description="Everything downstream of a node, to the depth limit, with owners.")
    async def impact(self, info: Info, node_id: str) -> LineageGraph:
        settings = info.context.settings
        result = await info.context.call(
            lineage_service.lineage_page, info.context.catalog.store, node_id, "DOWNSTREAM",
            settings.max_lineage_depth, max_depth=settings.max_lineage_depth,
            max_nodes=settings.max_lineage_nodes, first=settings.max_lineage_nodes)
        return lineage_graph(result)

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
        attrs = {name: getattr(attributes, snake(name)) for name in stewardship.GOVERNANCE_FIELDS
                 if getattr(attributes, snake(name)) is not strawberry.UNSET}
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
    # Documents are parsed and validated once per text, with the token, depth and alias limits; the cost
    # limit depends on the variables and runs on every request.
    extensions=[CachedDocuments, QueryCostLimiter],
    # Plain subtrees of a result (attributes, no resolvers) are completed by functions compiled per document.
    execution_context_class=CompilingExecutionContext,
)
