"""Marquez 0.50 side by side with ``catalog serve``: ingest, lineage latency and memory, in one run.

Marquez is built from a git checkout of github.com/MarquezProject/marquez (tag 0.50.0) with
benchmarks/marquez/build.sh, since Maven Central here serves its dependencies but not
marquez-api, and runs on a throwaway PostgreSQL from Debian's binaries (search off: it needs
OpenSearch). The catalog runs on its embedded FalkorDB, as a user starts it. Both get the same
OpenLineage events through their own HTTP APIs, one workload after another:

* ``seed``: the shape of Marquez's seed (benchmarks/ingest.py), every event new;
* ``layered N``: the layered graphs of benchmarks/lineage.py (N datasets in 50 layers, each
  dataset written by its own job that reads two datasets of the layer before, sometimes one
  further back, and a hub read by 5% of jobs), one COMPLETE event per job.

Measured per workload:

* ingest events/s: Marquez takes one event per request (``POST /api/v1/lineage``, with
  ``--concurrency`` clients); the catalog takes the same single posts on one server and
  batches (``/api/v1/lineage/batch``) on a second, so neither sees duplicates;
* lineage latency p50 / p95 at depths 1, 3, 10 and 25 around the same start datasets, in
  turn so noise hits all alike: Marquez ``GET /api/v1/lineage``, the catalog's Marquez-shaped
  REST view (the same URL), and the catalog's GraphQL ``lineage(direction: BOTH)`` reading
  every page of 500. The two do not mean the same by depth: Marquez walks from the dataset's
  producing job to every job sharing a dataset with one found, undirected, and returns those
  jobs with all their datasets (siblings too), so it returns more. Its answer holds every
  directed path, so the check is that the datasets of each catalog answer equal the directed
  lineage computed inside Marquez's (the table says for how many starts they did). The
  catalog's node limit is raised so it cuts nothing;
* peak memory (VmHWM) of the Marquez JVM and of the catalog (its Python process plus its
  FalkorDB), and PostgreSQL's proportional set size at the end.

    git clone https://github.com/MarquezProject/marquez /path/to/marquez   # once
    python benchmarks/marquez.py --marquez-src /path/to/marquez [--layered 10000 100000] [--seed-events 2000]
                                 [--queries 5] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.ingest import _post_all, make_events  # noqa: E402
from benchmarks.lineage import HUB, LAYERS, Postgres, generate, percentile  # noqa: E402
from tests.conftest import ServerProcess, free_port  # noqa: E402

DEPTHS = (1, 3, 10, 25)
PAGE = 500
NODE_LIMIT = 200_000  # the catalog's --max-lineage-nodes here: Marquez has no limit
GRAPHQL = """query($id: String!, $depth: Int!, $after: String) {
  lineage(nodeId: $id, direction: BOTH, depth: $depth, first: 500, after: $after) {
    nodes { id } pageInfo { hasNextPage endCursor } } }"""
MARQUEZ_CONFIG = """server:
  applicationConnectors: [{{type: http, bindHost: 127.0.0.1, port: {port}}}]
  adminConnectors: [{{type: http, bindHost: 127.0.0.1, port: {admin}}}]
db:
  driverClass: org.postgresql.Driver
  url: jdbc:postgresql://127.0.0.1:{pg_port}/marquez
  user: bench
  password: ""
migrateOnStartup: true
graphql: {{enabled: true}}
search: {{enabled: false}}
logging: {{level: WARN, appenders: [{{type: file, currentLogFilename: {log}, archive: false}}]}}
"""


class Marquez:
    """The Marquez API server (Dropwizard) in a child process, on the given PostgreSQL."""

    def __init__(self, classpath: str, workdir: Path, pg_port: int):
        self.port, self.admin = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / "marquez.yml"
        self.config.write_text(MARQUEZ_CONFIG.format(port=self.port, admin=self.admin, pg_port=pg_port,
                                                     log=workdir / "marquez.log"))
        self.out = open(workdir / "marquez.out", "ab")
        self.proc = subprocess.Popen(["java", "-cp", classpath, "marquez.MarquezApp", "server", str(self.config)],
                                     stdout=self.out, stderr=subprocess.STDOUT)

    def wait(self, timeout: float = 180) -> "Marquez":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Marquez exited with {self.proc.returncode}; see {self.out.name}")
            try:
                if httpx.get(self.url + "/api/v1/namespaces", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Marquez did not answer in {timeout} s; see {self.out.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.out.close()


def build_marquez(checkout: Path) -> str:
    path = subprocess.run(["bash", str(REPO / "benchmarks" / "marquez" / "build.sh"), str(checkout)],
                          check=True, capture_output=True, text=True).stdout.strip()
    return Path(path).read_text().strip()


def peak_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def catalog_peak_kib(server: ServerProcess) -> int:
    """The catalog server's peak plus its embedded FalkorDB's (a child process)."""
    return sum(peak_kib(pid) for pid in [server.proc.pid, *children(server.proc.pid)])


def postgres_pss_kib(data_dir: Path) -> int:
    """PostgreSQL's proportional set size (the postmaster and its backends): shared buffers counted once."""
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    total = 0
    for pid in [postmaster, *children(postmaster)]:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total


