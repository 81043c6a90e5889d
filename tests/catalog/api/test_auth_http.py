"""Roles over HTTP and GraphQL against a live server with authentication on (the default)."""

import json
import time
from pathlib import Path

import httpx
import pytest

from catalog.api.graphql import schema
from catalog.keys import AUDIT, COMPLIANCE, INGEST, POLICY, READ, STEWARD, KeyStore
from ingestors.files import SAMPLES
from tests.conftest import ServerProcess

# The design's role table, written out here so that a change to catalog.keys.ROLES shows up as a failure.
GRANTS = {
    "producer": {INGEST},
    "viewer": {READ},
    "steward": {READ, STEWARD, COMPLIANCE},
    "compliance_officer": {READ, POLICY, AUDIT, COMPLIANCE},
    "admin": {INGEST, READ, STEWARD, POLICY, AUDIT, COMPLIANCE},
}
SAMPLE_POLICY = Path(__file__).resolve().parents[3] / "policies" / "samples" / "food_delivery.yaml"
CUSTOMERS = "dataset:food_delivery:public.customers"


def sample_events() -> list[dict]:
    return json.loads((SAMPLES / "food_delivery.json").read_text())


def lineage_event(namespace: str, name: str, job_namespace: str | None = None) -> dict:
    return {"eventType": "COMPLETE", "eventTime": "2024-05-01T10:00:00Z", "producer": "https://example.com/auth-test",
            "run": {"runId": "01908a5e-0000-7000-8000-000000000001"},
            "job": {"namespace": job_namespace or namespace, "name": f"load_{name}"},
            "inputs": [], "outputs": [{"namespace": namespace, "name": name}]}


SCAN = {"namespace": "food_delivery", "name": "public.customers", "source": "auth-test", "rows": 10, "seconds": 0.1,
        "columns": [{"column": "email", "sampled": 10, "findings": [
            {"entity": "EMAIL_ADDRESS", "recognizer": "test", "score": 0.9, "matched": 10, "sampled": 10,
             "evidence": "values"}]}]}


@pytest.fixture(scope="module")
def secured(tmp_path_factory, module_graph_args):
    """A server with one key per role, plus a producer limited to food_delivery; keys made before it starts."""
    data = tmp_path_factory.mktemp("auth") / "data"
    store = KeyStore(data)
    tokens = {role: store.create(f"test-{role}", role)[1] for role in GRANTS}
    tokens["food_producer"] = store.create("food-only", "producer", ("food_delivery", "s3://food-*"))[1]
    revoked, tokens["revoked"] = store.create("gone", "admin")
    store.revoke(revoked.id)
    store.close()
    with ServerProcess(data, *module_graph_args, auth=True) as server:
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        assert httpx.post(server.url + "/api/v1/lineage/batch", json=sample_events(), headers=admin,
                          timeout=30).status_code == 200
        yield server, tokens


def call(server, token: str | None, method: str, path: str, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, server.url + path, headers=headers, timeout=60, follow_redirects=False, **kwargs)


def wait_for_audit(server, token: str, started: httpx.Response) -> None:
    """Let an audit started over REST finish, so the next one is not refused as busy."""
    for _ in range(600):
        if call(server, token, "GET", f"/api/v1/audits/{started.json()['id']}").json()["status"] != "running":
            return
        time.sleep(0.1)
    raise AssertionError("audit did not finish")


