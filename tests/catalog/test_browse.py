"""Search through the engine's full-text index, on every backend."""

import pytest

from catalog.browse import BrowseError, search
from catalog.govlog import GovernanceLog
from catalog.store.writes import search_words
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
