import asyncio

import pytest

from catalog.store import reads
from catalog.store.coalesce import CoalescedReads
from tests.catalog.store.test_store_contract import run_event, writes_for


class CountingStore:
    """A real store, with the reads of each ``aread`` call counted."""

    def __init__(self, store):
        self.store = store
        self.round_trips: list[int] = []

    async def aread(self, *reads):
        self.round_trips.append(len(reads))
        return await self.store.aread(*reads)


def test_reads_of_one_turn_go_together_and_a_failure_fails_them_all_and_nothing_after(store):
    store.apply(writes_for([run_event(f"00000000-0000-4000-8000-00000000000{i}", "COMPLETE", "2024-01-01T00:00:00Z",
                                      [f"in{i}"], [f"out{i}"]) for i in range(3)]))
    keys = [f"dataset:ns:out{i}" for i in range(3)]
    bad = reads.nodes_read("Dataset", keys)._replace(cypher="MATCH (n) RETURN n.key +")
    counting = CountingStore(store)

    async def ask():
        try:
            coalesced = CoalescedReads(counting)
            together = await asyncio.gather(coalesced.read(reads.nodes_read("Dataset", keys)),
                                            coalesced.read(reads.fields_read(keys)))
            failed = await asyncio.gather(coalesced.read(reads.tags_read("Dataset", keys)), coalesced.read(bad),
                                          return_exceptions=True)
            return together, failed, await coalesced.read(reads.latest_runs_read(["job:ns:etl"]))
        finally:
            await store.aclose()

    together, failed, after = asyncio.run(ask())
    assert counting.round_trips == [2, 2, 1]
    assert together == [reads.nodes(store, "Dataset", keys), reads.fields_of(store, keys)]
    assert all(isinstance(error, Exception) for error in failed) and failed[0] is failed[1]
    assert after == reads.latest_runs(store, ["job:ns:etl"]) and after


def test_a_reader_that_gave_up_is_not_answered_and_the_others_are(store):
    keys = ["dataset:ns:none"]
    coalesced = CoalescedReads(store)

    async def ask():
        try:
            gives_up = coalesced.read(reads.nodes_read("Dataset", keys))
            waits = coalesced.read(reads.tags_read("Dataset", keys))
            gives_up.cancel()
            with pytest.raises(asyncio.CancelledError):
                await gives_up
            return await waits
        finally:
            await store.aclose()

    assert asyncio.run(ask()) == {"dataset:ns:none": []}
