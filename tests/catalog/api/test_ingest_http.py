"""The ingestion contract over HTTP against ``catalog serve`` in a child process."""

import gzip
import json
import time

import httpx

from tests.conftest import load_events, VALID_DIR


def graph_counts(client) -> dict:
    return client.get("/health").json()["eventLog"]


def test_every_valid_event_is_accepted(client, valid_events):
    for source, event in valid_events:
        response = client.post("/api/v1/lineage", json=event)
        assert response.status_code == 201, (source, response.text)
    health = client.get("/health").json()
    assert health["projection"]["lag"] == 0
    assert health["eventLog"]["events"] == len({json.dumps(e, sort_keys=True) for _, e in valid_events})


def test_every_invalid_event_is_rejected_and_writes_nothing(client, invalid_events, valid_events):
    client.post("/api/v1/lineage/batch", json=[e for _, e in valid_events[:10]])
    before = graph_counts(client)
    lineage_before = client.get("/api/v1/lineage", params={"nodeId": "dataset:my-datasource-namespace:instance.schema.input-1"})
    for source, event in invalid_events:
        response = client.post("/api/v1/lineage", json=event)
        assert response.status_code == 422, source
        body = response.json()
        assert body["error"] == "event does not conform to the OpenLineage spec"
        assert all(d["field"].startswith("/") and d["message"] for d in body["details"]), body
    assert graph_counts(client) == before
    # None of the invalid events' datasets or jobs reached the graph.
    assert lineage_before.status_code == 404
    assert client.get("/api/v1/lineage", params={"nodeId": "job:my-scheduler-namespace:myjob"}).status_code == 404


