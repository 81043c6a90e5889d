"""Search through the engine's full-text index, on every backend."""

import pytest

from catalog import stewardship
from catalog.browse import BrowseError, datasets, filter_choices, jobs, namespaces, overview, recent_runs, search
from catalog.govlog import GovernanceLog
from catalog.store.writes import search_words
from policies import classifications
from policies.classifications import record_scan
from tests.catalog.store.test_store_contract import run_event, writes_for


def test_search_words_split_names_as_people_read_them():
    assert search_words("etl_orders7Days") == ["etl", "orders7", "days"]
    assert search_words("public.orders_7_days") == ["public", "orders", "7", "days"]
    assert search_words("s3://lake/raw/customerEmail.csv") == ["s3", "lake", "raw", "customer", "email", "csv"]
    assert search_words("Café_Zürich") == ["café", "zürich"]
    assert search_words("@name:(x) | -y*") == ["name", "x", "y"]


@pytest.fixture
def catalog_store(store):
    event = run_event("99999999-9999-9999-9999-999999999991", "COMPLETE", "2024-01-01T00:00:00Z",
                      ["public.orders", "public.customers"], ["public.orders_7_days"], job="etl_orders_7_days")
    event["outputs"][0]["facets"] = {
        "schema": {"_producer": "p", "_schemaURL": "s", "fields": [{"name": "customerEmail", "type": "STRING"}]},
        "documentation": {"_producer": "p", "_schemaURL": "s", "description": "Weekly totals per region"}}
    store.apply(writes_for([event]))
    return store


def names(hits) -> list[str]:
    return [h["name"] for h in hits]


def test_search_finds_words_inside_names_and_descriptions(catalog_store):
    assert names(search(catalog_store, "orders", first=10)) == [
        "public.orders", "public.orders_7_days", "etl_orders_7_days"]  # exact last segment first, then shorter
    assert names(search(catalog_store, "7 DAYS", ["DATASET"])) == ["public.orders_7_days"]
    assert names(search(catalog_store, "ord", ["JOB"])) == ["etl_orders_7_days"]  # prefixes of words
    assert names(search(catalog_store, "email", ["FIELD"])) == ["customerEmail"]  # camelCase split
    assert names(search(catalog_store, "weekly region")) == ["public.orders_7_days"]  # every word, in the description
    assert search(catalog_store, "rders") == []  # words start where they start
    assert search(catalog_store, "orders invoices") == []


def test_search_queries_cannot_reach_the_index_syntax(catalog_store):
    for hostile in ("@name:(orders) | -x*", "orders\" OR 1=1 --", "*", "%%", "orders~2", "`orders`"):
        hits = search(catalog_store, hostile)  # no engine error, whatever the text
        assert all("orders" in h["name"] for h in hits), (hostile, hits)
    with pytest.raises(BrowseError, match="must not be empty"):
        search(catalog_store, "  ")


def test_nodes_written_before_search_text_are_backfilled_once(store):
    store.query("CREATE (:Dataset {key: 'dataset:old:legacy_orders', namespace: 'old', name: 'legacy_orders'})")
    assert store.backfill_search_text() == 1
    assert names(search(store, "orders")) == ["legacy_orders"]
    store.query("CREATE (:Dataset {key: 'dataset:old:later', namespace: 'old', name: 'later'})")
    assert store.backfill_search_text() == 0  # done once per graph; new writes carry their searchText


def test_columns_known_only_from_a_scan_are_searchable(catalog_store, tmp_path):
    """A scan names columns no event described; they are found like any other field (found by comparing
    the engines: they were searchable only after a rebuild backfilled them)."""
    log = GovernanceLog(tmp_path / "governance.sqlite3")
    scan = {"columns": [{"column": "loyaltyTier", "sampled": 3, "findings": []}]}
    record_scan(catalog_store, log, "test", "ns", "public.orders_7_days", scan)
    log.close()
    assert names(search(catalog_store, "loyalty tier", ["FIELD"])) == ["loyaltyTier"]


