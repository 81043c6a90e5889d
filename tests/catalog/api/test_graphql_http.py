"""/graphql over HTTP: bodies within the limit (gzip too), the common JSON operation, and everything else answered
as strawberry's view answers it."""

import gzip
import json

import httpx
import pytest

from tests.conftest import ServerProcess

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory, module_graph_args):
    with ServerProcess(tmp_path_factory.mktemp("graphql-http") / "data", *module_graph_args,
                       env={"CATALOG_MAX_BODY_BYTES": str(LIMIT)}) as running:
        yield running


def post(server, body: bytes, **headers) -> httpx.Response:
    return httpx.post(server.url + "/graphql", content=body, timeout=30,
                      headers={"Content-Type": "application/json", **headers})


def operation(query: str, **fields) -> bytes:
    return json.dumps({"query": query, **fields}).encode()


def test_queries_and_mutations_are_answered(server):
    answer = post(server, operation("query($n: String!) { dataset(namespace: $n, name: \"nothing\") { id } }",
                                    variables={"n": "ns"}))
    assert answer.status_code == 200 and answer.json() == {"data": {"dataset": None}}
    assert answer.headers["content-type"] == "application/json"
    changed = post(server, operation('mutation { addTag(nodeId: "dataset:nowhere:none", tag: "x") { action } }'))
    assert changed.status_code == 200
    assert "no dataset" in changed.json()["errors"][0]["message"].lower()


def test_operation_names_pick_the_operation(server):
    document = "query A { a: __typename } query B { b: __typename }"
    assert post(server, operation(document, operationName="B")).json() == {"data": {"b": "Query"}}
    unknown = post(server, operation(document, operationName="C"))
    assert unknown.status_code == 400 and "C" in unknown.text
    unnamed = post(server, operation(document)).json()
    assert unnamed["data"] is None and "Must provide operation name" in unnamed["errors"][0]["message"]


def test_a_gzip_body_is_read(server):
    answer = post(server, gzip.compress(operation("{ __typename }")), **{"Content-Encoding": "gzip"})
    assert answer.status_code == 200 and answer.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_body_over_the_limit_is_refused_before_anything_runs(server, encoding):
    body = operation("{ __typename }", variables={"padding": "x" * LIMIT})
    answer = post(server, gzip.compress(body) if encoding == "gzip" else body, **{"Content-Encoding": encoding})
    assert answer.status_code == 413
    assert f"limit of {LIMIT} bytes" in answer.json()["error"]


@pytest.mark.parametrize("body, status, message", [
    (b"{not json", 400, "Unable to parse request body as JSON"),
    (b'{"query": null}', 400, "No GraphQL query found in the request"),
    (b'{"query": "{ __typename }", "variables": [1]}', 400, "`variables` must be an object or null"),
    (b'[{"query": "{ __typename }"}]', 400, "Batching is not enabled"),
])
def test_malformed_requests_get_strawberrys_answers(server, body, status, message):
    answer = post(server, body)
    assert answer.status_code == status and message in answer.text


def test_other_content_types_and_get_go_to_strawberrys_view(server):
    form = httpx.post(server.url + "/graphql", data={"query": "{ __typename }"}, timeout=30)
    assert form.status_code == 400 and "Unsupported content type" in form.text
    got = httpx.get(server.url + "/graphql", params={"query": "{ __typename }"}, timeout=30)
    assert got.status_code == 200 and got.json() == {"data": {"__typename": "Query"}}
    page = httpx.get(server.url + "/graphql", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and "graphiql" in page.text.lower()
