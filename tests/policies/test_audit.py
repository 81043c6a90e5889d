"""Audits over the live engine: the seeded scenario gives exactly its seeded findings, with evidence;
runs are recorded, compared with the previous one, and replayed after a rebuild."""

import pytest

from catalog import stewardship
from catalog.changes import replay
from policies import audit_runs
from policies.audit import RULES, SEVERITIES, audit, severity_rank
from tests.policies.audit_scenario import EXPECTED, NOW, build, triples
from tests.policies.conftest import f


@pytest.fixture
def scenario(store, tmp_path):
    log, policy = build(store, tmp_path)
    yield store, log, policy
    log.close()


def test_the_scenario_gives_exactly_the_seeded_findings(scenario):
    store, _, policy = scenario
    result = audit(store, [policy], now=NOW)
    assert triples(result.findings) == EXPECTED
    assert {rule for rule, _, _ in EXPECTED} == set(RULES), "one seeded violation per rule"
    assert result.policies == [{"name": "audit-scenario", "version": policy.version}]
    assert result.datasets == store.query("MATCH (d:Dataset) RETURN count(d) AS n")[0]["n"]


def test_findings_carry_article_severity_evidence_and_remediation(scenario):
    store, _, policy = scenario
    found = {x.rule: x for x in audit(store, [policy], now=NOW).findings}
    for rule_id, finding in found.items():
        assert finding.article == RULES[rule_id].article and finding.severity == RULES[rule_id].severity
        assert finding.remediation and finding.message

    flow = found["unanonymized-flow"]
    assert [step["dataset"] for step in flow.evidence["lineagePath"]] == [
        "dataset:food_delivery:public.customers", "dataset:food_delivery:public.delivery_7_days",
        "dataset:food_delivery:public.top_delivery_times"]
    assert [step["job"] for step in flow.evidence["lineagePath"]] == [
        None, "job:food_delivery:etl_delivery_7_days", "job:food_delivery:delivery_times_7_days"]
    assert "policy audit-scenario rule analytics" in flow.message

    retention = found["retention-exceeded"].evidence
    assert (retention["ageDays"], retention["retentionDays"]) == (100, 30)
    assert retention["retentionSource"] == "dataset retentionDays"  # stricter than the policy's 1095
    assert retention["oldestWrite"]["job"] == "job:food_delivery:etl_customers"

    transfer = found["transfer-outside-allowed"]
    assert transfer.evidence["locations"] == ["US"] and transfer.evidence["allowed"] == ["EU", "EEA"]
    # The personal data reached the US dataset by lineage from customers: the path says how.
    assert transfer.evidence["lineagePath"][0]["dataset"] == "dataset:food_delivery:public.customers"

    special = found["special-category-condition"].evidence["personalData"]
    assert [(p["entity"], p["origin"]) for p in special] == [("HEALTH", "steward")]
    assert "EMAIL_ADDRESS in customer_email" in found["lawful-basis"].message


def test_fixing_a_violation_clears_exactly_its_finding(scenario):
    store, log, policy = scenario
    stewardship.set_governance(store, log, "t", "dataset:food_delivery:public.delivery_7_days",
                               {"storageCountry": "NL"})
    assert triples(audit(store, [policy], now=NOW).findings) == EXPECTED - {
        ("transfer-outside-allowed", "dataset:food_delivery:public.delivery_7_days", None)}


def test_retention_is_measured_at_the_given_time(scenario):
    store, _, policy = scenario
    early = audit(store, [policy], now=NOW - 80 * 86_400_000).findings  # 20 days after the writes
    assert "retention-exceeded" not in {x.rule for x in early}


def test_without_policies_only_the_policy_free_rules_report(scenario):
    store, _, _ = scenario
    rules = {x.rule for x in audit(store, [], now=NOW).findings}
    assert rules == {"lawful-basis", "special-category-condition", "retention-exceeded", "accountability",
                     "never-scanned"}


