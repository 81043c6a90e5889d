"""The GraphQL API over HTTP against a live server loaded with the real OpenLineage corpus."""

import json
import threading
import time
import uuid
from pathlib import Path

import httpx
import networkx as nx
import pytest
from websockets.sync.client import connect

from catalog.api.graphql import schema
from tests.conftest import ServerProcess

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def gql_server(tmp_path_factory, valid_events, module_graph_args):
    with ServerProcess(tmp_path_factory.mktemp("gql") / "data", *module_graph_args) as server:
        response = httpx.post(server.url + "/api/v1/lineage/batch", json=[e for _, e in valid_events], timeout=60)
        assert response.status_code == 200
        yield server


def gql(server, query: str, **variables) -> dict:
    response = httpx.post(server.url + "/graphql", json={"query": query, "variables": variables}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def data(server, query: str, **variables) -> dict:
    body = gql(server, query, **variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


def error(server, query: str, **variables) -> str:
    body = gql(server, query, **variables)
    assert body.get("errors"), body
    return body["errors"][0]["message"]


def reference_graph(events) -> nx.DiGraph:
    graph = nx.DiGraph()
    for _, event in events:
        for i in event.get("inputs") or []:
            for o in event.get("outputs") or []:
                graph.add_edge(f"dataset:{i['namespace']}:{i['name']}", f"dataset:{o['namespace']}:{o['name']}")
    return graph


LINEAGE = """query($id: String!, $dir: LineageDirection!, $depth: Int!) {
  lineage(nodeId: $id, direction: $dir, depth: $depth) {
    nodes { id type depth } edges { origin destination } depthReached isPartial totalReachable
  }
}"""


@pytest.mark.parametrize("direction", ["UPSTREAM", "DOWNSTREAM"])
@pytest.mark.parametrize("depth", [1, 2, 4])
def test_lineage_matches_a_reference_on_the_seed(gql_server, valid_events, direction, depth):
    graph = reference_graph(valid_events)
    start = "dataset:food_delivery:public.orders_7_days" if direction == "UPSTREAM" else "dataset:food_delivery:public.menus"
    g = graph.reverse() if direction == "UPSTREAM" else graph
    expected = nx.single_source_shortest_path_length(g, start, cutoff=depth)
    result = data(gql_server, LINEAGE, id=start, dir=direction, depth=depth)["lineage"]
    datasets = {n["id"]: n["depth"] for n in result["nodes"] if n["type"] == "DATASET"}
    assert datasets == expected
    jobs = {n["id"] for n in result["nodes"] if n["type"] == "JOB"}
    assert jobs, "jobs between the datasets are part of the lineage"
    ids = {n["id"] for n in result["nodes"]}
    assert all(e["origin"] in ids and e["destination"] in ids for e in result["edges"])
    assert result["depthReached"] == max(expected.values()) and not result["isPartial"]


def test_lineage_from_a_job_and_pagination(gql_server):
    full = data(gql_server, LINEAGE, id="job:food_delivery:etl_orders_7_days", dir="BOTH", depth=3)["lineage"]
    assert {"id": "job:food_delivery:etl_orders_7_days", "type": "JOB", "depth": 0} in full["nodes"]
    assert full["totalReachable"] == len(full["nodes"])  # asked for: the whole lineage is explored
    query = """query($after: String) { lineage(nodeId: "job:food_delivery:etl_orders_7_days", depth: 3, first: 4,
      after: $after) { nodes { id } edges { origin destination } pageInfo { hasNextPage endCursor } } }"""
    seen, edges, after = [], [], None
    while True:
        page = data(gql_server, query, after=after)["lineage"]
        seen += [n["id"] for n in page["nodes"]]
        edges += [(e["origin"], e["destination"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(n["id"] for n in full["nodes"]) and len(seen) == len(set(seen))
    assert sorted(edges) == sorted((e["origin"], e["destination"]) for e in full["edges"])


def test_total_reachable_is_counted_when_asked_for_through_fragments_too(gql_server):
    start = "dataset:food_delivery:public.orders"
    whole = data(gql_server, LINEAGE, id=start, dir="BOTH", depth=3)["lineage"]
    head = f'lineage(nodeId: "{start}", depth: 3, first: 1)'
    for query in (f"{{ {head} {{ nodes {{ id }} ... on LineageGraph {{ totalReachable }} }} }}",
                  f"{{ {head} {{ nodes {{ id }} ...counts }} }} fragment counts on LineageGraph {{ totalReachable }}"):
        page = data(gql_server, query)["lineage"]
        assert len(page["nodes"]) == 1 and page["totalReachable"] == len(whole["nodes"]) > 1


def test_as_of_shows_lineage_as_it_was(gql_server):
    def event(run, time, output):
        return {"eventType": "COMPLETE", "eventTime": time, "producer": "https://example.com/t",
                "run": {"runId": run}, "job": {"namespace": "asof", "name": f"to_{output}"},
                "inputs": [{"namespace": "asof", "name": "src"}], "outputs": [{"namespace": "asof", "name": output}]}
    httpx.post(gql_server.url + "/api/v1/lineage/batch", json=[
        event(str(uuid.uuid4()), "2024-01-01T00:00:00Z", "early"),
        event(str(uuid.uuid4()), "2024-06-01T00:00:00Z", "late")])
    query = """query($asOf: DateTime) { lineage(nodeId: "dataset:asof:src", direction: DOWNSTREAM, depth: 2,
      asOf: $asOf) { nodes { id type } } }"""
    def datasets(as_of):
        return {n["id"] for n in data(gql_server, query, asOf=as_of)["lineage"]["nodes"] if n["type"] == "DATASET"}
    assert datasets(None) == {"dataset:asof:src", "dataset:asof:early", "dataset:asof:late"}
    assert datasets("2024-03-01T00:00:00+00:00") == {"dataset:asof:src", "dataset:asof:early"}
    assert datasets("2023-01-01T00:00:00+00:00") == {"dataset:asof:src"}


def test_column_lineage_on_airflow_events(gql_server):
    query = """query($id: String!) { columnLineage(nodeId: $id, direction: UPSTREAM, depth: 2) {
      nodes { id type datasetId } edges { origin destination transformationType } } }"""
    result = data(gql_server, query, id="datasetField:bigquery:mock-project.test.upload:a")["columnLineage"]
    ids = {n["id"] for n in result["nodes"]}
    assert {"datasetField:gs://mock-bucket:copied.csv:a", "datasetField:gs://mock-bucket:test.csv:a"} <= ids
    edge = next(e for e in result["edges"] if e["origin"] == "datasetField:gs://mock-bucket:copied.csv:a")
    assert edge["destination"] == "datasetField:bigquery:mock-project.test.upload:a"
    assert edge["transformationType"] == "IDENTITY"


def test_dataset_job_run_and_search(gql_server):
    result = data(gql_server, """{ dataset(namespace: "food_delivery", name: "public.orders") {
        id description sourceName fields { name type } facets latestRun { state job { name } } }
      job(namespace: "food_delivery", name: "etl_orders_7_days") { sql latestRun { id state } inputs { id } outputs { id } }
      search(query: "orders", types: [DATASET, JOB], first: 5) { type id name } }""")
    dataset = result["dataset"]
    assert dataset["description"] == "A table for orders." and dataset["sourceName"] == "food_delivery_db"
    assert {"name": "placed_on", "type": "TIMESTAMP"} in dataset["fields"]
    assert "schema" in dataset["facets"]
    job = result["job"]
    assert "INSERT INTO orders_7_days" in job["sql"]
    assert "dataset:food_delivery:public.orders_7_days" in [d["id"] for d in job["outputs"]]
    run = data(gql_server, "query($id: String!) { run(id: $id) { state job { id } } }", id=job["latestRun"]["id"])
    assert run["run"]["job"]["id"] == "job:food_delivery:etl_orders_7_days"
    hits = result["search"]
    assert hits[0]["name"] in ("public.orders", "orders") and len(hits) == 5
    assert all("orders" in h["name"].lower() for h in hits)


def test_dataset_pagination_is_complete_and_stable(gql_server):
    query = """query($after: String) { datasets(namespace: "food_delivery", first: 4, after: $after) {
      nodes { id } totalCount pageInfo { hasNextPage endCursor } } }"""
    seen, after, total = [], None, None
    while True:
        page = data(gql_server, query, after=after)["datasets"]
        total = page["totalCount"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == total == len(set(seen)) and seen == sorted(seen) and total > 8


@pytest.mark.parametrize("query, message", [
    ('{ lineage(nodeId: "dataset:nope:nothing") { isPartial } }', "no dataset with nodeId"),
    ('{ lineage(nodeId: "dataset:food_delivery:public.orders", depth: 500) { isPartial } }', "depth must be between"),
    ('{ lineage(nodeId: "orders") { isPartial } }', "nodeId must look like"),
    ('{ lineage(nodeId: "dataset:food_delivery:public.orders", after: "!!") { isPartial } }', "malformed cursor"),
    ('{ datasets(after: "bm90IGEgY3Vyc29y") { totalCount } }', "malformed cursor"),
    ('{ datasets(first: 100000) { totalCount } }', "first must be between"),
    ('{ columnLineage(nodeId: "dataset:a:b") { isPartial } }', "nodeId must look like datasetField"),
    ('{ search(query: " ") { id } }', "must not be empty"),
])
def test_bad_arguments_are_clear_graphql_errors(gql_server, query, message):
    assert message in error(gql_server, query)


def test_query_depth_limit(gql_server):
    nested = "{ job(namespace: \"food_delivery\", name: \"etl_orders_7_days\") { " + \
        "latestRun { job { latestRun { job { latestRun { job { latestRun { job { latestRun { job { latestRun " \
        "{ job { latestRun { id } } } } } } } } } } } } } } }"
    for _ in range(2):  # the second time the document's validation comes from the cache: it still fails
        assert "exceeds maximum operation depth" in error(gql_server, nested)


def test_query_cost_limit_counts_objects_through_pages_and_fragments(gql_server):
    costly = ("fragment versions on Dataset { versions(first: 500) { id version } } "
              "query($n: Int!) { datasets(first: $n) { nodes { ...versions } } }")
    body = gql(gql_server, costly, n=500)
    assert body["data"] is None
    [problem] = body["errors"]
    assert problem["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 501001, "limit": 200000}
    assert "ask for smaller pages" in problem["message"]
    # The same document (parsed and validated once, from then on cached) with small pages runs, and with large
    # ones is refused again: the cost is counted on each request's variables.
    assert data(gql_server, costly, n=5)["datasets"]["nodes"]
    assert gql(gql_server, costly, n=500)["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


def test_alias_limit(gql_server):
    many = "{ " + " ".join(f'a{i}: policies {{ name }}' for i in range(40)) + " }"
    for _ in range(2):
        assert "aliases" in error(gql_server, many).lower()


def test_stewardship_mutations_are_recorded_in_history(gql_server):
    node = "dataset:food_delivery:public.customers"
    data(gql_server, """mutation($id: String!) {
      a: setGovernance(nodeId: $id, attributes: {legalBasis: "contract", retentionDays: 365, storageCountry: "DE",
         dataSubjectCategories: ["customers"]}) { seq }
      b: addTag(nodeId: $id, tag: "pii") { seq }
      c: addOwner(nodeId: $id, owner: "team:growth", type: "STEWARD") { seq }
      d: setDescription(nodeId: $id, description: "Customers who ordered at least once.") { seq } }""", id=node)
    result = data(gql_server, """{ dataset(namespace: "food_delivery", name: "public.customers") {
        description tags owners { name type } governance { legalBasis retentionDays storageCountry dataSubjectCategories }
        history { action actor detail } }
      tagged: datasets(tag: "pii") { nodes { id } } }""")
    dataset = result["dataset"]
    assert dataset["description"] == "Customers who ordered at least once."
    assert "pii" in dataset["tags"] and {"name": "team:growth", "type": "STEWARD"} in dataset["owners"]
    assert dataset["governance"] == {"legalBasis": "contract", "retentionDays": 365, "storageCountry": "DE",
                                     "dataSubjectCategories": ["customers"]}
    assert [h["action"] for h in dataset["history"]] == ["set_description", "add_owner", "add_tag", "set_governance"]
    assert all(h["actor"] == "anonymous" for h in dataset["history"])
    assert result["tagged"]["nodes"] == [{"id": node}]
    data(gql_server, 'mutation { removeTag(nodeId: "dataset:food_delivery:public.customers", tag: "pii") { seq } }')
    assert "pii" not in data(gql_server, '{ dataset(namespace: "food_delivery", name: "public.customers") { tags } }')[
        "dataset"]["tags"]
    assert "legalBasis must be one of" in error(
        gql_server, 'mutation { setGovernance(nodeId: "dataset:food_delivery:public.customers", '
                    'attributes: {legalBasis: "because"}) { seq } }')
    assert "no dataset" in error(gql_server, 'mutation { addTag(nodeId: "dataset:x:y", tag: "t") { seq } }')


def test_subscription_announces_new_runs(gql_server):
    received = []

    def listen():
        with connect(gql_server.url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"],
                     open_timeout=10) as ws:
            ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": 'subscription { lineageEvents(namespace: "live") { job runId eventType } }'}}))
            ready.set()
            received.append(json.loads(ws.recv(timeout=15)))

    ready = threading.Event()
    listener = threading.Thread(target=listen)
    listener.start()
    assert ready.wait(10)
    time.sleep(0.3)
    run_id = str(uuid.uuid4())
    for namespace in ("other", "live"):
        httpx.post(gql_server.url + "/api/v1/lineage", json={
            "eventType": "START", "eventTime": "2024-01-01T00:00:00Z", "producer": "https://example.com/t",
            "run": {"runId": run_id if namespace == "live" else str(uuid.uuid4())},
            "job": {"namespace": namespace, "name": "streaming"}})
    listener.join(20)
    assert received and received[0]["payload"]["data"]["lineageEvents"] == {
        "job": "streaming", "runId": run_id, "eventType": "START"}


def test_graphiql_is_served_to_browsers(gql_server):
    response = httpx.get(gql_server.url + "/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()


def test_committed_schema_matches_the_code():
    committed = (REPO / "docs" / "schema.graphql").read_text()
    assert committed == schema.as_str() + "\n", "regenerate with: catalog schema > docs/schema.graphql"
