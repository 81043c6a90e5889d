"""The OpenLineage events of an anonymization run, sent with the openlineage-python client.

The run reports itself like any pipeline step: START before it reads, COMPLETE (or FAIL)
after, with the input and output datasets, the output schema and a columnLineage facet in
which every anonymized column is a DIRECT transformation with ``masking: true`` and a
subtype (HASHED, MASKED, TOKENIZED, ...). The catalog then draws the step in the lineage
and classification propagation stops at those columns; columns kept as is are IDENTITY and
carry their classifications on.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import attr
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    RunFacet,
    column_lineage_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    schema_dataset,
)
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from policies.anonymize import Plan
from policies.operators import SUBTYPES, describe

PRODUCER = "https://github.com/lineage-catalog/lineage-catalog/blob/main/policies/anonymize.py"
FACET_SCHEMA = "https://lineage-catalog.dev/spec/facets/1-0-0/AnonymizationRunFacet.json"


@attr.define
class AnonymizationRunFacet(RunFacet):
    """Which policy version anonymized what: operator per column, and the k-anonymity checks."""
    policy: str
    version: str
    rules: list[str]
    columns: dict
    kAnonymity: list | None = None  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return FACET_SCHEMA


def _column_lineage(plan: Plan, source: tuple[str, str],
                    columns: list[str]) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    ns, name = source
    planned = {c.column: c for c in plan.columns}
    fields = {}
    for column in columns:
        c = planned.get(column)
        if c is None or c.operator is None:
            steps = [column_lineage_dataset.Transformation(type="DIRECT", subtype="IDENTITY", masking=False)]
        else:
            steps = [column_lineage_dataset.Transformation(
                type="DIRECT", subtype=SUBTYPES[c.operator.operator], masking=True,
                description=f"{c.operator.operator} ({describe(c.operator)}), policy {plan.policy.name} "
                            f"rule {c.rule}")]
        inputs = [column_lineage_dataset.InputField(namespace=ns, name=name, field=column, transformations=steps)]
        by = getattr(c.operator, "by", None) if c else None
        if by:
            inputs.append(column_lineage_dataset.InputField(
                namespace=ns, name=name, field=by,
                transformations=[column_lineage_dataset.Transformation(type="INDIRECT", subtype="TRANSFORMATION",
                                                                       description="picks the date shift")]))
        fields[column] = column_lineage_dataset.Fields(inputFields=inputs)
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields)


class RunReporter:
    """START / COMPLETE / FAIL of one anonymization run, to a catalog (or any OpenLineage endpoint)."""

    def __init__(self, url: str, api_key: str | None, plan: Plan, source: tuple[str, str], target: tuple[str, str],
                 columns: list[str], job: tuple[str, str], timeout: float = 10.0):
        config = HttpConfig(url=url, timeout=timeout, retry={"total": 2, "backoff_factor": 0.2})
        if api_key:
            config.auth = ApiKeyTokenProvider({"api_key": api_key})
        self.client = OpenLineageClient(transport=HttpTransport(config))
        self.plan, self.source, self.target, self.columns, self.job = plan, source, target, columns, job
        self.run_id = str(uuid.uuid4())

    def event(self, state: RunState, result: dict | None = None, error: str | None = None) -> RunEvent:
        run_facets = {"anonymization": AnonymizationRunFacet(
            policy=self.plan.policy.name, version=self.plan.policy.version,
            rules=[rule.name for rule, _ in self.plan.rules],
            columns={c.column: {"operator": c.operator.operator, "rule": c.rule, "entity": c.entity}
                     for c in self.plan.columns if c.operator is not None},
            kAnonymity=result["kAnonymity"] if result else None, producer=PRODUCER)}
        if error:
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=error, programmingLanguage="python", producer=PRODUCER)
        output_facets = {
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[schema_dataset.SchemaDatasetFacetFields(name=c) for c in self.columns], producer=PRODUCER),
            "columnLineage": _column_lineage(self.plan, self.source, self.columns),
        }
        output_io = {}
        if result:
            output_io["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=result["rows"], producer=PRODUCER)
        return RunEvent(
            eventType=state, eventTime=datetime.now(UTC).isoformat(), producer=PRODUCER,
            run=Run(runId=self.run_id, facets=run_facets),
            job=Job(namespace=self.job[0], name=self.job[1], facets={"jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="LINEAGE_CATALOG", jobType="ANONYMIZATION", producer=PRODUCER)}),
            inputs=[InputDataset(namespace=self.source[0], name=self.source[1])],
            outputs=[OutputDataset(namespace=self.target[0], name=self.target[1], facets=output_facets,
                                   outputFacets=output_io or None)],
        )

    def start(self) -> None:
        self.client.emit(self.event(RunState.START))

    def complete(self, result: dict) -> None:
        self.client.emit(self.event(RunState.COMPLETE, result=result))

    def fail(self, error: str) -> None:
        self.client.emit(self.event(RunState.FAIL, error=error))
