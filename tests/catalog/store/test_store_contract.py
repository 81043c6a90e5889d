"""The store contract, run on every backend."""

import asyncio
import random
import threading
import uuid

import pytest

from catalog import browse
from catalog.store import reads
from ingestors.openlineage import GraphWrites, canonical_json, event_hash, map_event
from tests.graphs import latest_by_sorting


def writes_for(events) -> GraphWrites:
    writes = GraphWrites()
    for event in events:
        map_event(event, event_hash(canonical_json(event)), writes)
    return writes


def expand(store, keys: list[str], traversal: str, as_of=None) -> list[tuple[str, str]]:
    """store.expand on keys: ids in, keys out."""
    label = "Field" if traversal.startswith("FIELD_") else "Dataset"
    pairs = store.read(store.expansion(list(store.node_ids(label, keys).values()), traversal, as_of=as_of))[0]
    key = {i: node["key"] for i, node in store.describe([i for pair in pairs for i in pair]).items()}
    return [(key[a], key[b]) for a, b in pairs]


def run_event(run, state, time, inputs=(), outputs=(), job="etl", facets=None, job_facets=None):
    return {
        "eventType": state,
        "eventTime": time,
        "producer": "https://example.com/test",
        "run": {"runId": run, "facets": facets or {}},
        "job": {"namespace": "ns", "name": job, "facets": job_facets or {}},
        "inputs": [{"namespace": "ns", "name": n} for n in inputs],
        "outputs": [{"namespace": "ns", "name": n} for n in outputs],
    }


def test_corpus_in_any_order_with_duplicates_gives_the_same_graph(store, valid_events):
    events = [event for _, event in valid_events]
    store.apply(writes_for(events))
    in_order = store.dump()
    assert len(in_order["nodes"]) > 300 and len(in_order["edges"]) > 300
    for seed in (1, 2, 3):
        store.clear()
        rng = random.Random(seed)
        shuffled = events + rng.sample(events, len(events) // 2)  # half of them twice
        rng.shuffle(shuffled)
        # Arbitrary batch boundaries: each batch is one compacted write.
        cuts = sorted(rng.sample(range(1, len(shuffled)), 7))
        for start, end in zip([0] + cuts, cuts + [len(shuffled)]):
            store.apply(writes_for(shuffled[start:end]))
        assert store.dump() == in_order, f"seed {seed}"


def test_projection_commits_write_what_plain_writes_write(store, valid_events):
    """The corpus committed in groups of every size (Neo4j: one query per commit, every kind's statement in it and
    its lists padded) gives the graph that writing it gives, and moves the checkpoint to the last group's."""
    events = [event for _, event in valid_events]
    store.apply(writes_for(events))
    written = store.dump()
    store.clear()
    rng = random.Random(5)
    cuts = sorted({1, 2, 3, 15, *rng.sample(range(4, len(events)), 6)})  # groups of 1 event up to hundreds
    seq = 0
    for start, end in zip([0] + cuts, cuts + [len(events)]):
        assert store.commit(writes_for(events[start:end]), seq, end)
        seq = end
    assert store.checkpoint() == len(events)
    assert store.dump() == written


def test_applying_twice_changes_nothing(store, valid_events):
    writes = writes_for(e for _, e in valid_events)
    store.apply(writes)
    first = store.dump()
    store.apply(writes)
    assert store.dump() == first


def test_run_state_terminal_wins_and_earliest_start_is_the_start(store):
    run = "11111111-1111-1111-1111-111111111111"
    events = [
        run_event(run, "COMPLETE", "2024-01-01T00:10:00Z"),
        run_event(run, "RUNNING", "2024-01-01T00:20:00Z"),  # late heartbeat must not reopen the run
        run_event(run, "START", "2024-01-01T00:00:05Z"),
        run_event(run, "START", "2024-01-01T00:00:00Z"),
    ]
    for order in (events, events[::-1]):
        store.clear()
        for event in order:
            store.apply(writes_for([event]))
        props = reads.nodes(store, "Run", [f"run:{run}"])[f"run:{run}"]
        assert props["state"] == "COMPLETE"
        assert props["startTime"] == 1704067200000
        assert props["endTime"] == 1704067800000


def test_a_jobs_latest_run_is_kept_whatever_the_order_and_grouping_of_its_events(store):
    """Runs whose order moves both ways (a START after an earlier OTHER moves a run later; a second, earlier
    START moves it back), ties, and runs known only as a parent (no time: last)."""
    def at(minute: int) -> str:
        return f"2024-01-01T{minute // 60:02d}:{minute % 60:02d}:00Z"

    def parent(run: str) -> dict:
        return {"parent": {"_producer": "p", "_schemaURL": "s", "run": {"runId": run},
                           "job": {"namespace": "ns", "name": "orchestrator"}}}

    rng = random.Random(11)
    orchestrated = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(2)]
    events = [run_event(orchestrated[1], "START", at(3), job="orchestrator")]  # the other parent has no event
    for n in range(8):
        run, first = str(uuid.UUID(int=rng.getrandbits(128))), rng.choice([10, 20, 20, 30, 40])
        events += [run_event(run, "OTHER", at(first)), run_event(run, "START", at(first + rng.randrange(0, 30))),
                   run_event(run, "COMPLETE", at(first + 40), facets=parent(orchestrated[n % 2]))]
        if rng.random() < 0.5:
            events.append(run_event(run, "START", at(first - rng.randrange(0, 15))))
    jobs = ["job:ns:etl", "job:ns:orchestrator"]
    for seed in range(4):
        store.clear()
        shuffled = random.Random(seed).sample(events, len(events))
        cuts = sorted(random.Random(seed).sample(range(1, len(shuffled)), 6))
        for start, end in zip([0] + cuts, cuts + [len(shuffled)]):
            store.apply(writes_for(shuffled[start:end]))
            expected = {job: latest_by_sorting(store, job) for job in jobs}
            latest = reads.latest_runs(store, jobs)
            assert {job: latest[job]["key"] if job in latest else None for job in jobs} == expected, f"seed {seed}"
            assert {job: (browse.runs_of_job(store, job, 1) or [{"key": None}])[0]["key"] for job in jobs} == expected
    assert reads.latest_runs(store, ["job:ns:orchestrator"])["job:ns:orchestrator"]["runId"] == orchestrated[1]

    # Two runs that start together, in one write after the job has a latest run: the lower key is the latest.
    store.clear()
    store.apply(writes_for([run_event(str(uuid.UUID(int=1)), "START", at(0))]))
    tied = [str(uuid.UUID(int=3)), str(uuid.UUID(int=2))]
    store.apply(writes_for([run_event(run, "START", at(50)) for run in tied]))
    assert reads.latest_runs(store, ["job:ns:etl"])["job:ns:etl"]["runId"] == min(tied)


