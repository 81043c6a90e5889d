"""The lineage page in headless Chromium (offline, tests.chromium) against a live server: what it draws
is what /graphql answers, a 500-node page is laid out without overlaps and zooms, paths light up,
column lineage, edges implied by column lineage, and errors."""

import httpx
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
from selenium.webdriver.common.by import By

from tests.catalog.test_lineage import _model_event
from tests.catalog.web.test_browser import click_node, drawn, graph_ready
from tests.chromium import screenshot, wait_until
from tests.conftest import VALID_DIR, ServerProcess, load_events

LAYERS, WIDTH = 10, 25  # the wide graph: 250 datasets and 250 jobs downstream of one source


def wide_graph() -> list[dict]:
    """Layer l's dataset i is written by a job reading datasets i and i+1 of layer l-1 (layer 0: the source)."""
    def name(layer, i):
        return "source" if layer == 0 else f"l{layer:02d}.t{i:02d}"

    events = []
    for layer in range(1, LAYERS + 1):
        for i in range(WIDTH):
            inputs = {name(layer - 1, i), name(layer - 1, (i + 1) % WIDTH)}
            events.append({"eventType": "COMPLETE", "eventTime": "2026-11-01T00:00:00Z",
                           "producer": "https://example.com/wide", "run": {"runId": f"00000000-0000-4000-8000-"
                                                                                    f"{layer:04d}{i:08d}"},
                           "job": {"namespace": "wide", "name": f"build_{name(layer, i)}"},
                           "inputs": [{"namespace": "wide", "name": n} for n in sorted(inputs)],
                           "outputs": [{"namespace": "wide", "name": name(layer, i)}]})
    return events


@pytest.fixture(scope="module")
def page_server(tmp_path_factory):
    with ServerProcess(tmp_path_factory.mktemp("page") / "data") as server:
        seed = [e for _, e in load_events(VALID_DIR / "marquez-seed")]
        airflow = [e for _, e in load_events(VALID_DIR / "compat-airflow")]
        for batch in (seed + airflow, wide_graph()):
            assert httpx.post(server.url + "/api/v1/lineage/batch", json=batch, timeout=120).status_code == 200
        yield server


def open_page(browser, server, query: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{server.url}/lineage?{query}")
    graph_ready(browser)


def test_a_500_node_page_is_laid_out_without_overlaps_and_zooms(browser, page_server):
    open_page(browser, page_server, "nodeId=dataset:wide:source&direction=DOWNSTREAM&depth=20")
    expected = httpx.post(page_server.url + "/graphql", json={"query": '{ lineage(nodeId: "dataset:wide:source", '
                          'direction: DOWNSTREAM, depth: 20, first: 2000) { nodes { id } edges { origin } } }'}).json()
    assert drawn(browser) == {n["id"] for n in expected["data"]["lineage"]["nodes"]}
    assert len(drawn(browser)) == 1 + 2 * LAYERS * WIDTH
    assert browser.execute_script("return window.lineage.edgeCount()") == len(expected["data"]["lineage"]["edges"])
    boxes = sorted(browser.execute_script("return window.lineage.boxes()"), key=lambda b: b["x1"])
    for k, a in enumerate(boxes):  # sorted by left edge: only boxes starting before a ends can overlap it
        for b in boxes[k + 1:]:
            if b["x1"] >= a["x2"]:
                break
            assert b["y1"] >= a["y2"] or b["y2"] <= a["y1"], (a, b)
    screenshot(browser, "lineage-500")

    zoom = browser.execute_script("return window.lineage.zoom()")
    graph = browser.find_element(By.ID, "graph")
    for _ in range(3):  # three turns of the mouse wheel
        ActionChains(browser).scroll_from_origin(ScrollOrigin.from_element(graph), 0, -500).perform()
    wait_until(browser, lambda d: d.execute_script("return window.lineage.zoom()") > zoom * 1.05)
    zoomed = browser.execute_script("return window.lineage.zoom()")
    browser.find_element(By.ID, "zoom-out").click()
    assert browser.execute_script("return window.lineage.zoom()") < zoomed


def test_a_click_lights_up_the_paths_through_a_node(browser, page_server):
    open_page(browser, page_server, "nodeId=dataset:wide:l05.t00&direction=BOTH&depth=2")
    clicked = "dataset:wide:l04.t00"  # upstream of the start, beside l04.t01
    browser.execute_script("window.lineage.focus(arguments[0])", clicked)
    click_node(browser, clicked)
    wait_until(browser, lambda d: clicked in d.execute_script("return window.lineage.highlighted()"))
    graph_ready(browser)
    lit = set(browser.execute_script("return window.lineage.highlighted()"))
    assert {"dataset:wide:l03.t00", "dataset:wide:l03.t01", "job:wide:build_l04.t00", "job:wide:build_l05.t00",
            "dataset:wide:l05.t00"} <= lit
    assert "dataset:wide:l04.t01" not in lit and "dataset:wide:l04.t01" in drawn(browser)  # a sibling, not a path
    screenshot(browser, "lineage-path")


def test_column_lineage_on_demand(browser, page_server):
    open_page(browser, page_server, "nodeId=dataset:bigquery:mock-project.test.upload&depth=1&columns=1")
    fields = [i for i in drawn(browser) if i.startswith("datasetField:")]
    assert len(fields) >= 4 and browser.execute_script("return window.lineage.edgeCount('.column')") >= 4
    screenshot(browser, "lineage-columns-bigquery")


def test_unknown_node_shows_an_error(browser, page_server):
    browser.get(f"{page_server.url}/lineage?nodeId=dataset:nope:nothing")
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "error")
    assert "no dataset with nodeId" in browser.find_element(By.ID, "status").text


def test_a_name_instead_of_an_id_offers_the_matches(browser, page_server):
    browser.get(f"{page_server.url}/lineage?nodeId=orders_7_days")
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#picks a.pick"))
    pick = next(a for a in browser.find_elements(By.CSS_SELECTOR, "#picks a.pick") if "public.orders_7_days" in a.text)
    pick.click()
    graph_ready(browser)
    assert "dataset:food_delivery:public.orders_7_days" in drawn(browser)


def test_an_input_only_column_lineage_names_is_drawn_dotted(browser, page_server):
    event = _model_event("44444444-4444-4444-8444-444444444444", "2026-11-01T00:00:00Z", ["main.stg_customers"],
                         {"email": ("main.stg_customers", "email"), "country": ("main.raw_countries", "name")})
    assert httpx.post(page_server.url + "/api/v1/lineage", json=event).status_code == 201
    open_page(browser, page_server, "nodeId=dataset:duckdb:main.customers&depth=2")
    assert "dataset:duckdb:main.raw_countries" in drawn(browser)
    assert browser.execute_script("return window.lineage.edgeCount('.implied')") == 1
    assert browser.execute_script("return window.lineage.edgeCount()") == 3
    screenshot(browser, "lineage-implied")
