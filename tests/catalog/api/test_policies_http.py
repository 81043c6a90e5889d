"""Policies and anonymization against a live server: loading over HTTP and GraphQL, the dry run,
and `catalog anonymize` whose run shows up in the lineage and stops propagation."""

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.catalog.api.test_graphql import data, error
from tests.conftest import VALID_DIR, ServerProcess

ROOT = Path(__file__).resolve().parents[3]
SEED = VALID_DIR / "marquez-seed" / "metadata.json"
SAMPLE_POLICY = ROOT / "policies" / "samples" / "food_delivery.yaml"
CUSTOMERS = ROOT / "ingestors" / "samples" / "customers.csv"
KEYS = {"CATALOG_PSEUDONYM_KEY": "pseudonym-key-0123456789abcdef", "CATALOG_VAULT_KEY": "vault-key-0123456789abcdef"}

# Leaves addresses (LOCATION) alone, so they keep flowing downstream of the anonymized copy.
PARTIAL = """\
name: partial
secrets: {k: {env: CATALOG_PSEUDONYM_KEY}, v: {env: CATALOG_VAULT_KEY}}
vaults: {people: {path: people.sqlite, key: v}}
rules:
  - name: contact-only
    applies_to: {datasets: ["food_delivery/public.customers"]}
    entities:
      EMAIL_ADDRESS: {operator: hash, key: k}
      PHONE_NUMBER: {operator: mask, keep_last: 2}
      PERSON: {operator: tokenize, key: k, vault: people}
"""


