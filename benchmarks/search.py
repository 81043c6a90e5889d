"""Search latency through the full-text index, against the scan it replaced, in the same run.

Loads N datasets (with a job per ten datasets and two fields each) named like warehouse tables
(``sales.orders_daily_2019``, ``raw.customerEvents_v2``) into the embedded FalkorDB through the
catalog's write path, then times ``catalog.browse.search`` for the same queries twice,
interleaved: through the engine's full-text index, and with the index switched off (the
fallback that scans names and descriptions with CONTAINS, which every search was before).

    python benchmarks/search.py [--datasets 100000] [--repeats 20] [--graph-url URL] [--while-writing]

``--graph-url`` searches that graph instead (a Neo4j from scripts/neo4j.sh, say); it should be empty. With
``--while-writing`` a thread writes groups of 12 seed-shaped events, as single posts make them, all along the timing:
on Neo4j, whose full-text indexes are eventually consistent, each search then waits for the index to take in the
writes committed before it.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.ingest import make_events  # noqa: E402
from catalog.browse import search  # noqa: E402
from catalog.engine import EmbeddedEngine  # noqa: E402
from catalog.store.base import GraphStore  # noqa: E402
from catalog.store.falkor_backend import FalkorStore  # noqa: E402
from ingestors.openlineage import GraphWrites, canonical_json, event_hash, map_event  # noqa: E402
from tests.engines import store_at  # noqa: E402

SCHEMAS = ["raw", "staging", "sales", "finance", "marketing", "ops", "analytics", "ml"]
ENTITIES = ["orders", "customers", "invoices", "payments", "shipments", "products", "sessions", "refunds",
            "customerEvents", "orderLines", "campaigns", "deliveries"]
SUFFIXES = ["daily", "weekly", "monthly", "v2", "snapshot", "clean", "agg", "history"]
QUERIES = ["orders", "customer events", "refunds weekly", "ship", "finance invoices 2021", "zzz_nothing"]


def load(store: GraphStore, datasets: int, seed: int = 3) -> None:
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
    parser.add_argument("--graph-url", metavar="URL", help="search this (empty) graph instead of an embedded FalkorDB")
    parser.add_argument("--while-writing", action="store_true",
                        help="keep writing groups of 12 new events to the graph while searching")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:  # stack: the embedded engine
        if args.graph_url:
            indexed, scanning = store_at(args.graph_url), store_at(args.graph_url)
        else:
            engine = stack.enter_context(EmbeddedEngine(Path(tmp) / "engine"))
            graph = f"search-{uuid.uuid4().hex[:6]}"
            indexed = FalkorStore("127.0.0.1", engine.port, graph=graph, timeout=600)
            scanning = FalkorStore("127.0.0.1", engine.port, graph=graph, timeout=600)
        scanning.text_search = lambda label, words, limit: None  # the full-text index ignored: search scans
        indexed.ensure_schema()
        started = time.perf_counter()
        load(indexed, args.datasets)
        print(f"{args.datasets:,} datasets loaded in {time.perf_counter() - started:.1f} s", flush=True)
        writer = None
        if args.while_writing:
            writer = Writer(store_at(args.graph_url) if args.graph_url else indexed)
            writer.start()
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
        if writer:
            writer.stopping.set()
            writer.join()
            print(f"\nwritten meanwhile: {writer.groups} groups of 12 events", flush=True)
        indexed.clear()


class Writer(threading.Thread):
    """Writes groups of 12 new events, one commit each, until ``stopping`` is set."""

    def __init__(self, store: GraphStore):
        super().__init__(daemon=True)
        self.store = store
        self.groups = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            writes = GraphWrites()
            for event in make_events(12, f"w{self.groups}_"):
                map_event(event, event_hash(canonical_json(event)), writes)
            self.store.apply(writes)
            self.groups += 1


if __name__ == "__main__":
    main()
