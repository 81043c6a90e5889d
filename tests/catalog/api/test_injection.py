"""Cypher injection through names, namespaces, facets, tags, owners and query arguments changes nothing.

All Cypher is parameterised; these payloads would delete or rewrite the graph if any of them
reached query text. Each is stored verbatim as data, and everything else stays as it was.
"""

import json

import httpx
import pytest

from ingestors.files import SAMPLES
from tests.conftest import ServerProcess
from tests.graphs import snapshot_rows

PAYLOADS = [
    "x'}) MATCH (n) DETACH DELETE n //",
    'x"}) MATCH (n) DETACH DELETE n RETURN 1 //',
    "x` {key: 'k'}) MATCH (n) SET n.key = 'pwned' //",
    "x\\'}) MATCH (n) DETACH DELETE n //",
    "x}] ) CALL db.idx.fulltext.drop('Dataset') //",
    "$rows",
    "x') WITH 1 AS one MATCH (m:Dataset) SET m.name = 'pwned' //",
]
FACET = {"_producer": "https://example.com/injection", "_schemaURL": "https://example.com/s"}


def hostile_event(index: int, payload: str) -> dict:
    return {
        "eventType": "COMPLETE", "eventTime": "2024-02-01T00:00:00Z", "producer": "https://example.com/injection",
        "run": {"runId": f"01908a5e-0000-7000-8000-{index:012d}"},
        "job": {"namespace": f"ns {payload}", "name": f"job {payload}",
                "facets": {"ownership": {**FACET, "owners": [{"name": f"owner {payload}"}]}}},
        "inputs": [{"namespace": "food_delivery", "name": "public.customers"}],
        "outputs": [{"namespace": f"ns {payload}", "name": f"out {payload}", "facets": {
            "schema": {**FACET, "fields": [{"name": f"col {payload}", "type": payload}]},
            "documentation": {**FACET, "description": payload},
            "tags": {**FACET, "tags": [{"key": f"tag {payload}", "value": payload, "source": payload}]},
            payload.replace("`", "'"): {**FACET, "value": payload},  # a facet named by the payload
            "columnLineage": {**FACET, "fields": {f"col {payload}": {"inputFields": [
                {"namespace": "food_delivery", "name": "public.customers", "field": "email"}]}}},
        }}],
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, module_graph_args):
    with ServerProcess(tmp_path_factory.mktemp("injection") / "data", *module_graph_args) as server:
        http = httpx.Client(base_url=server.url, timeout=30)
        assert http.post("/api/v1/lineage/batch", json=json.loads((SAMPLES / "food_delivery.json").read_text())
                         ).status_code == 200
        graph = server.graph()
        before = snapshot_rows(graph)
        for index, payload in enumerate(PAYLOADS):
            response = http.post("/api/v1/lineage", json=hostile_event(index, payload))
            assert response.status_code == 201, response.text
        yield server, http, graph, before
        graph.close()
        http.close()


def pwned(rows: set[str]) -> bool:
    """Did a payload run: a node whose key or name was set to 'pwned' (the payloads hold the word as data)."""
    nodes = [json.loads(row)["p"] for row in rows if "l" in json.loads(row)]
    return any("pwned" in (node.get("key"), node.get("name")) for node in nodes)


def gql(http: httpx.Client, query: str, **variables) -> dict:
    body = http.post("/graphql", json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def test_hostile_events_add_their_own_nodes_and_touch_nothing_else(hostile):
    server, http, graph, before = hostile
    after = snapshot_rows(graph)
    lost = [json.loads(row) for row in before - after]
    # Rows of the sample graph may only differ where the events legitimately update them: the shared input
    # dataset, its email field and namespace are seen again, and the projection checkpoint moves.
    touched = {"checkpoint", "food_delivery", "dataset:food_delivery:public.customers",
               "datasetField:food_delivery:public.customers:email"}
    assert {row["p"]["key"] for row in lost if "l" in row} <= touched
    assert all(row["a"] in touched or row["b"] in touched for row in lost if "t" in row)
    assert not pwned(after)
    before_keys = {json.loads(row)["p"]["key"] for row in before if "l" in json.loads(row)}
    after_keys = {json.loads(row)["p"]["key"] for row in after if "l" in json.loads(row)}
    assert before_keys <= after_keys  # nothing deleted
    assert len(after_keys - before_keys) >= 8 * len(PAYLOADS)  # namespace, job, run, dataset, field, owner, tag...


@pytest.mark.parametrize("payload", PAYLOADS)
def test_each_payload_is_stored_verbatim_and_read_back(hostile, payload):
    server, http, graph, before = hostile
    found = gql(http, "query($ns: String!, $name: String!) { dataset(namespace: $ns, name: $name) { "
                      "name namespace description tags fields { name type } owners { name } } }",
                ns=f"ns {payload}", name=f"out {payload}")["dataset"]
    assert found["name"] == f"out {payload}" and found["namespace"] == f"ns {payload}"
    assert found["description"] == payload
    assert found["fields"] == [{"name": f"col {payload}", "type": payload}]
    assert found["tags"] == [f"tag {payload}"]
    job = gql(http, "query($ns: String!, $name: String!) { job(namespace: $ns, name: $name) { owners { name } } }",
              ns=f"ns {payload}", name=f"job {payload}")["job"]
    assert job["owners"] == [{"name": f"owner {payload}"}]


def test_hostile_query_arguments_and_steward_edits_change_nothing(hostile):
    server, http, graph, _ = hostile
    before = snapshot_rows(graph)
    for payload in PAYLOADS:
        gql(http, "query($q: String!) { search(query: $q) { id } }", q=payload)
        lineage = http.get("/api/v1/lineage", params={"nodeId": f"dataset:{payload}", "depth": 3})
        assert lineage.status_code in (400, 404)
        body = http.post("/graphql", json={"query": "query($id: String!) { lineage(nodeId: $id) { nodes { id } } }",
                                           "variables": {"id": payload}}).json()
        assert body.get("errors")
        assert http.get(f"/api/v1/namespaces/{payload}/datasets/{payload}").status_code == 404
    assert snapshot_rows(graph) == before  # reads changed nothing

    customers = "dataset:food_delivery:public.customers"
    for payload in PAYLOADS:
        gql(http, "mutation($id: String!, $text: String!) { setDescription(nodeId: $id, description: $text) { seq } "
                  "addTag(nodeId: $id, tag: $text) { seq } }", id=customers, text=payload)
    tags = gql(http, '{ dataset(namespace: "food_delivery", name: "public.customers") { description tags } }')
    assert tags["dataset"]["description"] == PAYLOADS[-1]
    assert set(PAYLOADS) <= set(tags["dataset"]["tags"])
    after = snapshot_rows(graph)
    assert not pwned(after)
    assert {json.loads(r)["p"]["key"] for r in before if "l" in json.loads(r)} <= \
        {json.loads(r)["p"]["key"] for r in after if "l" in json.loads(r)}
