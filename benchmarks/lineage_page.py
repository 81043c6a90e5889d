"""How long the lineage page takes to show a graph, in headless Chromium, against fetching its data.

Posts layered graphs (tests/catalog/web/test_lineage_page.py's shape: each dataset written by its own
job reading two datasets of the layer before) of about 100, 500 and 2,000 nodes to a live
``catalog serve`` on the embedded engine, then, per size and interleaved, times:

* ``page``: loading ``/lineage?nodeId=<source>&direction=DOWNSTREAM&depth=25`` until the page says it
  is drawn (body[data-ready]): the GraphQL request, the ELK layout in its worker, and cytoscape's
  first frame;
* ``fetch``: the same GraphQL request from the same page (``fetch`` in the browser), the baseline.

    python benchmarks/lineage_page.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.chromium import start_chromium  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402

SIZES = {"~100 nodes": (4, 12), "~500 nodes": (10, 25), "~2,000 nodes": (20, 50)}  # (layers, width)
QUERY = ('query($id: String!) { lineage(nodeId: $id, direction: DOWNSTREAM, depth: 25, first: 2000) { nodes { id type '
         'depth namespace name dataset { fields { id name type } classifications { state special } } } '
         'edges { origin destination impliedBy } isPartial } }')


def layered(namespace: str, layers: int, width: int) -> list[dict]:
    def name(layer, i):
        return "source" if layer == 0 else f"l{layer:02d}.t{i:02d}"

    return [{"eventType": "COMPLETE", "eventTime": "2026-11-01T00:00:00Z", "producer": "https://example.com/bench",
             "run": {"runId": f"00000000-0000-4000-8000-{layers:02d}{layer:04d}{i:06d}"},
             "job": {"namespace": namespace, "name": f"build_{name(layer, i)}"},
             "inputs": [{"namespace": namespace, "name": n} for n in sorted({name(layer - 1, i),
                                                                            name(layer - 1, (i + 1) % width)})],
             "outputs": [{"namespace": namespace, "name": name(layer, i)}]}
            for layer in range(1, layers + 1) for i in range(width)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(Path(tmp) / "data") as server:
        for label, (layers, width) in SIZES.items():
            namespace = f"bench{layers}"
            response = httpx.post(server.url + "/api/v1/lineage/batch", json=layered(namespace, layers, width),
                                  timeout=300)
            assert response.status_code == 200, response.text[:300]
        driver = start_chromium()
        times = {label: {"page": [], "fetch": []} for label in SIZES}
        nodes = {}
        try:
            for _ in range(args.repeats):
                for label, (layers, _width) in SIZES.items():
                    start_id = f"dataset:bench{layers}:source"
                    started = time.perf_counter()
                    driver.get(f"{server.url}/lineage?nodeId={start_id}&direction=DOWNSTREAM&depth=25")
                    WebDriverWait(driver, 120).until(
                        lambda d: d.find_element("tag name", "body").get_attribute("data-ready") in ("true", "error"))
                    times[label]["page"].append((time.perf_counter() - started) * 1000)
                    nodes[label] = driver.execute_script("return window.lineage.nodeIds().length")
                    fetched = driver.execute_async_script(
                        "const done = arguments[arguments.length - 1]; const t = performance.now();"
                        "fetch('/graphql', {method: 'POST', headers: {'Content-Type': 'application/json'},"
                        " body: JSON.stringify({query: arguments[0], variables: {id: arguments[1]}})})"
                        ".then(r => r.json()).then(b => done(b.errors ? -1 : performance.now() - t));", QUERY, start_id)
                    assert fetched >= 0, "the GraphQL request failed"
                    times[label]["fetch"].append(fetched)
        finally:
            driver.quit()
    print(f"\nlineage page in headless Chromium, median of {args.repeats}\n")
    print("| graph | nodes drawn | page until drawn, ms | GraphQL fetch alone, ms | page / fetch |")
    print("|---|---|---|---|---|")
    for label in SIZES:
        page, fetch = statistics.median(times[label]["page"]), statistics.median(times[label]["fetch"])
        print(f"| {label} | {nodes[label]} | {page:.0f} | {fetch:.0f} | {page / fetch:.1f}x |")


if __name__ == "__main__":
    main()