def test_a_dropped_dataset_is_not_audited(scenario):
    store, _, policy = scenario
    store.query("MATCH (d:Dataset {key: 'dataset:food_delivery:public.categories'}) SET d.lifecycleState = 'DROP'")
    assert ("never-scanned", "dataset:food_delivery:public.categories", None) not in triples(
        audit(store, [policy], now=NOW).findings)


def test_progress_reports_reading_and_checking(scenario):
    store, _, policy = scenario
    seen = []
    result = audit(store, [policy], now=NOW, progress=lambda phase, done, total: seen.append((phase, done, total)))
    assert seen[-1] == ("checking", result.datasets, result.datasets)
    assert ("reading", result.datasets, result.datasets) in seen


def test_runs_are_stored_and_compared_with_the_previous_run(scenario):
    store, log, policy = scenario
    first = audit_runs.record_run(store, log, "officer", audit(store, [policy], now=NOW))
    assert first["new"] == len(EXPECTED) and first["unchanged"] == first["resolved"] == 0
    assert first["summary"]["bySeverity"]["critical"] == 1 and first["policies"][0]["name"] == "audit-scenario"

    # Fix one violation, create another.
    stewardship.set_governance(store, log, "t", "dataset:food_delivery:public.discounts", {"legalBasis": "contract"})
    stewardship.remove_owner(store, log, "t", "dataset:food_delivery:public.customers", "team:customer-data")
    second = audit_runs.record_run(store, log, "officer", audit(store, [policy], now=NOW))
    assert second["previous"] == first["id"]
    assert (second["new"], second["resolved"], second["unchanged"]) == (1, 1, len(EXPECTED) - 1)
    by_status = {s: triples(audit_runs.findings(store, second["id"], status=s)) for s in audit_runs.STATUSES}
    assert by_status["new"] == {("accountability", "dataset:food_delivery:public.customers", None)}
    assert by_status["resolved"] == {("lawful-basis", "dataset:food_delivery:public.discounts", None)}
    assert second["open"] == len(EXPECTED)
    assert [r["id"] for r in audit_runs.runs(store)] == [second["id"], first["id"]]

    # A third run after the first fix compares with the second, not the first: nothing resolved again.
    third = audit_runs.record_run(store, log, "officer", audit(store, [policy], now=NOW))
    assert (third["new"], third["resolved"]) == (0, 0)


def test_findings_are_ordered_filtered_and_paged(scenario):
    store, log, policy = scenario
    run = audit_runs.record_run(store, log, "officer", audit(store, [policy], now=NOW))
    every = audit_runs.findings(store, run["id"])
    ranks = [severity_rank(x["severity"]) for x in every]
    assert ranks == sorted(ranks, reverse=True) and every[0]["rule"] == "special-category-condition"
    assert {x["severity"] for x in audit_runs.findings(store, run["id"], min_severity="high")} <= {"high", "critical"}
    assert triples(audit_runs.findings(store, run["id"], rule="unanonymized-flow")) == {
        ("unanonymized-flow", "dataset:food_delivery:public.top_delivery_times",
         f("public.top_delivery_times", "customer_email"))}
    pages, after = [], None
    while page := audit_runs.findings(store, run["id"], first=3, after=after):
        pages.append(page)
        after = page[-1]["index"]
    assert [x["fingerprint"] for p in pages for x in p] == [x["fingerprint"] for x in every]
    assert len(pages) == 3
    with pytest.raises(audit_runs.AuditRunError, match="severity must be one of"):
        audit_runs.findings(store, run["id"], min_severity="urgent")
    assert SEVERITIES[-1] == "critical"


def test_runs_replay_after_a_rebuild(scenario):
    store, log, policy = scenario
    run = audit_runs.record_run(store, log, "officer", audit(store, [policy], now=NOW))
    before = audit_runs.findings(store, run["id"])
    store.query("MATCH (n) WHERE n:AuditRun OR n:Finding DETACH DELETE n")
    assert audit_runs.audit_run(store, run["id"]) is None
    replay(store, log)
    assert audit_runs.findings(store, run["id"]) == before
    assert audit_runs.audit_run(store, run["id"])["open"] == len(EXPECTED)
