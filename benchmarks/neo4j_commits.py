"""What Neo4j's query planning costs the catalog's projection commits, and what the commit query does about it.

A projection commit on Neo4j is one query (``Neo4jStore.commit_query``): every write statement of a group of events
as a subquery, then the checkpoint. Planning it takes 0.2-1 s. This script writes groups of a random size (1 to
``--max-events`` seed-shaped events, as single posts make them) to an emptied Neo4j with its plan cache cleared,
once per variant of the commit query, alternating the order of the variants from run to run:

* ``sent``: as the catalog sends it (every kind's statement, lists padded into the longest one's size bucket,
  ``replan=skip`` with a plan generation);
* ``unpadded``: only the kinds the group has, lists as they come (Neo4j plans again for every new set of kinds
  and every new combination of list-size buckets);
* ``replanned``: as sent, without ``replan=skip`` (Neo4j replans whenever the statistics have moved);
* ``synchronous search``: as sent, with the full-text indexes updated by each commit itself, as before they were
  made eventually consistent.

Reported per run: commits, the total and median time, and how many commits took over 100 ms.

    python benchmarks/neo4j_commits.py [--commits 600] [--max-events 20] [--runs 2] [--variants sent unpadded]
                                       [--url bolt://...]

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
from catalog.store.base import SEARCH_INDEXED, GraphStore  # noqa: E402
from catalog.store.neo4j_backend import search_index  # noqa: E402
from ingestors.openlineage import GraphWrites, canonical_json, event_hash, map_event  # noqa: E402
from tests.engines import Neo4jProcess, store_at  # noqa: E402

SKIP = "CYPHER replan=skip "
VARIANTS = ("sent", "unpadded", "replanned", "synchronous search")


def commit_text(store, writes: GraphWrites, seq: int, size: int, variant: str) -> tuple[str, dict]:
    if variant == "unpadded":
        return store.commit_query(GraphStore.prepare(store, writes), seq, seq + size, pad_lists=False)
    query, params = store.commit_query(store.prepare(writes), seq, seq + size)
    return (query.removeprefix(SKIP) if variant == "replanned" else query), params


def run(store, commits: int, max_events: int, variant: str, seed: int) -> list[float]:
    """Seconds of each commit, on an emptied graph with no plan cached."""
    store.clear()
    store.ensure_schema()
    if variant == "synchronous search":  # as before the full-text indexes were eventually consistent
        for label in SEARCH_INDEXED:
            store.query(f"DROP INDEX {label.lower()}_search")
            store.query(search_index(label, eventually_consistent=False))
        store.query("CALL db.awaitIndexes(300)")
    store.query("CALL db.clearQueryCaches()")
    rng = random.Random(seed)
    sizes = [rng.randint(1, max_events) for _ in range(commits)]
    events = make_events(sum(sizes), f"c{seed}{variant}")
    seconds, position, seq = [], 0, store.checkpoint()
    for size in sizes:
        writes = GraphWrites()
        for event in events[position:position + size]:
            map_event(event, event_hash(canonical_json(event)), writes)
        position += size
        query, params = commit_text(store, writes, seq, size, variant)
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
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=["sent", "unpadded"],
                        help="commit queries to compare (see above)")
    parser.add_argument("--url", help="a running Neo4j (emptied by this script)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = None if args.url else Neo4jProcess(Path(tmp) / "neo4j").start()
        store = store_at(args.url or server.url)
        print("| run | commit query | total s | median ms | commits over 100 ms |\n|---|---|---|---|---|")
        try:
            for n in range(args.runs):
                shift = n % len(args.variants)
                for variant in args.variants[shift:] + args.variants[:shift]:
                    seconds = run(store, args.commits, args.max_events, variant, seed=n)
                    print(f"| {n + 1} | {variant} | {sum(seconds):.1f} | {statistics.median(seconds) * 1e3:.1f} | "
                          f"{sum(s > 0.1 for s in seconds)} |", flush=True)
        finally:
            store.close()
            if server:
                server.kill()


if __name__ == "__main__":
    main()
