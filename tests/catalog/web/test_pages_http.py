"""The web pages over HTTP with authentication on: what each role sees and may change, stewards' edits
recorded like the GraphQL mutations, refused edits changing nothing, and pages for unknown ids.

On the embedded engine, the default: the queries behind the pages (catalog.browse, catalog.store.reads)
are tested on both engines by their own tests, and test_auth_http serves every page from Neo4j too."""

import contextlib
import html
import re
import time

import httpx
import pytest

from catalog.keys import KeyStore
from tests.catalog.api.test_auth_http import SAMPLE_POLICY, SCAN, sample_events
from tests.conftest import ServerProcess

CUSTOMERS = "dataset:food_delivery:public.customers"
EMAIL = "datasetField:food_delivery:public.customers:email"
ROLES = ("viewer", "steward", "compliance_officer", "admin")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data = tmp_path_factory.mktemp("pages") / "data"
    store = KeyStore(data)
    tokens = {role: store.create(f"pages-{role}", role)[1] for role in ROLES}
    store.close()
    with ServerProcess(data, auth=True) as server:
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        assert httpx.post(server.url + "/api/v1/lineage/batch", json=sample_events(), headers=admin,
                          timeout=60).status_code == 200
        assert httpx.post(server.url + "/api/v1/scans", json=SCAN, headers=admin, timeout=60).status_code == 201
        yield server, tokens


@contextlib.contextmanager
def browser(server, tokens, role):
    """A client holding the login cookie of ``role``, as a browser does after /login."""
    with httpx.Client(base_url=server.url, timeout=60, headers={"Accept": "text/html"}) as client:
        assert client.post("/login", data={"key": tokens[role], "next": "/"}).status_code == 303
        yield client


def graphql(server, tokens, query: str) -> dict:
    response = httpx.post(server.url + "/graphql", json={"query": query}, timeout=60,
                          headers={"Authorization": f"Bearer {tokens['admin']}"})
    return response.json()["data"]


