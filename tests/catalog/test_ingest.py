"""The projector and the ingest pipeline against the real engine."""

import asyncio
import uuid

import pytest

from catalog.eventlog import EventLog
from catalog.ingest import GraphOfAnotherLog, IngestPipeline, Projector, prepare_event
from ingestors.openlineage import canonical_json, event_hash, map_event
from ingestors.validate import InvalidEvent


def event(name: str, description: str = "fine") -> dict:
    return {"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "https://example.com/t",
            "run": {"runId": "01908a5e-0000-7000-8000-0000000000c1"}, "job": {"namespace": "iso", "name": "job"},
            "outputs": [{"namespace": "iso", "name": name, "facets": {"documentation": {
                "_producer": "https://example.com/t", "_schemaURL": "https://example.com/s",
                "description": description}}}]}


def test_a_refused_event_is_skipped_and_the_rest_of_its_group_is_written(falkor_store, tmp_path):
    log = EventLog(tmp_path / "events.sqlite3")
    # Validation refuses a NUL before logging; here one is logged anyway, as by an older version.
    events = [event("a"), event("poison", "cut\x00here"), event("c")]
    bodies = [canonical_json(e) for e in events]
    rows = log.append([(event_hash(b), b, "RunEvent", 0) for b in bodies])
    projector = Projector(log, falkor_store)
    projector.apply([(seq, map_event(e, event_hash(b))) for (seq, _), e, b in zip(rows, events, bodies)])
    found = {r["k"]: r["d"] for r in falkor_store.query(
        "MATCH (d:Dataset) RETURN d.name AS k, d.description AS d", read_only=True)}
    # The writes are not one transaction: statements before the refused one stay (its dataset node, not its facet).
    assert found == {"a": "fine", "c": "fine", "poison": None}
    assert projector.refused == 1 and projector.applied == rows[-1][0] == falkor_store.checkpoint()

    # A replay from scratch (a rebuild) gets past it the same way.
    falkor_store.clear()
    again = Projector(log, falkor_store)
    assert again.catch_up() == 3 and again.refused == 1
    assert {r["k"] for r in falkor_store.query("MATCH (d:Dataset) WHERE d.description = 'fine' RETURN d.name AS k",
                                                read_only=True)} == {"a", "c"}
    log.close()


def test_a_logged_name_the_engine_cannot_index_is_skipped_on_replay(falkor_store, engine, tmp_path):
    """A name with outer whitespace crashes FalkorDB; ingestion refuses it, and a log holding one anyway
    (written before that check) replays past it with the engine still up."""
    log = EventLog(tmp_path / "events.sqlite3")
    bodies = [canonical_json(e) for e in (event("a"), event("trailing "), event("c"))]
    log.append([(event_hash(b), b, "RunEvent", 0) for b in bodies])
    projector = Projector(log, falkor_store)
    assert projector.catch_up() == 3 and projector.refused == 1
    assert {r["k"] for r in falkor_store.query("MATCH (d:Dataset) RETURN d.name AS k", read_only=True)} == {"a", "c"}
    assert engine.restarts == 0 and falkor_store.ping()
    log.close()


def test_the_pipeline_acknowledges_each_group_once_it_is_in_the_graph(falkor_store, tmp_path):
    """Groups go through the log and the graph stage side by side: every acknowledged event is already
    in the graph, and the projection loop, running all along, never replays what is on its way there."""
    log = EventLog(tmp_path / "events.sqlite3")
    projector = Projector(log, falkor_store)
    caught_up: list[int] = []
    # max_batch 1: each request its own group, so several are in flight at once.
    pipeline = IngestPipeline(log, projector, max_batch=1, on_caught_up=caught_up.append, interval=0.001)

    def batch(n: int) -> list:
        run = str(uuid.uuid4())
        return [prepare_event({**event(f"out{n}_{i}"), "run": {"runId": run}}) for i in range(20)]

    async def post(n: int) -> list[tuple[int, int]]:
        accepted = await pipeline.submit(batch(n))
        # At the moment of the acknowledgement, the graph's checkpoint covers this group.
        return [(a.seq, falkor_store.checkpoint()) for a in accepted]

    async def main():
        await pipeline.start()
        try:
            return await asyncio.gather(*(post(n) for n in range(30)))
        finally:
            await pipeline.stop()

    results = [pair for group in asyncio.run(main()) for pair in group]
    assert all(seq <= checkpoint for seq, checkpoint in results)
    assert sorted(seq for seq, _ in results) == list(range(1, 601))
    assert caught_up == [] and projector.applied == 600 == falkor_store.checkpoint()
    assert falkor_store.query("MATCH (d:Dataset) RETURN count(d) AS n", read_only=True)[0]["n"] == 600
    log.close()


