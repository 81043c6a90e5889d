"""Fixtures for the policy engine: the real Marquez seed lineage with a customers scan, on a live engine."""

import json

import pytest

from catalog.govlog import GovernanceLog
from ingestors.openlineage import map_event
from policies import classifications
from policies.classify import scan
from policies.propagate import Propagator
from policies.sources import Sample
from tests.conftest import VALID_DIR

SEED = VALID_DIR / "marquez-seed" / "metadata.json"


def f(dataset: str, field: str) -> str:
    return f"datasetField:food_delivery:{dataset}:{field}"


def load(store, events: list[dict]) -> None:
    writes = None
    for i, event in enumerate(events):
        writes = map_event(event, f"digest-{i}-{event['run']['runId']}", writes)
    store.apply(writes)


def customers_scan() -> dict:
    sample = Sample("customers.csv", {
        "id": [str(i) for i in range(50)],
        "email": [f"customer{i}@example.com" for i in range(50)],
        "address": [f"{i} Main Street" for i in range(50)],
        "email_verified": ["0", "1"] * 25,
    })
    return scan(sample).to_dict()


def classified(store, entity: str, origin: str | None = None) -> dict[str, dict]:
    rows = store.query("MATCH (c:Classification {entity: $e}) RETURN c {.*} AS c", {"e": entity})
    return {r["c"]["field"]: r["c"] for r in rows if origin is None or r["c"]["origin"] == origin}


@pytest.fixture
def seeded(store, tmp_path):
    load(store, json.loads(SEED.read_text()))
    log = GovernanceLog(tmp_path / "governance.sqlite3")
    propagator = Propagator(store)
    classifications.record_scan(store, log, "test", "food_delivery", "public.customers", customers_scan())
    propagator.run()
    yield store, log, propagator
    log.close()