def test_jobs_and_datasets_written_before_they_kept_their_latest_run_and_version_are_pointed_once(store,
                                                                                                 valid_events):
    store.apply(writes_for(e for _, e in valid_events))
    pointed = store.dump()
    store.query("MATCH (j:Job) REMOVE j.latestRun, j.latestRunAt")
    store.query("MATCH (d:Dataset) REMOVE d.latestVersion, d.latestVersionAt")
    store.query("MATCH (m:CatalogMeta {key: 'latest'}) DELETE m")
    assert store.dump() != pointed
    assert store.backfill_latest() > 0
    assert store.dump() == pointed
    assert store.backfill_latest() == 0


def test_a_datasets_latest_version_is_the_last_seen_whatever_the_order_of_its_writes(store):
    events = [run_event(str(uuid.UUID(int=n + 1)), "COMPLETE", f"2024-01-01T00:{minute:02d}:00Z", outputs=["out"])
              for n, minute in enumerate([5, 30, 30, 10, 45, 45, 20])]
    for seed in range(3):
        store.clear()
        shuffled = random.Random(seed).sample(events, len(events))
        for start in range(0, len(shuffled), 2):
            store.apply(writes_for(shuffled[start:start + 2]))
            rows = store.rows("MATCH (v:DatasetVersion {dataset: 'dataset:ns:out'}) RETURN v.key, v.lastSeen")
            expected = max(rows, key=lambda row: (row[1], row[0]))[0]
            assert reads.latest_version(store, "dataset:ns:out")["key"] == expected, f"seed {seed}"
            assert reads.versions_of(store, "dataset:ns:out", 1)[0]["key"] == expected

    # Versions last seen together, in one write after the dataset has a latest version: the higher key.
    store.clear()
    store.apply(writes_for([run_event(str(uuid.UUID(int=9)), "COMPLETE", "2024-01-01T00:00:00Z", outputs=["out"])]))
    tied = [str(uuid.UUID(int=2)), str(uuid.UUID(int=3))]
    store.apply(writes_for([run_event(run, "COMPLETE", "2024-01-01T01:00:00Z", outputs=["out"]) for run in tied]))
    assert reads.latest_version(store, "dataset:ns:out")["run"] == f"run:{max(tied)}"


