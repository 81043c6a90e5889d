"""OpenLineage events built with the openlineage-python client's typed models, for propagation tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.serde import Serde

NS = "food_delivery"
PRODUCER = "https://github.com/lineage-catalog/tests"


def column_step(job: str, source: str, target: str, fields: dict[str, tuple[str, list[dict]]]) -> RunEvent:
    """A COMPLETE run of ``job`` reading ``source`` and writing ``target``.

    ``fields``: target field -> (source field, transformations as dicts of Transformation's arguments).
    """
    facet = cl.ColumnLineageDatasetFacet(fields={
        out: cl.Fields(inputFields=[cl.InputField(namespace=NS, name=source, field=src,
                                                  transformations=[cl.Transformation(**t) for t in steps])])
        for out, (src, steps) in fields.items()})
    return RunEvent(
        eventType=RunState.COMPLETE, eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=str(uuid.uuid4())), job=Job(namespace=NS, name=job), producer=PRODUCER,
        inputs=[InputDataset(namespace=NS, name=source)],
        outputs=[OutputDataset(namespace=NS, name=target, facets={"columnLineage": facet})],
    )


def as_dict(event: RunEvent) -> dict:
    return Serde.to_dict(event)


IDENTITY = [{"type": "DIRECT", "subtype": "IDENTITY"}]
HASHED = [{"type": "DIRECT", "subtype": "TRANSFORMATION", "description": "sha256(email)", "masking": True}]
FILTER = [{"type": "INDIRECT", "subtype": "FILTER"}]


def downstream_of_top_delivery_times() -> list[RunEvent]:
    """An identity copy, a hashing step, a copy after the hash, and a filter-only use of the email."""
    return [
        column_step("copy_audience", "public.top_delivery_times", "public.audience_copy",
                    {"customer_email": ("customer_email", IDENTITY)}),
        column_step("hash_emails", "public.top_delivery_times", "public.marketing_audience",
                    {"email_hash": ("customer_email", HASHED)}),
        column_step("export_audience", "public.marketing_audience", "public.audience_export",
                    {"email_hash": ("email_hash", IDENTITY)}),
        column_step("count_by_email", "public.top_delivery_times", "public.email_counts",
                    {"orders": ("customer_email", FILTER)}),
    ]
