"""One catalog, two engines, the same answers.

The shared OpenLineage corpus (and the audit scenario: the food-delivery seed, a scan,
steward edits, an audit) goes through HTTP to a server on the embedded FalkorDB and to one
on Neo4j. Every answer compared must be identical: lineage from every dataset and job in
three directions at several depths, column lineage from every field the corpus derives,
search, datasets with their fields and classifications, and the audit's findings.
Orders the API leaves to the engine (nodes within a depth, search relevance) are compared
as sets.
"""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.catalog.api.test_audits_http import wait_for
from tests.conftest import ServerProcess
from tests.policies.audit_scenario import POLICY, SEED, dietary_events
from tests.policies.conftest import customers_scan

LINEAGE = """query($id: String!, $dir: LineageDirection!, $depth: Int!) {
  lineage(nodeId: $id, direction: $dir, depth: $depth, first: 5000) {
    nodes { id type depth namespace name datasetId } edges { origin destination }
    depthReached isPartial totalReachable } }"""
COLUMN_LINEAGE = """query($id: String!, $dir: LineageDirection!) {
  columnLineage(nodeId: $id, direction: $dir, depth: 10) {
    nodes { id type depth datasetId }
    edges { origin destination transformationType transformationSubtype masking } depthReached isPartial } }"""
SEARCH = """query($q: String!) { search(query: $q, first: 500) { type id name namespace datasetId description } }"""
DATASETS = """{ datasets(first: 500) { nodes { id namespace name description datasetType tags
  governance { legalBasis retentionDays storageCountry }
  owners { name }
  fields { id name type tags classifications { entity category special state origin recognizer score matched } }
  classifications { fieldId entity state origin } } } }"""
FINDINGS = """{ findings(first: 500) { nodes { status severity rule article namespace datasetId fieldId message
  remediation evidence fingerprint } run { datasets open new resolved unchanged summary } } }"""
SEARCHES = ["orders", "customer", "delivery", "public", "etl", "email", "a", "order 7", "BigQuery", "menu_items"]