def test_streaming_runs_draw_lineage_from_start_and_running(store):
    store.apply(writes_for([run_event("22222222-2222-2222-2222-222222222222", "START",
                                      "2024-01-01T00:00:00Z", inputs=["kafka.in"], outputs=["lake.out"])]))
    assert expand(store, ["dataset:ns:kafka.in"], "DOWNSTREAM") == [("dataset:ns:kafka.in", "dataset:ns:lake.out")]
    assert expand(store, ["dataset:ns:lake.out"], "UPSTREAM") == [("dataset:ns:lake.out", "dataset:ns:kafka.in")]


def test_facets_merge_per_facet_latest_wins(store):
    doc = lambda text: {"documentation": {"_producer": "p", "_schemaURL": "s", "description": text}}  # noqa: E731
    sql = {"sql": {"_producer": "p", "_schemaURL": "s", "query": "SELECT 1"}}
    older = run_event("33333333-3333-3333-3333-333333333333", "START", "2024-01-01T00:00:00Z",
                      job_facets={**doc("old"), **sql})
    newer = run_event("33333333-3333-3333-3333-333333333333", "COMPLETE", "2024-01-02T00:00:00Z",
                      job_facets=doc("new"))
    for order in ([older, newer], [newer, older]):
        store.clear()
        for event in order:
            store.apply(writes_for([event]))
        job = reads.nodes(store, "Job", ["job:ns:etl"])["job:ns:etl"]
        assert job["description"] == "new"
        assert job["sql"] == "SELECT 1"  # from the older event: other facets are kept
        assert reads.facets_of(store, "Job", "job:ns:etl")["documentation"]["description"] == "new"


def test_expand_as_of_uses_first_seen(store):
    store.apply(writes_for([
        run_event("44444444-4444-4444-4444-444444444444", "COMPLETE", "2024-01-01T00:00:00Z", ["a"], ["b"]),
        run_event("55555555-5555-5555-5555-555555555555", "COMPLETE", "2024-06-01T00:00:00Z", ["a"], ["c"], job="j2"),
    ]))
    assert sorted(dst for _, dst in expand(store, ["dataset:ns:a"], "DOWNSTREAM")) == ["dataset:ns:b", "dataset:ns:c"]
    march = 1709251200000
    assert [dst for _, dst in expand(store, ["dataset:ns:a"], "DOWNSTREAM", as_of=march)] == ["dataset:ns:b"]


def test_jobs_carrying_edges_and_their_inputs_and_outputs(store):
    store.apply(writes_for([
        run_event("44444444-4444-4444-4444-444444444441", "COMPLETE", "2024-01-01T00:00:00Z", ["a"], ["b"]),
        # The same job later reads c and writes d: it carries a->b and c->d, not a->d.
        run_event("44444444-4444-4444-4444-444444444442", "COMPLETE", "2024-06-01T00:00:00Z", ["c"], ["d"]),
        run_event("44444444-4444-4444-4444-444444444443", "COMPLETE", "2024-01-01T00:00:00Z", ["a"], ["d"], job="j2"),
    ]))
    ids = store.node_ids("Dataset", ["dataset:ns:a", "dataset:ns:b", "dataset:ns:c", "dataset:ns:d", "dataset:ns:zz"])
    jobs = store.node_ids("Job", ["job:ns:etl", "job:ns:j2"])
    assert set(ids) == {"dataset:ns:a", "dataset:ns:b", "dataset:ns:c", "dataset:ns:d"}  # zz is not in the graph
    a, b, c, d = (ids[f"dataset:ns:{n}"] for n in "abcd")
    described = store.describe([a, jobs["job:ns:etl"]])
    assert described[a] == {"key": "dataset:ns:a", "namespace": "ns", "name": "a", "dataset": None}
    assert described[jobs["job:ns:etl"]]["name"] == "etl"
    carried = [row[:3] for row in store.read(store.carriage([(a, b), (c, d), (a, d)]))[0]]
    assert {key: (namespace, name) for *_, key, namespace, name in store.read(store.carriage([(a, d)]))[0]} == {
        "job:ns:etl": ("ns", "etl"), "job:ns:j2": ("ns", "j2")}
    assert sorted(carried, key=str) == sorted([(a, b, jobs["job:ns:etl"]), (c, d, jobs["job:ns:etl"]),
                                               (a, d, jobs["job:ns:j2"]), (a, d, jobs["job:ns:etl"])], key=str)
    march = 1709251200000
    assert store.read(store.carriage([(c, d)], as_of=march)) == [[]]  # etl first read c in June
    # Several reads in one call (one round trip on FalkorDB) give what each gives alone.
    assert store.read(store.expansion([a], "DOWNSTREAM"), store.description([b])) == [
        store.read(store.expansion([a], "DOWNSTREAM"))[0], store.describe([b])]
    etl = jobs["job:ns:etl"]

    def job_io(as_of=None):
        consumes, produces = store.read(store.job_edges([etl], "CONSUMES", as_of),
                                        store.job_edges([etl], "PRODUCES", as_of))
        return sorted([(j, "CONSUMES", d) for j, d, _ in consumes] + [(j, "PRODUCES", d) for j, d, _ in produces],
                      key=str)
    assert job_io() == sorted([(etl, "CONSUMES", a), (etl, "CONSUMES", c), (etl, "PRODUCES", b), (etl, "PRODUCES", d)],
                              key=str)
    assert job_io(as_of=march) == sorted([(etl, "CONSUMES", a), (etl, "PRODUCES", b)], key=str)


