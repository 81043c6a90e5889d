"""Retention on the real engines: old runs and versions leave the graph, lineage stays, and a rebuild from
the event log's snapshot plus the events left gives the same graph."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from catalog.eventlog import EventLog
from catalog.ingest import Projector
from catalog.retention import Retention
from catalog.store import reads
from ingestors.openlineage import canonical_json, event_hash
from ingestors.validate import parse_event_time
from tests.conftest import ServerProcess
from tests.graphs import latest_by_sorting

NS = "retail"
PRODUCER = "https://github.com/lineage-catalog/tests/retention"
NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=400)  # past a 30-day horizon
RECENT = NOW - timedelta(days=2)
RUN_LABELS = {"Run", "DatasetVersion", "RunInput"}  # what retention may remove (with their edges)


def facet(**fields) -> dict:
    return {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/Facet.json", **fields}


def run_events(job: int, run: int, at: datetime, parent: str | None = None) -> list[dict]:
    """START and COMPLETE of one run of job ``job``: reads raw_<job>, writes out_<job> with schema, column
    lineage, a version, input and output facets; optionally a child of run ``parent``."""
    run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"run/{job}/{run}/{at.isoformat()}"))
    run_facets = {"nominalTime": facet(nominalStartTime=at.isoformat())}
    if parent:
        run_facets["parent"] = facet(run={"runId": parent}, job={"namespace": NS, "name": "orchestrator"})
    fields = [{"name": "id", "type": "BIGINT"}, {"name": "email", "type": "VARCHAR"}, {"name": f"v{run % 3}",
                                                                                      "type": "INT"}]
    output = {"namespace": NS, "name": f"out_{job}", "facets": {
        "schema": facet(fields=fields),
        "version": facet(datasetVersion=f"v-{job}-{run}"),
        "columnLineage": facet(fields={f["name"]: {"inputFields": [
            {"namespace": NS, "name": f"raw_{job}", "field": f["name"]}]} for f in fields})},
        "outputFacets": {"outputStatistics": facet(rowCount=100 + run, size=4096)}}
    source = {"namespace": NS, "name": f"raw_{job}",
              "inputFacets": {"dataQualityMetrics": facet(rowCount=run, columnMetrics={})}}
    base = {"producer": PRODUCER, "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run_id, "facets": run_facets}, "job": {"namespace": NS, "name": f"job_{job}"}}
    return [{**base, "eventType": "START", "eventTime": at.isoformat(), "inputs": [source], "outputs": [output]},
            {**base, "eventType": "COMPLETE", "eventTime": (at + timedelta(minutes=5)).isoformat(),
             "inputs": [source], "outputs": [output]}]


def history(valid_events) -> tuple[list[dict], set[int]]:
    """Events of six jobs over time, and the real producers' events; the jobs whose runs are all old."""
    events = [event for _, event in valid_events]  # from 2019-2024: all past the horizon
    parent = str(uuid.uuid4())
    all_old = {0, 1}
    for job in range(6):
        for run in range(6):
            at = OLD + timedelta(days=run) if job in all_old or run < 4 else RECENT + timedelta(hours=run)
            events += run_events(job, run, at, parent=parent if job == 2 else None)
    # Job 6's latest run (by start) is not its last seen: a run that started before it ended after it.
    events += run_events(6, 0, OLD + timedelta(days=10))
    started_first = run_events(6, 1, OLD + timedelta(days=5))
    started_first[1]["eventTime"] = (OLD + timedelta(days=20)).isoformat()
    return events + started_first, all_old | {6}


def ingest(log: EventLog, projector: Projector, events: list[dict]) -> None:
    bodies = [canonical_json(e) for e in events]
    log.append([(event_hash(b), b, "RunEvent", _event_time(e)) for b, e in zip(bodies, events)])
    projector.catch_up()


def _event_time(event: dict) -> int:
    return parse_event_time(event["eventTime"])