def cli(*args, cwd=None, env=None, timeout=300) -> subprocess.CompletedProcess:
    import os
    return subprocess.run([sys.executable, "-m", "catalog.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**os.environ, **KEYS, **(env or {})})


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, module_graph_args):
    root = tmp_path_factory.mktemp("policies")
    with ServerProcess(root / "data", *module_graph_args, env={"CATALOG_POLICIES": json.dumps([str(SAMPLE_POLICY)])}) as server:
        assert httpx.post(server.url + "/api/v1/lineage/batch", content=SEED.read_bytes(),
                          headers={"Content-Type": "application/json"}, timeout=60).status_code == 200
        scanned = cli("scan", str(CUSTOMERS), "--dataset", "food_delivery/public.customers", "--url", server.url)
        assert scanned.returncode == 0, scanned.stderr
        yield server, root


def test_policies_load_at_start_and_on_demand_with_versions(catalog):
    server, _ = catalog
    listed = httpx.get(server.url + "/api/v1/policies").json()["policies"]
    assert [(p["name"], p["loadedBy"]) for p in listed] == [("food-delivery-gdpr", "system:startup")]
    post = lambda text: httpx.post(server.url + "/api/v1/policies", params={"source": "partial.yaml"},  # noqa: E731
                                   content=text, headers={"Content-Type": "application/yaml"})
    first = post(PARTIAL)
    assert first.status_code == 201 and first.json()["changed"] is True
    again = post(PARTIAL)
    assert again.status_code == 200 and again.json()["changed"] is False
    bad = post(PARTIAL.replace("key: k}", "key: nope}"))
    assert bad.status_code == 422
    [detail] = bad.json()["details"]
    assert detail == {"file": "partial.yaml", "line": 8, "column": 44, "field": "rules[0].entities.EMAIL_ADDRESS.key",
                      "message": "no secret named 'nope' under secrets"}
    changed = data(server, "mutation($d: String!) { loadPolicy(document: $d, source: \"gql\") { changed "
                           "policy { name version versions { version loadedBy } } } }",
                   d=PARTIAL.replace("keep_last: 2", "keep_last: 3"))["loadPolicy"]
    assert changed["changed"] and [v["loadedBy"] for v in changed["policy"]["versions"]] == ["anonymous"] * 2
    message = error(server, "mutation { loadPolicy(document: \"name: x\\nrules: []\") { changed } }")
    assert message.startswith("<graphql>:2:8: rules: List should have at least 1 item")
    post(PARTIAL)  # back to the version the anonymize test uses
    [reloaded] = data(server, "mutation { reloadPolicies { changed policy { name loadedBy } } }")["reloadPolicies"]
    assert reloaded == {"changed": False, "policy": {"name": "food-delivery-gdpr", "loadedBy": "system:startup"}}


def test_dataset_policies_and_the_dry_run(catalog):
    server, _ = catalog
    found = data(server, """{ dataset(namespace: "food_delivery", name: "public.customers") {
        policies { policy rule why } }
      anonymizationPlan(datasetId: "dataset:food_delivery:public.customers", policy: "food-delivery-gdpr") {
        version rules { rule } unprotected columns { column entities operator subtype rule reason } } }""")
    rules = {(r["policy"], r["rule"]) for r in found["dataset"]["policies"]}
    assert ("food-delivery-gdpr", "customer-personal-data") in rules and ("partial", "contact-only") in rules
    [plan] = found["anonymizationPlan"]
    columns = {c["column"]: c for c in plan["columns"]}
    assert (columns["email"]["operator"], columns["email"]["subtype"]) == ("hash", "HASHED")
    assert (columns["name"]["operator"], columns["address"]["operator"]) == ("tokenize", "redact")
    assert columns["city_id"]["operator"] is None and columns["city_id"]["subtype"] == "IDENTITY"
    assert plan["unprotected"] == []
    assert "no dataset" in error(server, '{ anonymizationPlan(datasetId: "dataset:x:y") { policy } }')


def wait_for(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def test_anonymize_run_shows_in_lineage_and_stops_propagation(catalog, tmp_path):
    server, _ = catalog
    policy = tmp_path / "partial.yaml"
    policy.write_text(PARTIAL)
    target = tmp_path / "customers_anon.csv"
    run = cli("anonymize", "--policy", str(policy), str(CUSTOMERS), str(target), "--url", server.url,
              "--dataset", "food_delivery/public.customers", "--output-dataset", "food_delivery/analytics.customers",
              "--allow-unprotected", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "warning: personal data with no operator in a matching rule: address" in run.stderr
    assert "200 rows -> " in run.stdout and "lineage: job food_delivery/anonymize.analytics.customers" in run.stdout
    header, first = target.read_text().splitlines()[:2]
    assert "@" not in target.read_text() and first.split(",")[3].strip('"').startswith("tok_")
    job = data(server, """{ job(namespace: "food_delivery", name: "anonymize.analytics.customers") {
        latestRun { state } inputs { id } outputs { id } } }""")["job"]
    assert job == {"latestRun": {"state": "COMPLETE"}, "inputs": [{"id": "dataset:food_delivery:public.customers"}],
                   "outputs": [{"id": "dataset:food_delivery:analytics.customers"}]}
    edges = data(server, """{ columnLineage(nodeId: "datasetField:food_delivery:analytics.customers:email",
        direction: UPSTREAM, depth: 1) { edges { origin destination transformationSubtype masking } } }""")
    assert {(e["transformationSubtype"], e["masking"]) for e in edges["columnLineage"]["edges"]} == {("HASHED", True)}

    def output_classifications():
        fields = data(server, """{ dataset(namespace: "food_delivery", name: "analytics.customers") {
            fields { name classifications { entity origin path } } } }""")["dataset"]["fields"]
        found = {f["name"]: f["classifications"] for f in fields}
        return found if found.get("address") else None
    found = wait_for(output_classifications)
    assert found, "the address classification never propagated to the anonymized copy"
    assert [c["entity"] for c in found["address"]] == ["LOCATION"] and found["address"][0]["origin"] == "propagated"
    assert found["email"] == found["phone"] == found["name"] == []
    # The vault gives names back with its key, and only with it.
    token = first.split(",")[3].strip('"')
    reveal = cli("vault", "reveal", "--policy", str(policy), "--vault", "people", token, cwd=tmp_path)
    assert reveal.returncode == 0 and reveal.stdout.strip().split("\t")[1] == "Alexandre Traore"
    wrong = cli("vault", "reveal", "--policy", str(policy), "--vault", "people", token, cwd=tmp_path,
                env={"CATALOG_VAULT_KEY": "another-key-0123456789abcdef"})
    assert wrong.returncode == 1 and "the key does not open the vault" in wrong.stderr


def test_anonymize_refuses_cleanly(catalog, tmp_path):
    server, _ = catalog
    policy = tmp_path / "partial.yaml"
    policy.write_text(PARTIAL)
    target = tmp_path / "out.csv"
    args = ["anonymize", "--policy", str(policy), str(CUSTOMERS), str(target), "--dataset",
            "food_delivery/public.customers"]
    unprotected = cli(*args, "--url", server.url, cwd=tmp_path)
    assert unprotected.returncode == 1 and "not anonymizing" in unprotected.stderr
    down = cli(*args, "--allow-unprotected", "--url", "http://127.0.0.1:9", cwd=tmp_path)
    assert down.returncode == 1 and "cannot reach the catalog" in down.stderr
    no_key = cli(*args, "--allow-unprotected", "--url", server.url, cwd=tmp_path, env={"CATALOG_PSEUDONYM_KEY": ""})
    assert no_key.returncode == 1 and "secret 'k'" in no_key.stderr
    assert not target.exists() and not list(tmp_path.glob(".out*"))
