"""What keeping each job's latest run and each dataset's latest version costs a write, on each engine.

Writes groups of events (each a new run of a new job, or with ``--same-jobs`` a new run of the same jobs each
group, reading a shared input and writing its own output) through the catalog's write plan, one transaction
per group, with and without the two pointer statements (``latest_runs``, ``latest_versions`` in
``catalog/store/writes.py``). The two alternate group by group on one engine, so that its warm-up and the graph's
growth hit both alike; the first two groups of each are left out of the medians (a cold JVM).

    python benchmarks/pointer_writes.py [--engines falkordb neo4j] [--groups 20] [--events 500] [--same-jobs]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from catalog.engine import EmbeddedEngine  # noqa: E402
from catalog.store.falkor_backend import FalkorStore  # noqa: E402
from catalog.store.writes import write_plan  # noqa: E402
from ingestors.openlineage import GraphWrites, canonical_json, event_hash, map_event  # noqa: E402
from tests.engines import Neo4jProcess, store_at  # noqa: E402

POINTERS = {"latest_runs", "latest_versions"}


def group(tag: str, events: int, same_jobs: bool, minute: int) -> GraphWrites:
    writes = GraphWrites()
    for n in range(events):
        name = f"{n}" if same_jobs else f"{tag}-{n}"
        event = {"eventType": "COMPLETE", "eventTime": f"2024-01-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:"
                 f"{minute % 60:02d}:00Z", "producer": "https://example.com/b",
                 "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "b", "name": f"job-{name}"},
                 "inputs": [{"namespace": "b", "name": "source"}],
                 "outputs": [{"namespace": "b", "name": f"out-{name}"}]}
        map_event(event, event_hash(canonical_json(event)), writes)
    return writes


def measure(store, groups: int, events: int, same_jobs: bool) -> dict[str, list[float]]:
    seconds: dict[str, list[float]] = {"with the pointers": [], "without": []}
    for n in range(groups):
        order = list(seconds) if n % 2 else list(reversed(seconds))
        for name in order:
            plan = write_plan(group(f"{name[0]}{n}", events, same_jobs, 2 * n + order.index(name)))
            statements = [(cypher, {"rows": rows}) for kind, cypher, rows in plan
                          if name == "with the pointers" or kind not in POINTERS]
            started = time.perf_counter()
            store.execute_writes(statements)
            seconds[name].append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", nargs="+", choices=["falkordb", "neo4j"], default=["falkordb", "neo4j"])
    parser.add_argument("--groups", type=int, default=20, help="groups written each way")
    parser.add_argument("--events", type=int, default=500, help="events per group")
    parser.add_argument("--same-jobs", action="store_true",
                        help="each group is a new run of the same jobs (as hourly jobs make them), not new jobs")
    args = parser.parse_args()
    print(f"| engine | {args.events}-event write with the pointers (ms) | without (ms) | ratio |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for engine in args.engines:
            if engine == "neo4j":
                server = Neo4jProcess(Path(tmp) / "neo4j").start()
                store, stop = store_at(server.url), server.kill
            else:
                embedded = EmbeddedEngine(Path(tmp) / "falkordb").start()
                store, stop = FalkorStore("127.0.0.1", embedded.port), embedded.stop
            try:
                store.ensure_schema()
                seconds = measure(store, args.groups, args.events, args.same_jobs)
            finally:
                stop()
            kept = {name: times[2:] for name, times in seconds.items()}
            ratio = statistics.median(a / b for a, b in zip(kept["with the pointers"], kept["without"]))
            print(f"| {engine} | {statistics.median(kept['with the pointers']) * 1e3:.0f} | "
                  f"{statistics.median(kept['without']) * 1e3:.0f} | {ratio:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
