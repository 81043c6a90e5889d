"""Lineage latency on generated layered graphs, against a PostgreSQL recursive CTE (how Marquez does it).

For each size (datasets), builds a layered lineage graph: 50 layers; every dataset after the
first layer is written by its own job, which reads 2 random datasets of the layer before
and, with probability ``--skip``, one more from 2 to 4 layers back (a skip-layer edge: a
job joining an older table, so a dataset is reachable along paths of several lengths).
One hub dataset (d0) is also read by 5% of all jobs. The graph goes into each engine (the
embedded FalkorDB, and Neo4j 5.26 started with scripts/neo4j.sh) through the catalog's own
write path (datasets, jobs, CONSUMES/PRODUCES and the derived FEEDS edges) and into
PostgreSQL as an indexed dataset-to-dataset edge table. Then, per depth (1, 3, 10, 25), for
the same start nodes, interleaved so machine noise hits all alike, on each engine:

* ``page``: ``catalog.lineage.lineage_page``, the GraphQL lineage resolver's whole work for
  a first page (the default ``first: 500``, no ``totalReachable``): traversal, jobs between
  the datasets, names, ordering, paging, edges of the page;
* ``http``: the same query as a GraphQL request to a live ``catalog serve`` on that graph
  (HTTP, strawberry, JSON), asking for nodes, edges, depthReached, isPartial and pageInfo;
* ``whole``: the resolver for the whole lineage up to the node limit (5,000 datasets) with
  ``totalReachable``, as the REST and impact views need it;
* ``cte``: a recursive CTE over the edge table computing the reachable set with minimal
  depths (``UNION`` de-duplicates (node, depth) pairs), without a bound, as Marquez has none;
  cut by a 30 s statement timeout.

Start nodes are drawn from the first layers so deep traversals have somewhere to go; the
hub is measured on its own. PostgreSQL comes from Debian (``apt-get install postgresql``);
the script runs its own server in a temporary directory on a free port.

    pip install 'psycopg[binary]'      # or: pip install -e '.[bench]'
    python benchmarks/lineage.py [--engines falkordb neo4j] [--sizes 10000 100000 1000000] [--queries 15]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from catalog.engine import EmbeddedEngine  # noqa: E402
from catalog.lineage import lineage_page  # noqa: E402
from catalog.store.falkor_backend import FalkorStore  # noqa: E402
from ingestors.openlineage import GraphWrites  # noqa: E402
from tests.conftest import ServerProcess, free_port  # noqa: E402
from tests.engines import Neo4jProcess, store_at  # noqa: E402

LAYERS = 50
DEPTHS = (1, 3, 10, 25)
MAX_NODES = 5000
PAGE = 500
HUB = 0
QUERY = """query($id: String!, $depth: Int!) { lineage(nodeId: $id, direction: DOWNSTREAM, depth: $depth) {
  nodes { id type depth } edges { origin destination } depthReached isPartial pageInfo { hasNextPage endCursor } } }"""


def generate(size: int, skip: float, seed: int = 7) -> list[tuple[int, list[int]]]:
    """(output dataset, its job's inputs) for every dataset after the first layer."""
    rng = random.Random(seed)
    width = size // LAYERS
    jobs = []
    for node in range(width, size):
        layer = node // width
        inputs = {(layer - 1) * width + rng.randrange(width) for _ in range(2)}
        if layer >= 2 and rng.random() < skip:
            back = rng.randint(2, min(4, layer))
            inputs.add((layer - back) * width + rng.randrange(width))
        if rng.random() < 0.05:
            inputs.add(HUB)
        jobs.append((node, sorted(inputs)))
    return jobs


def load_graph(store, size: int, jobs: list[tuple[int, list[int]]]) -> None:
    for start in range(0, size, 50_000):
        writes = GraphWrites()
        for node in range(start, min(size, start + 50_000)):
            writes.add("datasets", key=f"dataset:gen:d{node}", namespace="gen", name=f"d{node}", seen=1)
        store.apply(writes)
    for start in range(0, len(jobs), 10_000):
        writes = GraphWrites()
        for out, inputs in jobs[start:start + 10_000]:
            job = f"job:gen:j{out}"
            writes.add("jobs", key=job, namespace="gen", name=f"j{out}", seen=1)
            writes.add("produces", src=job, dst=f"dataset:gen:d{out}", seen=1)
            for i in inputs:
                writes.add("consumes", src=job, dst=f"dataset:gen:d{i}", seen=1)
                writes.add("feeds", src=f"dataset:gen:d{i}", dst=f"dataset:gen:d{out}", seen=1)
        store.apply(writes)


class Postgres:
    """A throwaway PostgreSQL server (Debian's binaries) in a temporary directory."""

    def __init__(self, workdir: Path):
        self.bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
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


def load_postgres(conn, jobs) -> None:
    conn.execute("DROP TABLE IF EXISTS edges")
    conn.execute("CREATE TABLE edges (src integer NOT NULL, dst integer NOT NULL)")
    with conn.cursor().copy("COPY edges (src, dst) FROM STDIN") as copy:
        for out, inputs in jobs:
            for i in inputs:
                copy.write_row((i, out))
    conn.execute("CREATE INDEX edges_src ON edges (src)")
    conn.execute("ANALYZE edges")
    conn.execute("SET statement_timeout = '30s'")


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


def cte(pg, start: int, depth: int) -> tuple[float, int | None]:
    try:
        ms, rows = timed(lambda: pg.execute(CTE, {"start": start, "depth": depth}).fetchall())
        return ms, len(rows)
    except psycopg.errors.QueryCanceled:
        return float("inf"), None


def measure_engine(store, server, http, start: int, depth: int, m: dict) -> None:
    key = f"dataset:gen:d{start}"
    ms, result = timed(lambda: lineage_page(store, key, "DOWNSTREAM", depth, max_depth=25, max_nodes=MAX_NODES,
                                            first=PAGE, count_all=False))
    m["page"].append(ms)
    ms, response = timed(lambda: http.post(server.url + "/graphql", json={
        "query": QUERY, "variables": {"id": key, "depth": depth}}))
    assert response.status_code == 200 and "errors" not in response.json(), response.text[:500]
    assert len(response.json()["data"]["lineage"]["nodes"]) == len(result["nodes"])
    m["http"].append(ms)
    ms, result = timed(lambda: lineage_page(store, key, "DOWNSTREAM", depth, max_depth=25, max_nodes=MAX_NODES,
                                            first=MAX_NODES, count_all=True))
    m["whole"].append(ms)
    m["partial"] += result["isPartial"]


def measure(engines: dict, http, pg, starts: list[int], depth: int) -> dict:
    """Per engine: page, http and whole times; the CTE's once; per start, all of them in turn."""
    found = {name: {"page": [], "http": [], "whole": [], "partial": 0} for name in engines}
    sql, reach = [], []
    for start in starts:
        for name, (store, server) in engines.items():
            measure_engine(store, server, http, start, depth, found[name])
        ms, reached = cte(pg, start, depth)
        sql.append(ms)
        if reached is not None:
            reach.append(reached)
    return {"engines": found, "cte": sql, "reach": reach}


def reachable(m: dict) -> str:
    return f"{statistics.median(m['reach']):,.0f}" if m["reach"] else "n/a (CTE timed out)"


def fmt(values: list[float]) -> str:
    p50, p95 = statistics.median(values), percentile(values, 0.95)
    return " / ".join("timeout" if v == float("inf") else f"{v:,.1f}" for v in (p50, p95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", nargs="+", choices=["falkordb", "neo4j"], default=["falkordb", "neo4j"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=15, help="start nodes per depth")
    parser.add_argument("--skip", type=float, default=0.5, help="probability of a skip-layer input per job")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwind: stop PostgreSQL, the engines and the servers

    rows = []
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp, \
            EmbeddedEngine(Path(tmp) / "engine") as engine, Postgres(Path(tmp)) as pg, httpx.Client(timeout=300) as http:
        neo4j = Neo4jProcess(Path(tmp) / "neo4j").start() if "neo4j" in args.engines else None
        urls = {"falkordb": f"falkordb://127.0.0.1:{engine.port}", "neo4j": neo4j and neo4j.url}
        try:
            for size in args.sizes:
                jobs = generate(size, args.skip)
                stores = {"falkordb": lambda: FalkorStore("127.0.0.1", engine.port, graph="catalog", timeout=600),
                          "neo4j": lambda: store_at(neo4j.url)}
                engines = {}
                for name in args.engines:
                    store = stores[name]()
                    store.clear()
                    store.ensure_schema()
                    load_ms, _ = timed(lambda: load_graph(store, size, jobs))
                    print(f"size {size:,}: {len(jobs):,} jobs, {sum(len(i) for _, i in jobs):,} edges, "
                          f"{name} load {load_ms / 1000:.1f} s", flush=True)
                    server = ServerProcess(Path(tmp) / f"server-{name}-{size}", "--graph-url", urls[name])
                    engines[name] = (store, server.start(timeout=300))
                load_postgres(pg, jobs)
                jobs = None  # the generator's objects go before the GC freeze
                gc.collect()  # the generator's millions of objects are gone: measured requests must not pay for them
                gc.freeze()
                try:
                    width = size // LAYERS
                    rng = random.Random(size)
                    cases = [(depth, [rng.randrange(1, width * 3) for _ in range(args.queries)]) for depth in DEPTHS]
                    cases += [(f"hub {depth}", [HUB] * max(3, args.queries // 3)) for depth in (1, 25)]
                    for label, starts in cases:
                        m = measure(engines, http, pg, starts, int(str(label).split()[-1]))
                        rows.append((size, label, m))
                        for name, e in m["engines"].items():
                            print(f"size {size:>9,} depth {label:>6} {name:>8}: page {fmt(e['page'])} ms | "
                                  f"http {fmt(e['http'])} | whole {fmt(e['whole'])} | cte {fmt(m['cte'])} | "
                                  f"reachable {reachable(m)} | whole cut at {MAX_NODES:,}: {e['partial']}/{len(starts)}",
                                  flush=True)
                finally:
                    for store, server in engines.values():
                        server.stop()
                        store.clear()
                        store.close()
        finally:
            if neo4j:
                neo4j.stop()

    print("\n| datasets | depth | engine | page p50 / p95 ms | GraphQL over HTTP p50 / p95 ms | whole lineage p50 / p95 ms | "
          "CTE p50 / p95 ms | CTE p50 / page p50 | CTE p50 / HTTP p50 | reachable (median) | whole cut at 5,000 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for size, label, m in rows:
        cte_p50 = statistics.median(m["cte"])
        for name, e in m["engines"].items():
            ratio = lambda key: "timeout" if cte_p50 == float("inf") else f"{cte_p50 / statistics.median(e[key]):.1f}x"  # noqa: E731
            print(f"| {size:,} | {label} | {name} | {fmt(e['page'])} | {fmt(e['http'])} | {fmt(e['whole'])} | "
                  f"{fmt(m['cte'])} | {ratio('page')} | {ratio('http')} | {reachable(m)} | {e['partial']}/{len(e['page'])} |")


if __name__ == "__main__":
    main()
