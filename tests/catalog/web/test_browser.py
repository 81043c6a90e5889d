"""A user's way through the catalog in headless Chromium (offline, tests.chromium), with authentication on:
home page, search, a dataset, its lineage, a column's upstream; a steward confirming a classification on
the page; GraphiQL running a query with nothing loaded from the internet.

The browser tests run on the embedded engine, the default: what the pages ask of each engine is
tested on both by the HTTP page tests (test_pages_http.py) and catalog.browse's own tests."""

import urllib.parse

import httpx
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from catalog.keys import KeyStore
from tests.catalog.api.test_auth_http import SCAN
from tests.chromium import foreign_requests, screenshot, wait_until
from tests.conftest import VALID_DIR, ServerProcess, load_events

START = "dataset:food_delivery:public.orders_7_days"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data = tmp_path_factory.mktemp("browser") / "data"
    keys = KeyStore(data)
    tokens = {role: keys.create(f"browser-{role}", role)[1] for role in ("steward", "viewer", "admin")}
    keys.close()
    with ServerProcess(data, auth=True) as server:
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        seed = [e for _, e in load_events(VALID_DIR / "marquez-seed")]
        assert httpx.post(server.url + "/api/v1/lineage/batch", json=seed, headers=admin, timeout=60).status_code == 200
        assert httpx.post(server.url + "/api/v1/scans", json=SCAN, headers=admin, timeout=60).status_code == 201
        yield server, tokens


def gql(site, query: str, **variables) -> dict:
    server, tokens = site
    response = httpx.post(server.url + "/graphql", json={"query": query, "variables": variables}, timeout=60,
                          headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert "errors" not in response.json(), response.json()
    return response.json()["data"]


def sign_in(browser, site, role: str) -> None:
    """The login form, as a person fills it in; it lands on the home page."""
    server, tokens = site
    browser.delete_all_cookies()
    browser.get(server.url + "/")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "key").send_keys(tokens[role])
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(browser, lambda d: d.current_url.rstrip("/") == server.url)


def graph_ready(browser) -> None:
    """The lineage page sets body[data-ready] to "loading" while it fetches and draws, then "true" or "error"."""
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") in ("true", "error"))
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", \
        browser.find_element(By.ID, "status").text


def drawn(browser) -> set[str]:
    return set(browser.execute_script("return window.lineage.nodeIds()"))


def click_node(browser, node_id: str) -> None:
    """A real mouse click where the node is drawn on the canvas."""
    renders = browser.find_element(By.TAG_NAME, "body").get_attribute("data-renders")
    at = browser.execute_script("return window.lineage.position(arguments[0])", node_id)
    graph = browser.find_element(By.ID, "graph")
    ActionChains(browser).move_to_element_with_offset(
        graph, at["x"] - graph.size["width"] / 2, at["y"] - graph.size["height"] / 2).click().perform()
    return renders


def lineage_ids(site, node_id: str, depth: int) -> set[str]:
    found = set()
    for direction in ("UPSTREAM", "DOWNSTREAM"):
        result = gql(site, "query($id: String!, $dir: LineageDirection!, $depth: Int!) { lineage(nodeId: $id, "
                     "direction: $dir, depth: $depth) { nodes { id } } }", id=node_id, dir=direction, depth=depth)
        found |= {n["id"] for n in result["lineage"]["nodes"]}
    return found


