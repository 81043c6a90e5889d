"""Ingest throughput of ``catalog serve`` on each graph engine, against that engine's raw ceiling.

For each engine (the embedded FalkorDB, and Neo4j 5.26 started with scripts/neo4j.sh), starts
a real server in a child process on a fresh data directory and measures, in one run:

* batch ingest: events/s posting batches to /api/v1/lineage/batch, until the graph holds them all;
* single posts: events/s with concurrent clients posting one event per request (acknowledged, and
  until the graph holds them all: with ``--workers`` the workers acknowledge once an event is logged);
* Kafka: events/s consumed from a topic (4 partitions, on a broker started with
  scripts/kafka.sh), from the first produced message until the catalog has committed the
  last one's offset, i.e. every event validated, in the event log and in the graph;
* the engine's raw ``UNWIND ... MERGE`` rows/s on the same engine process (the ceiling),
  and the graph rows the catalog writes per event, to compare like with like.

Events have the shape of Marquez's seed (ingestors/samples/food_delivery.json): each
template is replayed under fresh run ids and dataset/job names, so every event is new.

    python benchmarks/ingest.py [--engines falkordb neo4j] [--events 6000] [--repeats 5] [--batch-clients 4]
                                [--concurrency 32] [--workers 1] [--no-kafka] [--demo] [--baseline REF]
                                [--acknowledge graph log]

With ``--baseline REF`` a second server runs that git commit's code (a worktree) on its own engine (an embedded
FalkorDB, or on Neo4j a Neo4j of its own), measured after this checkout's in each repeat; the ratios are per
repeat, then the median. With ``--acknowledge graph log`` this checkout runs one server per mode
(``catalog serve --acknowledge``), interleaved the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import confluent_kafka
import httpx
import orjson
from falkordb import FalkorDB

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from catalog.config import ACKNOWLEDGE_MODES  # noqa: E402
from catalog.store.writes import merge_rows  # noqa: E402
from ingestors.files import SAMPLES  # noqa: E402
from ingestors.openlineage import GraphWrites, canonical_json, event_hash, map_event  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402
from tests.engines import KafkaProcess, Neo4jProcess, create_topic, store_at  # noqa: E402

TEMPLATES = json.loads((SAMPLES / "food_delivery.json").read_text())


def make_events(count: int, tag: str) -> list[dict]:
    """``count`` new events in the seed's shape: names suffixed per copy, fresh run ids."""
    events = []
    copy_no = 0
    while len(events) < count:
        suffix = f"_{tag}{copy_no}"
        run_ids: dict[str, str] = {}
        for template in TEMPLATES:
            event = copy.deepcopy(template)
            event["run"]["runId"] = run_ids.setdefault(template["run"]["runId"], str(uuid.uuid4()))
            event["job"]["name"] += suffix
            for dataset in event.get("inputs", []) + event.get("outputs", []):
                dataset["name"] += suffix
            events.append(event)
        copy_no += 1
    return events[:count]


def graph_rows_per_event(events: list[dict]) -> float:
    writes = GraphWrites()
    for event in events:
        map_event(event, event_hash(canonical_json(event)), writes)
    # Nodes, edges and facets only: not the rows that keep each job's latest run, which are bookkeeping of
    # the same runs (counting them would raise the ratio to the ceiling by about 15%).
    return sum(len(rows) for rows in merge_rows(writes).values()) / len(events)


async def _post_all(url: str, path: str, bodies: list[bytes], clients: int, status: int) -> float:
    """``clients`` concurrent posters sending ``bodies`` in order; returns the elapsed seconds."""
    queue = list(reversed(bodies))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        async def poster():
            while queue:
                response = await client.post(path, content=queue.pop(), headers={"Content-Type": "application/json"})
                assert response.status_code == status, response.text[:300]

        start = time.perf_counter()
        await asyncio.gather(*(poster() for _ in range(clients)))
        return time.perf_counter() - start


async def _bench_batch(url: str, events: list[dict], batch: int, clients: int) -> float:
    """``clients`` producers posting batches at once, as several pipelines would."""
    batches = [orjson.dumps(events[i:i + batch]) for i in range(0, len(events), batch)]
    return len(events) / await _post_all(url, "/api/v1/lineage/batch", batches, clients, 200)


