"""What is particular to the FalkorDB backend beyond the store contract: a real embedded engine."""

import asyncio
import uuid

import pytest
import redis

from catalog.store.base import Read
from catalog.store.falkor_backend import SMALL_READ_ITEMS, SMALL_WRITE_CHARS, FalkorStore
from tests.catalog.store.test_store_contract import run_event, writes_for


def transactions(engine) -> int:
    """EXEC calls the engine has answered so far."""
    stats = redis.Redis(port=engine.port).info("commandstats")
    return stats.get("cmdstat_exec", {}).get("calls", 0)


def test_small_reads_run_as_one_transaction_and_large_ones_on_the_query_threads(engine, falkor_store):
    falkor_store.apply(writes_for([run_event(str(uuid.uuid4()), "COMPLETE", "2024-01-01T00:00:00Z", [f"in{i}"],
                                             [f"out{i}"]) for i in range(40)]))
    keys = [f"dataset:ns:in{i}" for i in range(40)] + [f"dataset:ns:out{i}" for i in range(40)]
    small = (falkor_store.lookup("Dataset", keys[:SMALL_READ_ITEMS // 2]),
             falkor_store.lookup("Dataset", keys[SMALL_READ_ITEMS // 2:SMALL_READ_ITEMS]))
    large = (falkor_store.lookup("Dataset", keys[:SMALL_READ_ITEMS]), falkor_store.lookup("Dataset", keys[-1:]))
    failing = Read("MATCH (n) RETURN n.key +", {})

    async def read_each() -> list:
        counted = []
        for reads in (small, large, (small[0], failing)):
            before = transactions(engine)
            try:
                found = await falkor_store.aread(*reads)
            except redis.ResponseError as exc:
                found = exc
            counted.append((transactions(engine) - before, found))
        return counted
    (in_small, small_found), (in_large, large_found), (in_failing, error) = asyncio.run(read_each())
    assert (in_small, in_large, in_failing) == (1, 0, 1)
    on_thread = []
    for reads in (small, large):  # the same reads on a thread
        before = transactions(engine)
        found = falkor_store.read(*reads)
        on_thread.append((found, transactions(engine) - before))
    assert on_thread == [(small_found, 1), (large_found, 0)]
    assert small_found == [r.shape(falkor_store.rows(r.cypher, r.params)) for r in small]  # each statement alone
    assert [len(found) for found in small_found] == [SMALL_READ_ITEMS // 2] * 2
    assert isinstance(error, redis.ResponseError) and "line: 1" in str(error).lower()


def test_a_small_group_of_writes_goes_as_one_transaction_and_a_large_one_on_the_query_threads(engine, falkor_store):
    def event(i: int) -> dict:
        return run_event(str(uuid.uuid4()), "COMPLETE", "2024-01-01T00:00:00Z", [f"in{i}"], [f"out{i}"])
    small, large = writes_for([event(0)]), writes_for([event(i) for i in range(1, 400)])
    assert sum(len(text) for text, _ in falkor_store.prepare(large)) > SMALL_WRITE_CHARS  # the test's premise
    # One transaction creates its nodes first, bare (nothing reads in between); statements one by one do not.
    prepared = [text.split("CYPHER ")[-1].split("UNWIND", 1)[1] for text, _ in falkor_store.prepare(small)]
    assert len(prepared) == len(FalkorStore._statements(small)) + 5  # namespace, datasets, job, run, version
    assert all(" SET " not in text for text in prepared[:5]) and " SET " in prepared[5]
    assert len(falkor_store.prepare(large)) == len(FalkorStore._statements(large))
    counted = []
    for writes in (small, large):
        before = transactions(engine)
        falkor_store.commit(writes, *[falkor_store.checkpoint()] * 2)
        counted.append(transactions(engine) - before)
    assert counted == [1, 0]
    assert falkor_store.dump() == dump_written_a_statement_at_a_time(engine, [small, large])

    failing = [("MATCH (n) RETURN n.key +", None)]
    with pytest.raises(redis.ResponseError):
        falkor_store.execute_writes(failing)


def test_a_group_whose_node_statement_fails_leaves_no_node_it_created_bare(engine, falkor_store):
    """A transaction does not roll back. A NUL in a job's name (refused at ingestion, but an older log may hold one)
    fails every statement that carries it, the runs' among them, while the run's bare MERGE, keyed by its run id,
    succeeds: that run must not stay behind with nothing but its key, nor with the edges later statements gave it."""
    fine = run_event(str(uuid.uuid4()), "COMPLETE", "2024-01-01T00:00:00Z", ["a"], ["b"])
    poisoned = run_event(str(uuid.uuid4()), "COMPLETE", "2024-01-01T00:00:00Z", ["b"], ["c"], job="et\x00l")
    group = writes_for([fine, poisoned])
    prepared = falkor_store.prepare(group)
    before = transactions(engine)
    with pytest.raises(redis.ResponseError):
        falkor_store.execute_writes(prepared)
    assert transactions(engine) - before == 2  # the group, then the undo of what it created bare
    assert falkor_store.query("MATCH (n) WHERE n.key IS NOT NULL AND size(keys(n)) = 1 RETURN n.key AS key",
                              read_only=True) == []
    assert falkor_store.dump() == dump_written_a_statement_at_a_time(engine, [group], failing_skipped=True)


def dump_written_a_statement_at_a_time(engine, groups, failing_skipped: bool = False) -> dict:
    """What a fresh graph holds once the groups' plain statements are written one at a time, without transactions
    (statements the engine refuses skipped, if ``failing_skipped``)."""
    store = FalkorStore("127.0.0.1", engine.port, graph=f"test-{uuid.uuid4().hex[:12]}")
    store.ensure_schema()
    try:
        for writes in groups:
            for cypher, params in store._statements(writes):
                try:
                    store.query(cypher, params)
                except redis.ResponseError:
                    if not failing_skipped:
                        raise
        return store.dump()
    finally:
        store.drop()
        store.close()