def test_the_next_group_forms_until_the_graph_stage_takes_the_one_logged_ahead(falkor_store, tmp_path):
    """Acknowledged once in the graph: while the engine writes one group and the next waits logged, the requests
    arriving meanwhile are logged as one group, not the first of them alone."""
    log = EventLog(tmp_path / "events.sqlite3")
    projector = Projector(log, falkor_store)
    projected: list[int] = []
    pipeline = IngestPipeline(log, projector, interval=60,
                              on_commit=lambda events, accepted: projected.append(len(events)))

    def one(n: int) -> list:
        return [prepare_event({**event(f"e{n}"), "run": {"runId": str(uuid.uuid4())}})]

    async def main():
        await pipeline.start()
        projector._lock.acquire()  # the engine "busy": the graph stage's thread waits at the projector
        try:
            posted = [asyncio.create_task(pipeline.submit(one(0)))]
            await asyncio.sleep(0.3)  # in the graph stage
            posted.append(asyncio.create_task(pipeline.submit(one(1))))
            await asyncio.sleep(0.3)  # logged, waiting for the graph stage
            for arriving in ((2, 3), (4, 5)):  # two bursts, while the engine is still busy
                posted += [asyncio.create_task(pipeline.submit(one(n))) for n in arriving]
                await asyncio.sleep(0.3)
            assert log.last_seq() == 2 and not any(task.done() for task in posted)
        finally:
            projector._lock.release()
        accepted = await asyncio.wait_for(asyncio.gather(*posted), 10)
        await pipeline.stop()
        return accepted

    accepted = asyncio.run(main())
    assert sorted(a.seq for group in accepted for a in group) == list(range(1, 7))
    assert projected == [1, 1, 4] and projector.applied == 6 == falkor_store.checkpoint()
    log.close()


def test_acknowledged_once_logged_the_graph_follows_in_merged_groups_and_bounded_behind(falkor_store, tmp_path):
    """acknowledge="log": a 201 does not wait for the graph; groups logged while the engine is busy go to it
    as one, and once max_unprojected events wait for the graph, the next group waits to be logged."""
    log = EventLog(tmp_path / "events.sqlite3")
    projector = Projector(log, falkor_store)
    projected: list[int] = []
    pipeline = IngestPipeline(log, projector, acknowledge="log", max_unprojected=8, interval=60,
                              on_commit=lambda events, accepted: projected.append(len(events)))

    def group(n: int) -> list:
        return [prepare_event({**event(f"g{n}_{i}"), "run": {"runId": str(uuid.uuid4())}}) for i in range(2)]

    async def main():
        await pipeline.start()
        projector._lock.acquire()  # the engine "busy": the graph stage's thread waits at the projector
        try:
            acknowledged = [await asyncio.wait_for(pipeline.submit(group(n)), 5) for n in range(4)]
            blocked = asyncio.create_task(pipeline.submit(group(4)))
            await asyncio.sleep(0.5)
            assert not blocked.done()  # 8 events wait for the graph: no room in the log stage
            assert falkor_store.checkpoint() == 0
        finally:
            projector._lock.release()
        acknowledged.append(await asyncio.wait_for(blocked, 10))
        await pipeline.stop()  # waits for the graph to take what was acknowledged
        return acknowledged

    acknowledged = asyncio.run(main())
    assert [a.seq for group_ in acknowledged for a in group_] == list(range(1, 11))
    assert projector.applied == 10 == falkor_store.checkpoint()
    # Five groups: the first in the engine, the second prepared meanwhile, the next two waiting went as one.
    assert sum(projected) == 10 and len(projected) <= 4
    assert falkor_store.query("MATCH (d:Dataset) RETURN count(d) AS n", read_only=True)[0]["n"] == 10
    log.close()


def test_an_unknown_acknowledge_mode_is_refused(tmp_path, falkor_store):
    log = EventLog(tmp_path / "events.sqlite3")
    with pytest.raises(ValueError, match="acknowledge must be one of graph, log"):
        IngestPipeline(log, Projector(log, falkor_store), acknowledge="never")
    log.close()