def test_checkpoint_is_compare_and_set(store):
    assert store.checkpoint() == 0
    assert store.advance_checkpoint(0, 42)
    assert store.checkpoint() == 42
    assert not store.advance_checkpoint(40, 50)  # someone else's view of the graph: refused
    assert store.checkpoint() == 42


def test_a_graph_is_claimed_by_one_catalog_and_cleared_with_its_content(store):
    assert store.checkpoint_and_catalog() == (0, None)
    assert store.claim("first") == "first"
    assert store.claim("second") == "first"  # claimed already: the holder is answered, nothing changes
    assert store.advance_checkpoint(0, 7)
    assert store.checkpoint_and_catalog() == (7, "first")
    store.clear()
    assert store.checkpoint_and_catalog() == (0, None)
    assert store.claim("second") == "second"


def test_of_two_catalogs_claiming_one_graph_at_once_one_gets_it(store):
    for attempt in range(8):
        store.clear()
        assert store.advance_checkpoint(0, 1)  # a checkpoint no catalog claimed, as an older version left it
        start = threading.Barrier(2)
        answers: dict[str, str] = {}

        def claim(catalog_id: str, start: threading.Barrier, answers: dict[str, str]) -> None:
            start.wait()
            answers[catalog_id] = store.claim(catalog_id)
        claimants = [threading.Thread(target=claim, args=(f"{side}{attempt}", start, answers)) for side in "ab"]
        for thread in claimants:
            thread.start()
        for thread in claimants:
            thread.join()
        holder = store.checkpoint_and_catalog()[1]
        assert set(answers.values()) == {holder} and holder in answers


def test_cypher_injection_through_names_is_stored_literally(store):
    hostile = "x'}) MATCH (n) DETACH DELETE n //"
    store.apply(writes_for([run_event("66666666-6666-6666-6666-666666666666", "COMPLETE",
                                      "2024-01-01T00:00:00Z", ["safe"], [hostile], job="j`) DELETE n")]))
    key = f"dataset:ns:{hostile}"
    assert reads.nodes(store, "Dataset", [key])[key]["name"] == hostile
    assert reads.nodes(store, "Dataset", ["dataset:ns:safe"])
    assert reads.nodes(store, "Job", ["job:ns:j`) DELETE n"])


def test_parameter_values_come_back_as_sent(store):
    # FalkorDB's parameters travel as Cypher literals the backend writes itself (catalog.store.falkor_backend).
    values = {"quotes": 'say "hi" \\ back\\', "escapes": "tab\there\nline\r", "unicode": "café Ærø 東京 😀",
              "backslash_u": "\\u00e9 stays", "empty": "", "int": -(2 ** 62), "float": 2.5, "yes": True,
              "none": None, "list": ["a", 1, None], "map": {"facet:odd key/é": "v", "v:x": 3}}
    [row] = store.query("UNWIND [$values] AS v RETURN v AS v", {"values": values}, read_only=True)
    assert row["v"] == values