# (permission, method, path, request kwargs, statuses meaning it was served)
REST = [
    (INGEST, "POST", "/api/v1/lineage", {"json": lineage_event("food_delivery", "auth_out")}, {201}),
    (INGEST, "POST", "/api/v1/lineage/batch", {"json": [lineage_event("food_delivery", "auth_batch")]}, {200}),
    (READ, "GET", "/api/v1/lineage", {"params": {"nodeId": CUSTOMERS, "depth": 1}}, {200}),
    (READ, "GET", "/api/v1/namespaces/food_delivery/datasets/public.customers", {}, {200}),
    (READ, "GET", "/api/v1/policies", {}, {200}),
    (READ, "GET", "/lineage", {}, {200}),
    (READ, "GET", "/", {}, {200}),
    (READ, "GET", "/search", {"params": {"q": "orders"}}, {200}),
    (READ, "GET", "/datasets", {}, {200}),
    (READ, "GET", "/dataset", {"params": {"id": CUSTOMERS}}, {200}),
    (READ, "GET", "/jobs", {}, {200}),
    (READ, "GET", "/job", {"params": {"id": "job:food_delivery:etl_orders"}}, {200}),
    (STEWARD, "POST", "/dataset", {"data": {"id": CUSTOMERS, "action": "add_tag", "tag": "auth-page"}}, {303}),
    (COMPLIANCE, "GET", "/compliance", {}, {200}),
    (COMPLIANCE, "GET", "/audits", {}, {200}),
    (COMPLIANCE, "GET", "/impact/pick", {}, {200}),
    (STEWARD, "POST", "/api/v1/scans", {"json": SCAN}, {201}),
    (POLICY, "POST", "/api/v1/policies", {"content": SAMPLE_POLICY.read_bytes()}, {200, 201}),
    (AUDIT, "POST", "/api/v1/audits", {}, {202}),
    (COMPLIANCE, "GET", "/api/v1/audits", {}, {200}),
    (COMPLIANCE, "GET", "/api/v1/audits/latest", {}, {200}),
    (COMPLIANCE, "GET", "/api/v1/audits/latest/findings", {}, {200}),
    (COMPLIANCE, "GET", "/api/v1/audits/latest/report", {"params": {"format": "json"}}, {200}),
    (COMPLIANCE, "GET", "/audits/latest", {}, {200}),
    (COMPLIANCE, "GET", "/api/v1/register", {}, {200}),
    (COMPLIANCE, "GET", "/register", {}, {200}),
    (COMPLIANCE, "GET", "/api/v1/impact", {"params": {"fieldId": "datasetField:food_delivery:public.customers:email"}},
     {200}),
    (COMPLIANCE, "GET", "/impact", {"params": {"fieldId": "datasetField:food_delivery:public.customers:email"}}, {200}),
]


def ensure_an_audit_ran(server, admin: str) -> None:
    """Reads of findings need an audit run; whichever test runs first makes one."""
    if call(server, admin, "GET", "/api/v1/audits/latest").status_code == 404:
        wait_for_audit(server, admin, call(server, admin, "POST", "/api/v1/audits"))


@pytest.mark.parametrize("role", list(GRANTS))
def test_each_role_is_served_or_refused_on_every_route(secured, role):
    server, tokens = secured
    admin = tokens["admin"]
    ensure_an_audit_ran(server, admin)
    outcomes = []
    for permission, method, path, kwargs, served in REST:
        response = call(server, tokens[role], method, path, **kwargs)
        if response.status_code == 202:
            wait_for_audit(server, admin, response)
        allowed = permission in GRANTS[role]
        ok = response.status_code in served if allowed else response.status_code == 403
        outcomes.append((method, path, response.status_code, "ok" if ok else response.text[:200]))
        if not allowed:
            body = response.json()
            assert f"the {role} role may not do this" in body["error"] and body["details"][0]["required"] == permission
    assert [o for o in outcomes if o[3] != "ok"] == []


# (permission, GraphQL document, the root field it reads or changes)
GRAPHQL = [
    (READ, '{ dataset(namespace: "food_delivery", name: "public.customers") { id fields { name } } }', "dataset"),
    (READ, '{ lineage(nodeId: "%s", depth: 1) { nodes { id } } }' % CUSTOMERS, "lineage"),
    (READ, "{ policies { name } }", "policies"),
    (STEWARD, 'mutation { addTag(nodeId: "%s", tag: "auth-test") { seq } }' % CUSTOMERS, "addTag"),
    (STEWARD, 'mutation { setGovernance(nodeId: "%s", attributes: {purpose: "orders"}) { seq } }' % CUSTOMERS,
     "setGovernance"),
    (POLICY, "mutation($doc: String!) { loadPolicy(document: $doc) { changed } }", "loadPolicy"),
    (AUDIT, "mutation { runAudit { id } }", "runAudit"),
    (COMPLIANCE, "{ audits { id } }", "audits"),
    (COMPLIANCE, "{ processingRegister }", "processingRegister"),
    (COMPLIANCE, "{ findings(first: 5) { nodes { rule } } }", "findings"),
]


