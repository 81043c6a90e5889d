"""What only the Neo4j backend has: scripts/neo4j.sh, transactions and their retries, credentials."""

import asyncio
import json
import math
import threading
import time

import pytest
from neo4j.exceptions import ClientError

from catalog.config import Settings
from catalog.runtime import open_store
from catalog.store.base import GraphUnavailable, Read
from catalog.store.neo4j_backend import PLANNED_AFRESH_FROM, Neo4jStore, search_index
from catalog.store.writes import compact, every_kind_plan
from tests.catalog.store.test_store_contract import run_event, writes_for
from tests.conftest import VALID_DIR, load_events
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


def test_a_commit_is_planned_once_per_generation_of_the_log():
    """Neo4j does not replan a commit as the graph's statistics move (replan=skip): the text names a plan generation
    instead, a new text each time the log doubles from 2 * PLANNED_AFRESH_FROM events on: plans follow the growth."""
    statements = [("UNWIND $rows AS r MERGE (n:Probe {key: r.key})", {"rows": [{"key": "a"}]})]

    def text(seq: int) -> str:
        return Neo4jStore.commit_query(statements, seq - 1, seq)[0]

    assert text(1).startswith("CYPHER replan=skip ")
    early = {text(seq) for seq in (1, 2, 1000, 2 * PLANNED_AFRESH_FROM - 1)}
    assert len(early) == 1  # a small graph: one plan
    generations = [text(PLANNED_AFRESH_FROM * 2 ** n) for n in range(1, 5)]
    assert len(set(generations)) == 4 and not early & set(generations)
    assert text(PLANNED_AFRESH_FROM * 3) == generations[0]  # between two doublings: the same text
    query, params = Neo4jStore.commit_query(statements, 4, 5)
    assert params == {"expected": 4, "seq": 5, "rows0": [{"key": "a"}, None]} and "$rows0" in query


def size_bucket(length: int) -> int:
    """Neo4j's plan-cache bucket of a list's size: exactly 0 or 1, else the next power of ten."""
    return length if length < 2 else 10 ** math.ceil(math.log10(length))


@pytest.mark.parametrize("sizes", [(1,), (1, 2, 7), (3, 11, 40), (60, 250)], ids=str)
def test_commits_of_any_kinds_and_sizes_share_a_text_and_a_bucket(sizes):
    """Small commits of different events (other kinds of rows, other counts) are one text, and every list of a
    commit is padded with nulls into the bucket of its longest, so Neo4j plans them once per bucket."""
    with_lineage = [event for _, event in load_events(VALID_DIR) if "columnLineage" in json.dumps(event)]
    plain = [event for _, event in load_events(VALID_DIR) if "columnLineage" not in json.dumps(event)]
    texts = set()
    for size in sizes:
        for events in (plain[:size], (with_lineage * size)[:size]):
            writes = writes_for(events)
            statements = Neo4jStore.prepare(writes)
            query, params = Neo4jStore.commit_query(statements, 0, size)
            texts.add(query)
            lists = [params[f"rows{i}"] for i in range(len(statements))]
            assert len({size_bucket(len(rows)) for rows in lists}) == 1
            assert min(len(rows) for rows in lists) >= 2  # never the exact buckets of 0 and 1
            compacted = compact(writes)
            for (kind, _, _), rows in zip(every_kind_plan(writes), lists):
                real = [row for row in rows if row is not None]
                assert real == compacted.get(kind, []) and rows[len(real):] == [None] * (len(rows) - len(real))
    assert len(texts) == 1


def test_a_commit_statement_must_take_its_rows_first():
    with pytest.raises(ValueError, match="must start with"):
        Neo4jStore.commit_query([("MATCH (n) UNWIND $rows AS r SET n.x = r", {"rows": []})], 0, 1)


