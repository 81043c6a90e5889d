"""PII classification end to end: `catalog scan` against a live server, GraphQL reads and decisions,
propagation after lineage posted by the openlineage-python HTTP client."""

import subprocess
import sys
import time

import httpx
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.transport.http import HttpConfig, HttpTransport

from tests.catalog.api.test_graphql import data, error
from tests.conftest import VALID_DIR, ServerProcess
from tests.files import write_csv
from catalog.api.app import PROPAGATION_INTERVAL_SECONDS, PROPAGATION_MAX_SHARE, propagation_gap
from tests.policies.lineage_events import IDENTITY, as_dict, column_step, downstream_of_top_delivery_times

SEED = VALID_DIR / "marquez-seed" / "metadata.json"
EMAIL_FIELD = "datasetField:food_delivery:public.customers:email"

CLASSIFICATIONS = """query($ns: String!, $name: String!) { dataset(namespace: $ns, name: $name) {
  scannedAt classifications { id fieldId entity category special state origin recognizer score matched sampled
                              evidence actor sourceId path } } }"""


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, module_graph_args):
    root = tmp_path_factory.mktemp("pii")
    with ServerProcess(root / "data", *module_graph_args) as server:
        events = httpx.post(server.url + "/api/v1/lineage/batch", content=SEED.read_bytes(),
                            headers={"Content-Type": "application/json"}, timeout=60)
        assert events.status_code == 200
        source = write_csv(root / "customers.csv", ["id", "name", "email", "phone", "address", "email_verified"],
                           ([i, f"Customer{chr(65 + i % 26)}", f"c{i}@example.com", f"+49 30 {1000000 + i * 7}",
                             f"{i} Market Street", i % 2] for i in range(300)))
        cli = subprocess.run([sys.executable, "-m", "catalog.cli", "scan", str(source), "--dataset",
                              "food_delivery/public.customers", "--url", server.url, "--sample", "200"],
                             capture_output=True, text=True, timeout=300)
        yield server, cli, root


def test_scan_cli_prints_findings_and_records_them(scanned):
    server, cli, _ = scanned
    assert cli.returncode == 0, cli.stderr
    assert "Scanning 6 columns" in cli.stderr
    lines = {line.split()[0]: line for line in cli.stdout.splitlines()[2:] if line.strip()}
    assert "EMAIL_ADDRESS" in lines["email"] and "200/200" in lines["email"]
    assert "PHONE_NUMBER" in lines["phone"]
    assert "flag column" in lines["email_verified"]
    assert "recorded" in cli.stdout
    found = data(server, CLASSIFICATIONS, ns="food_delivery", name="public.customers")["dataset"]
    assert found["scannedAt"]
    email = next(c for c in found["classifications"] if c["fieldId"] == EMAIL_FIELD)
    assert email | {"score": 1.0} == email and email["state"] == "SUGGESTED" and email["origin"] == "scan"
    assert (email["matched"], email["sampled"], email["recognizer"]) == (200, 200, "EmailPattern")
    assert email["actor"] == "anonymous"


def test_classifications_propagate_and_show_on_fields(scanned):
    server, _, _ = scanned
    found = data(server, """{ dataset(namespace: "food_delivery", name: "public.discounts") {
        fields { name classifications { entity origin path state } } } }""")["dataset"]
    email = next(f for f in found["fields"] if f["name"] == "customer_email")
    [classification] = email["classifications"]
    assert classification["origin"] == "propagated" and classification["entity"] == "EMAIL_ADDRESS"
    assert classification["path"][0] == EMAIL_FIELD


def test_personal_datasets_lists_pii_bearing_datasets(scanned):
    server, _, _ = scanned
    rows = data(server, "{ personalDatasets { datasetId categories entities fields special dataset { name } } }")
    by_id = {r["datasetId"]: r for r in rows["personalDatasets"]}
    assert {"dataset:food_delivery:public.customers", "dataset:food_delivery:public.delivery_7_days",
            "dataset:food_delivery:public.discounts", "dataset:food_delivery:public.top_delivery_times"} <= set(by_id)
    assert "contact" in by_id["dataset:food_delivery:public.customers"]["categories"]
    assert by_id["dataset:food_delivery:public.discounts"]["dataset"]["name"] == "public.discounts"