@pytest.mark.parametrize("role", list(GRANTS))
def test_each_role_is_served_or_refused_on_graphql_fields(secured, role):
    server, tokens = secured
    ensure_an_audit_ran(server, tokens["admin"])
    outcomes = []
    for permission, document, field in GRAPHQL:
        response = call(server, tokens[role], "POST", "/graphql",
                        json={"query": document, "variables": {"doc": SAMPLE_POLICY.read_text()} if "$doc" in document
                              else {}})
        assert response.status_code == 200
        body = response.json()
        if permission in GRANTS[role]:
            ok = not body.get("errors") and body["data"][field] is not None
        else:
            ok = [e["message"] for e in body["errors"]] == [
                f"the {role} role may not read or change {field!r}: it needs the {permission!r} permission"]
        outcomes.append((field, "ok" if ok else body))
    assert [o for o in outcomes if o[1] != "ok"] == []


EXPECTED_FIELD_PERMISSIONS = {
    **{name: READ for name in (
        "dataset", "datasets", "job", "jobs", "run", "search", "lineage", "columnLineage", "impact",
        "personalDatasets", "policies", "policy", "anonymizationPlan", "history", "lineageEvents")},
    **{name: STEWARD for name in ("setDescription", "addTag", "removeTag", "addOwner", "removeOwner", "setGovernance",
                                  "confirmClassification", "rejectClassification")},
    **{name: POLICY for name in ("loadPolicy", "reloadPolicies", "removePolicy")},
    "runAudit": AUDIT,
    **{name: COMPLIANCE for name in ("audits", "auditRun", "findings", "processingRegister", "erasureImpact")},
}


def test_every_graphql_root_field_declares_the_expected_permission():
    declared = {}
    for root in (schema.query, schema.mutation, schema.subscription):
        for field in root.__strawberry_definition__.fields:
            assert len(field.permission_classes) == 1, f"{field.python_name} has no permission check"
            declared[schema.config.name_converter.get_graphql_name(field)] = field.permission_classes[0].permission
    assert declared == EXPECTED_FIELD_PERMISSIONS


def test_every_route_is_guarded_or_deliberately_open(secured):
    from catalog.api.app import create_app
    from catalog.api.auth import OPEN_PATHS, OPEN_PREFIXES

    for route in create_app().routes:
        if route.path in OPEN_PATHS or route.path == "/graphql":  # /graphql: per field, above
            continue
        if (route.path + "/").startswith(OPEN_PREFIXES):
            assert route.path == "/static", route.path  # library code and the pages' scripts only
            continue
        assert getattr(route.endpoint, "permission", None), f"{route.path} has no permission check"


@pytest.mark.parametrize("path,method", [("/api/v1/lineage", "POST"), ("/api/v1/lineage", "GET"), ("/graphql", "POST"),
                                         ("/api/v1/audits", "GET"), ("/api/v1/register", "GET")])
def test_no_key_wrong_key_and_revoked_key_get_401(secured, path, method):
    server, tokens = secured
    body = {"json": lineage_event("food_delivery", "never")} if method == "POST" else {}
    missing = call(server, None, method, path, **body)
    assert missing.status_code == 401 and "missing API key" in missing.json()["error"]
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    for token in ("lc_0123456789ab_" + "x" * 43, tokens["admin"][:-2] + "zz", tokens["revoked"], "plain-password"):
        wrong = call(server, token, method, path, **body)
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid or revoked API key"
    basic = httpx.request(method, server.url + path, auth=("admin", tokens["admin"]), **body)
    assert basic.status_code == 401
    reader = call(server, tokens["viewer"], "GET", "/api/v1/namespaces/food_delivery/datasets/never")
    assert reader.status_code == 404  # nothing of the refused posts was written


def test_health_and_metrics_stay_open_for_probes(secured):
    server, _ = secured
    assert httpx.get(server.url + "/health").status_code == 200
    assert httpx.get(server.url + "/metrics").status_code == 200


