"""The ``catalog`` command, run as a user runs it."""

import json
import os
import subprocess
import sys
import time
import uuid

import httpx

from tests.conftest import INVALID_DIR, VALID_DIR, ServerProcess
from tests.engines import store_at


def catalog(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "catalog.cli", *args], capture_output=True, text=True,
                          timeout=120, **kwargs)


def test_help_teaches():
    result = catalog("--help")
    assert result.returncode == 0
    assert "catalog serve --demo" in result.stdout and "catalog ingest" in result.stdout
    serve = catalog("serve", "--help").stdout
    assert "--data-dir" in serve and "--graph-url" in serve and "neo4j://" in serve


def test_ingest_folders_reports_and_fails_on_rejections(server, tmp_path):
    good = catalog("ingest", "--url", server.url, str(VALID_DIR))
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("accepted: 89")
    assert "rejected: 0" in good.stdout

    lines = tmp_path / "mixed.jsonl"
    valid = json.loads((VALID_DIR / "marquez-api-tests" / "event_simple.json").read_text())
    lines.write_text(json.dumps(valid) + "\n{broken\n")
    mixed = catalog("ingest", "--url", server.url, str(lines), str(INVALID_DIR))
    assert mixed.returncode == 1
    assert "accepted: 1 (1 already known)   rejected: 7" in mixed.stdout
    assert "mixed.jsonl:2: invalid JSON" in mixed.stderr
    assert "event_no_run_id.json: /run/runId: is required" in mixed.stderr


def test_ingest_against_no_server_is_a_clear_error(tmp_path):
    result = catalog("ingest", "--url", "http://127.0.0.1:9", str(VALID_DIR / "compat-simple"))
    assert result.returncode == 1 and "cannot reach the catalog" in result.stderr


def test_demo_serve_and_rebuild(tmp_path, graph_args):
    data = tmp_path / "data"
    with ServerProcess(data, *graph_args, "--demo") as server:
        graph = httpx.get(server.url + "/api/v1/lineage",
                          params={"nodeId": "dataset:food_delivery:public.orders", "depth": 3}).json()["graph"]
        assert len(graph) > 5
        personal = httpx.post(server.url + "/graphql", json={"query": "{ dataset(namespace: \"food_delivery\", "
                              "name: \"public.customers\") { classifications { entity fieldId } } }"}).json()
        found = {(c["fieldId"].rsplit(":", 1)[1], c["entity"]) for c in personal["data"]["dataset"]["classifications"]}
        assert {("email", "EMAIL_ADDRESS"), ("phone", "PHONE_NUMBER"), ("name", "PERSON")} <= found  # the demo scan
        # A second server on the same data dir is refused with a clear message.
        second = catalog("serve", "--data-dir", str(data), "--port", "0")
        assert second.returncode != 0 and "in use by another catalog server" in second.stderr
    rebuilt = catalog("rebuild", "--data-dir", str(data), *graph_args)
    assert rebuilt.returncode == 0, rebuilt.stderr
    summary = json.loads(rebuilt.stdout)
    assert summary["replayed"] == 26 and summary["graph"]["Dataset"] > 5
    with ServerProcess(data, *graph_args) as again:  # the rebuilt graph serves the same lineage
        regraph = httpx.get(again.url + "/api/v1/lineage",
                            params={"nodeId": "dataset:food_delivery:public.orders", "depth": 3}).json()["graph"]
        assert sorted(n["id"] for n in regraph) == sorted(n["id"] for n in graph)


def test_serve_refuses_kafka_client_settings_librdkafka_does_not_know(tmp_path):
    done = catalog("serve", "--no-auth", "--data-dir", str(tmp_path / "data"), "--kafka-bootstrap", "127.0.0.1:9",
                   env={**os.environ, "CATALOG_KAFKA_CONFIG": '{"sasl.mechanisms": "PLAIN", "no.such.property": "1"}'})
    assert done.returncode == 2
    assert "invalid Kafka client settings (CATALOG_KAFKA_CONFIG)" in done.stderr
    assert "no.such.property" in done.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was started or written
    empty = catalog("serve", "--no-auth", "--data-dir", str(tmp_path / "data"), "--kafka-bootstrap", "")
    assert empty.returncode == 2 and "--kafka-bootstrap is empty" in empty.stderr