def layered_events(size: int, skip: float = 0.5) -> list[dict]:
    """One COMPLETE event per job of benchmarks/lineage.py's layered graph."""
    base = 1_700_000_000_000
    events = []
    for n, (out, inputs) in enumerate(generate(size, skip)):
        events.append({
            "eventType": "COMPLETE",
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((base + n * 1000) / 1000)) + ".000Z",
            "run": {"runId": str(uuid.UUID(int=random.Random(out).getrandbits(128), version=4))},
            "job": {"namespace": "gen", "name": f"j{out}"},
            "inputs": [{"namespace": "gen", "name": f"d{i}"} for i in inputs],
            "outputs": [{"namespace": "gen", "name": f"d{out}"}],
            "producer": "https://github.com/lineage-catalog/benchmarks/marquez.py",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        })
    return events


def ingest(events: list[dict], marquez: Marquez, single: ServerProcess, batch: ServerProcess, concurrency: int,
           batch_size: int) -> dict[str, float]:
    bodies = [orjson.dumps(e) for e in events]
    batches = [orjson.dumps(events[i:i + batch_size]) for i in range(0, len(events), batch_size)]
    rates = {}
    rates["marquez"] = len(events) / asyncio.run(_post_all(marquez.url, "/api/v1/lineage", bodies, concurrency, 201))
    rates["single"] = len(events) / asyncio.run(_post_all(single.url, "/api/v1/lineage", bodies, concurrency, 201))
    rates["batch"] = len(events) / asyncio.run(_post_all(batch.url, "/api/v1/lineage/batch", batches, 4, 200))
    return rates


