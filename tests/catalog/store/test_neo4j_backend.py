"""What only the Neo4j backend has: scripts/neo4j.sh, transactions and their retries, credentials."""

import asyncio
import json
import threading
import time
import uuid

import pytest
from neo4j.exceptions import ClientError

from catalog.config import Settings
from catalog.runtime import open_store
from catalog.store.base import GraphUnavailable, Read
from catalog.store.neo4j_backend import Neo4jStore
from tests.catalog.store.test_store_contract import writes_for
from tests.engines import Neo4jProcess, store_at


def test_neo4j_script_keeps_its_data_across_restarts_and_stops_cleanly(tmp_path):
    first = Neo4jProcess(tmp_path / "neo4j").start()
    assert first.url.startswith("bolt://127.0.0.1:")
    store = store_at(first.url)
    store.query("CREATE (:Probe {key: 'kept'})")
    store.close()
    assert first.stop() == 0  # SIGTERM: a clean shutdown, exit status 0
    assert first.proc.stdout.read() == ""  # nothing but the URL on standard output

    again = Neo4jProcess(tmp_path / "neo4j").start()  # a second start on the same DATA_DIR
    try:
        store = store_at(again.url)
        assert store.query("MATCH (n:Probe) RETURN n.key AS key", read_only=True) == [{"key": "kept"}]
        assert store.version().startswith("Neo4j Kernel 5.26.")
        store.close()
    finally:
        again.stop()


def test_a_deadlock_between_two_transactions_is_retried(neo4j_url):
    """Two transactions lock two nodes in opposite orders: Neo4j aborts one, which is retried and commits."""
    store = store_at(neo4j_url)
    store.query("CREATE (:Probe {key: 'a', v: 0}), (:Probe {key: 'b', v: 0})")
    both_hold_one = threading.Barrier(2)
    errors: list[Exception] = []

    def lock_in_order(first: str, second: str) -> None:
        attempts = []

        def work(tx):
            attempts.append(1)
            tx.run("MATCH (n:Probe {key: $k}) SET n.v = n.v + 1", k=first).consume()
            if len(attempts) == 1:
                both_hold_one.wait(10)
            tx.run("MATCH (n:Probe {key: $k}) SET n.v = n.v + 1", k=second).consume()

        try:
            store._transaction(work)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=lock_in_order, args=order) for order in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.retries >= 1
    assert {r["k"]: r["v"] for r in store.query("MATCH (n:Probe) RETURN n.key AS k, n.v AS v")} == {"a": 2, "b": 2}
    store.close()


def test_serve_settings_reach_the_driver(neo4j_url, monkeypatch):
    monkeypatch.setenv("CATALOG_NEO4J_USER", "catalog")
    monkeypatch.setenv("CATALOG_NEO4J_PASSWORD", "secret")
    settings = Settings(graph_url=neo4j_url.replace("bolt://", "neo4j://"), neo4j_database="neo4j")
    store = open_store(settings, None)
    # The server runs without authentication and takes any credentials; the named database answers.
    assert store.name == "neo4j" and store.ping() and store.version().startswith("Neo4j Kernel")
    store.close()
    wrong = open_store(Settings(graph_url=neo4j_url, neo4j_database="nosuchdb"), None)
    with pytest.raises(Exception, match="(?i)database"):
        wrong.query("RETURN 1")
    wrong.close()


def test_a_read_awaited_with_nothing_listening_is_unavailable_at_once():
    from tests.conftest import free_port
    store = Neo4jStore(f"bolt://127.0.0.1:{free_port()}", retry_seconds=5)

    async def read():
        try:
            await store.aread(store.lookup("Dataset", ["dataset:ns:a"]))
        finally:
            await store.aclose()
    started = time.monotonic()
    with pytest.raises(GraphUnavailable):
        asyncio.run(read())
    assert time.monotonic() - started < 4  # not retried like a transient error
    store.close()


def test_reads_run_in_read_access_mode_and_write_nothing(neo4j_url):
    """Reads go out as auto-commit transactions: still in read access mode, so a write among them is refused."""
    store = store_at(neo4j_url)
    writes = Read("CREATE (:Probe {key: 'written'}) RETURN 1", {})
    with pytest.raises(ClientError, match="read access mode"):
        store.read(store.lookup("Dataset", ["dataset:ns:a"]), writes)

    async def read():
        try:
            return await store.aread(writes)
        finally:
            await store.aclose()
    with pytest.raises(ClientError, match="read access mode"):
        asyncio.run(read())
    assert store.query("MATCH (n:Probe) RETURN count(n) AS n", read_only=True) == [{"n": 0}]
    store.close()


def _operators(store, query: str, params: dict) -> list[str]:
    """The operators of ``query``'s plan, planned afresh on the graph as it is now (CacheProperties left out: it only
    moves where a property is read first)."""
    with store._driver.session() as session:
        plan = session.run("CYPHER replan=force EXPLAIN " + query, params).consume().plan
    operators = []

    def walk(step: dict, depth: int) -> None:
        cache = step["operatorType"].startswith("CacheProperties")
        if not cache:
            operators.append(f"{depth} {step['operatorType'].split('@')[0]}")
        for child in step.get("children", []):
            walk(child, depth if cache else depth + 1)
    walk(plan, 0)
    return operators


def test_a_projection_commit_plans_alike_on_an_empty_and_a_loaded_graph(neo4j_url, valid_events):
    """Commits are planned once and never replanned (replan=skip): safe only while their plan does not depend on the
    graph's statistics, as it does not when every row is found by key."""
    store = store_at(neo4j_url)
    events = [event for _, event in valid_events]
    query, params = store.commit_query(store.prepare(writes_for(events)), 0, 1)
    assert query.startswith("CYPHER replan=skip ")
    query = query.removeprefix("CYPHER replan=skip ")
    on_empty = _operators(store, query, params)

    copies = []
    for copy in range(20):  # 7,000 nodes from none: every label's and relationship's counts move
        for event in events:
            event = json.loads(json.dumps(event))
            if "run" in event:
                event["run"]["runId"] = str(uuid.uuid4())
            for named in [event.get("job"), event.get("dataset"), *event.get("inputs", []), *event.get("outputs", [])]:
                if named:
                    named["name"] += f"-{copy}"
            copies.append(event)
    store.apply(writes_for(copies))
    assert sum(store.counts().values()) > 5_000
    assert _operators(store, query, params) == on_empty
    store.close()