def test_every_page_is_behind_the_login(site):
    server, _ = site
    for path in ("/", "/datasets", f"/dataset?id={CUSTOMERS}", "/jobs", "/search?q=orders", "/lineage",
                 "/compliance", "/audits", "/impact/pick", "/graphql"):
        page = httpx.get(server.url + path, headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next="), path
    assert httpx.get(server.url + "/static/app.css").status_code == 200  # styles and libraries need no key


def test_a_viewer_reads_every_page_and_sees_no_edit_forms(site):
    server, tokens = site
    with browser(server, tokens, "viewer") as client:
        home = client.get("/")
        assert home.status_code == 200 and "datasets with personal data" in home.text
        assert 'href="/compliance"' not in home.text  # the viewer role does not read compliance
        found = client.get("/search", params={"q": "customers"})
        assert f'href="/dataset?id={CUSTOMERS.replace(":", "%3A")}"' in found.text
        page = client.get("/dataset", params={"id": CUSTOMERS})
        assert page.status_code == 200 and "EMAIL_ADDRESS" in page.text and "suggested" in page.text
        assert 'method="post"' not in page.text
        for path, params in (("/datasets", {"personal": "1"}), ("/jobs", {}), ("/lineage", {"nodeId": CUSTOMERS})):
            assert client.get(path, params=params).status_code == 200, path
        assert client.get("/compliance").status_code == 403
        refused = client.post("/dataset", data={"id": CUSTOMERS, "action": "add_tag", "tag": "nope"})
        assert refused.status_code == 403
    assert "nope" not in str(graphql(server, tokens, '{ dataset(namespace: "food_delivery", '
                                                     'name: "public.customers") { tags } }'))


def test_the_dataset_list_filters_on_personal_data(site):
    server, tokens = site
    with browser(server, tokens, "viewer") as client:
        everything = client.get("/datasets")
        personal = client.get("/datasets", params={"personal": "1"})
    rows = lambda page: re.findall(r'<tr class="dataset-row">\s*<td><a href="[^"]+">([^<]+)</a>', page.text)  # noqa
    # The scanned table, and those its email column flows into (propagated along column lineage).
    expected = graphql(server, tokens, "{ personalDatasets { datasetId } }")["personalDatasets"]
    assert rows(personal) == [d["datasetId"].split(":", 2)[2] for d in expected] and len(expected) > 1
    assert "public.customers" in rows(personal)
    listed = graphql(server, tokens, "{ datasets(personalData: true) { nodes { id } } }")["datasets"]["nodes"]
    assert [d["id"] for d in listed] == [d["datasetId"] for d in expected]
    special = graphql(server, tokens, "{ datasets(specialCategories: true, owner: \"nobody\") { totalCount } }")
    assert special["datasets"]["totalCount"] == 0
    total = graphql(server, tokens, "{ datasets(first: 1) { totalCount } }")["datasets"]["totalCount"]
    assert len(rows(everything)) == min(total, 50) and f"{total} datasets" in everything.text


def test_a_steward_edits_a_dataset_on_its_page(site):
    server, tokens = site
    with browser(server, tokens, "steward") as client:
        page = client.get("/dataset", params={"id": CUSTOMERS})
        assert page.text.count('method="post"') >= 5  # description, owner, tag, governance, decisions
        for form in ({"action": "add_tag", "tag": "crm"}, {"action": "add_owner", "owner": "team:crm", "type": "team"},
                     {"action": "description", "description": "Customers who ordered at least once."},
                     {"action": "governance", "legalBasis": "contract", "purpose": "order delivery",
                      "retentionDays": "365", "storageCountry": "DE", "dataSubjectCategories": "customers, couriers",
                      "recipients": "", "storageLocation": "", "specialCategoryCondition": ""},
                     {"action": "confirm", "field": EMAIL, "entity": "EMAIL_ADDRESS", "note": ""}):
            saved = client.post("/dataset", data={"id": CUSTOMERS, **form})
            assert saved.status_code == 303, saved.text[:500]
            assert saved.headers["location"].startswith("/dataset?id=") and f"done={form['action']}" in \
                saved.headers["location"]
        shown = client.get(saved.headers["location"])
        assert "Saved (confirm)" in shown.text and "confirmed" in shown.text
    found = graphql(server, tokens, '{ dataset(namespace: "food_delivery", name: "public.customers") { tags '
                                    'description owners { name type } governance { legalBasis purpose retentionDays '
                                    'storageCountry dataSubjectCategories recipients } '
                                    'history(first: 10) { actor action } '
                                    'fields { name classifications { entity state decidedBy } } } }')["dataset"]
    assert "crm" in found["tags"] and {"name": "team:crm", "type": "team"} in found["owners"]
    assert found["description"] == "Customers who ordered at least once."
    assert found["governance"] == {"legalBasis": "contract", "purpose": "order delivery", "retentionDays": 365,
                                   "storageCountry": "DE", "dataSubjectCategories": ["customers", "couriers"],
                                   "recipients": None}
    email = next(f for f in found["fields"] if f["name"] == "email")["classifications"][0]
    assert email["state"] == "CONFIRMED" and email["decidedBy"].startswith("key:")
    by_steward = {h["action"] for h in found["history"] if h["actor"] == email["decidedBy"]}
    assert by_steward == {"add_tag", "add_owner", "set_description", "set_governance"}


@pytest.mark.parametrize("form, message", [
    ({"action": "governance", "retentionDays": "-3"}, "retentionDays must be a whole number of days"),
    ({"action": "governance", "retentionDays": "a year"}, "retentionDays must be a whole number of days"),
    ({"action": "governance", "storageCountry": "Germany"}, "storageCountry must be an ISO 3166-1 alpha-2 code"),
    ({"action": "governance", "legalBasis": "because"}, "legalBasis must be one of"),
    ({"action": "add_tag", "tag": "   "}, "tag must not be empty"),
    ({"action": "confirm", "field": "datasetField:food_delivery:public.orders:id", "entity": "EMAIL_ADDRESS"},
     "is not a column of this dataset"),
    ({"action": "confirm", "field": EMAIL, "entity": "NOT_AN_ENTITY"}, "unknown entity type"),
    ({"action": "drop_table"}, "unknown action"),
])
def test_a_refused_edit_names_the_problem_and_changes_nothing(site, form, message):
    server, tokens = site
    history = '{ history(nodeId: "%s", first: 100) { seq } }' % CUSTOMERS
    before = graphql(server, tokens, history)
    with browser(server, tokens, "steward") as client:
        refused = client.post("/dataset", data={"id": CUSTOMERS, **form})
    assert refused.status_code == 400 and message in refused.text
    assert 'id="schema"' in refused.text  # the page itself, with the reason on it
    assert graphql(server, tokens, history) == before


def test_unknown_ids_and_bad_parameters_get_pages_that_say_so(site):
    server, tokens = site
    with browser(server, tokens, "admin") as client:
        for path, params, status, text in (
                ("/dataset", {"id": "dataset:nowhere:nothing"}, 404, "no dataset with id"),
                ("/dataset", {"id": "orders"}, 400, "id must name a dataset"),
                ("/job", {"id": "job:nowhere:nothing"}, 404, "no job with id"),
                ("/run", {"id": "00000000-0000-4000-8000-000000000000"}, 404, "no run with id"),
                ("/datasets", {"after": "not-a-cursor"}, 400, "malformed cursor"),
                ("/impact/pick", {"dataset": "orders"}, 400, "dataset must be a dataset id")):
            page = client.get(path, params=params)
            assert (page.status_code, page.headers["content-type"].split(";")[0]) == (status, "text/html"), path
            assert text in page.text, path


def test_job_and_run_pages_show_inputs_outputs_and_state(site):
    server, tokens = site
    job = graphql(server, tokens, '{ job(namespace: "food_delivery", name: "etl_orders_7_days") { id sql '
                                  'inputs { id } outputs { id } latestRun { id state } } }')["job"]
    with browser(server, tokens, "viewer") as client:
        page = client.get("/job", params={"id": job["id"]})
        run = client.get("/run", params={"id": job["latestRun"]["id"]})
    for dataset in job["inputs"] + job["outputs"]:
        assert dataset["id"].split(":", 2)[2] in page.text and dataset["id"].split(":", 2)[2] in run.text
    assert job["latestRun"]["state"] in run.text and job["latestRun"]["id"] in page.text
    if job["sql"]:
        assert 'id="sql"' in page.text


def test_a_compliance_officer_runs_an_audit_from_the_audits_page(site):
    server, tokens = site
    with browser(server, tokens, "viewer") as viewer:
        assert viewer.post("/audits").status_code == 403
    with browser(server, tokens, "compliance_officer") as client:
        page = client.get("/audits")
        assert 'id="run-audit"' in page.text
        started = client.post("/audits")
        assert started.status_code == 303 and started.headers["location"].startswith("/audits?started=")
        run_id = started.headers["location"].split("=", 1)[1]
        for _ in range(600):
            shown = client.get(started.headers["location"])
            if f'href="/audits/{run_id}"' in shown.text:
                break
            assert 'id="audit-progress"' in shown.text
            time.sleep(0.1)
        else:
            pytest.fail("the audit did not finish")
        assert client.get(f"/audits/{run_id}").status_code == 200
    runs = httpx.get(server.url + "/api/v1/audits", headers={"Authorization": f"Bearer {tokens['admin']}"}).json()
    assert runs["runs"][0]["id"] == run_id and runs["runs"][0]["actor"].startswith("key:")


def test_form_posts_from_another_site_are_refused(site):
    server, tokens = site
    history = '{ history(nodeId: "%s", first: 100) { seq } }' % CUSTOMERS
    before = graphql(server, tokens, history)
    with browser(server, tokens, "admin") as client:
        forged = client.post("/dataset", data={"id": CUSTOMERS, "action": "add_tag", "tag": "forged"},
                             headers={"Origin": "http://evil.example"})
        assert forged.status_code == 403 and "another site" in forged.text
        assert client.post("/audits", headers={"Origin": "http://evil.example"}).status_code == 403
        assert graphql(server, tokens, history) == before
        own = client.post("/dataset", data={"id": CUSTOMERS, "action": "add_tag", "tag": "own-origin"},
                          headers={"Origin": server.url})
        assert own.status_code == 303


def test_links_from_event_data_are_only_http(site):
    server, tokens = site
    event = {"eventType": "COMPLETE", "eventTime": "2024-05-02T10:00:00Z", "producer": "https://example.com/xss",
             "run": {"runId": "01908a5e-0000-7000-8000-00000000aaaa"},
             "job": {"namespace": "food_delivery", "name": "hostile_job", "facets": {"sourceCodeLocation": {
                 "_producer": "https://example.com/xss",
                 "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/SourceCodeLocationJobFacet.json",
                 "type": "git", "url": "javascript:alert(document.cookie)"}}},
             "inputs": [], "outputs": []}
    posted = httpx.post(server.url + "/api/v1/lineage", json=event,
                        headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert posted.status_code == 201, posted.text
    with browser(server, tokens, "viewer") as client:
        page = client.get("/job", params={"id": "job:food_delivery:hostile_job"})
    assert page.status_code == 200 and 'href="#" rel="noreferrer">source code' in page.text
    assert not re.search(r'href="\s*javascript:', page.text, re.IGNORECASE)  # the facet itself is shown, as text


def test_the_jobs_list_filters_by_tag_and_owner(site):
    server, tokens = site
    job = "job:food_delivery:etl_orders_7_days"
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    for mutation in ('mutation { addTag(nodeId: "%s", tag: "nightly") { seq } }' % job,
                     'mutation { addOwner(nodeId: "%s", owner: "team:orders") { seq } }' % job):
        assert "errors" not in httpx.post(server.url + "/graphql", json={"query": mutation}, headers=admin).json()
    rows = lambda page: re.findall(r'<tr class="job-row">\s*<td><a href="[^"]+">([^<]+)</a>', page.text)  # noqa
    with browser(server, tokens, "viewer") as client:
        assert rows(client.get("/jobs", params={"tag": "nightly"})) == ["etl_orders_7_days"]
        assert rows(client.get("/jobs", params={"owner": "team:orders", "tag": "nightly"})) == ["etl_orders_7_days"]
        assert rows(client.get("/jobs", params={"owner": "team:orders", "q": "delivery"})) == []
        assert len(rows(client.get("/jobs"))) > 5


def test_the_next_page_links_walk_every_filtered_dataset_once(site):
    server, tokens = site
    events = [{"eventType": "COMPLETE", "eventTime": "2024-06-01T00:00:00Z", "producer": "https://example.com/pages",
               "run": {"runId": f"01908a5e-0000-7000-8000-{i:012d}"}, "job": {"namespace": "paged", "name": f"j{i}"},
               "inputs": [], "outputs": [{"namespace": "paged", "name": f"table_{i:03d}"}]} for i in range(120)]
    assert httpx.post(server.url + "/api/v1/lineage/batch", json=events, timeout=60,
                      headers={"Authorization": f"Bearer {tokens['admin']}"}).status_code == 200
    seen, pages = [], 0
    with browser(server, tokens, "viewer") as client:
        url = "/datasets?namespace=paged&q=table"
        while url:
            page = client.get(url.replace("&amp;", "&"))
            pages += 1
            seen += re.findall(r'<tr class="dataset-row">\s*<td><a href="[^"]+">([^<]+)</a>', page.text)
            assert "120 datasets" in page.text
            following = re.search(r'<a id="next-page" href="([^"]+)"', page.text)
            url = following.group(1) if following else None
    assert pages == 3 and seen == [f"table_{i:03d}" for i in range(120)]


def test_the_dataset_page_shows_the_anonymization_plan_of_the_active_policies(site):
    server, tokens = site
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    assert httpx.post(server.url + "/api/v1/policies", content=SAMPLE_POLICY.read_bytes(), headers=admin,
                      timeout=60).status_code in (200, 201)
    plans = graphql(server, tokens, '{ anonymizationPlan(datasetId: "%s") { policy columns { column description } } }'
                    % CUSTOMERS)["anonymizationPlan"]
    with browser(server, tokens, "viewer") as client:
        page = client.get("/dataset", params={"id": CUSTOMERS}).text
    shown = re.findall(r'<tr class="plan-row"><td>([^<]+)</td><td>[^<]*</td><td>([^<]+)</td>', page)
    expected = [(c["column"], c["description"]) for p in plans for c in p["columns"]]
    assert [(column, html.unescape(text)) for column, text in shown] == expected and any(column == "email" for column, _ in shown)
    applied = graphql(server, tokens, '{ dataset(namespace: "food_delivery", name: "public.customers") '
                                      '{ policies { policy rule } } }')["dataset"]["policies"]
    section = page[page.index('id="policies"'):page.index('id="anonymization"')]
    assert re.findall(r"<td><b>([^<]+)</b></td>", section) == [r["rule"] for r in applied] and applied


def test_a_post_through_a_tls_proxy_keeps_its_origin(site):
    """Behind a proxy that terminates TLS the browser's Origin is https while the server sees http."""
    server, tokens = site
    with browser(server, tokens, "admin") as client:
        through_proxy = client.post("/dataset", data={"id": CUSTOMERS, "action": "add_tag", "tag": "via-proxy"},
                                    headers={"Origin": server.url.replace("http://", "https://")})
        assert through_proxy.status_code == 303
        assert client.post("/dataset", data={"id": CUSTOMERS, "action": "add_tag", "tag": "null-origin"},
                           headers={"Origin": "null"}).status_code == 403