def graphql(http: httpx.Client, query: str, **variables) -> dict:
    body = http.post("/graphql", json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def load(server: ServerProcess, http: httpx.Client, corpus: list[dict]) -> None:
    seed = json.loads(SEED.read_text())
    for chunk in (corpus, seed + dietary_events(seed)):
        response = http.post("/api/v1/lineage/batch", json=chunk)
        assert response.status_code == 200 and all(r["status"] in (201, 200) for r in response.json()["results"])
    scan = {"namespace": "food_delivery", "name": "public.customers", "seconds": 0.1, **customers_scan()}
    assert http.post("/api/v1/scans", json=scan).status_code == 201
    graphql(http, """mutation { setGovernance(nodeId: "dataset:food_delivery:public.customers",
        attributes: {legalBasis: "contract", storageCountry: "US", retentionDays: 30}) { seq } }""")
    graphql(http, """mutation { addOwner(nodeId: "dataset:food_delivery:public.orders", owner: "team:sales") { seq } }""")
    started = http.post("/api/v1/audits", content=POLICY)
    assert started.status_code == 202, started.text
    assert wait_for(server, started.json()["id"])["status"] == "complete"


def starts(corpus: list[dict]) -> list[str]:
    ids = set()
    for event in corpus:
        if "job" in event:
            ids.add(f"job:{event['job']['namespace']}:{event['job']['name']}")
        for dataset in (event.get("inputs") or []) + (event.get("outputs") or []):
            ids.add(f"dataset:{dataset['namespace']}:{dataset['name']}")
    return sorted(ids)


def derived_fields(corpus: list[dict]) -> list[str]:
    fields = set()
    for event in corpus:
        for output in event.get("outputs") or []:
            lineage = ((output.get("facets") or {}).get("columnLineage") or {}).get("fields") or {}
            fields.update(f"datasetField:{output['namespace']}:{output['name']}:{name}" for name in lineage)
    return sorted(fields)


def canonical(value):
    """Lists sorted by their JSON (orders the engines may differ on), recursively."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def answers(http: httpx.Client, corpus: list[dict]) -> dict:
    asked = {}  # what each answer is: (query, variables, the part of the data compared)
    for node in starts(corpus):
        for direction in ("UPSTREAM", "DOWNSTREAM", "BOTH"):
            for depth in (1, 3, 10):
                asked[f"lineage {node} {direction} {depth}"] = (LINEAGE, {"id": node, "dir": direction,
                                                                          "depth": depth}, "lineage")
    for field in derived_fields(corpus):
        for direction in ("UPSTREAM", "DOWNSTREAM"):
            asked[f"columnLineage {field} {direction}"] = (COLUMN_LINEAGE, {"id": field, "dir": direction},
                                                           "columnLineage")
    for words in SEARCHES:
        asked[f"search {words}"] = (SEARCH, {"q": words}, "search")
    asked["datasets"] = (DATASETS, {}, "datasets")
    asked["findings"] = (FINDINGS, {}, "findings")

    def answer(question: tuple[str, dict, str]):
        query, variables, part = question
        data = graphql(http, query, **variables)[part]
        return data["nodes"] if part == "datasets" else data

    # Four requests at a time: the server and its engine answer concurrently, and the suite has a time budget.
    with ThreadPoolExecutor(4) as pool:
        return {key: canonical(value) for key, value in zip(asked, pool.map(answer, asked.values()))}


def served_answers(server: ServerProcess, corpus: list[dict], fill: bool) -> dict:
    with httpx.Client(base_url=server.url, timeout=120) as http:  # a few connections for a thousand queries
        if fill:
            load(server, http, corpus)
        return answers(http, corpus)


def differences(expected: dict, found: dict) -> list[str]:
    assert expected.keys() == found.keys()
    return [key for key in expected if expected[key] != found[key]]


def test_the_corpus_gives_identical_answers_on_falkordb_and_neo4j_and_after_moving_to_postgresql_and_neo4j(
        tmp_path, valid_events, neo4j_url, database_url):
    corpus = [event for _, event in valid_events]
    embedded, direct = tmp_path / "embedded", tmp_path / "direct"
    with ServerProcess(embedded) as falkor:
        on_falkor = served_answers(falkor, corpus, fill=True)
    with ServerProcess(direct, "--graph-url", neo4j_url) as neo4j:
        on_neo4j = served_answers(neo4j, corpus, fill=True)
    differing = differences(on_falkor, on_neo4j)
    lineage_nodes = sum(len(v["nodes"]) for k, v in on_falkor.items() if k.startswith("lineage "))
    print(f"{len(on_falkor)} answers compared ({lineage_nodes} lineage nodes, "
          f"{len(on_falkor['findings']['nodes'])} findings): {len(differing)} differ")
    assert not differing, {key: (on_falkor[key], on_neo4j[key]) for key in differing[:3]}
    # Not vacuous: the corpus has deep lineage, column lineage, search hits and findings.
    assert lineage_nodes > 1000 and on_falkor["findings"]["nodes"]
    assert any(v["edges"] for k, v in on_falkor.items() if k.startswith("columnLineage"))
    assert on_falkor["search orders"] and any(f["classifications"] for d in on_falkor["datasets"] for f in d["fields"])

    # The documented move (docs/deployment.md): copy the embedded catalog's logs into PostgreSQL and
    # rebuild the graph on Neo4j from them, then serve from there (another data directory: nothing of
    # the embedded one is used any more).
    moved = subprocess.run([sys.executable, "-m", "catalog.cli", "move", "--data-dir", str(embedded),
                            "--database", database_url, "--graph-url", neo4j_url],
                           capture_output=True, text=True, timeout=300)
    assert moved.returncode == 0, moved.stderr
    with ServerProcess(tmp_path / "replica", "--database", database_url, "--graph-url", neo4j_url) as after_move:
        on_moved = served_answers(after_move, corpus, fill=False)
    differing = differences(on_falkor, on_moved)
    print(f"after the move to PostgreSQL and Neo4j: {len(differing)} of {len(on_moved)} answers differ")
    assert not differing, {key: (on_falkor[key], on_moved[key]) for key in differing[:3]}