def test_lineage_posted_by_the_openlineage_client_is_propagated_with_hash_stop(scanned):
    server, _, _ = scanned
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=server.url, timeout=10)))
    for event in downstream_of_top_delivery_times():
        client.emit(event)
    query = """query($ns: String!, $name: String!) { dataset(namespace: $ns, name: $name) {
        classifications { entity origin } } }"""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        copy = data(server, query, ns="food_delivery", name="public.audience_copy")["dataset"]
        if copy and copy["classifications"]:
            break
        time.sleep(0.2)
    assert [c["entity"] for c in copy["classifications"]] == ["EMAIL_ADDRESS"]
    hashed = data(server, query, ns="food_delivery", name="public.marketing_audience")["dataset"]
    assert hashed["classifications"] == []


def propagation_runs(server) -> float:
    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in metrics.splitlines()
               if line.startswith("catalog_propagation_seconds_count"))


def test_propagation_runs_at_most_once_an_interval_under_a_stream_of_column_lineage(scanned):
    server, _, _ = scanned
    before, start = propagation_runs(server), time.monotonic()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for i in range(60):  # a commit each, every few milliseconds
            step = column_step(f"stream_{i}", "public.top_delivery_times", f"public.stream_{i}",
                               {"customer_email": ("customer_email", IDENTITY)})
            assert http.post("/api/v1/lineage", json=as_dict(step)).status_code == 201
    query = """{ dataset(namespace: "food_delivery", name: "public.stream_59") {
        classifications { entity } } }"""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not data(server, query)["dataset"]["classifications"]:
        time.sleep(0.1)
    assert [c["entity"] for c in data(server, query)["dataset"]["classifications"]] == ["EMAIL_ADDRESS"]
    runs = propagation_runs(server) - before
    # Runs start at least an interval apart; one may have begun before the stream did.
    assert 1 <= runs <= (time.monotonic() - start) / PROPAGATION_INTERVAL_SECONDS + 2


def test_long_propagation_runs_take_at_most_their_share_of_the_time():
    assert propagation_gap(0.01) == PROPAGATION_INTERVAL_SECONDS
    for took in (0.3, 0.45, 2.0, 30.0):  # 0.4-0.5 s at 100K datasets
        gap = propagation_gap(took)
        assert gap >= PROPAGATION_INTERVAL_SECONDS and took / gap == pytest.approx(min(
            PROPAGATION_MAX_SHARE, took / PROPAGATION_INTERVAL_SECONDS))


def test_steward_decisions_over_graphql(scanned):
    server, _, _ = scanned
    rejected = data(server, """mutation { rejectClassification(fieldId: "datasetField:food_delivery:public.delivery_7_days:customer_email",
        entity: "EMAIL_ADDRESS", note: "tokenised upstream") { state origin note decidedBy } }""")
    assert rejected["rejectClassification"] == {"state": "REJECTED", "origin": "steward", "note": "tokenised upstream",
                                                "decidedBy": "anonymous"}
    discounts = data(server, CLASSIFICATIONS, ns="food_delivery", name="public.discounts")["dataset"]
    assert not [c for c in discounts["classifications"] if c["entity"] == "EMAIL_ADDRESS"]
    confirmed = data(server, f"""mutation {{ confirmClassification(fieldId: "{EMAIL_FIELD}", entity: "EMAIL_ADDRESS")
        {{ state origin }} }}""")
    assert confirmed["confirmClassification"] == {"state": "CONFIRMED", "origin": "scan"}
    history = data(server, f"""{{ history(nodeId: "{EMAIL_FIELD}") {{ action actor }} }}""")["history"]
    assert history[0]["action"] == "classification_confirm"
    assert "unknown entity type 'SHOE_SIZE'" in error(
        server, f'mutation {{ confirmClassification(fieldId: "{EMAIL_FIELD}", entity: "SHOE_SIZE") {{ state }} }}')
    assert "no field" in error(
        server, 'mutation { confirmClassification(fieldId: "datasetField:x:y:z", entity: "EMAIL_ADDRESS") { state } }')