def lineage_of(dump: dict) -> dict:
    """The dump without what retention may remove: runs, versions, run inputs and the edges touching them, and
    the latest run each job points at."""
    def kept(node: str) -> bool:
        labels, _ = json.loads(node)
        return not RUN_LABELS & set(labels)

    def without_latest_run(node: str) -> list:
        labels, props = json.loads(node)
        return [labels, {k: v for k, v in props.items() if k not in ("latestRun", "latestRunAt")}]

    run_keys = tuple(f"{prefix}:" for prefix in ("run", "datasetVersion"))
    return {"nodes": [without_latest_run(n) for n in dump["nodes"] if kept(n)],
            "edges": [e for e in dump["edges"] if not any(str(end).startswith(run_keys) or ">" in str(end)
                                                          for end in json.loads(e)[1:3])]}


def test_old_runs_and_versions_go_lineage_stays_and_a_rebuild_gives_the_same_graph(store, tmp_path, valid_events):
    log = EventLog(tmp_path / "events.sqlite3")
    projector = Projector(log, store, retention=Retention(days=30))
    events, all_old = history(valid_events)
    ingest(log, projector, events)
    before = store.dump()
    runs_before = store.rows("MATCH (r:Run) RETURN count(r)")[0][0]

    pruned = projector.retain()

    after = store.dump()
    assert lineage_of(after) == lineage_of(before)  # datasets, fields, jobs, lineage edges, owners, tags
    jobs = {key: (job, last) for key, job, last in store.rows("MATCH (r:Run) RETURN r.key, r.job, r.lastSeen")}
    horizon = int((NOW - timedelta(days=30)).timestamp() * 1000)
    latest = {}
    for job, last in jobs.values():
        latest[job] = max(latest.get(job, 0), last or 0)
    for key, (job, last) in jobs.items():
        # What is left is recent, or a job's latest run, or a parent run a recent child still names.
        assert last is None or last >= horizon or last == latest[job], key
    for job in all_old:  # jobs that never ran within the horizon keep their latest run, and only that
        assert store.rows("MATCH (r:Run {job: $j}) RETURN count(r)", {"j": f"job:{NS}:job_{job}"})[0][0] == 1
    assert store.rows("MATCH (r:Run {job: $j}) RETURN count(r)", {"j": f"job:{NS}:job_3"})[0][0] == 2
    versions = store.rows("MATCH (:Dataset {key: $d})-[:HAS_VERSION]->(v) RETURN v.version ORDER BY v.version",
                          {"d": f"dataset:{NS}:out_0"})
    assert versions == [("v-0-5",)]  # the current version stays
    assert pruned.runs == runs_before - len(jobs) > 0 and pruned.versions > 0
    # A job whose latest run was pruned points at the latest one left.
    job_keys = [key for (key,) in store.rows("MATCH (j:Job) RETURN j.key")]
    latest = reads.latest_runs(store, job_keys)
    assert {k: latest[k]["key"] if k in latest else None for k in job_keys} == \
        {k: latest_by_sorting(store, k) for k in job_keys}
    assert latest[f"job:{NS}:job_6"]["startTime"] == int((OLD + timedelta(days=5)).timestamp() * 1000)
    for dataset, newest in store.rows("MATCH (v:DatasetVersion) WITH v.dataset AS d, max(v.lastSeen) AS newest "
                                      "RETURN d, newest"):  # retention keeps each dataset's latest version
        assert reads.latest_version(store, dataset)["lastSeen"] == newest

    # Raw events that old were folded into the snapshot; only the recent ones are left as events.
    distinct = {event_hash(canonical_json(e)): _event_time(e) for e in events}  # the log keeps duplicates once
    recent = sum(1 for at in distinct.values() if at >= horizon)
    old = len(distinct) - recent
    assert (log.count(), pruned.events, log.snapshot().events) == (recent, old, old)
    assert log.snapshot_size() < len(after["nodes"]) + len(after["edges"])  # one row per node, edge or facet

    projector.rebuild()
    assert store.dump() == after
    log.close()


