"""Policies in the graph: versions, replay after a rebuild, anonymizing jobs, applicable rules and
the dry run, on the real seed lineage and a live engine."""

import pytest

from catalog import changes, stewardship
from policies import registry
from policies.policy_files import parse_policy
from tests.policies.conftest import classified, f

POLICY = """\
name: shop
secrets: {k: {env: SHOP_KEY}}
anonymizing_jobs: ANONYMIZING
rules:
  - name: customer-data
    applies_to:
      datasets: ["food_delivery/public.*"]
      classifications: [contact]
    entities:
      EMAIL_ADDRESS: {operator: hash, key: k}
    columns:
      address: {operator: redact}
  - name: tagged-gold
    applies_to: {tags: [gold]}
    require_anonymized: true
"""


def policy(anonymizing: str = "[]"):
    return parse_policy(POLICY.replace("ANONYMIZING", anonymizing))


def test_versions_are_recorded_once_per_content_and_replayed_after_a_rebuild(seeded):
    store, log, propagator = seeded
    first = registry.record_policy(store, log, "alice", policy(), "shop.yaml")
    assert first["action"] == registry.LOAD and first["actor"] == "alice"
    assert registry.record_policy(store, log, "alice", policy(), "shop.yaml") is None  # same content
    second = registry.record_policy(store, log, "bob", policy('["job:x:*"]'), "shop.yaml")
    [row] = registry.policy_rows(store)
    assert row["p"]["version"] == second["detail"]["version"] != first["detail"]["version"]
    assert [v["v"]["loadedBy"] for v in registry.versions_of(store, "shop")] == ["bob", "alice"]
    registry.remove_policy(store, log, "carol", "shop")
    assert registry.policy_rows(store) == [] and registry.policy_rows(store, include_removed=True)
    with pytest.raises(registry.RegistryError, match="no active policy named 'shop'"):
        registry.remove_policy(store, log, "carol", "shop")
    registry.record_policy(store, log, "dave", policy('["job:x:*"]'), "shop.yaml")
    store.query("MATCH (n) WHERE n:Policy OR n:PolicyVersion DETACH DELETE n")
    changes.replay(store, log, propagator)
    [row] = registry.policy_rows(store)
    assert (row["p"]["loadedBy"], row["p"]["version"]) == ("dave", second["detail"]["version"])
    assert len(registry.versions_of(store, "shop")) == 2


def test_jobs_a_policy_declares_anonymizing_stop_propagation(seeded):
    store, log, propagator = seeded
    downstream = f("public.delivery_7_days", "customer_email")
    assert classified(store, "EMAIL_ADDRESS", "propagated").get(downstream)
    registry.record_policy(store, log, "alice", policy('["job:food_delivery:etl_delivery_7_days"]'), "shop.yaml")
    propagator.run()
    assert downstream not in classified(store, "EMAIL_ADDRESS", "propagated")
    registry.remove_policy(store, log, "alice", "shop")
    propagator.run()
    assert downstream in classified(store, "EMAIL_ADDRESS", "propagated")


def test_applicable_rules_say_why_and_the_dry_run_plans_each_column(seeded):
    store, log, _ = seeded
    registry.record_policy(store, log, "alice", policy(), "shop.yaml")
    customers = "dataset:food_delivery:public.customers"
    [(found, rule, why)] = registry.applicable(store, customers)
    assert (found.name, rule) == ("shop", "customer-data")
    assert why == ["dataset food_delivery/public.customers matches 'food_delivery/public.*'", "classified contact"]
    assert registry.applicable(store, "dataset:food_delivery:public.orders") == []  # no contact data there
    [plan] = registry.plans(store, customers)
    columns = {c.column: c for c in plan.columns}
    assert columns["email"].operator.operator == "hash" and columns["email"].reason.startswith("classified EMAIL")
    assert columns["address"].operator.operator == "redact"
    assert columns["address"].reason == "column rule in 'customer-data'"
    assert columns["id"].operator is None
    with pytest.raises(registry.RegistryError, match="no dataset"):
        registry.plans(store, "dataset:food_delivery:nope")
    with pytest.raises(registry.RegistryError, match="no active policy named 'other'"):
        registry.plans(store, customers, "other")


def test_location_selectors_match_the_location_a_steward_set(seeded):
    store, log, _ = seeded
    located = parse_policy("name: eu\nrules:\n  - name: in-germany\n    applies_to: {locations: [DE, 'eu-*']}\n")
    registry.record_policy(store, log, "alice", located, "eu.yaml")
    customers = "dataset:food_delivery:public.customers"
    assert registry.applicable(store, customers) == []
    stewardship.set_governance(store, log, "alice", customers, {"storageCountry": "DE"})
    [(_, rule, why)] = registry.applicable(store, customers)
    assert (rule, why) == ("in-germany", ["stored in DE"])