def test_settings_out_of_range_are_refused_by_name_before_anything_starts(tmp_path):
    done = catalog("serve", "--no-auth", "--data-dir", str(tmp_path / "data"),
                   env={**os.environ, "CATALOG_RETENTION_DAYS": "-3", "CATALOG_RETENTION_INTERVAL_SECONDS": "x"})
    assert done.returncode == 2
    assert "retention_days (CATALOG_RETENTION_DAYS): Input should be greater than 0" in done.stderr
    assert "CATALOG_RETENTION_INTERVAL_SECONDS" in done.stderr
    assert not (tmp_path / "data").exists()
    flag = catalog("prune", "--data-dir", str(tmp_path / "data"), "--older-than", "0")
    assert flag.returncode == 2 and "--older-than" in flag.stderr
    nothing = catalog("prune", "--data-dir", str(tmp_path / "data"))
    assert nothing.returncode == 2 and "--older-than DAYS and/or --audits-older-than DAYS" in nothing.stderr


def test_a_graph_holding_another_catalogs_events_is_refused_until_rebuilt(tmp_path, neo4j_url):
    """A fresh catalog on a graph whose checkpoint is past its event log (another catalog's graph, or a data
    directory wiped while the graph stayed) would count its events as projected and never write them: it refuses
    to start, says why and what to do, and `catalog rebuild` replaces the graph's content with its log's."""
    with ServerProcess(tmp_path / "other", "--graph-url", neo4j_url) as other:
        assert httpx.post(other.url + "/api/v1/lineage/batch", timeout=30,
                          json=[_an_event(f"theirs{i}") for i in range(3)]).status_code == 200
        checkpoint = other.http.get("/health").json()["projection"]["checkpoint"]
    assert checkpoint > 0
    refused = catalog("serve", "--no-auth", "--data-dir", str(tmp_path / "mine"), "--graph-url", neo4j_url)
    assert refused.returncode == 1
    assert f"the graph's checkpoint ({checkpoint}) is past the last event of this event log (0)" in refused.stderr
    assert "catalog rebuild" in refused.stderr and "Traceback" not in refused.stderr
    rebuilt = catalog("rebuild", "--data-dir", str(tmp_path / "mine"), "--graph-url", neo4j_url)
    assert rebuilt.returncode == 0, rebuilt.stderr
    with ServerProcess(tmp_path / "mine", "--graph-url", neo4j_url) as mine:
        posted = httpx.post(mine.url + "/api/v1/lineage", timeout=30, json=_an_event("mine"))
        assert posted.status_code == 201
        found = httpx.get(mine.url + "/api/v1/namespaces/ns/datasets/mine", timeout=30)
        health = mine.http.get("/health").json()
        assert found.status_code == 200 and health["projection"]["checkpoint"] == 1
        store = store_at(neo4j_url)
        assert store.checkpoint_and_catalog() == (1, health["eventLog"]["catalog"])  # the graph is mine now
        store.close()


def test_a_graph_another_catalog_moves_past_this_log_stops_projection_and_says_why(tmp_path, neo4j_url):
    with ServerProcess(tmp_path / "mine", "--graph-url", neo4j_url) as mine:
        assert httpx.post(mine.url + "/api/v1/lineage", timeout=30, json=_an_event("first")).status_code == 201
        store = store_at(neo4j_url)
        assert store.advance_checkpoint(1, 500)  # what another catalog committing to this graph does
        store.close()
        deadline = time.monotonic() + 20
        while (health := mine.http.get("/health")).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert health.status_code == 503
        assert "the graph's checkpoint (500) is past the last event of this event log (1)" in \
            health.json()["projection"]["error"]
        assert httpx.post(mine.url + "/api/v1/lineage", timeout=30, json=_an_event("kept")).status_code == 201
        assert "not projecting: the graph's checkpoint (500)" in mine.log()


def _an_event(name: str) -> dict:
    return {"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "https://example.com/t",
            "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "ns", "name": "job"},
            "outputs": [{"namespace": "ns", "name": name}]}
