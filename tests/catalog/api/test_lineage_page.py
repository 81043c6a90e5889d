"""The lineage page in headless Chromium (Debian's chromium and chromedriver), against a live server."""

import shutil
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ServerProcess, VALID_DIR, load_events

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    chromedriver = shutil.which("chromedriver")
    assert chromedriver, "install Debian's chromium and chromium-driver (scripts/setup.sh --test does)"
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1600,1000"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page_server(tmp_path_factory, module_graph_args):
    with ServerProcess(tmp_path_factory.mktemp("page") / "data", *module_graph_args) as server:
        seed = [e for _, e in load_events(VALID_DIR / "marquez-seed")]
        airflow = [e for _, e in load_events(VALID_DIR / "compat-airflow")]
        assert httpx.post(server.url + "/api/v1/lineage/batch", json=seed + airflow, timeout=60).status_code == 200
        yield server


def wait_ready(driver):
    # The page sets data-ready to "loading" while it fetches and draws, then "true" or "error".
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") in ("true", "error"))
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", \
        driver.find_element(By.ID, "status").text


def node_ids(driver) -> set[str]:
    return {g.get_attribute("data-id") for g in driver.find_elements(By.CSS_SELECTOR, "g.node")}


def test_page_draws_the_lineage_and_expands_on_click(browser, page_server):
    ARTIFACTS.mkdir(exist_ok=True)
    start = "dataset:food_delivery:public.orders_7_days"
    browser.get(f"{page_server.url}/lineage?nodeId={start}&depth=1")
    wait_ready(browser)
    drawn = node_ids(browser)
    expected = set()
    for direction in ("UPSTREAM", "DOWNSTREAM"):
        result = httpx.post(page_server.url + "/graphql", json={"query": f'{{ lineage(nodeId: "{start}", '
                            f'direction: {direction}, depth: 1) {{ nodes {{ id }} }} }}'}).json()
        expected |= {n["id"] for n in result["data"]["lineage"]["nodes"]}
    assert drawn == expected and len(drawn) > 3
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.edge")) >= len(drawn) - 1
    browser.save_screenshot(str(ARTIFACTS / "lineage.png"))

    # Expanding the farthest downstream dataset adds its own neighbours.
    candidates = sorted(i for i in drawn if i.startswith("dataset:") and i != start)
    before = len(drawn)
    for node_id in candidates:  # the page redraws on every click: find each node afresh
        renders = browser.find_element(By.TAG_NAME, "body").get_attribute("data-renders")
        browser.find_element(By.CSS_SELECTOR, f'g.node[data-id="{node_id}"]').click()
        WebDriverWait(browser, 20).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-renders") != renders)
        if len(node_ids(browser)) > before:
            break
    assert len(node_ids(browser)) > before
    browser.save_screenshot(str(ARTIFACTS / "lineage-expanded.png"))


def test_column_lineage_on_demand(browser, page_server):
    browser.get(f"{page_server.url}/lineage?nodeId=dataset:bigquery:mock-project.test.upload&depth=1&columns=1")
    wait_ready(browser)
    assert browser.find_elements(By.CSS_SELECTOR, "text.field")
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.column")) >= 4  # a, b, c, d from two inputs
    browser.save_screenshot(str(ARTIFACTS / "lineage-columns.png"))


def test_unknown_node_shows_an_error(browser, page_server):
    browser.get(f"{page_server.url}/lineage?nodeId=dataset:nope:nothing")
    WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") in ("true", "error"))
    assert "no dataset with nodeId" in browser.find_element(By.ID, "status").text


def test_an_input_only_column_lineage_names_is_drawn_dotted(browser, page_server):
    from tests.catalog.test_lineage import _model_event

    event = _model_event("44444444-4444-4444-8444-444444444444", "2026-11-01T00:00:00Z", ["main.stg_customers"],
                         {"email": ("main.stg_customers", "email"), "country": ("main.raw_countries", "name")})
    assert httpx.post(page_server.url + "/api/v1/lineage", json=event).status_code == 201
    browser.get(f"{page_server.url}/lineage?nodeId=dataset:duckdb:main.customers&depth=2")
    wait_ready(browser)
    assert "dataset:duckdb:main.raw_countries" in node_ids(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.edge.implied")) == 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.edge")) == 3
    browser.save_screenshot(str(ARTIFACTS / "lineage-implied.png"))