def test_commits_of_every_generation_apply(neo4j_url):
    store = store_at(neo4j_url)
    for seq in (1, PLANNED_AFRESH_FROM * 4):
        statements = [("UNWIND $rows AS r MERGE (n:Probe {key: r.key})", {"rows": [{"key": f"at-{seq}"}]})]
        assert store.write_and_checkpoint(statements, store.checkpoint(), seq)
    assert store.checkpoint() == PLANNED_AFRESH_FROM * 4
    assert {r["key"] for r in store.query("MATCH (n:Probe) RETURN n.key AS key", read_only=True)} == {
        "at-1", f"at-{PLANNED_AFRESH_FROM * 4}"}
    store.close()


def test_the_reads_of_a_round_trip_run_as_one_statement_once_their_columns_are_known(neo4j_url):
    """A round trip's reads run one by one the first time (their columns learnt), then as one statement, with the
    same answers: empty ones, ordered and cut ones, and parameters of the same name in two reads included. A read
    that returns an unnamed expression is never fused, and still answered."""
    store = store_at(neo4j_url)
    store.apply(writes_for([run_event(f"00000000-0000-4000-8000-{i:012d}", "COMPLETE", "2024-01-01T00:00:00Z",
                                      [f"in{i}", "shared"], [f"out{i}"]) for i in range(12)]))
    keys = [f"dataset:ns:{name}" for name in ("shared", "in3", "out7", "nope")]
    ids = store.node_ids("Dataset", keys)
    reads = (store.lookup("Dataset", keys), store.expansion([ids["dataset:ns:shared"]], "DOWNSTREAM", limit=5),
             store.description(list(ids.values())), store.job_edges([], "CONSUMES"))
    unnamed = Read("UNWIND $keys AS k RETURN k, size(k)", {"keys": keys})

    async def on_the_loop():
        try:
            return await store.aread(*reads), await store.aread(*reads, unnamed)
        finally:
            await store.aclose()

    store._columns.clear()
    assert store._fused(reads) is None  # nothing learnt yet
    first = store.read(*reads)
    assert store._fused(reads) is not None and store._fused((*reads, unnamed)) is None
    assert store.read(*reads) == first and asyncio.run(on_the_loop()) == (first, [*first, [(k, len(k)) for k in keys]])
    assert len(first[0]) == 3 and len(first[1]) == 5 and first[3] == []
    assert [target for _, target in first[1]] == sorted(target for _, target in first[1])  # ordered, then cut
    store.close()


def test_search_indexes_are_eventually_consistent_and_a_search_finds_what_was_just_written(neo4j_url):
    """A commit only queues its changes for the full-text indexes (eventually consistent: 4-5 ms less per commit and
    index touched); a search waits for them first, so it finds what was committed just before it. An index an older
    version made, which each commit updated itself, is made again by ensure_schema."""
    store = store_at(neo4j_url)
    store.query("DROP INDEX job_search IF EXISTS")
    store.query(search_index("Job", eventually_consistent=False))  # as older versions made it
    store.ensure_schema()
    indexes = {row["name"]: (row["eventual"], row["properties"]) for row in store.query(
        "SHOW FULLTEXT INDEXES YIELD name, properties, options "
        "RETURN name, properties, options.indexConfig.`fulltext.eventually_consistent` AS eventual", read_only=True)}
    assert indexes == {f"{label}_search": (True, ["searchText", "description", "stewardDescription"])
                       for label in ("dataset", "job", "field")}
    missed = []
    for i in range(20):
        # Letters only (one search word), and no word a prefix of another's.
        word = "fresh" + "".join(chr(ord("a") + int(digit)) for digit in str(i)) + "z"
        store.apply(writes_for([run_event(f"00000000-0000-4000-8000-{i:012d}", "COMPLETE", "2024-01-01T00:00:00Z",
                                          outputs=[word], job=f"{word}job")]))
        found = {label: [row["name"] for row in store.text_search(label, [word], 10)] for label in ("Dataset", "Job")}
        if found != {"Dataset": [word], "Job": [f"{word}job"]}:
            missed.append((word, found))
    assert missed == []
    store.close()
