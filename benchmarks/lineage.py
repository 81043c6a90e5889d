"""Lineage latency on generated layered graphs, against a PostgreSQL recursive CTE (how Marquez does it).

For each size (datasets), builds a layered DAG (50 layers, each dataset feeding 2 random
datasets of the next layer), loads it into the embedded FalkorDB through the catalog's
own write path and into PostgreSQL as an edge table, then times, per depth (1, 3, 10, 25):

* ``resolver``: catalog.lineage.lineage_page, the GraphQL lineage resolver's whole work
  (traversal, node reads, job lookup, paging), downstream, first page of up to 5,000 nodes;
* ``traverse``: the frontier-per-hop traversal alone, same bound;
* ``cte``: a recursive CTE over an indexed edge table in PostgreSQL computing the same
  reachable set with minimal depths, without a bound (Marquez's approach has none).

Start nodes are drawn from the first layers so deep traversals have somewhere to go.
PostgreSQL comes from Debian (``apt-get install postgresql``); the script runs its own
server in a temporary directory on a free port.

    python benchmarks/lineage.py [--sizes 10000 100000] [--queries 40]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from catalog.engine import EmbeddedEngine  # noqa: E402
from catalog.lineage import lineage_page, traverse  # noqa: E402
from catalog.store.falkor_backend import FalkorStore  # noqa: E402
from ingestors.openlineage import GraphWrites  # noqa: E402
from tests.conftest import free_port  # noqa: E402

LAYERS = 50
FANOUT = 2
DEPTHS = (1, 3, 10, 25)
MAX_NODES = 5000


def layered_edges(size: int, seed: int = 7) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    width = size // LAYERS
    edges = []
    for node in range(size - width):
        layer = node // width
        for _ in range(FANOUT):
            edges.append((node, (layer + 1) * width + rng.randrange(width)))
    return edges


def load_falkor(store: FalkorStore, size: int, edges: list[tuple[int, int]]) -> None:
    for start in range(0, size, 50_000):
        writes = GraphWrites()
        for node in range(start, min(size, start + 50_000)):
            writes.add("datasets", key=f"dataset:gen:d{node}", namespace="gen", name=f"d{node}", seen=1)
        store.apply(writes)
    for start in range(0, len(edges), 50_000):
        writes = GraphWrites()
        for src, dst in edges[start:start + 50_000]:
            writes.add("feeds", src=f"dataset:gen:d{src}", dst=f"dataset:gen:d{dst}", seen=1)
        store.apply(writes)


class Postgres:
    """A throwaway PostgreSQL server (Debian's binaries) in a temporary directory."""

    def __init__(self, workdir: Path):
        bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        self.bin = bindir
        self.dir = workdir / "pg"
        self.port = free_port()
        self.dir.mkdir()
        self.user = [] if os.getuid() != 0 else ["runuser", "-u", "postgres", "--"]
        if os.getuid() == 0:
            shutil.chown(workdir, "postgres")
            shutil.chown(self.dir, "postgres")

    def __enter__(self):
        subprocess.run(self.user + [str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-A", "trust",
                                    "-U", "bench"], check=True, capture_output=True)
        subprocess.run(self.user + [str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-w", "-l",
                                    str(self.dir / "log"), "-o", f"-p {self.port} -k {self.dir} -c shared_buffers=1GB",
                                    "start"], check=True, capture_output=True)
        return psycopg.connect(host=str(self.dir), port=self.port, user="bench", dbname="postgres", autocommit=True)

    def __exit__(self, *exc):
        subprocess.run(self.user + [str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "stop"],
                       capture_output=True)


def load_postgres(conn, edges) -> None:
    conn.execute("DROP TABLE IF EXISTS edges")
    conn.execute("CREATE TABLE edges (src integer NOT NULL, dst integer NOT NULL)")
    with conn.cursor().copy("COPY edges (src, dst) FROM STDIN") as copy:
        for edge in edges:
            copy.write_row(edge)
    conn.execute("CREATE INDEX edges_src ON edges (src)")
    conn.execute("ANALYZE edges")


CTE = """
WITH RECURSIVE reach(node, depth) AS (
    SELECT %(start)s::integer, 0
  UNION
    SELECT e.dst, r.depth + 1 FROM reach r JOIN edges e ON e.src = r.node WHERE r.depth < %(depth)s
)
SELECT node, min(depth) FROM reach GROUP BY node
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=40, help="start nodes per depth")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp, EmbeddedEngine(Path(tmp) / "engine") as engine, \
            Postgres(Path(tmp)) as pg:
        for size in args.sizes:
            edges = layered_edges(size)
            store = FalkorStore("127.0.0.1", engine.port, graph=f"bench-{uuid.uuid4().hex[:6]}", timeout=600)
            store.ensure_schema()
            load_seconds, _ = timed(lambda: load_falkor(store, size, edges))
            load_postgres(pg, edges)
            width = size // LAYERS
            rng = random.Random(size)
            for depth in DEPTHS:
                starts = [rng.randrange(width * 3) for _ in range(args.queries)]
                resolver, raw, cte, reached, partial = [], [], [], [], 0
                for start in starts:  # interleaved so machine noise hits all three alike
                    key = f"dataset:gen:d{start}"
                    ms, page = timed(lambda: lineage_page(store, key, "DOWNSTREAM", depth, max_depth=25,
                                                          max_nodes=MAX_NODES, first=MAX_NODES))
                    resolver.append(ms)
                    partial += page["isPartial"]
                    ms, found = timed(lambda: traverse(store, [key], "DOWNSTREAM", depth, max_nodes=MAX_NODES))
                    raw.append(ms)
                    ms, result = timed(lambda: pg.execute(CTE, {"start": start, "depth": depth}).fetchall())
                    cte.append(ms)
                    reached.append(len(result))
                rows.append((size, depth, statistics.median(resolver), percentile(resolver, 0.95),
                             statistics.median(raw), percentile(raw, 0.95), statistics.median(cte),
                             percentile(cte, 0.95), statistics.median(reached), partial, len(starts)))
                print(f"size {size:>9,} depth {depth:>2}: resolver p50 {rows[-1][2]:8.1f} ms p95 {rows[-1][3]:8.1f} | "
                      f"traverse p50 {rows[-1][4]:8.1f} | cte p50 {rows[-1][6]:9.1f} p95 {rows[-1][7]:9.1f} | "
                      f"reachable {rows[-1][8]:,.0f} | partial {partial}/{len(starts)}", flush=True)
            print(f"size {size:,}: FalkorDB load {load_seconds / 1000:.1f} s", flush=True)
            store.clear()
            store.close()

    print("\n| datasets | depth | resolver p50 / p95 ms | traverse p50 / p95 ms | CTE p50 / p95 ms | "
          "CTE p50 / resolver p50 | reachable (CTE, median) | pages cut at 5,000 |")
    print("|---|---|---|---|---|---|---|---|")
    for size, depth, rp50, rp95, tp50, tp95, cp50, cp95, reach, partial, n in rows:
        print(f"| {size:,} | {depth} | {rp50:.1f} / {rp95:.1f} | {tp50:.1f} / {tp95:.1f} | {cp50:.1f} / {cp95:.1f} | "
              f"{cp50 / rp50:.1f}x | {reach:,.0f} | {partial}/{n} |")


if __name__ == "__main__":
    main()