def test_column_lineage_from_the_corpus(store, valid_events):
    store.apply(writes_for(e for _, e in valid_events))
    rows = store.query(
        "MATCH (d:Field)-[e:DERIVES_FROM]->(s:Field) RETURN d.key AS dst, s.key AS src, e.type AS type",
        read_only=True,
    )
    pairs = {(r["dst"], r["src"]): r["type"] for r in rows}
    # Airflow's 1-0-x facet: one transformationType per output field.
    dst, src = "datasetField:bigquery:mock-project.test.upload:a", "datasetField:gs://mock-bucket:copied.csv:a"
    assert pairs[(dst, src)] == "IDENTITY"
    assert (dst, src) in expand(store, [dst], "FIELD_UPSTREAM")
    assert (src, dst) in expand(store, [src], "FIELD_DOWNSTREAM")


def test_column_lineage_transformation_subtypes_and_masking(store):
    event = run_event("77777777-7777-7777-7777-777777777777", "COMPLETE", "2024-01-01T00:00:00Z",
                      ["users"], ["users_clean"])
    transformation = lambda t, sub, masking: [{"type": t, "subtype": sub, "masking": masking}]  # noqa: E731
    event["outputs"][0]["facets"] = {"columnLineage": {"_producer": "p", "_schemaURL": "s", "fields": {
        "email_hash": {"inputFields": [{"namespace": "ns", "name": "users", "field": "email",
                                        "transformations": transformation("DIRECT", "TRANSFORMATION", True)}]},
        "email": {"inputFields": [{"namespace": "ns", "name": "users", "field": "email",
                                   "transformations": transformation("DIRECT", "IDENTITY", False)}]},
    }}}
    store.apply(writes_for([event]))
    rows = store.query("MATCH (d:Field)-[e:DERIVES_FROM]->(s:Field) RETURN d.name AS field, e.type AS type, "
                       "e.subtype AS subtype, e.masking AS masking ORDER BY field", read_only=True)
    assert rows == [
        {"field": "email", "type": "DIRECT", "subtype": "IDENTITY", "masking": False},
        {"field": "email_hash", "type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True},
    ]


def test_a_field_has_the_newest_schema_whether_a_schema_or_column_lineage_named_it_first(store):
    def schema(time, name, fields):
        event = run_event(str(uuid.uuid4()), "COMPLETE", time, outputs=[name])
        event["outputs"][0]["facets"] = {"schema": {"_producer": "p", "_schemaURL": "s", "fields": [
            {"name": field, "type": kind, "description": f"{field} as {kind}"} for field, kind in fields]}}
        return event

    def lineage(time, name, field):
        event = run_event(str(uuid.uuid4()), "COMPLETE", time, inputs=["source"], outputs=[name])
        event["outputs"][0]["facets"] = {"columnLineage": {"_producer": "p", "_schemaURL": "s", "fields": {
            field: {"inputFields": [{"namespace": "ns", "name": "source", "field": "c"}]}}}}
        return event

    def described() -> dict:
        rows = store.query("MATCH (d:Dataset)-[:HAS_FIELD]->(f:Field) WHERE d.name <> 'source' "
                           "RETURN d.name AS dataset, f.name AS field, f.type AS type, f.description AS description",
                           read_only=True)
        return {f"{row['dataset']}.{row['field']}": (row["type"], row["description"]) for row in rows}

    # One event per write, so that each field is created by one and changed by the next.
    for event in (lineage("2024-01-01T00:00:02Z", "named_by_lineage", "a"),
                  schema("2024-01-01T00:00:03Z", "named_by_lineage", [("a", "INTEGER")]),
                  schema("2024-01-01T00:00:01Z", "named_by_lineage", [("a", "STRING")]),  # older: loses
                  schema("2024-01-01T00:00:05Z", "named_by_schema", [("x", "DATE")]),
                  lineage("2024-01-01T00:00:06Z", "named_by_schema", "x"),
                  lineage("2024-01-01T00:00:07Z", "lineage_only", "y")):
        store.apply(writes_for([event]))
    assert described() == {"named_by_lineage.a": ("INTEGER", "a as INTEGER"),
                           "named_by_schema.x": ("DATE", "x as DATE"), "lineage_only.y": (None, None)}
    assert store.query("MATCH (f:Field {key: 'datasetField:ns:lineage_only:y'}) RETURN f.v AS v",
                       read_only=True) == [{"v": None}]


def test_a_failing_statement_in_a_write_batch_raises(store):
    import pytest

    with pytest.raises(Exception):
        store.execute_writes([("MERGE (:Probe {key: 'p'})", {}), ("THIS IS NOT CYPHER", {})])


def test_a_failing_write_batch_is_all_or_nothing_on_engines_with_transactions(store):
    import pytest

    with pytest.raises(Exception):
        store.execute_writes([("MERGE (:Probe {key: 'p'})", {}), ("THIS IS NOT CYPHER", {})])
    probes = store.query("MATCH (n:Probe) RETURN count(n) AS n", read_only=True)[0]["n"]
    # FalkorDB pipelines statements without a transaction; Neo4j rolls the batch back.
    assert probes == (0 if store.name == "neo4j" else 1)


def test_a_commit_whose_checkpoint_moved_writes_nothing_on_neo4j(store):
    writes = writes_for([run_event(str(uuid.uuid4()), "COMPLETE", "2024-01-01T00:00:00Z", ["a"], ["b"])])
    assert store.commit(writes, 0, 5)
    assert not store.commit(writes_for([run_event(str(uuid.uuid4()), "COMPLETE", "2024-01-01T00:00:00Z",
                                                  ["c"], ["d"])]), 0, 9)  # the graph holds 5, not 0
    assert store.checkpoint() == 5
    found = set(reads.nodes(store, "Dataset", ["dataset:ns:a", "dataset:ns:c"]))
    assert found == ({"dataset:ns:a"} if store.name == "neo4j" else {"dataset:ns:a", "dataset:ns:c"})


def test_concurrent_writers_of_the_same_keys_all_succeed(store):
    """Concurrent MERGEs of one node or edge deadlock now and then on Neo4j; the store retries them."""
    errors: list[Exception] = []

    def write(worker: int) -> None:
        for i in range(15):
            event = run_event(str(uuid.uuid4()), "COMPLETE", "2024-01-01T00:00:00Z",
                              ["shared_a", "shared_b"], ["shared_c", f"out_{worker}_{i}"], job=f"job_{i % 3}")
            try:
                store.apply(writes_for([event]))
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"{store.name}: {getattr(store, 'retries', 0)} transactions retried")
    assert errors == []
    counts = store.query("MATCH (d:Dataset) WITH count(d) AS datasets MATCH (j:Job) "
                         "RETURN datasets, count(j) AS jobs", read_only=True)[0]
    assert counts == {"datasets": 3 + 6 * 15, "jobs": 3}
    assert store.query("MATCH (:Dataset {name: 'shared_a'})-[e:FEEDS]->(:Dataset {name: 'shared_c'}) "
                       "RETURN count(e) AS n", read_only=True)[0]["n"] == 1