async def _bench_single(url: str, events: list[dict], concurrency: int) -> float:
    """Single posts from Python, used when wrk is not installed."""
    bodies = [orjson.dumps(e) for e in events]
    return len(events) / await _post_all(url, "/api/v1/lineage", bodies, concurrency, 201)


def bench_single_wrk(url: str, seconds: int, connections: int, workdir: Path) -> float | None:
    """Single posts driven by wrk (C, light on CPU), or None when wrk is not installed."""
    if not shutil.which("wrk"):
        return None
    templates = workdir / "templates.jsonl"
    # Each template is one seed event with __S__ in its names and run id, replaced per request.
    lines = []
    for template in TEMPLATES:
        event = copy.deepcopy(template)
        event["run"]["runId"] = "00000000-0000-4000-8000-__S__"
        event["job"]["name"] += "___S__"
        for dataset in event.get("inputs", []) + event.get("outputs", []):
            dataset["name"] += "___S__"
        lines.append(json.dumps(event))
    templates.write_text("\n".join(lines) + "\n")
    run_tag = uuid.uuid4().hex[:8]  # makes this run's events new (see single_post.lua)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(REPO / "benchmarks" / "single_post.lua"),
         url, "--", str(templates), run_tag], capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    if "non-201 responses: 0" not in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    return float(out.split("Requests/sec:")[1].split()[0])


def bench_kafka(server: ServerProcess, bootstrap: str, topic: str, events: list[dict]) -> float:
    """Produce ``events`` (keyed by job, as the OpenLineage clients key them) and wait until the catalog
    has committed every offset of the topic; events/s over the whole."""
    def committed() -> int:
        return sum(p["committed"] or 0 for p in server.http.get("/health").json()["kafka"]["partitions"])

    target = committed() + len(events)
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    start = time.perf_counter()
    for event in events:
        producer.produce(topic, value=orjson.dumps(event),
                         key=f"run:{event['job']['namespace']}/{event['job']['name']}".encode())
        producer.poll(0)
    producer.flush(60)
    while committed() < target:
        time.sleep(0.05)
    return len(events) / (time.perf_counter() - start)


SINGLE_SECONDS = 10  # how long wrk posts single events

RAW_MERGE = ("UNWIND $rows AS r MERGE (n:Bench {key: r.key}) "
             "SET n.firstSeen = CASE WHEN n.firstSeen IS NULL OR r.first < n.firstSeen THEN r.first ELSE n.firstSeen END, "
             "n.lastSeen = CASE WHEN n.lastSeen IS NULL OR r.last > n.lastSeen THEN r.last ELSE n.lastSeen END")


def engine_port(server: ServerProcess) -> int:
    """The embedded engine's port, from /health of the primary (with --workers, a worker may answer)."""
    for _ in range(50):
        port = server.http.get("/health").json()["graph"].get("port")
        if port:
            return port
    raise RuntimeError("no process reported the engine's port")


def drain_seconds(server: ServerProcess) -> float:
    """Seconds until the graph holds every logged event (with --workers, workers acknowledge once logged
    and the primary projects their events from the log)."""
    start = checked = time.perf_counter()
    while server.http.get("/health").json()["projection"]["lag"]:
        time.sleep(0.02)
        checked = time.perf_counter()
    return checked - start  # until the check that found no lag began: 0 if the first one did


def raw_merge_falkordb(server: ServerProcess, rows: int, batch: int) -> float:
    port = engine_port(server)
    graph = FalkorDB(host="127.0.0.1", port=port).select_graph(f"bench-raw-{uuid.uuid4().hex[:6]}")
    graph.query("CREATE INDEX FOR (n:Bench) ON (n.key)")
    data = [{"key": f"k{i}", "first": i, "last": i} for i in range(rows)]
    start = time.perf_counter()
    for i in range(0, rows, batch):
        graph.query(RAW_MERGE, {"rows": data[i:i + batch]})
    elapsed = time.perf_counter() - start
    graph.delete()
    return rows / elapsed


