"""Search latency through the full-text index, against the scan it replaced, in the same run.

Loads N datasets (with a job per ten datasets and two fields each) named like warehouse tables
(``sales.orders_daily_2019``, ``raw.customerEvents_v2``) into the embedded FalkorDB through the
catalog's write path, then times ``catalog.browse.search`` for the same queries twice,
interleaved: through the engine's full-text index, and with the index switched off (the
fallback that scans names and descriptions with CONTAINS, which every search was before).

    python benchmarks/search.py [--datasets 100000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from catalog.browse import search  # noqa: E402
from catalog.engine import EmbeddedEngine  # noqa: E402
from catalog.store.falkor_backend import FalkorStore  # noqa: E402
from ingestors.openlineage import GraphWrites  # noqa: E402

SCHEMAS = ["raw", "staging", "sales", "finance", "marketing", "ops", "analytics", "ml"]
ENTITIES = ["orders", "customers", "invoices", "payments", "shipments", "products", "sessions", "refunds",
            "customerEvents", "orderLines", "campaigns", "deliveries"]
SUFFIXES = ["daily", "weekly", "monthly", "v2", "snapshot", "clean", "agg", "history"]
QUERIES = ["orders", "customer events", "refunds weekly", "ship", "finance invoices 2021", "zzz_nothing"]


class ScanOnly(FalkorStore):
    """The same store with its full-text index ignored: search falls back to the scan."""

    def text_search(self, label, words, limit):
        return None


def load(store: FalkorStore, datasets: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    for start in range(0, datasets, 10_000):
        writes = GraphWrites()
        for i in range(start, min(datasets, start + 10_000)):
            name = f"{rng.choice(SCHEMAS)}.{rng.choice(ENTITIES)}_{rng.choice(SUFFIXES)}_{2015 + i % 10}_{i}"
            key = f"dataset:warehouse:{name}"
            writes.add("datasets", key=key, namespace="warehouse", name=name, seen=1)
            for column in ("id", rng.choice(["amount", "email", "created_at", "status"])):
                writes.add("fields", key=f"datasetField:warehouse:{name}:{column}", dataset=key, name=column,
                           v="", attrs={})
            if i % 10 == 0:
                job = f"job:warehouse:build_{name}"
                writes.add("jobs", key=job, namespace="warehouse", name=f"build_{name}", seen=1)
        store.apply(writes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedEngine(Path(tmp) / "engine") as engine:
        graph = f"search-{uuid.uuid4().hex[:6]}"
        indexed = FalkorStore("127.0.0.1", engine.port, graph=graph, timeout=600)
        indexed.ensure_schema()
        started = time.perf_counter()
        load(indexed, args.datasets)
        print(f"{args.datasets:,} datasets loaded in {time.perf_counter() - started:.1f} s", flush=True)
        scanning = ScanOnly("127.0.0.1", engine.port, graph=graph, timeout=600)
        print("\n| query | index p50 / p95 ms | scan p50 / p95 ms | scan / index (p50) | hits (index / scan) |")
        print("|---|---|---|---|---|")
        for query in QUERIES:
            times: dict[str, list[float]] = {"index": [], "scan": []}
            hits = {}
            for _ in range(args.repeats):
                for name, store in (("index", indexed), ("scan", scanning)):
                    start = time.perf_counter()
                    hits[name] = len(search(store, query, first=20))
                    times[name].append((time.perf_counter() - start) * 1000)
            p50 = {k: statistics.median(v) for k, v in times.items()}
            p95 = {k: sorted(v)[int(0.95 * (len(v) - 1))] for k, v in times.items()}
            print(f"| `{query}` | {p50['index']:.1f} / {p95['index']:.1f} | {p50['scan']:.1f} / {p95['scan']:.1f} | "
                  f"{p50['scan'] / p50['index']:.0f}x | {hits['index']} / {hits['scan']} |", flush=True)
        indexed.clear()


if __name__ == "__main__":
    main()