def test_reads_awaited_on_the_event_loop_give_what_reads_on_a_thread_give(store):
    store.apply(writes_for([run_event(str(uuid.uuid4()), "COMPLETE", "2024-01-01T00:00:00Z", [f"in{i}", "shared"],
                                      [f"out{i}"]) for i in range(12)]))
    keys = [f"dataset:ns:{name}" for name in ("shared", "in3", "out7", "nope")]
    ids = store.node_ids("Dataset", keys)
    reads = [store.lookup("Dataset", keys), store.expansion(list(ids.values()), "DOWNSTREAM"),
             store.description(list(ids.values())), store.job_edges([], "CONSUMES")]
    bad = store.lookup("Dataset", keys)._replace(cypher="MATCH (n) RETURN n.key +")
    with pytest.raises(Exception) as on_thread:
        store.read(bad)

    async def awaited():
        try:
            one = await store.aread(*reads)
            many = await asyncio.gather(*(store.aread(reads[i % 3]) for i in range(24)))
            with pytest.raises(Exception) as failed:
                await store.aread(reads[0], bad)
            return one, many, failed.value, await store.aread(reads[0])
        finally:
            await store.aclose()
    one, many, failed, after = asyncio.run(awaited())
    expected = store.read(*reads)
    assert one == expected and len(expected[1]) >= 12
    assert many == [[expected[i % 3]] for i in range(24)]
    assert type(failed) is type(on_thread.value) and after == [expected[0]]  # the failure left nothing behind