@pytest.mark.parametrize("body, status, message", [
    ({"namespace": "food_delivery", "name": "public.customers", "source": "x", "rows": 1, "seconds": 0,
      "columns": [{"column": "a", "sampled": 1, "findings": [{"entity": "EMAIL_ADDRESS", "recognizer": "r",
                                                               "score": 7, "matched": 1, "sampled": 1,
                                                               "evidence": "values"}]}]},
     422, "/columns/0/findings/0/score"),
    ({"namespace": "food_delivery", "name": "public.nope", "source": "x", "rows": 1, "seconds": 0, "columns": []},
     404, "no dataset food_delivery/public.nope"),
    ({"namespace": "food_delivery", "name": "public.customers", "source": "x", "rows": 1, "seconds": 0,
      "columns": [{"column": "a", "sampled": 1, "findings": [{"entity": "SHOE_SIZE", "recognizer": "r", "score": 1,
                                                               "matched": 1, "sampled": 1, "evidence": "values"}]}]},
     422, "unknown entity type"),
])
def test_bad_scan_results_are_refused_and_change_nothing(scanned, body, status, message):
    server, _, _ = scanned
    before = data(server, CLASSIFICATIONS, ns="food_delivery", name="public.customers")
    response = httpx.post(server.url + "/api/v1/scans", json=body, timeout=10)
    assert response.status_code == status
    assert message in response.text
    assert data(server, CLASSIFICATIONS, ns="food_delivery", name="public.customers") == before


def test_scan_of_an_unknown_dataset_fails_clearly(scanned):
    server, _, root = scanned
    cli = subprocess.run([sys.executable, "-m", "catalog.cli", "scan", str(root / "customers.csv"), "--dataset",
                          "food_delivery/public.unknown", "--url", server.url, "--sample", "20", "--format", "json"],
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 1
    assert "no dataset food_delivery/public.unknown in the catalog" in cli.stderr


def test_a_whole_database_scan_records_each_table_on_its_openlineage_dataset(scanned):
    import sqlalchemy as sa

    from tests.policies.test_database_scan import _fill

    server, _, root = scanned
    path = root / "shop.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    _fill(engine)
    engine.dispose()
    event = {"eventType": "COMPLETE", "eventTime": "2026-12-01T10:00:00Z", "producer": "https://example.com/etl",
             "run": {"runId": "3f1e6c1e-9d7b-4d57-9a8e-2b0c2b9f4a11"}, "job": {"namespace": "shop", "name": "load"},
             "outputs": [{"namespace": f"sqlite://{path}", "name": "main.kunden"}],
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent"}
    assert httpx.post(server.url + "/api/v1/lineage", json=event, timeout=30).status_code == 201
    cli = subprocess.run([sys.executable, "-m", "catalog.cli", "scan", f"sqlite:///{path}", "--url", server.url,
                          "--sample", "100"], capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    assert "Sampling 2 tables" in cli.stderr and "Classifying 9 columns" in cli.stderr
    assert "2 tables, 9 columns scanned; 1 tables hold personal data" in cli.stdout
    assert f"recorded 1 tables; not in the catalog: sqlite://{path}/main.bestellungen" in cli.stdout
    found = data(server, CLASSIFICATIONS, ns=f"sqlite://{path}", name="main.kunden")["dataset"]
    assert {c["entity"] for c in found["classifications"]} == {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER",
                                                                "DATE_OF_BIRTH"}