def test_home_to_search_to_dataset_to_lineage_to_a_columns_upstream(browser, site):
    server, _ = site
    sign_in(browser, site, "viewer")
    browser.find_element(By.ID, "home-search").send_keys("orders 7 days\n")
    wait_until(browser, lambda d: "/search" in d.current_url)
    screenshot(browser, "search")
    next(a for a in browser.find_elements(By.CSS_SELECTOR, "a.hit-link") if a.text == "public.orders_7_days").click()
    wait_until(browser, lambda d: d.find_elements(By.ID, "dataset-name"))
    assert browser.find_element(By.ID, "dataset-name").text == "public.orders_7_days"
    columns = [row.get_attribute("data-field") for row in browser.find_elements(By.CSS_SELECTOR, "tr.field-row")]
    fields = gql(site, '{ dataset(namespace: "food_delivery", name: "public.orders_7_days") { fields { id } } }')
    assert columns == sorted(f["id"] for f in fields["dataset"]["fields"]) and columns
    screenshot(browser, "dataset")

    browser.find_element(By.ID, "lineage-link").click()
    graph_ready(browser)
    assert drawn(browser) == lineage_ids(site, START, 2)
    screenshot(browser, "lineage")

    # A click expands a node: some dataset at the edge of the page has neighbours not drawn yet.
    before = drawn(browser)
    for node_id in sorted(before - {START}):
        if lineage_ids(site, node_id, 1) - before:
            renders = click_node(browser, node_id)
            wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-renders") != renders)
            graph_ready(browser)
            assert drawn(browser) == before | lineage_ids(site, node_id, 1)
            assert node_id in browser.execute_script("return window.lineage.highlighted()")
            break
    else:
        pytest.fail("no node on the page had neighbours to expand")
    screenshot(browser, "lineage-expanded")

    # Columns on: each column inside its dataset; a click on one offers its upstream.
    browser.find_element(By.ID, "columns").click()
    browser.find_element(By.ID, "go").click()
    graph_ready(browser)
    column = next(c for c in columns if gql(site, 'query($id: String!) { columnLineage(nodeId: $id, '
                                            'direction: UPSTREAM, depth: 1) { edges { origin } } }',
                                            id=c)["columnLineage"]["edges"])
    assert set(columns) <= drawn(browser)
    screenshot(browser, "lineage-columns")
    browser.execute_script("window.lineage.focus(arguments[0])", column)  # zoomed in, as a person would
    click_node(browser, column)
    wait_until(browser, lambda d: d.find_elements(By.ID, "column-upstream"))
    browser.find_element(By.ID, "column-upstream").click()
    graph_ready(browser)
    upstream = gql(site, 'query($id: String!) { columnLineage(nodeId: $id, direction: UPSTREAM, depth: 10) '
                         '{ nodes { id datasetId } } }', id=column)["columnLineage"]["nodes"]
    assert drawn(browser) == {n["id"] for n in upstream} | {n["datasetId"] for n in upstream}
    assert len(upstream) > 1 and urllib.parse.unquote(browser.current_url).endswith(
        f"nodeId={column}&depth=10&direction=UPSTREAM")
    screenshot(browser, "column-upstream")
    assert foreign_requests(browser, server.url) == []


def test_a_steward_confirms_a_classification_on_the_dataset_page(browser, site):
    server, _ = site
    sign_in(browser, site, "steward")
    browser.get(server.url + "/dataset?id=dataset:food_delivery:public.customers")
    suggestion = browser.find_element(By.CSS_SELECTOR, '#field-email .classification[data-entity="EMAIL_ADDRESS"]')
    assert suggestion.get_attribute("data-state") == "suggested"
    suggestion.find_element(By.CSS_SELECTOR, "button.confirm").click()
    wait_until(browser, lambda d: d.find_elements(By.ID, "done"))
    decided = browser.find_element(By.CSS_SELECTOR, '#field-email .classification[data-entity="EMAIL_ADDRESS"]')
    assert decided.get_attribute("data-state") == "confirmed" and "confirmed by key:" in decided.text
    screenshot(browser, "steward-confirmed")
    found = gql(site, '{ dataset(namespace: "food_delivery", name: "public.customers") '
                      '{ classifications { fieldId entity state decidedBy } } }')["dataset"]["classifications"]
    email = next(c for c in found if c["fieldId"].endswith(":email") and c["entity"] == "EMAIL_ADDRESS")
    assert email["state"] == "CONFIRMED"


def test_a_viewer_gets_no_edit_controls(browser, site):
    server, _ = site
    sign_in(browser, site, "viewer")
    browser.get(server.url + "/dataset?id=dataset:food_delivery:public.customers")
    assert browser.find_elements(By.CSS_SELECTOR, "#schema .classification")
    assert browser.find_elements(By.CSS_SELECTOR, "form[method=post]") == []
    assert browser.find_elements(By.LINK_TEXT, "Compliance") == []


def test_graphiql_runs_a_query_with_no_network(browser, site):
    server, _ = site
    sign_in(browser, site, "viewer")
    browser.get(server.url + "/graphql")
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".graphiql-execute-button"))
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()  # the example query it opens with
    wait_until(browser, lambda d: '"totalCount"' in d.find_element(By.CSS_SELECTOR, ".result-window").text)
    # The whole answer, not only the lines CodeMirror has drawn.
    shown = browser.execute_script("return document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()")
    expected = gql(site, "{ datasets(first: 5) { totalCount nodes { id } } }")["datasets"]
    assert f'"totalCount": {expected["totalCount"]}' in shown
    assert all(f'"{d["id"]}"' in shown for d in expected["nodes"])
    screenshot(browser, "graphiql")
    assert foreign_requests(browser, server.url) == []


def test_the_lineage_marks_datasets_holding_personal_data(browser, site):
    server, _ = site
    sign_in(browser, site, "viewer")
    start = "dataset:food_delivery:public.customers"
    browser.get(f"{server.url}/lineage?nodeId={start}&depth=3&direction=DOWNSTREAM")
    graph_ready(browser)
    personal = {d["datasetId"] for d in gql(site, "{ personalDatasets { datasetId } }")["personalDatasets"]}
    marked = set(browser.execute_script("return window.lineage.withPersonalData()"))
    assert marked == personal & drawn(browser) and start in marked and len(marked) > 1  # scanned, and propagated
    screenshot(browser, "lineage-personal-data")
