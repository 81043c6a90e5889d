"""`catalog serve --workers N`: several real processes on one port, one data directory and one embedded engine."""

import os
import signal
import time

import httpx
import pytest

from catalog.keys import KeyStore
from tests.catalog.test_recovery import event
from tests.catalog.test_replicas import wait_until
from tests.conftest import ServerProcess


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not open(f"/proc/{pid}/stat").read().split(") ")[1].startswith("Z")


def health_by_role(server: ServerProcess, tries: int = 40) -> dict[str, dict]:
    """/health of each role ("primary", "worker"), asked on new connections until both answered."""
    seen = {}
    for _ in range(tries):
        report = httpx.get(server.url + "/health", timeout=5).json()
        seen[report["process"]["role"]] = report
        if len(seen) == 2:
            break
    return seen


def test_two_processes_serve_one_port_and_every_event_reaches_the_graph(tmp_path):
    data = tmp_path / "data"
    keys = KeyStore(data)
    token = keys.create("ops", "admin")[1]
    keys.close()
    headers = {"Authorization": f"Bearer {token}"}
    with ServerProcess(data, "--workers", "2", auth=True) as server:
        roles = health_by_role(server)
        assert set(roles) == {"primary", "worker"}, "new connections should reach both processes"
        assert roles["primary"]["projection"]["role"] == "projector"
        assert roles["worker"]["projection"]["role"] == "follower"
        assert roles["worker"]["process"]["pid"] != roles["primary"]["process"]["pid"]
        assert roles["worker"]["graph"]["url"] == f"falkordb://127.0.0.1:{roles['primary']['graph']['port']}"

        sent = [event(i, "w") for i in range(40)]
        for body in sent:  # a new connection each: the kernel spreads them over the processes
            assert httpx.post(server.url + "/api/v1/lineage", json=body, headers=headers).status_code == 201

        query = """{ lineage(nodeId: "dataset:faults:source", direction: DOWNSTREAM, depth: 1, first: 500)
                     { nodes { id } } }"""

        def downstream() -> set[str]:
            answer = httpx.post(server.url + "/graphql", json={"query": query}, headers=headers).json()
            return {n["id"] for n in answer["data"]["lineage"]["nodes"]}

        wanted = {f"dataset:faults:out-w-{i}" for i in range(40)}
        wait_until(lambda: wanted <= downstream(), 10, "every acknowledged event in the graph")
        # Each event once, whichever process logged it.
        assert httpx.get(server.url + "/health").json()["eventLog"]["events"] == 40


def test_a_key_gets_its_rate_across_the_processes(tmp_path):
    data = tmp_path / "data"
    keys = KeyStore(data)
    token = keys.create("busy", "viewer")[1]
    keys.close()
    env = {"CATALOG_RATE_LIMIT_PER_SECOND": "1", "CATALOG_RATE_LIMIT_BURST": "6"}
    with ServerProcess(data, "--workers", "2", auth=True, env=env) as server:
        assert set(health_by_role(server)) == {"primary", "worker"}
        started = time.monotonic()
        statuses = [httpx.get(server.url + "/api/v1/policies", headers={"Authorization": f"Bearer {token}"})
                    .status_code for _ in range(24)]
        elapsed = time.monotonic() - started
        # One bucket for both: the burst plus what refilled. Two buckets of 6 would let about 12 through.
        assert statuses.count(200) <= 6 + int(elapsed) + 1, statuses
        assert statuses.count(200) >= 6 and set(statuses) == {200, 429}


def test_a_worker_that_dies_is_replaced_and_all_stop_with_the_primary(tmp_path):
    with ServerProcess(tmp_path / "data", "--workers", "2") as server:
        roles = health_by_role(server)
        first, engine = roles["worker"], roles["primary"]["graph"]["pid"]
        os.kill(first["process"]["pid"], signal.SIGKILL)
        wait_until(lambda: health_by_role(server, 10).get("worker", first)["process"]["pid"]
                   != first["process"]["pid"], 30, "a new worker")
        worker = health_by_role(server)["worker"]["process"]["pid"]
        assert server.stop() == 0
        assert not alive(worker) and not alive(engine)


def test_workers_die_with_a_killed_primary_and_the_data_directory_opens_again(tmp_path):
    data = tmp_path / "data"
    with ServerProcess(data, "--workers", "3") as server:
        roles = health_by_role(server)
        assert httpx.post(server.url + "/api/v1/lineage", json=event(0, "k")).status_code == 201
        workers = set()
        for _ in range(60):
            workers.add(httpx.get(server.url + "/health").json()["process"]["pid"])
        workers.discard(roles["primary"]["process"]["pid"])
        assert len(workers) == 2
        server.stop(signal.SIGKILL)
        wait_until(lambda: not any(alive(pid) for pid in workers), 10, "the workers to exit")
    with ServerProcess(data) as again:  # one process, as by default
        assert httpx.get(again.url + "/api/v1/namespaces/faults/datasets/out-k-0").status_code == 200
        engine = httpx.get(again.url + "/health").json()["graph"]["pid"]
        assert again.stop() == 0  # SIGTERM: a clean stop, the engine stopped by the server
        assert not alive(engine)


def test_a_worker_does_not_start_without_its_primary(tmp_path):
    from catalog.config import Settings
    from catalog.engine import DataDirLocked
    from catalog.runtime import Catalog

    settings = Settings(data_dir=tmp_path / "data", graph_url="falkordb://127.0.0.1:9", workers=2)
    with pytest.raises(DataDirLocked, match="beside its primary"):
        Catalog.open(settings, worker=True)


def _requests_counted(text: str, route: str) -> float:
    """The count of 200 answers to GET ``route`` in a /metrics text."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("catalog_http_request_seconds_count{") and f'route="{route}"' in line
               and 'method="GET"' in line and 'status="200"' in line)


def test_every_scrape_counts_the_requests_of_every_process(tmp_path):
    data = tmp_path / "data"
    (data / "metrics").mkdir(parents=True)
    (data / "metrics" / "counter_999999.db").write_bytes(b"left by an earlier run")  # not read as counts
    with ServerProcess(data, "--workers", "2") as server:
        served_by = {httpx.get(server.url + "/health").json()["process"]["role"] for _ in range(40)}
        assert served_by == {"primary", "worker"}
        for _ in range(30):  # a new connection each: both processes answer some
            assert httpx.get(server.url + "/api/v1/policies").status_code == 200
        wait_until(lambda: b"catalog_retention_removed" in (data / "metrics" / "primary-live.prom").read_bytes()
                   if (data / "metrics" / "primary-live.prom").exists() else False, 10, "the primary's live figures")
        scrapes = []
        for _ in range(12):
            text = httpx.get(server.url + "/metrics").text
            scrapes.append((_requests_counted(text, "/api/v1/policies"), _requests_counted(text, "/health"),
                            "catalog_retention_removed_total" in text))
        assert {s[0] for s in scrapes} == {30}, scrapes
        health = {s[1] for s in scrapes}  # the 40 above, and the start's own probes
        assert len(health) == 1 and health.pop() >= 40, scrapes
        assert all(live for _, _, live in scrapes), "a worker's answer lacks the primary's retention figures"
    assert not (data / "metrics" / "counter_999999.db").exists()
