"""The demo catalog (`catalog serve --demo`): the bundled sample lineage, and a PII scan of the bundled
customers table, so that every page (personal data, compliance) has something to show."""

from __future__ import annotations

import asyncio
import logging

from catalog.ingest import IngestPipeline, prepare_event
from catalog.runtime import Catalog
from ingestors.files import SAMPLES, expand_paths, read_events
from policies.classifications import record_scan
from policies.sources import read_sample

log = logging.getLogger("catalog.demo")

SAMPLE_TABLE = SAMPLES / "customers.csv"
SAMPLE_DATASET = ("food_delivery", "public.customers")
SAMPLE_ROWS = 1000


def scan_sample_table(catalog: Catalog) -> dict:
    """Scan the sample customers table and record it on its dataset, as `catalog scan` would."""
    # Imported here: Presidio and spaCy take about a second to import, and a server without --demo never scans.
    from policies.classify import scan

    result = scan(read_sample(str(SAMPLE_TABLE), SAMPLE_ROWS)).to_dict()
    record_scan(catalog.store, catalog.governance, "system:demo", *SAMPLE_DATASET, result)
    catalog.propagator.run()
    return result


async def load_demo(catalog: Catalog, pipeline: IngestPipeline) -> None:
    events = [prepare_event(item.event) for path in expand_paths([SAMPLES]) for item in read_events(path)]
    await pipeline.submit(events)
    await pipeline.drained(60)  # with --acknowledge log, the scan's dataset may not be in the graph yet
    result = await asyncio.to_thread(scan_sample_table, catalog)
    log.info("loaded the demo", extra={"events": len(events), "columns_with_personal_data":
                                       sum(1 for c in result["columns"] if c["findings"])})