def raw_merge_neo4j(url: str, rows: int, batch: int) -> float:
    """The same MERGE through the driver, one auto-commit transaction per batch, as a tuned loader would."""
    store = store_at(url)
    store.query("CREATE CONSTRAINT bench_key IF NOT EXISTS FOR (n:Bench) REQUIRE n.key IS UNIQUE")
    tag = uuid.uuid4().hex[:6]
    data = [{"key": f"{tag}{i}", "first": i, "last": i} for i in range(rows)]
    start = time.perf_counter()
    for i in range(0, rows, batch):
        store.query(RAW_MERGE, {"rows": data[i:i + batch]})
    elapsed = time.perf_counter() - start
    store.query("MATCH (n:Bench) DETACH DELETE n")
    store.close()
    return rows / elapsed


def measure_repeat(server: ServerProcess, neo4j, args, tmp: Path, tag: str, m: dict) -> None:
    """One repeat on one server, appended to its measurements ``m``: the raw ceiling, batches, single posts."""
    m["raw"].append(raw_merge_neo4j(neo4j.url, 20000, 2000) if neo4j else raw_merge_falkordb(server, 20000, 2000))
    elapsed = args.events / asyncio.run(_bench_batch(server.url, make_events(args.events, f"b{tag}_"), args.batch,
                                                     args.batch_clients))
    m["batch"].append(args.events / (elapsed + drain_seconds(server)))
    driven = bench_single_wrk(server.url, SINGLE_SECONDS, args.concurrency, tmp)
    m["single"].append(driven if driven is not None else asyncio.run(
        _bench_single(server.url, make_events(args.single_events, f"s{tag}_"), args.concurrency)))
    m["drained"].append(drain_seconds(server))
    posted = m["single"][-1] * SINGLE_SECONDS if driven is not None else args.single_events
    m["single_in_graph"].append(posted / (posted / m["single"][-1] + m["drained"][-1]))


