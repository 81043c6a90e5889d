"""Classifications on the real Marquez seed lineage, propagated along column lineage, on a live engine."""

import json

import pytest

from catalog import changes
from policies import classifications
from policies.propagate import Propagator
from tests.policies.conftest import SEED, classified, customers_scan, f, load
from tests.policies.lineage_events import IDENTITY, as_dict, column_step, downstream_of_top_delivery_times

def test_email_flows_to_identity_derived_columns(seeded):
    store, _, _ = seeded
    emails = classified(store, "EMAIL_ADDRESS")
    assert emails[f("public.customers", "email")]["origin"] == "scan"
    propagated = {k: v for k, v in emails.items() if v["origin"] == "propagated"}
    assert set(propagated) == {f("public.delivery_7_days", "customer_email"), f("public.discounts", "customer_email"),
                               f("public.top_delivery_times", "customer_email")}
    path = json.loads(propagated[f("public.discounts", "customer_email")]["path"])
    assert path == [f("public.customers", "email"), f("public.delivery_7_days", "customer_email"),
                    f("public.discounts", "customer_email")]
    assert all(c["source"] == classifications.classification_key(f("public.customers", "email"), "EMAIL_ADDRESS")
               for c in propagated.values())
    # The address (a location, from its name) flows too; the flag column gave nothing.
    assert f("public.delivery_7_days", "customer_address") in classified(store, "LOCATION", "propagated")
    assert not classifications.of_fields(store, [f("public.customers", "email_verified")])[
        f("public.customers", "email_verified")]


def test_propagation_stops_at_hashing_and_indirect_steps(seeded):
    store, _, propagator = seeded
    load(store, [as_dict(e) for e in downstream_of_top_delivery_times()])
    propagator.run()
    emails = classified(store, "EMAIL_ADDRESS")
    copy = emails[f("public.audience_copy", "customer_email")]
    assert copy["depth"] == 3 and json.loads(copy["path"])[-2] == f("public.top_delivery_times", "customer_email")
    assert f("public.marketing_audience", "email_hash") not in emails
    assert f("public.audience_export", "email_hash") not in emails
    assert f("public.email_counts", "orders") not in emails


def test_a_job_declared_anonymizing_stops_propagation(seeded):
    store, _, _ = seeded
    load(store, [as_dict(e) for e in downstream_of_top_delivery_times()])
    Propagator(store, ("job:food_delivery:copy_*",)).run()
    assert f("public.audience_copy", "customer_email") not in classified(store, "EMAIL_ADDRESS")
    assert f("public.discounts", "customer_email") in classified(store, "EMAIL_ADDRESS")


def test_steward_rejection_blocks_and_confirmation_carries(seeded):
    store, log, propagator = seeded
    middle = f("public.delivery_7_days", "customer_email")
    classifications.decide(store, log, "steward:ana", middle, "EMAIL_ADDRESS", confirm=False, note="salted hash")
    propagator.run()
    emails = classified(store, "EMAIL_ADDRESS")
    assert emails[middle]["state"] == "rejected" and emails[middle]["decidedBy"] == "steward:ana"
    assert f("public.discounts", "customer_email") not in emails
    classifications.decide(store, log, "steward:ana", middle, "EMAIL_ADDRESS", confirm=True)
    propagator.run()
    emails = classified(store, "EMAIL_ADDRESS")
    assert emails[middle]["state"] == "confirmed" and emails[middle]["origin"] == "steward"
    assert emails[f("public.discounts", "customer_email")]["state"] == "confirmed"
    assert json.loads(emails[f("public.discounts", "customer_email")]["path"])[0] == middle


def test_rescans_reevaluate_suggestions_but_never_decisions(seeded):
    store, log, propagator = seeded
    source = f("public.customers", "email")
    classifications.decide(store, log, "steward:bo", f("public.customers", "address"), "LOCATION", confirm=True)
    empty = customers_scan()
    for column in empty["columns"]:
        column["findings"] = []
    classifications.record_scan(store, log, "test", "food_delivery", "public.customers", empty)
    propagator.run()
    assert source not in classified(store, "EMAIL_ADDRESS")
    assert classified(store, "EMAIL_ADDRESS", "propagated") == {}
    assert classified(store, "LOCATION")[f("public.customers", "address")]["state"] == "confirmed"
    assert f("public.delivery_7_days", "customer_address") in classified(store, "LOCATION", "propagated")


def test_lineage_changes_are_picked_up(seeded):
    store, _, propagator = seeded
    load(store, [as_dict(column_step("late_copy", "public.discounts", "public.discounts_archive",
                                     {"customer_email": ("customer_email", IDENTITY)}))])
    stats = propagator.run()
    assert stats["added_or_changed"] >= 1 and stats["removed"] == 0
    assert f("public.discounts_archive", "customer_email") in classified(store, "EMAIL_ADDRESS", "propagated")
    assert propagator.run() == {"propagated": stats["propagated"], "added_or_changed": 0, "removed": 0}


def test_replaying_the_governance_log_restores_classifications(seeded):
    store, log, propagator = seeded
    classifications.decide(store, log, "steward:ana", f("public.customers", "id"), "US_SSN", confirm=False)
    before = sorted(json.dumps(c, sort_keys=True) for r in store.query("MATCH (c:Classification) RETURN c {.*} AS c")
                    for c in [r["c"]])
    store.clear()
    store.ensure_schema()
    load(store, json.loads(SEED.read_text()))
    assert changes.replay(store, log, propagator) == 2
    after = sorted(json.dumps(c, sort_keys=True) for r in store.query("MATCH (c:Classification) RETURN c {.*} AS c")
                   for c in [r["c"]])
    assert after == before


def test_bad_decisions_are_refused(seeded):
    store, log, _ = seeded
    with pytest.raises(classifications.ClassificationError, match="unknown entity type"):
        classifications.decide(store, log, "x", f("public.customers", "email"), "SHOE_SIZE", True)
    with pytest.raises(classifications.ClassificationError, match="no field"):
        classifications.decide(store, log, "x", f("public.customers", "nope"), "EMAIL_ADDRESS", True)
    with pytest.raises(classifications.ClassificationError, match="no dataset"):
        classifications.record_scan(store, log, "x", "food_delivery", "public.nope", customers_scan())