def test_a_producer_writes_only_into_its_namespaces(secured):
    server, tokens = secured
    token = tokens["food_producer"]
    assert call(server, token, "POST", "/api/v1/lineage",
                json=lineage_event("food_delivery", "allowed_out")).status_code == 201
    assert call(server, token, "POST", "/api/v1/lineage",
                json=lineage_event("s3://food-lake", "allowed_s3")).status_code == 201
    outside = call(server, token, "POST", "/api/v1/lineage", json=lineage_event("finance", "ledger"))
    assert outside.status_code == 403
    assert outside.json()["details"] == [{"namespace": "finance"}]
    assert "may write only to namespaces matching food_delivery, s3://food-*" in outside.json()["error"]
    # An output inside, but the job (or an input) outside, is still writing outside.
    sneaky = call(server, token, "POST", "/api/v1/lineage", json=lineage_event("food_delivery", "x", "finance"))
    assert sneaky.status_code == 403
    via_input = lineage_event("food_delivery", "y")
    via_input["inputs"] = [{"namespace": "hr", "name": "salaries"}]
    assert call(server, token, "POST", "/api/v1/lineage", json=via_input).status_code == 403

    batch = call(server, token, "POST", "/api/v1/lineage/batch",
                 json=[lineage_event("food_delivery", "batch_in"), lineage_event("finance", "batch_out")])
    assert batch.status_code == 207
    assert [(r["index"], r["status"]) for r in batch.json()["results"]] == [(0, 201), (1, 403)]

    viewer = tokens["viewer"]
    assert call(server, viewer, "GET", "/api/v1/namespaces/food_delivery/datasets/batch_in").status_code == 200
    for refused in ("finance/datasets/ledger", "finance/datasets/batch_out", "food_delivery/datasets/x",
                    "hr/datasets/salaries", "food_delivery/datasets/y"):
        assert call(server, viewer, "GET", f"/api/v1/namespaces/{refused}").status_code == 404, refused
    producer_reads = call(server, token, "GET", "/api/v1/lineage", params={"nodeId": CUSTOMERS})
    assert producer_reads.status_code == 403


def test_pages_send_browsers_to_login_and_the_cookie_then_serves_them(secured):
    server, tokens = secured
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        page = browser.get("/register", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fregister"
        form = browser.get(page.headers["location"])
        assert form.status_code == 200 and 'name="key"' in form.text and 'value="/register"' in form.text

        refused = browser.post("/login", data={"key": "lc_nope", "next": "/register"})
        assert refused.status_code == 401 and "unknown or revoked" in refused.text
        assert "catalog_key" not in browser.cookies

        # A viewer signs in: the lineage page opens, the register (compliance) is refused.
        signed_in = browser.post("/login", data={"key": tokens["viewer"], "next": "https://evil.example/"})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert browser.get("/lineage", headers={"Accept": "text/html"}).status_code == 200
        assert browser.post("/graphql", json={"query": "{ policies { name } }"}).json()["data"]["policies"]
        assert browser.get("/register", headers={"Accept": "text/html"}).status_code == 403

        browser.get("/logout")
        assert browser.get("/lineage", headers={"Accept": "text/html"}).status_code == 303


def test_keys_are_never_logged_or_stored(secured):
    server, tokens = secured
    call(server, tokens["viewer"], "GET", "/api/v1/policies")
    call(server, tokens["viewer"] + "x", "GET", "/api/v1/policies")
    log = server.log_path.read_text(errors="replace")
    viewer_id = tokens["viewer"].split("_")[1]
    assert {"logger": "catalog.access", "path": "/api/v1/policies", "status": 200, "actor": f"key:{viewer_id}"} in [
        {k: e.get(k) for k in ("logger", "path", "status", "actor")} for e in server.log_entries()]  # by key id
    stored = b"".join(p.read_bytes() for p in server.data_dir.rglob("*") if p.is_file())
    for token in tokens.values():
        secret = token.split("_", 2)[2]
        assert secret not in log
        assert secret.encode() not in stored