def bench_engine(engine: str, args, tmp: Path, kafka: str | None) -> dict[str, dict]:
    """Measurements per server: this checkout's, and with ``args.baseline`` that commit's, interleaved repeat by
    repeat so that machine noise hits both alike. On Neo4j each server has a Neo4j of its own: two catalogs on one
    graph would share its checkpoint."""
    neo4js: dict[str, Neo4jProcess] = {}
    topic = create_topic(kafka, partitions=4) if kafka else None
    kafka_args = ("--kafka-bootstrap", kafka, "--kafka-topic", topic) if kafka else ()
    workers = ("--workers", str(args.workers)) if args.workers > 1 else ()
    baseline = args.baseline
    worktree = tmp / "baseline-code"
    try:
        with contextlib.ExitStack() as stack:
            demo = ("--demo",) if args.demo else ()
            servers = {}
            for mode in args.acknowledge:
                name = "this" if len(args.acknowledge) == 1 else f"this, acknowledge {mode}"
                if engine == "neo4j":
                    neo4js[name] = Neo4jProcess(tmp / f"neo4j-{mode}").start()
                graph_args = ("--graph-url", neo4js[name].url) if name in neo4js else ()
                servers[name] = stack.enter_context(ServerProcess(
                    tmp / f"data-{engine}-{mode}", *graph_args, *kafka_args, *workers, *demo, "--acknowledge", mode))
            if baseline:
                subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), baseline],
                               check=True, capture_output=True)
                if engine == "neo4j":
                    neo4js[baseline] = Neo4jProcess(tmp / "neo4j-baseline").start()
                graph_args = ("--graph-url", neo4js[baseline].url) if baseline in neo4js else ()
                servers[baseline] = stack.enter_context(
                    ServerProcess(tmp / f"data-{engine}-baseline", *graph_args, *workers, *demo, code=worktree))
            results = {name: {"raw": [], "batch": [], "single": [], "single_in_graph": [], "kafka": [],
                              "drained": []} for name in servers}
            first = next(iter(servers))
            while kafka and not servers[first].http.get("/health").json()["kafka"]["partitions"]:
                time.sleep(0.1)  # joined the group
            for repeat in range(args.repeats):
                for index, (name, server) in enumerate(servers.items()):
                    measure_repeat(server, neo4js.get(name), args, tmp, f"{repeat}_{index}", results[name])
                if kafka:
                    results[first]["kafka"].append(bench_kafka(servers[first], kafka, topic,
                                                               make_events(args.events, f"k{repeat}_")))
    finally:
        for neo4j in neo4js.values():
            neo4j.stop()
        if baseline:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], check=False)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", nargs="+", choices=["falkordb", "neo4j"], default=["falkordb", "neo4j"])
    parser.add_argument("--events", type=int, default=6000, help="events per batch-ingest repeat")
    parser.add_argument("--single-events", type=int, default=3000, help="events per single-post repeat")
    parser.add_argument("--batch", type=int, default=500, help="events per batch request")
    parser.add_argument("--batch-clients", type=int, default=4, help="concurrent batch producers")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent single-post clients")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1,
                        help="catalog serve --workers N: N processes take requests; the primary writes the graph")
    parser.add_argument("--acknowledge", nargs="+", choices=ACKNOWLEDGE_MODES, default=["graph"],
                        help="catalog serve --acknowledge MODE; several: one server of this checkout per mode")
    parser.add_argument("--no-kafka", action="store_true", help="skip the Kafka measurement (no broker started)")
    parser.add_argument("--demo", action="store_true",
                        help="servers start with the demo (sample lineage and a PII scan): the column lineage of the "
                             "events then has classifications to propagate, as in a catalog in use")
    parser.add_argument("--baseline", metavar="REF",
                        help="also measure this git commit's server on an engine of its own, interleaved, for ratios")
    args = parser.parse_args()

    rows_per_event = graph_rows_per_event(make_events(len(TEMPLATES) * 4, "probe"))
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        broker = None if args.no_kafka else KafkaProcess(Path(tmp) / "kafka").start()
        try:
            results = {engine: bench_engine(engine, args, Path(tmp), broker and broker.url)
                       for engine in args.engines}
        finally:
            if broker:
                broker.stop()
    med = statistics.median
    driver = "wrk" if shutil.which("wrk") else "httpx"
    print(f"graph rows written per event (after compaction): {rows_per_event:.1f}")
    for engine, servers in results.items():
        for name, m in servers.items():
            print(f"\n{engine}, {name}:")
            print(f"  raw UNWIND MERGE rows/s (ceiling):    median {med(m['raw']):,.0f}   runs {[round(x) for x in m['raw']]}")
            print(f"  batch ingest events/s ({args.batch_clients} clients, batch {args.batch}):  median "
                  f"{med(m['batch']):,.0f}   runs {[round(x) for x in m['batch']]}")
            print(f"    = {med(m['batch']) * rows_per_event:,.0f} graph rows/s, "
                  f"{med(b * rows_per_event / r for b, r in zip(m['batch'], m['raw'])):.2f}x the raw ceiling "
                  "(median of each repeat's ratio)")
            print(f"  single-post events/s ({args.concurrency} connections, {driver}): median {med(m['single']):,.0f}"
                  f"   runs {[round(x) for x in m['single']]}")
            print(f"    in the graph: median {med(m['single_in_graph']):,.0f}   runs "
                  f"{[round(x) for x in m['single_in_graph']]}   (graph caught up {med(m['drained']):.2f} s after "
                  "the last 201, median)")
            if m["kafka"]:
                print(f"  Kafka consumed events/s (4 partitions, produced to committed): median {med(m['kafka']):,.0f}"
                      f"   runs {[round(x) for x in m['kafka']]}   = {med(m['kafka']) / med(m['batch']):.2f}x batch")
        reference = args.baseline if args.baseline in servers else next(iter(servers))
        base = servers[reference]
        for name, this in servers.items():
            if name == reference:
                continue
            print(f"\n{engine}, {name} / {reference} (median of each repeat's ratio): batch "
                  f"{med(a / b for a, b in zip(this['batch'], base['batch'])):.2f}x, single posts "
                  f"{med(a / b for a, b in zip(this['single'], base['single'])):.2f}x, single posts in the graph "
                  f"{med(a / b for a, b in zip(this['single_in_graph'], base['single_in_graph'])):.2f}x")
    if len(results) == 2:
        f, n = (next(iter(results[engine].values())) for engine in ("falkordb", "neo4j"))
        print(f"\nneo4j / falkordb: batch {med(n['batch']) / med(f['batch']):.2f}x, single "
              f"{med(n['single']) / med(f['single']):.2f}x, raw ceiling {med(n['raw']) / med(f['raw']):.2f}x")


if __name__ == "__main__":
    main()