def test_an_event_the_mapping_fails_on_is_refused_as_invalid_not_an_internal_error(monkeypatch):
    """Valid by the spec but a shape the mapping does not handle (a bug, like schema field tags that were not a
    list once): an InvalidEvent naming the failure, so a post gets 422 and the rest of its batch goes on."""
    def failing_map(event, digest):
        raise TypeError("'bool' object is not iterable")

    monkeypatch.setattr("catalog.ingest.map_event", failing_map)
    with pytest.raises(InvalidEvent) as refused:
        prepare_event(event("a"))
    assert [e.as_dict() for e in refused.value.errors] == [
        {"field": "", "message": "event cannot be mapped to the graph: TypeError: 'bool' object is not iterable"}]


def test_a_graph_checkpoint_past_this_log_is_refused_and_a_rebuild_takes_the_graph_back(falkor_store, tmp_path):
    theirs, mine = EventLog(tmp_path / "theirs.sqlite3"), EventLog(tmp_path / "mine.sqlite3")
    for log, names in ((theirs, ["t1", "t2", "t3"]), (mine, ["m1"])):
        bodies = [canonical_json(event(name)) for name in names]
        log.append([(event_hash(b), b, "RunEvent", 0) for b in bodies])
    assert Projector(theirs, falkor_store).catch_up() == 3
    projector = Projector(mine, falkor_store)
    with pytest.raises(GraphOfAnotherLog, match=r"checkpoint \(3\) is past the last event of this event log \(1\)"):
        projector.catch_up()
    assert projector.mismatch and "catalog rebuild" in projector.mismatch
    with pytest.raises(GraphOfAnotherLog):
        projector.reconcile()
    assert projector.rebuild() == 1
    assert projector.reconcile() == 0 and projector.mismatch is None and falkor_store.checkpoint() == 1
    names = {r["n"] for r in falkor_store.query("MATCH (d:Dataset) RETURN d.name AS n", read_only=True)}
    assert names == {"m1"}
    theirs.close()
    mine.close()


def test_a_graph_another_catalog_claimed_is_refused_even_where_this_log_is_longer(falkor_store, tmp_path):
    """Another catalog's checkpoint within this log's length would pass a check of seqs alone: this log's first
    events would count as projected and never be written. The graph's catalog id tells them apart."""
    theirs, mine = EventLog(tmp_path / "theirs.sqlite3"), EventLog(tmp_path / "mine.sqlite3")
    assert theirs.catalog_id != mine.catalog_id
    for log, names in ((theirs, ["t1"]), (mine, ["m1", "m2", "m3"])):
        bodies = [canonical_json(event(name)) for name in names]
        log.append([(event_hash(b), b, "RunEvent", 0) for b in bodies])
    assert Projector(theirs, falkor_store).catch_up() == 1
    assert falkor_store.checkpoint_and_catalog() == (1, theirs.catalog_id)
    projector = Projector(mine, falkor_store)
    with pytest.raises(GraphOfAnotherLog, match=f"written from the event log of catalog {theirs.catalog_id}, and "
                                                f"this catalog is {mine.catalog_id}"):
        projector.catch_up()
    assert "catalog rebuild" in projector.mismatch
    assert projector.rebuild() == 3
    assert falkor_store.checkpoint_and_catalog() == (3, mine.catalog_id)
    names = {r["n"] for r in falkor_store.query("MATCH (d:Dataset) RETURN d.name AS n", read_only=True)}
    assert names == {"m1", "m2", "m3"}
    theirs.close()
    mine.close()


def test_a_graph_written_before_graphs_were_claimed_is_claimed_by_its_catalog(falkor_store, tmp_path):
    log = EventLog(tmp_path / "events.sqlite3")
    bodies = [canonical_json(event(name)) for name in ("a", "b")]
    log.append([(event_hash(b), b, "RunEvent", 0) for b in bodies])
    assert Projector(log, falkor_store).catch_up() == 2
    falkor_store.query("MATCH (m:CatalogMeta {key: 'checkpoint'}) SET m.catalog = NULL")  # as an older version left it
    assert falkor_store.checkpoint_and_catalog() == (2, None)
    assert Projector(log, falkor_store).reconcile() == 0  # from the graph's checkpoint, as a restarted server
    assert falkor_store.checkpoint_and_catalog() == (2, log.catalog_id)
    log.close()