def wait_projected(server: ServerProcess, count: int, timeout: float = 600) -> None:
    """Until the server's graph holds all ``count`` events (the batch endpoint acknowledges when logged)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = server.http.get("/health").json()
        if health["eventLog"]["events"] >= count and health["projection"]["lag"] == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the catalog did not project {count} events in {timeout} s")


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def marquez_graph(response: httpx.Response) -> dict[str, dict]:
    assert response.status_code == 200, response.text[:300]
    return {node["id"]: node for node in response.json()["graph"]}


def directed_datasets(graph: dict[str, dict], start: str, depth: int) -> set[str]:
    """The datasets within ``depth`` dataset hops of ``start`` downstream or upstream, along the answer's edges.

    Marquez's lineage is undirected: from a dataset's producing job it takes every job sharing a
    dataset with one found, ``depth`` times, and all their datasets (siblings included). That
    answer holds every directed path of ``depth`` hops both ways, so the directed lineage
    computed inside it is what the catalog's must equal.
    """
    downstream = {key: [e["destination"] for e in node["outEdges"]] for key, node in graph.items()}
    upstream = {key: [e["origin"] for e in node["inEdges"]] for key, node in graph.items()}
    found = {start}
    for edges in (downstream, upstream):
        frontier = {start}
        for _ in range(depth):
            frontier = {d for key in frontier for job in edges.get(key, []) for d in edges.get(job, [])} - found
            found |= frontier
    return found


def datasets(ids) -> set[str]:
    return {key for key in ids if key.startswith("dataset:")}


def graphql_ids(http: httpx.Client, url: str, node: str, depth: int) -> set[str]:
    ids, after = set(), None
    while True:
        body = http.post(url + "/graphql", json={"query": GRAPHQL,
                                                  "variables": {"id": node, "depth": depth, "after": after}}).json()
        assert "errors" not in body, body["errors"]
        page = body["data"]["lineage"]
        ids.update(n["id"] for n in page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


def measure(http: httpx.Client, marquez: Marquez, catalog: ServerProcess, starts: list[str], depth: int) -> dict:
    m = {"marquez": [], "rest": [], "graphql": [], "agree_rest": 0, "agree_graphql": 0, "nodes": [], "ours": []}
    for node in starts:
        params = {"nodeId": node, "depth": depth}
        ms, response = timed(lambda: http.get(marquez.url + "/api/v1/lineage", params=params))
        theirs = marquez_graph(response)
        expected = directed_datasets(theirs, node, depth)
        m["marquez"].append(ms)
        m["nodes"].append(len(theirs))
        ms, response = timed(lambda: http.get(catalog.url + "/api/v1/lineage", params=params))
        m["rest"].append(ms)
        ours = marquez_graph(response)
        m["ours"].append(len(ours))
        m["agree_rest"] += datasets(ours) == expected
        ms, ours = timed(lambda: graphql_ids(http, catalog.url, node, depth))
        m["graphql"].append(ms)
        m["agree_graphql"] += datasets(ours) == expected
    return m


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):,.1f} / {percentile(values, 0.95):,.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--marquez-src", type=Path, required=True, help="a git checkout of MarquezProject/marquez")
    parser.add_argument("--seed-events", type=int, default=2000)
    parser.add_argument("--layered", type=int, nargs="*", default=[10_000, 100_000], help="layered graph sizes")
    parser.add_argument("--queries", type=int, default=5, help="start datasets per depth")
    parser.add_argument("--concurrency", type=int, default=8, help="clients posting single events")
    parser.add_argument("--batch", type=int, default=500, help="events per batch post")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    classpath = build_marquez(args.marquez_src)
    env = {"CATALOG_MAX_LINEAGE_NODES": str(NODE_LIMIT)}
    ingest_rows, lineage_rows = [], []
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp, Postgres(Path(tmp)) as pg, \
            httpx.Client(timeout=600) as http:
        pg.execute("CREATE DATABASE marquez")
        marquez = Marquez(classpath, Path(tmp), pg.info.port).wait()
        single = ServerProcess(Path(tmp) / "catalog-single", env=env).start(timeout=120)
        batch = ServerProcess(Path(tmp) / "catalog-batch", env=env).start(timeout=120)
        try:
            workloads = [("seed", make_events(args.seed_events, "mq"))]
            workloads += [(f"layered {size:,}", layered_events(size)) for size in args.layered]
            total = 0
            for name, events in workloads:
                rates = ingest(events, marquez, single, batch, args.concurrency, args.batch)
                total += len(events)
                wait_projected(batch, total)
                wait_projected(single, total)
                ingest_rows.append((name, len(events), rates))
                print(f"{name}: {len(events):,} events; marquez {rates['marquez']:,.0f}/s, catalog single "
                      f"{rates['single']:,.0f}/s, batch {rates['batch']:,.0f}/s", flush=True)
                if not name.startswith("layered"):
                    continue
                size = int(name.split()[1].replace(",", ""))
                rng = random.Random(size)
                width = size // LAYERS
                for depth in DEPTHS:
                    starts = [f"dataset:gen:d{rng.randrange(width, width * 4)}" for _ in range(args.queries)]  # written by a job
                    if depth == 1:
                        starts.append(f"dataset:gen:d{HUB}")
                    m = measure(http, marquez, batch, starts, depth)
                    lineage_rows.append((name, depth, m))
                    print(f"{name} depth {depth}: marquez {fmt(m['marquez'])} ms | rest {fmt(m['rest'])} | graphql "
                          f"{fmt(m['graphql'])} | nodes {statistics.median(m['nodes']):,.0f} / {statistics.median(m['ours']):,.0f} | "
                          f"agree rest "
                          f"{m['agree_rest']}/{len(starts)} graphql {m['agree_graphql']}/{len(starts)}", flush=True)
            memory = {"marquez": peak_kib(marquez.proc.pid), "single": catalog_peak_kib(single),
                      "batch": catalog_peak_kib(batch), "postgres": postgres_pss_kib(Path(tmp) / "pg" / "data")}
        finally:
            single.stop()
            batch.stop()
            marquez.stop()

    print("\n| workload | events | Marquez events/s | catalog single posts events/s | ratio | "
          "catalog batches events/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, count, r in ingest_rows:
        print(f"| {name} | {count:,} | {r['marquez']:,.0f} | {r['single']:,.0f} | {r['single'] / r['marquez']:.1f}x | "
              f"{r['batch']:,.0f} | {r['batch'] / r['marquez']:.1f}x |")
    print("\n| graph | depth | nodes Marquez / catalog REST (median) | Marquez p50 / p95 ms | REST p50 / p95 ms | ratio p50 | "
          "GraphQL p50 / p95 ms | ratio p50 | same nodes REST / GraphQL |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, depth, m in lineage_rows:
        theirs = statistics.median(m["marquez"])
        print(f"| {name} | {depth} | {statistics.median(m['nodes']):,.0f} / {statistics.median(m['ours']):,.0f} | "
              f"{fmt(m['marquez'])} | {fmt(m['rest'])} | "
              f"{theirs / statistics.median(m['rest']):.1f}x | {fmt(m['graphql'])} | "
              f"{theirs / statistics.median(m['graphql']):.1f}x | {m['agree_rest']}/{len(m['marquez'])} / "
              f"{m['agree_graphql']}/{len(m['marquez'])} |")
    print(f"\npeak memory: Marquez JVM {memory['marquez'] / 1024:,.0f} MiB (plus PostgreSQL, "
          f"{memory['postgres'] / 1024:,.0f} MiB PSS at the end); catalog (Python + FalkorDB) "
          f"{memory['batch'] / 1024:,.0f} MiB fed by batches, {memory['single'] / 1024:,.0f} MiB fed by single posts")


if __name__ == "__main__":
    main()
