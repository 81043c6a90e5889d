"""What Neo4j's replanning costs the catalog's projection commits, with and without ``CYPHER replan=skip``.

A projection commit on Neo4j is one query (``Neo4jStore.commit_query``): every write statement of a group of events
as a subquery, then the checkpoint. Planning it takes 0.2-0.8 s. Neo4j replans a cached query whenever the graph's
statistics have moved far enough, which a growing graph does all the time, unless the query says
``replan=skip``. This script writes groups of a random size (1 to ``--max-events`` seed-shaped events, as single
posts make them) to an emptied Neo4j, once with the commit query as the catalog sends it and once with the
``replan=skip`` option taken out, alternating runs. Reported per run: commits, the total and median time, and how
many commits took over 100 ms.

    python benchmarks/neo4j_commits.py [--commits 600] [--max-events 20] [--runs 2] [--url bolt://...]

Without ``--url`` it starts Neo4j with scripts/neo4j.sh (and stops it after).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.ingest import make_events  # noqa: E402
from ingestors.openlineage import GraphWrites, canonical_json, event_hash, map_event  # noqa: E402
from tests.engines import Neo4jProcess, store_at  # noqa: E402

SKIP = "CYPHER replan=skip "


def run(store, commits: int, max_events: int, skip: bool, seed: int) -> list[float]:
    """Seconds of each commit, on an emptied graph."""
    store.clear()
    store.ensure_schema()
    rng = random.Random(seed)
    sizes = [rng.randint(1, max_events) for _ in range(commits)]
    events = make_events(sum(sizes), f"c{seed}{int(skip)}")
    seconds, position, seq = [], 0, store.checkpoint()
    for size in sizes:
        writes = GraphWrites()
        for event in events[position:position + size]:
            map_event(event, event_hash(canonical_json(event)), writes)
        position += size
        query, params = store.commit_query(store.prepare(writes), seq, seq + size)
        if not skip:
            query = query.removeprefix(SKIP)
        started = time.perf_counter()
        store._transaction(lambda tx, query=query, params=params: tx.run(query, params).consume())
        seconds.append(time.perf_counter() - started)
        seq += size
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=600, help="commits per run")
    parser.add_argument("--max-events", type=int, default=20, help="events per commit: 1 to this many")
    parser.add_argument("--runs", type=int, default=2, help="runs each way, alternated")
    parser.add_argument("--url", help="a running Neo4j (emptied by this script)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = None if args.url else Neo4jProcess(Path(tmp) / "neo4j").start()
        store = store_at(args.url or server.url)
        print("| run | commit query | total s | median ms | commits over 100 ms |\n|---|---|---|---|---|")
        try:
            for n in range(args.runs):
                for skip in (n % 2 == 0, n % 2 == 1):
                    seconds = run(store, args.commits, args.max_events, skip, seed=n)
                    print(f"| {n + 1} | {'as sent (replan=skip)' if skip else 'replanned by Neo4j'} | "
                          f"{sum(seconds):.1f} | {statistics.median(seconds) * 1e3:.1f} | "
                          f"{sum(s > 0.1 for s in seconds)} |", flush=True)
        finally:
            store.close()
            if server:
                server.kill()


if __name__ == "__main__":
    main()
