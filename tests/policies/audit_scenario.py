"""The audit scenario: the Marquez seed lineage plus governance attributes, one seeded violation per
audit rule and, for each, a compliant look-alike. Shared by the audit, report and HTTP tests.

The seed's runs wrote in February 2020; the audit runs at ``NOW``, 100 days later.

Per rule, the violation, then the compliant look-alike(s):

* lawful-basis: discounts (customer_email propagated, no basis) / top_delivery_times (same data,
  basis contract); datasets without personal data need none.
* special-category-condition: orders.comment HEALTH without an Art. 9 condition /
  dietary_requirements (HEALTH, explicit_consent).
* retention-exceeded: customers (30 days, written 100 days ago) / dietary_requirements (30 days,
  but overwritten 5 days ago), delivery_7_days (365 days).
* accountability: delivery_7_days has no owner / every other personal dataset has one;
  orders_7_days has none but holds no personal data.
* unanonymized-flow: top_delivery_times.customer_email / popular_orders_day_of_week (required too,
  reads customers, holds no personal data).
* transfer-outside-allowed: delivery_7_days in the US / customers in DE (EU), top_delivery_times
  in NO (EEA), discounts in IE.
* transfer-unverifiable: dietary_requirements has no location / every other personal dataset has one.
* never-scanned: categories / every other dataset was scanned.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

from catalog import stewardship
from catalog.govlog import GovernanceLog
from catalog.store import reads
from policies import classifications
from policies.policy_files import parse_policy
from policies.propagate import Propagator
from tests.policies.conftest import SEED, customers_scan, f, load

DAY = 86_400_000
WRITTEN = 1582411362000  # the seed's eventTime, 2020-02-22T22:42:42Z
NOW = WRITTEN + 100 * DAY
POLICY = """
name: audit-scenario
rules:
  - name: personal-data
    applies_to:
      datasets: ["food_delivery/*"]
      classifications: [contact, identity, location, health]
    retention_days: 1095
    allowed_locations: [EU, EEA]
  - name: analytics
    applies_to:
      datasets: ["food_delivery/public.top_delivery_times", "food_delivery/public.popular_orders_day_of_week"]
    require_anonymized: true
"""
EXPECTED = {
    ("lawful-basis", "dataset:food_delivery:public.discounts", None),
    ("special-category-condition", "dataset:food_delivery:public.orders", None),
    ("retention-exceeded", "dataset:food_delivery:public.customers", None),
    ("accountability", "dataset:food_delivery:public.delivery_7_days", None),
    ("unanonymized-flow", "dataset:food_delivery:public.top_delivery_times", f("public.top_delivery_times",
                                                                               "customer_email")),
    ("transfer-outside-allowed", "dataset:food_delivery:public.delivery_7_days", None),
    ("transfer-unverifiable", "dataset:food_delivery:dietary_requirements", None),
    ("never-scanned", "dataset:food_delivery:public.categories", None),
}
PRODUCER = "https://github.com/MarquezProject/marquez/blob/main/docker/metadata.json"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def dietary_events(seed: list[dict]) -> list[dict]:
    """Two runs of a job derived from the seed's etl_orders: an append in February, an OVERWRITE 5 days ago."""
    base = next(e for e in seed if e["job"]["name"] == "etl_orders")
    events = []
    for n, (at, lifecycle) in enumerate(((WRITTEN, None), (NOW - 5 * DAY, "OVERWRITE"))):
        event = copy.deepcopy(base)
        event.update(eventType="COMPLETE", eventTime=_iso(at))
        event["run"] = {"runId": f"00000000-0000-4000-8000-00000000000{n}", "facets": {}}
        event["job"]["name"] = "etl_dietary_requirements"
        output = event["outputs"][0]
        output["name"] = "dietary_requirements"
        output["facets"]["schema"]["fields"] = [
            {"name": "id", "type": "INTEGER"}, {"name": "customer_id", "type": "INTEGER"},
            {"name": "requirement", "type": "TEXT", "description": "Allergies and dietary needs, as told by the "
                                                                  "customer."}]
        if lifecycle:
            output["facets"]["lifecycleStateChange"] = {
                "_producer": PRODUCER, "lifecycleStateChange": lifecycle,
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/LifecycleStateChangeDatasetFacet.json"}
        events.append(event)
    return events


def _empty_scan(columns: list[str]) -> dict:
    return {"source": "scenario", "rows": 50, "columns": [
        {"column": c, "sampled": 50, "note": None, "findings": []} for c in columns]}


def build(store, tmp_path) -> tuple[GovernanceLog, object]:
    """Load the scenario into ``store``; returns its governance log and policy."""
    seed = json.loads(SEED.read_text())
    load(store, seed + dietary_events(seed))
    log = GovernanceLog(tmp_path / "governance.sqlite3")
    actor = "scenario"
    for key in sorted(reads.nodes(store, "Dataset", [r["k"] for r in store.query(
            "MATCH (d:Dataset) RETURN d.key AS k")])):
        props = reads.nodes(store, "Dataset", [key])[key]
        if props["name"] == "public.categories":
            continue  # never scanned
        columns = [field["name"] for field in reads.fields_of(store, [key])[key]]
        scan = customers_scan() if props["name"] == "public.customers" else _empty_scan(columns)
        classifications.record_scan(store, log, actor, props["namespace"], props["name"], scan)
    classifications.decide(store, log, actor, f("public.orders", "comment"), "HEALTH", True, "allergy notes")
    classifications.decide(store, log, actor, "datasetField:food_delivery:dietary_requirements:requirement",
                           "HEALTH", True, None)
    Propagator(store).run()

    def gov(name: str, **attrs) -> None:
        stewardship.set_governance(store, log, actor, f"dataset:food_delivery:{name}", attrs)

    def owner(name: str) -> None:
        stewardship.add_owner(store, log, actor, f"dataset:food_delivery:{name}", "team:customer-data")

    gov("public.customers", legalBasis="contract", retentionDays=30, storageCountry="DE")
    gov("public.delivery_7_days", legalBasis="contract", retentionDays=365, storageCountry="US")
    gov("public.discounts", retentionDays=365, storageCountry="IE", storageLocation="eu-west-1")
    gov("public.top_delivery_times", legalBasis="contract", storageCountry="NO")
    gov("public.orders", legalBasis="contract", storageCountry="FR")
    gov("dietary_requirements", legalBasis="consent", specialCategoryCondition="explicit_consent",
        retentionDays=30)
    for name in ("public.customers", "public.discounts", "public.top_delivery_times", "public.orders",
                 "dietary_requirements"):
        owner(name)
    return log, parse_policy(POLICY, "audit-scenario.yaml")


def triples(findings) -> set[tuple]:
    return {(x["rule"], x["dataset"], x["field"]) if isinstance(x, dict) else (x.rule, x.dataset, x.field)
            for x in findings}