def test_the_snapshot_grows_by_merging_and_a_fresh_graph_loads_it(logs, falkor_store, valid_events):
    """Events folded in two passes, over the same datasets and jobs, merge into the rows already there; on
    either log backend."""
    store, log = falkor_store, logs.events
    projector = Projector(log, store, retention=Retention(days=30))
    events, _ = history(valid_events)
    ingest(log, projector, events[: len(events) // 2])
    first = projector.retain()
    ingest(log, projector, events[len(events) // 2:])
    second = projector.retain()
    assert first.events > 0 and second.events > 0
    live = store.dump()

    # A graph that never saw the events (a new engine, a new replica's graph) catches up from the snapshot.
    store.clear()
    fresh = Projector(log, store, retention=Retention(days=30))
    fresh.catch_up()
    assert store.checkpoint() == log.last_seq()
    fresh.retain()
    assert store.dump() == live


def test_audit_runs_keep_the_newest_and_come_back_pruned_after_a_rebuild(falkor_store, tmp_path):
    from catalog.govlog import GovernanceLog
    from policies import audit_runs
    from policies.audit import AuditResult

    log, governance = EventLog(tmp_path / "events.sqlite3"), GovernanceLog(tmp_path / "governance.sqlite3")
    projector = Projector(log, falkor_store, governance=governance, retention=Retention(audit_days=90))
    day = 86_400_000
    now = int(time.time() * 1000)
    for n, age in enumerate((500, 400, 300, 200, 10)):
        result = AuditResult(started_at=now - age * day, finished_at=now - age * day + 1000, policies=[],
                             datasets=0, findings=[])
        audit_runs.record_run(falkor_store, governance, "officer", result, run_id=f"a{n}")
    pruned = projector.retain()
    left = [r["id"] for r in audit_runs.runs(falkor_store)]
    # 10 days old stays (within 90), 200 stays (the newest two stay whatever their age), the rest go.
    assert left == ["a4", "a3"] and pruned.audits == 3
    projector.rebuild()
    assert [r["id"] for r in audit_runs.runs(falkor_store)] == left
    governance.close()
    log.close()


def test_retention_settings_are_checked():
    with pytest.raises(ValueError, match="positive"):
        Retention(days=0)
    assert not Retention().enabled and Retention(audit_days=1).enabled


def test_a_server_applies_retention_by_itself_and_a_lost_graph_comes_back_from_the_snapshot(tmp_path, valid_events):
    data = tmp_path / "data"
    settings = {"CATALOG_RETENTION_DAYS": "30", "CATALOG_RETENTION_INTERVAL_SECONDS": "0.3"}
    events, _ = history(valid_events)
    old_run = run_events(3, 0, OLD)[0]["run"]["runId"]  # job 3's first run: old, and the job ran since
    lineage = "/api/v1/lineage?nodeId=dataset:retail:out_3&depth=3"
    graphql = {"query": '{ run(id: "%s") { id } job(namespace: "retail", name: "job_3") { latestRun { id } } }'
               % old_run}
    with ServerProcess(data, env=settings) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.post("/api/v1/lineage/batch", json=events).status_code == 200
        deadline = time.monotonic() + 30
        while not http.get("/health").json()["eventLog"]["snapshot"]["eventsFolded"] and time.monotonic() < deadline:
            time.sleep(0.2)
        health = http.get("/health").json()
        assert health["retention"]["days"] == 30 and health["retention"]["lastPass"]["runs"] > 0
        assert health["eventLog"]["events"] < len(events) and health["eventLog"]["lastSeq"] >= health["eventLog"][
            "snapshot"]["seq"] > 0
        metrics = http.get("/metrics").text
        assert 'catalog_retention_removed_total{kind="runs"}' in metrics
        answer = http.post("/graphql", json=graphql).json()["data"]
        assert answer["run"] is None and answer["job"]["latestRun"]["id"]  # the old run went, the latest stays
        before = http.get(lineage).json()
        assert {n["id"] for n in before["graph"]} == {"dataset:retail:raw_3", "job:retail:job_3", "dataset:retail:out_3"}

    # The graph is lost (a new engine, a disk replaced): it comes back from the snapshot and the events left.
    shutil.rmtree(data / "graph")
    with ServerProcess(data, env=settings) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get(lineage).json() == before
        assert http.post("/graphql", json=graphql).json()["data"] == answer
