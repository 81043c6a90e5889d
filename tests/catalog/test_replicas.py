"""Replicas: two `catalog serve` processes on one real PostgreSQL and one real Neo4j, under load, while the
projecting replica is SIGKILLed and while PostgreSQL restarts."""

import json
import signal
import threading
import time
from collections import Counter

import httpx

from catalog.engine import EmbeddedEngine
from tests.catalog.test_kafka_ingest import produce
from tests.catalog.test_recovery import event
from tests.conftest import ServerProcess
from tests.engines import PostgresProcess, create_topic, store_at

LINEAGE = """{ lineage(nodeId: "dataset:faults:source", direction: DOWNSTREAM, depth: 2, first: 5000) {
  nodes { id } edges { origin destination } isPartial } }"""


class Load:
    """Clients posting new runs, each to the replicas in turn; what was sent, acknowledged and answered."""

    def __init__(self, urls: list[str], clients: int = 3):
        self.urls = urls
        self.sent: list[str] = []
        self.acked: list[str] = []
        self.answers: Counter = Counter()  # status code (or "refused") -> count
        self.retry_after: set[str] = set()  # Retry-After values of the 503s
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._send, args=(f"c{n}",)) for n in range(clients)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _send(self, tag: str) -> None:
        with httpx.Client(timeout=30) as client:
            i = 0
            while not self.stop.is_set():
                body = event(i, tag)
                self.sent.append(body["run"]["runId"])
                try:
                    response = client.post(self.urls[i % len(self.urls)] + "/api/v1/lineage", json=body)
                    self.answers[response.status_code] += 1
                    if response.status_code == 201:
                        self.acked.append(body["run"]["runId"])
                    elif response.status_code == 503:
                        self.retry_after.add(response.headers.get("retry-after"))
                except httpx.TransportError:  # a replica that is gone refuses connections
                    self.answers["refused"] += 1
                    time.sleep(0.01)
                i += 1

    def wait_for_acks(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            assert time.monotonic() < deadline, f"only {len(self.acked)} acknowledged: {dict(self.answers)}"
            time.sleep(0.02)


def health(server: ServerProcess) -> dict:
    return httpx.get(server.url + "/health", timeout=10).json()


def wait_until(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - started


def caught_up(server: ServerProcess) -> bool:
    report = health(server)
    return report["status"] == "ok" and report["projection"]["lag"] == 0


def runs_in_graph(graph_url: str, run_ids: list[str]) -> Counter:
    graph = store_at(graph_url)
    rows = graph.query("UNWIND $keys AS key MATCH (r:Run {key: key}) RETURN r.key AS key",
                       {"keys": [f"run:{run}" for run in run_ids]}, read_only=True)
    graph.close()
    return Counter(row["key"] for row in rows)


def replica(data_dir, database: str, graph: str) -> ServerProcess:
    return ServerProcess(data_dir, "--database", database, "--graph-url", graph).start(timeout=60)


def replicas(tmp_path, database: str, graph: str) -> tuple[ServerProcess, ServerProcess]:
    return replica(tmp_path / "a", database, graph), replica(tmp_path / "b", database, graph)


def test_the_projecting_replica_killed_mid_load_loses_nothing_and_another_takes_over(
        tmp_path, database_url, neo4j_url):
    a, b = replicas(tmp_path, database_url, neo4j_url)
    try:
        roles = {server.url: health(server)["projection"]["role"] for server in (a, b)}
        assert sorted(roles.values()) == ["follower", "projector"]
        projector, survivor = (a, b) if roles[a.url] == "projector" else (b, a)
        with Load([a.url, b.url]) as load:
            load.wait_for_acks(200)
            projector.stop(signal.SIGKILL)
            killed_at = len(load.acked)
            takeover = wait_until(lambda: health(survivor)["projection"]["role"] == "projector", 15, "a takeover")
            load.wait_for_acks(killed_at + 200)  # the survivor alone takes the load, and projects it
        wait_until(lambda: caught_up(survivor), 30, "the survivor to project everything logged")
        found = runs_in_graph(neo4j_url, load.acked)
        print(f"[replicas, SIGKILL] sent {len(load.sent)}, acknowledged {len(load.acked)} ({killed_at} before the "
              f"kill), found in the graph {len(found)}; takeover after {takeover:.2f} s; answers {dict(load.answers)}")
        assert len(found) == len(load.acked) and set(found.values()) == {1}  # every acknowledged run, once
        assert health(survivor)["eventLog"]["events"] >= len(load.acked)

        restarted = replica(projector.data_dir, database_url, neo4j_url)
        try:
            assert health(restarted)["projection"]["role"] == "follower"
            answers = [httpx.post(server.url + "/graphql", json={"query": LINEAGE}, timeout=30).json()
                       for server in (survivor, restarted)]
            assert answers[0] == answers[1] and "errors" not in answers[0]
            assert len(answers[0]["data"]["lineage"]["nodes"]) > len(load.acked)  # the source, the jobs, the outputs
        finally:
            restarted.stop()
    finally:
        for server in (a, b):
            server.stop()


def test_postgresql_restarted_mid_load_gives_503_then_recovers_with_nothing_lost(tmp_path, neo4j_url, postgres_dir):
    database = PostgresProcess(postgres_dir).start()
    try:
        a, b = replicas(tmp_path, database.url, neo4j_url)
        try:
            with Load([a.url, b.url]) as load:
                load.wait_for_acks(100)
                database.stop()
                wait_until(lambda: load.answers[503] >= 10, 30, "503 answers while PostgreSQL is away")
                assert health(a)["eventLog"]["reachable"] is False
                acked_while_away = len(load.acked)
                database.start()
                recovery = wait_until(lambda: len(load.acked) > acked_while_away, 30,
                                      "an acknowledgement after PostgreSQL is back")
                load.wait_for_acks(acked_while_away + 100)
            for server in (a, b):
                wait_until(lambda: health(server)["projection"]["role"] in ("projector", "follower")
                           and health(server)["eventLog"]["reachable"], 30, "both replicas back")
            wait_until(lambda: any(health(s)["projection"]["role"] == "projector" for s in (a, b)), 15,
                       "a projector again")
            projector = next(s for s in (a, b) if health(s)["projection"]["role"] == "projector")
            wait_until(lambda: caught_up(projector), 30, "the projection to catch up")
            found = runs_in_graph(neo4j_url, load.acked)
            print(f"[replicas, PostgreSQL restart] sent {len(load.sent)}, acknowledged {len(load.acked)}, found "
                  f"{len(found)}; back {recovery:.2f} s after the restart; answers {dict(load.answers)}")
            assert len(found) == len(load.acked) and set(found.values()) == {1}
            assert load.retry_after == {"2"}
            assert set(load.answers) <= {201, 503}  # nothing but acknowledgements and "retry later"
        finally:
            for server in (a, b):
                server.stop()
    finally:
        database.stop()


def test_replicas_consuming_kafka_share_the_partitions_and_keep_each_event_once(tmp_path, database_url, kafka):
    """Two replicas in one consumer group on a topic of 4 partitions, on one PostgreSQL and one graph."""
    topic = create_topic(kafka, partitions=4)
    consuming = ("--kafka-bootstrap", kafka, "--kafka-topic", topic, "--kafka-group", f"replicas-{topic}")
    with EmbeddedEngine(tmp_path / "graph") as engine:
        graph = f"falkordb://127.0.0.1:{engine.port}"
        servers = [ServerProcess(tmp_path / name, "--database", database_url, "--graph-url", graph, *consuming)
                   .start(timeout=60) for name in ("a", "b")]
        try:
            def assigned() -> list[set[int]]:
                return [{p["partition"] for p in health(server)["kafka"]["partitions"]} for server in servers]

            wait_until(lambda: all(assigned()) and sum(map(len, assigned())) == 4, 60, "the group to rebalance")
            first, second = assigned()
            assert first.isdisjoint(second) and first | second == {0, 1, 2, 3}

            events = [event(i, "kafka") for i in range(200)]  # one job each: keys spread over the partitions
            produce(kafka, topic, [json.dumps(e).encode() for e in events])
            wait_until(lambda: all(health(s)["kafka"]["lag"] == 0 for s in servers) and caught_up(servers[0])
                       and caught_up(servers[1]), 60, "both replicas to commit and the graph to catch up")
            consumed = [health(server)["kafka"]["consumed"] for server in servers]
            found = runs_in_graph(graph, [e["run"]["runId"] for e in events])
            print(f"consumed by each replica {consumed}; in the graph {len(found)} of {len(events)}")
            assert sum(consumed) == 200 and min(consumed) > 0
            assert len(found) == 200 and set(found.values()) == {1}
        finally:
            for server in servers:
                server.stop()
