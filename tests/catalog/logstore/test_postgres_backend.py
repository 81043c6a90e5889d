"""What only PostgreSQL has to get right: outages, moving a catalog into it (real server, real processes).

Many processes on one database: tests/catalog/logstore/test_processes.py, for both backends."""

import json
import subprocess
import sys

import psycopg

from catalog.eventlog import EventLog
from catalog.ingest import prepare_event
from catalog.logstore.logs import open_logs
from catalog.logstore.postgres_backend import PostgresDatabase
from tests.catalog.test_recovery import event


def test_a_database_that_goes_away_gives_logs_unavailable_and_the_pool_recovers(database_url):
    database = PostgresDatabase(database_url)
    log = EventLog(database)
    log.append([("a", "{}", "RunEvent", 1)])
    with psycopg.connect(database_url, autocommit=True) as admin:  # as a restart does to every session
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
                      "'lineage-catalog' AND pid <> pg_backend_pid()")
    assert log.append([("b", "{}", "RunEvent", 1)]) == [(2, True)]  # a checked connection: no error at all
    assert log.count() == 2
    log.close()


def test_move_copies_an_embedded_catalog_exactly_and_refuses_a_full_database(tmp_path, database_url):
    source = open_logs(tmp_path / "data")
    prepared = [prepare_event(event(i, "move")) for i in range(50)]
    source.events.append([(p.digest, p.body, p.kind, p.time) for p in prepared])
    key, token = source.keys.create("airflow", "producer", ("food_delivery",), source.governance, "cli:me")
    source.governance.record("alice", "dataset:faults:source", "add_tag", {"label": "Dataset", "tag": "pii"})
    head, catalog_id = source.governance.head(), source.events.catalog_id
    source.close()
    command = [sys.executable, "-m", "catalog.cli", "move", "--data-dir", str(tmp_path / "data"),
               "--database", database_url]
    moved = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert moved.returncode == 0, moved.stderr
    assert '"replayed": 50' in moved.stdout and '"Run": 50' in moved.stdout
    target = open_logs(tmp_path / "elsewhere", database_url)
    assert target.governance.head() == head and target.governance.verify() == (True, None)
    assert target.events.catalog_id == catalog_id  # the same catalog: a graph it claimed stays its own
    assert target.keys.authenticate(token) == key
    assert [e.digest for batch in target.events.iterate() for e in batch] == [p.digest for p in prepared]
    assert target.events.append([("new", "{}", "RunEvent", 1)]) == [(51, True)]  # seqs go on after the copy
    target.close()
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "already holds a catalog (51 events, 2 governance entries, 1 keys)" in again.stderr


def test_a_pruned_catalog_moves_with_its_snapshot_and_seqs_go_on_after_it(tmp_path, database_url):
    source = open_logs(tmp_path / "data")
    runs = [dict(event(i, "pruned"), job={"namespace": "faults", "name": f"job-{i % 10}"},
                 eventTime=f"2024-01-0{1 + i // 10}T00:00:00Z") for i in range(50)]
    source.events.append([(p.digest, p.body, p.kind, p.time) for p in map(prepare_event, runs)])
    source.close()
    cli = [sys.executable, "-m", "catalog.cli"]
    pruned = subprocess.run(cli + ["prune", "--data-dir", str(tmp_path / "data"), "--older-than", "30"],
                            capture_output=True, text=True, timeout=120)
    assert pruned.returncode == 0, pruned.stderr
    report = json.loads(pruned.stdout)
    # Ten jobs of five runs, all from 2024: each job keeps its latest run; every event is folded.
    assert report["pruned"]["runs"] == 40 and report["pruned"]["eventsFolded"] == 50 and report["eventsLeft"] == 0
    assert report["graph"]["Run"] == 10 and report["graph"]["Dataset"] == 51

    moved = subprocess.run(cli + ["move", "--data-dir", str(tmp_path / "data"), "--database", database_url],
                           capture_output=True, text=True, timeout=120)
    assert moved.returncode == 0, moved.stderr
    graph = {label: n for label, n in json.loads(moved.stdout)["graph"].items() if label != "CatalogMeta"}
    assert graph == {label: n for label, n in report["graph"].items() if label != "CatalogMeta"}  # from the snapshot
    target = open_logs(tmp_path / "elsewhere", database_url)
    assert target.events.snapshot().seq == 50 and target.events.snapshot_size() == report["snapshotRows"]
    assert target.events.append([("new", "{}", "RunEvent", 1)]) == [(51, True)]  # not a seq given out before
    target.close()