def test_unreadable_json_is_400(client):
    response = client.post("/api/v1/lineage", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    assert client.post("/api/v1/lineage", content=b"").status_code == 400


def test_oversized_body_is_413(tmp_path):
    from tests.conftest import ServerProcess

    with ServerProcess(tmp_path / "d", env={"CATALOG_MAX_BODY_BYTES": "2048"}) as server:
        big = {"eventTime": "2024-01-01T00:00:00Z", "producer": "p", "run": {"runId": "r"},
               "job": {"namespace": "n", "name": "x" * 5000}}
        response = httpx.post(server.url + "/api/v1/lineage", json=big)
        assert response.status_code == 413 and "2048" in response.json()["error"]
        # A small gzip body that inflates past the limit (a zip bomb) is refused too.
        bomb = gzip.compress(json.dumps(big).encode())
        assert len(bomb) < 2048
        response = httpx.post(server.url + "/api/v1/lineage", content=bomb,
                              headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        assert response.status_code == 413
        assert httpx.get(server.url + "/health").json()["eventLog"]["events"] == 0


def test_gzip_bodies_are_accepted(client, valid_events):
    _, event = valid_events[0]
    response = client.post("/api/v1/lineage", content=gzip.compress(json.dumps(event).encode()),
                           headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert response.status_code == 201
    broken = client.post("/api/v1/lineage", content=b"not gzip", headers={"Content-Encoding": "gzip"})
    assert broken.status_code == 400 and "gzip" in broken.json()["error"]


def test_batch_gives_per_event_results_and_bad_events_do_not_block(client, valid_events, invalid_events):
    good = [e for _, e in valid_events[:5]]
    bad = invalid_events[0][1]
    response = client.post("/api/v1/lineage/batch", json=[good[0], bad, *good[1:], good[0]])
    assert response.status_code == 207
    body = response.json()
    assert body["accepted"] == 6 and body["rejected"] == 1
    statuses = [r["status"] for r in body["results"]]
    assert statuses == [201, 422, 201, 201, 201, 201, 201]
    assert body["results"][1]["errors"][0]["field"].startswith("/outputs/0/facets/ownership")
    assert body["results"][6]["duplicate"] is True
    assert client.post("/api/v1/lineage/batch", json={"events": good}).status_code == 200
    assert client.post("/api/v1/lineage/batch", json={"nope": 1}).status_code == 400


def test_marquez_lineage_and_dataset_reads(client):
    seed = load_events(VALID_DIR / "marquez-seed")
    assert client.post("/api/v1/lineage/batch", json=[e for _, e in seed]).status_code == 200
    response = client.get("/api/v1/lineage", params={"nodeId": "dataset:food_delivery:public.delivery_7_days",
                                                      "depth": 1})
    assert response.status_code == 200
    graph = {node["id"]: node for node in response.json()["graph"]}
    assert graph["dataset:food_delivery:public.delivery_7_days"]["type"] == "DATASET"
    producer = graph["job:food_delivery:etl_delivery_7_days"]
    assert producer["type"] == "JOB"
    assert {"origin": "job:food_delivery:etl_delivery_7_days",
            "destination": "dataset:food_delivery:public.delivery_7_days"} in producer["outEdges"]
    inputs = {e["origin"] for e in producer["inEdges"]}
    assert "dataset:food_delivery:public.delivery_7_days" not in inputs and inputs <= set(graph)
    deeper = client.get("/api/v1/lineage", params={"nodeId": "dataset:food_delivery:public.delivery_7_days",
                                                    "depth": 5}).json()
    assert len(deeper["graph"]) > len(graph)

    dataset = client.get("/api/v1/namespaces/food_delivery/datasets/public.orders").json()
    assert dataset["description"] == "A table for orders."
    assert {f["name"] for f in dataset["fields"]} >= {"id", "placed_on"}
    assert dataset["sourceName"] == "food_delivery_db"
    assert "schema" in dataset["facets"]
    assert dataset["currentVersion"] and dataset["lastModifiedAt"] and (dataset["tags"], dataset["owners"]) == ([], [])
    assert client.get("/api/v1/namespaces/food_delivery/datasets/missing").status_code == 404


def test_lineage_bad_arguments(client):
    assert client.get("/api/v1/lineage").status_code == 400
    assert client.get("/api/v1/lineage", params={"nodeId": "dataset:a:b", "depth": "x"}).status_code == 400
    unknown = client.get("/api/v1/lineage", params={"nodeId": "dataset:a:b"})
    assert unknown.status_code == 404 and "no dataset" in unknown.json()["error"]
    client.post("/api/v1/lineage", json={"eventTime": "2024-01-01T00:00:00Z", "producer": "p",
                                         "run": {"runId": "r1"}, "job": {"namespace": "a", "name": "j"},
                                         "outputs": [{"namespace": "a", "name": "b"}]})
    too_deep = client.get("/api/v1/lineage", params={"nodeId": "dataset:a:b", "depth": 1000})
    assert too_deep.status_code == 400 and "depth must be between" in too_deep.json()["error"]


def test_health_and_metrics(client, valid_events, graph_args):
    client.post("/api/v1/lineage", json=valid_events[0][1])
    health = client.get("/health").json()
    backend, version = ("neo4j", "Neo4j Kernel 5.26.") if graph_args else ("falkordb", "FalkorDB 4.")
    assert health["status"] == "ok" and health["graph"]["backend"] == backend
    assert health["graph"]["version"].startswith(version), health
    metrics = client.get("/metrics").text
    assert 'catalog_events_total{outcome="accepted",type="RunEvent"} 1.0' in metrics
    assert 'catalog_http_request_seconds_count{method="POST",route="/api/v1/lineage",status="201"} 1.0' in metrics


def test_names_with_outer_whitespace_are_refused_before_they_reach_the_graph_engine(client):
    """FalkorDB crashes indexing such a key (and again on every replay); the event is refused instead."""
    engine = client.get("/health").json()["graph"]
    base = {"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "https://example.com/t",
            "run": {"runId": "01908a5e-0000-7000-8000-0000000000aa"}, "job": {"namespace": "ws", "name": "job"}}
    cases = [
        ({**base, "inputs": [{"namespace": "ws", "name": " "}]}, "/inputs/0/name"),
        ({**base, "outputs": [{"namespace": "ws", "name": "orders "}]}, "/outputs/0/name"),
        ({**base, "job": {"namespace": " ws", "name": "job"}}, "/job/namespace"),
        ({**base, "outputs": [{"namespace": "ws", "name": "o", "facets": {"schema": {
            "_producer": "https://example.com/t", "_schemaURL": "https://example.com/s",
            "fields": [{"name": "amount\t"}]}}}]}, "/outputs/0/facets/schema/fields/0/name"),
        ({**base, "job": {"namespace": "ws", "name": "job", "facets": {"ownership": {
            "_producer": "https://example.com/t", "_schemaURL": "https://example.com/s",
            "owners": [{"name": "team "}]}}}}, "/job/facets/ownership/owners/0/name"),
    ]
    for event, pointer in cases:
        response = client.post("/api/v1/lineage", json=event)
        assert response.status_code == 422, response.text
        assert [d["field"] for d in response.json()["details"]] == [pointer]
        assert "must not be empty or start or end with whitespace" in response.json()["details"][0]["message"]
    after = client.get("/health").json()
    assert after["graph"].get("pid") == engine.get("pid") and after["graph"].get("restarts") == engine.get("restarts")
    assert after["eventLog"]["events"] == 0


def test_a_nul_character_anywhere_is_refused_with_its_location(client):
    event = {"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "https://example.com/t",
             "run": {"runId": "01908a5e-0000-7000-8000-0000000000ab"}, "job": {"namespace": "nul", "name": "job"},
             "outputs": [{"namespace": "nul", "name": "out", "facets": {"documentation": {
                 "_producer": "https://example.com/t", "_schemaURL": "https://example.com/s",
                 "description": "before\x00after"}}}]}
    response = client.post("/api/v1/lineage", json=event)
    assert response.status_code == 422
    assert response.json()["details"] == [{"field": "/outputs/0/facets/documentation/description",
                                           "message": "text must not contain the NUL character (\\u0000)"}]
    literal = {**event, "outputs": [{"namespace": "nul", "name": "backslash-u-0000 \\u0000 is fine"}]}
    assert client.post("/api/v1/lineage", json=literal).status_code == 201
    assert client.get("/health").json()["eventLog"]["events"] == 1


def test_a_facet_named_with_a_backtick_is_refused_with_its_location(client):
    event = {"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "https://example.com/t",
             "run": {"runId": "01908a5e-0000-7000-8000-0000000000ac"}, "job": {"namespace": "tick", "name": "job"},
             "outputs": [{"namespace": "tick", "name": "out`name", "facets": {"odd`facet": {
                 "_producer": "https://example.com/t", "_schemaURL": "https://example.com/s"}}}]}
    response = client.post("/api/v1/lineage", json=event)
    assert response.status_code == 422
    [detail] = response.json()["details"]
    assert detail["field"] == "/outputs/0/facets/odd`facet" and "backtick" in detail["message"]
    assert client.get("/health").json()["eventLog"]["events"] == 0
    # A backtick in names and values is stored as it is.
    del event["outputs"][0]["facets"]["odd`facet"]
    event["outputs"][0]["facets"]["documentation"] = {"_producer": "https://example.com/t",
                                                      "_schemaURL": "https://example.com/s", "description": "a`b"}
    assert client.post("/api/v1/lineage", json=event).status_code == 201
    dataset = client.get("/api/v1/namespaces/tick/datasets/out`name").json()
    assert dataset["description"] == "a`b"


def test_schema_field_tags_are_read_whatever_their_shape(client):
    """Field tags, which no facet schema describes, as names (Marquez), as objects, or as something else: the
    event is accepted and the tags that make sense show on the dataset's fields."""
    event = next(e for _, e in load_events(VALID_DIR / "marquez-seed")
                 if e.get("outputs") and e["job"]["name"] == "etl_drivers")
    fields = event["outputs"][0]["facets"]["schema"]["fields"]
    fields[0]["tags"] = ["PII"]
    fields[1]["tags"] = True
    fields[2]["tags"] = [{"key": "sensitivity", "value": "high"}, {"no": "key"}]
    fields[3]["tags"] = "PII"
    assert client.post("/api/v1/lineage", json=event).status_code == 201
    dataset = client.get("/api/v1/namespaces/food_delivery/datasets/public.drivers").json()
    tags = {f["name"]: f["tags"] for f in dataset["fields"]}
    assert (tags[fields[0]["name"]], tags[fields[1]["name"]], tags[fields[2]["name"]], tags[fields[3]["name"]]) \
        == (["PII"], [], ["sensitivity"], [])


def test_acknowledged_once_logged_every_event_reaches_the_graph(tmp_path):
    """`--acknowledge log`: concurrent posts get their 201 once logged, and the graph then holds each of them.
    The demo's scan, which needs its dataset in the graph, is recorded too."""
    import asyncio

    from tests.conftest import ServerProcess

    def event(n: int) -> dict:
        return {"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "https://example.com/p",
                "run": {"runId": f"01908a5e-0000-7000-8000-{n:012d}"}, "job": {"namespace": "ack", "name": f"j{n}"},
                "outputs": [{"namespace": "ack", "name": f"out{n}"}]}

    async def post_all(url: str) -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            answers = await asyncio.gather(*(http.post("/api/v1/lineage", json=event(n)) for n in range(200)))
        return [a.status_code for a in answers]

    with ServerProcess(tmp_path / "d", "--acknowledge", "log", "--demo") as server, \
            httpx.Client(base_url=server.url, timeout=30) as client:
        scanned = client.post("/graphql", json={"query": '{ dataset(namespace: "food_delivery", name: '
                                                '"public.customers") { classifications { entity } } }'}).json()
        assert {"EMAIL_ADDRESS", "PERSON"} <= {c["entity"] for c in scanned["data"]["dataset"]["classifications"]}
        assert asyncio.run(post_all(server.url)) == [201] * 200
        deadline = time.monotonic() + 20
        while client.get("/health").json()["projection"]["lag"] and time.monotonic() < deadline:
            time.sleep(0.05)
        for n in range(200):
            lineage = client.get("/api/v1/lineage", params={"nodeId": f"dataset:ack:out{n}", "depth": 1})
            assert lineage.status_code == 200
            assert {node["id"] for node in lineage.json()["graph"]} == {f"dataset:ack:out{n}", f"job:ack:j{n}"}