@pytest.fixture
def governed(store, tmp_path):
    """Twelve datasets in two namespaces; some owned, tagged, holding personal or special category data."""
    events = [run_event(f"99999999-9999-9999-9999-{i:012d}", "COMPLETE", f"2024-01-{i + 1:02d}T00:00:00Z",
                        [], [f"public.t{i:02d}"], job=f"load_t{i:02d}") for i in range(12)]
    for event in events[8:]:
        event["job"]["namespace"] = event["outputs"][0]["namespace"] = "other"
    store.apply(writes_for(events))
    log = GovernanceLog(tmp_path / "governance.sqlite3")
    finding = lambda entity: {"entity": entity, "recognizer": "t", "score": 0.9, "matched": 5, "sampled": 5,  # noqa
                              "evidence": "values"}
    for i, entity in ((1, "EMAIL_ADDRESS"), (2, "HEALTH"), (3, "EMAIL_ADDRESS"), (9, "PHONE_NUMBER")):
        ns = "other" if i >= 8 else "ns"
        record_scan(store, log, "test", ns, f"public.t{i:02d}",
                    {"columns": [{"column": "c", "sampled": 5, "findings": [finding(entity)]}]})
    for i in (1, 2, 5):
        stewardship.add_owner(store, log, "test", f"dataset:ns:public.t{i:02d}", "team:crm")
    for i in (2, 5, 9):
        stewardship.add_tag(store, log, "test", f"dataset:{'other' if i >= 8 else 'ns'}:public.t{i:02d}", "gold")
    classifications.decide(store, log, "test", "datasetField:ns:public.t03:c", "EMAIL_ADDRESS", False)
    log.close()
    return store


def all_pages(store, **filters) -> list[str]:
    """Every dataset name the filters keep, walking pages of 2 by their cursors."""
    found, after = [], None
    while True:
        page = datasets(store, first=2, after=after, **filters)
        found += [d["name"] for d in page.items]
        assert page.total == len(found) or page.has_next
        if not page.has_next:
            return found
        after = page.end_cursor


def test_dataset_filters_combine_and_page_through_every_match_once(governed):
    assert len(all_pages(governed)) == 12
    assert all_pages(governed, namespace="other") == ["public.t08", "public.t09", "public.t10", "public.t11"]
    # t03's only classification was rejected: it holds no personal data.
    assert all_pages(governed, personal=True) == ["public.t01", "public.t02", "public.t09"]
    assert all_pages(governed, special=True) == ["public.t02"]
    assert all_pages(governed, owner="team:crm") == ["public.t01", "public.t02", "public.t05"]
    assert all_pages(governed, tag="gold") == ["public.t02", "public.t05", "public.t09"]
    assert all_pages(governed, tag="gold", owner="team:crm") == ["public.t02", "public.t05"]
    assert all_pages(governed, tag="gold", personal=True) == ["public.t02", "public.t09"]
    assert all_pages(governed, tag="gold", owner="team:crm", personal=True, namespace="ns") == ["public.t02"]
    assert all_pages(governed, owner="nobody") == []
    assert datasets(governed, personal=True, first=2).total == 3


def test_overview_namespaces_recent_runs_and_filter_choices(governed):
    assert overview(governed) == {"datasets": 12, "jobs": 12, "runs": 12, "personalDatasets": 3,
                                  "specialDatasets": 1}
    assert namespaces(governed) == [{"name": "ns", "datasets": 8, "jobs": 8},
                                    {"name": "other", "datasets": 4, "jobs": 4}]
    recent = recent_runs(governed, 3)
    assert [r["job"] for r in recent] == ["job:other:load_t11", "job:other:load_t10", "job:other:load_t09"]
    assert filter_choices(governed) == {"namespaces": ["ns", "other"], "tags": ["gold"], "owners": ["team:crm"]}
    with pytest.raises(BrowseError):
        recent_runs(governed, 0)


def test_list_text_filters_go_through_the_index_and_combine_with_the_others(governed):
    # "t0" starts the words t01..t09 (names split at dots and underscores), not t10 or t11.
    assert all_pages(governed, search="t0") == [f"public.t{i:02d}" for i in range(10)]
    assert all_pages(governed, search="t0", namespace="other") == ["public.t08", "public.t09"]
    assert all_pages(governed, search="T0", personal=True) == ["public.t01", "public.t02", "public.t09"]
    assert all_pages(governed, search="t0", tag="gold", owner="team:crm") == ["public.t02", "public.t05"]
    assert all_pages(governed, search="t1") == ["public.t10", "public.t11"]
    assert all_pages(governed, search="nothing") == []
    assert [j["name"] for j in jobs(governed, search="load t1").items] == ["load_t10", "load_t11"]
    assert [j["name"] for j in jobs(governed, search="%", first=5).items] == []  # no words: a scan, no match
