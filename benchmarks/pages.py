"""Web page latency at scale: every page a user opens, over HTTP, against the GraphQL query that reads a
list page's data, in the same run.

Loads N datasets (benchmarks/search.py's warehouse names, a job per ten datasets) into the embedded
FalkorDB through the catalog's write path, records scans with personal data on 2% of them and an
owner and a tag on 1% (through the governance log, as stewards and scanners do), then starts
``catalog serve`` on that graph and requests each page in turn, interleaved, ``--repeats`` times.
The baseline is ``datasets(first: 50) { totalCount nodes { id name namespace } }`` over /graphql.

    python benchmarks/pages.py [--datasets 100000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.search import load  # noqa: E402
from catalog import stewardship  # noqa: E402
from catalog.engine import EmbeddedEngine  # noqa: E402
from catalog.govlog import GOVERNANCE_FILE, GovernanceLog  # noqa: E402
from catalog.store.falkor_backend import FalkorStore  # noqa: E402
from policies.classifications import record_scan  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402

BASELINE = "{ datasets(first: 50) { totalCount nodes { id name namespace } } }"


def govern(store: FalkorStore, log: GovernanceLog, datasets: list[str], seed: int = 5) -> tuple[str, str]:
    """Scans with findings on 2% of the datasets, an owner and a tag on 1%; (a scanned dataset, a tag)."""
    rng = random.Random(seed)
    scanned = rng.sample(datasets, max(1, len(datasets) // 50))
    for key in scanned:
        name = key.split(":", 2)[2]
        column = {"column": "email", "sampled": 100, "findings": [
            {"entity": rng.choice(["EMAIL_ADDRESS", "PHONE_NUMBER", "HEALTH"]), "recognizer": "bench", "score": 0.9,
             "matched": 90, "sampled": 100, "evidence": "values"}]}
        record_scan(store, log, "bench", "warehouse", name, {"columns": [column]})
    for key in rng.sample(datasets, max(1, len(datasets) // 100)):
        stewardship.add_owner(store, log, "bench", key, rng.choice(["team:sales", "team:finance", "team:ml"]))
        stewardship.add_tag(store, log, "bench", key, rng.choice(["gold", "pii-reviewed", "deprecated"]))
    return scanned[0], "gold"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedEngine(Path(tmp) / "engine") as engine:
        store = FalkorStore("127.0.0.1", engine.port, timeout=600)  # the graph `catalog serve` reads
        store.ensure_schema()
        started = time.perf_counter()
        load(store, args.datasets)
        keys = [r["key"] for r in store.query("MATCH (d:Dataset) RETURN d.key AS key ORDER BY key")]
        data = Path(tmp) / "server"
        data.mkdir()
        log = GovernanceLog(data / GOVERNANCE_FILE)
        dataset, tag = govern(store, log, keys)
        log.close()
        job = store.query("MATCH (j:Job) RETURN j.key AS key LIMIT 1")[0]["key"]
        print(f"{args.datasets:,} datasets loaded and governed in {time.perf_counter() - started:.1f} s", flush=True)
        pages = {
            "home `/`": ("/", {}),
            "datasets, first page": ("/datasets", {}),
            "datasets with personal data": ("/datasets", {"personal": "1"}),
            "datasets by tag": ("/datasets", {"tag": tag}),
            "datasets by search": ("/datasets", {"q": "orders_daily"}),
            "datasets by search, with personal data": ("/datasets", {"q": "orders", "personal": "1"}),
            "search `customer events`": ("/search", {"q": "customer events"}),
            "dataset page": ("/dataset", {"id": dataset}),
            "jobs, first page": ("/jobs", {}),
            "job page": ("/job", {"id": job}),
            "compliance": ("/compliance", {}),
            "lineage page (HTML)": ("/lineage", {"nodeId": dataset}),
        }
        with ServerProcess(data, "--graph-url", f"falkordb://127.0.0.1:{engine.port}") as server, \
                httpx.Client(base_url=server.url, timeout=120) as http:
            times: dict[str, list[float]] = {name: [] for name in ["GraphQL datasets(first: 50)", *pages]}
            for _ in range(args.repeats):
                for name, (path, params) in pages.items():
                    start = time.perf_counter()
                    response = http.get(path, params=params, headers={"Accept": "text/html"})
                    times[name].append((time.perf_counter() - start) * 1000)
                    assert response.status_code == 200, (name, response.status_code, response.text[:300])
                start = time.perf_counter()
                assert "errors" not in http.post("/graphql", json={"query": BASELINE}).json()
                times["GraphQL datasets(first: 50)"].append((time.perf_counter() - start) * 1000)
        base = statistics.median(times["GraphQL datasets(first: 50)"])
        print(f"\n{args.datasets:,} datasets, {args.repeats} requests each, FalkorDB\n")
        print("| page | p50 ms | p95 ms | p50 / GraphQL list |")
        print("|---|---|---|---|")
        for name, values in times.items():
            p50 = statistics.median(values)
            p95 = sorted(values)[int(0.95 * (len(values) - 1))]
            print(f"| {name} | {p50:.1f} | {p95:.1f} | {p50 / base:.2f}x |", flush=True)
        store.clear()


if __name__ == "__main__":
    main()
