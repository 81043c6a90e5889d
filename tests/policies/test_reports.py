"""Reports over the audit scenario on the live engine: audit runs as JSON/CSV/HTML, the Art. 30
register and the erasure impact of a source column."""

import csv
import io
import json
from html.parser import HTMLParser

import pytest

from catalog import stewardship
from policies import audit_runs
from policies.audit import audit
from policies.impact import ImpactError, erasure_impact
from policies.register import processing_register
from policies.reports import ReportError, audit_report, impact_report, register_report
from tests.policies.audit_scenario import EXPECTED, NOW, build, triples
from tests.policies.conftest import f


@pytest.fixture
def scenario(store, tmp_path):
    log, policy = build(store, tmp_path)
    run = audit_runs.record_run(store, log, "officer@example.com", audit(store, [policy], now=NOW))
    yield store, log, run, audit_runs.findings(store, run["id"])
    log.close()


class _Text(HTMLParser):
    """Visible text and the tags used, to check a page is self-contained."""

    def __init__(self):
        super().__init__()
        self.text, self.tags, self.links = [], set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.links += [v for k, v in attrs if k in ("src", "href") and v]

    def handle_data(self, data):
        self.text.append(data)


def parsed(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


def test_json_report_has_run_summary_and_every_finding(scenario):
    _, _, run, findings = scenario
    document = json.loads(audit_report(run, findings, "json"))
    assert document["run"]["id"] == run["id"] and document["run"]["policies"][0]["name"] == "audit-scenario"
    assert triples(document["findings"]) == EXPECTED
    assert document["summary"]["open"] == len(EXPECTED)
    assert document["summary"]["byArticle"]["Art. 44"] == 2
    assert document["summary"]["byNamespace"] == {"food_delivery": len(EXPECTED)}
    assert document["rules"]["lawful-basis"]["article"] == "Art. 6(1)"


def test_csv_report_has_one_row_per_finding_with_the_path(scenario):
    _, _, run, findings = scenario
    rows = list(csv.DictReader(io.StringIO(audit_report(run, findings, "csv"))))
    assert {(r["rule"], r["dataset"], r["field"] or None) for r in rows} == EXPECTED
    flow = next(r for r in rows if r["rule"] == "unanonymized-flow")
    assert flow["lineage_path"] == ("food_delivery/public.customers.email -> food_delivery/public.delivery_7_days."
                                    "customer_email -> food_delivery/public.top_delivery_times.customer_email")


def test_html_report_is_self_contained_and_escapes_names(scenario):
    store, log, run, findings = scenario
    html = audit_report(run, findings, "html")
    page = parsed(html)
    assert "script" not in page.tags and page.links == [], "no scripts, no external resources"
    text = " ".join(" ".join(page.text).split())
    assert f"{len(EXPECTED)} open findings" in text
    assert "Personal data where the policy requires anonymized data" in text
    assert html.count("<svg") >= 3 + 2  # three charts, two drawn lineage paths (flow, transfer)
    # A name with markup in it is shown, not run.
    hostile = dict(findings[0], message="<img src=x onerror=alert(1)>")
    assert "<img src=x" not in audit_report(run, [hostile], "html")


def test_unknown_format_is_refused(scenario):
    _, _, run, findings = scenario
    with pytest.raises(ReportError, match="format must be one of html, json, csv"):
        audit_report(run, findings, "pdf")


def test_register_lists_each_processing_activity_with_its_gaps(scenario):
    store, log, _, _ = scenario
    stewardship.set_governance(store, log, "t", "dataset:food_delivery:public.delivery_7_days",
                               {"purpose": "delivery-time analytics", "dataSubjectCategories": ["customers"],
                                "recipients": ["analytics team"]})
    register = processing_register(store)
    activities = {a["activity"]: a for a in register["activities"]}
    delivery = activities["job:food_delivery:etl_delivery_7_days"]
    assert delivery["purposes"] == ["delivery-time analytics"]
    assert delivery["legalBases"] == ["contract"]
    assert delivery["dataCategories"] == ["contact", "location"]
    assert delivery["transfersOutsideEEA"] == ["dataset:food_delivery:public.delivery_7_days (US)"]
    assert delivery["recipients"] == ["analytics team"]
    assert delivery["retentionDays"] == [30, 365]
    assert "public.customers" in " ".join(delivery["inputs"])
    orders = activities["job:food_delivery:etl_orders"]
    assert orders["specialCategories"] == ["health"] and "Art. 9 condition" in orders["gaps"]
    assert "job:food_delivery:etl_menus" not in activities, "jobs without personal data are not activities"
    rows = list(csv.DictReader(io.StringIO(register_report(register, "csv"))))
    assert {r["activity"] for r in rows} == set(activities)
    text = " ".join(parsed(register_report(register, "html")).text)
    assert "Register of processing activities" in text and "delivery-time analytics" in text


def test_erasure_impact_lists_every_column_fed_by_the_source(scenario):
    store, _, _, _ = scenario
    impact = erasure_impact(store, f("public.customers", "email"))
    reached = {(x["dataset"], x["name"]): x for x in impact["fields"]}
    assert set(reached) == {
        ("dataset:food_delivery:public.delivery_7_days", "customer_email"),
        ("dataset:food_delivery:public.top_delivery_times", "customer_email"),
        ("dataset:food_delivery:public.discounts", "customer_email")}
    assert reached[("dataset:food_delivery:public.discounts", "customer_email")]["depth"] == 2
    assert all(x["holdsValue"] for x in reached.values())
    assert impact["source"]["classifications"][0]["entity"] == "EMAIL_ADDRESS"
    assert [d["dataset"] for d in impact["datasets"]][0] == "dataset:food_delivery:public.customers"
    assert not impact["truncated"]
    assert erasure_impact(store, f("public.customers", "email"), max_depth=1)["truncated"]
    rows = list(csv.DictReader(io.StringIO(impact_report(impact, "csv"))))
    assert len(rows) == 3
    assert "Erasure and subject-access impact" in " ".join(parsed(impact_report(impact, "html")).text)


def test_erasure_impact_refuses_unknown_columns_and_depths(scenario):
    store, _, _, _ = scenario
    with pytest.raises(ImpactError, match="no field with nodeId"):
        erasure_impact(store, "datasetField:food_delivery:public.customers:nope")
    with pytest.raises(ImpactError, match="depth must be between 1 and 50"):
        erasure_impact(store, f("public.customers", "email"), max_depth=51)
