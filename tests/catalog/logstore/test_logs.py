"""The logs' interface, on both backends: SQLite files and a real PostgreSQL (tests.conftest.logs)."""

import threading

import pytest

from catalog.eventlog import SCHEMA as EVENTS_SCHEMA, EventLog, Snapshot
from catalog.govlog import SCHEMA as GOVERNANCE_SCHEMA
from catalog.keys import SCHEMA as KEYS_SCHEMA
from catalog.logstore.base import LogsUnavailable


def test_the_event_log_dedupes_and_orders(logs):
    first = logs.events.append([("a", '{"a":1}', "RunEvent", 1), ("b", '{"b":1}', "RunEvent", 2),
                                ("a", '{"a":1}', "RunEvent", 1)])  # a duplicate within the batch
    assert first == [(1, True), (2, True), (1, False)]
    again = logs.events.append([("b", '{"b":1}', "RunEvent", 2), ("c", '{"c":1}', "JobEvent", 3)])
    assert again == [(2, False), (3, True)]
    assert logs.events.count() == 3 and logs.events.last_seq() == 3
    assert [e.digest for e in logs.events.read(after=1)] == ["b", "c"]
    assert [[e.seq for e in batch] for batch in logs.events.iterate(chunk=2)] == [[1, 2], [3]]


def test_a_failed_append_writes_nothing(logs):
    with pytest.raises(Exception):
        logs.events.append([("a", "{}", "RunEvent", 1), ("b", None, "RunEvent", 2)])  # body NOT NULL
    assert logs.events.count() == 0
    assert logs.events.append([("a", "{}", "RunEvent", 1)])[0][1] is True


def test_the_governance_chain_verifies_and_keeps_history(logs):
    logs.governance.record("alice", "dataset:a:b", "add_tag", {"tag": "pii"})
    logs.governance.record("bob", "dataset:a:b", "set_description", {"description": "x"})
    logs.governance.record("bob", "dataset:a:c", "add_tag", {"tag": "t"})
    assert [c["action"] for c in logs.governance.history("dataset:a:b")] == ["set_description", "add_tag"]
    assert logs.governance.verify() == (True, None)
    assert logs.governance.head()[0] == 3
    assert logs.governance.hash_at(3) == logs.governance.head()[1]


def test_concurrent_governance_records_form_one_chain(logs):
    threads = [threading.Thread(target=lambda i=i: [logs.governance.record(f"actor{i}", f"n{i}:{k}", "add_tag", {})
                                                    for k in range(25)]) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert logs.governance.head()[0] == 100
    assert logs.governance.verify() == (True, None)


def test_keys_authenticate_and_revoke(logs):
    key, token = logs.keys.create("airflow", "producer", ("food_delivery",), logs.governance, "cli:me")
    assert logs.keys.authenticate(token) == key
    assert logs.keys.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    logs.keys.revoke(key.id, logs.governance, "cli:me")
    assert logs.keys.authenticate(token) is None  # the store that revoked forgets the key at once
    assert [c["action"] for c in logs.governance.all()] == ["key_created", "key_revoked"]


def test_migrations_are_versioned_and_run_once(logs):
    for part, component, schema in ((logs.events, "events", EVENTS_SCHEMA),
                                    (logs.governance, "governance", GOVERNANCE_SCHEMA), (logs.keys, "keys", KEYS_SCHEMA)):
        assert part.db.query("SELECT version FROM schema_migrations WHERE component = ? ORDER BY version",
                             (component,)) == [(step[0],) for step in schema]
    db, current = logs.events.db, EVENTS_SCHEMA[-1][0]
    assert db.migrate("events", EVENTS_SCHEMA) == current  # already there: nothing runs again
    later = EVENTS_SCHEMA + [(current + 1, "an index on event time", ["CREATE INDEX events_time ON events (event_time)"])]
    assert db.migrate("events", later) == current + 1
    assert db.migrate("events", later) == current + 1  # a second start does not create the index twice
    assert db.query("SELECT name FROM schema_migrations WHERE component = 'events' AND version = ?",
                    (current + 1,)) == [("an index on event time",)]


def test_a_log_of_an_earlier_version_is_upgraded_at_start_with_its_events(tmp_path):
    from catalog.logstore.sqlite_backend import SQLiteDatabase

    earlier = SQLiteDatabase(tmp_path / "events.sqlite3")
    earlier.migrate("events", EVENTS_SCHEMA[:1])  # as the first version left it
    with earlier.transaction() as tx:
        earlier.append_events(tx, [("d1", "{}", "RunEvent", 1)], 2)
    earlier.close()
    log = EventLog(tmp_path / "events.sqlite3")
    assert log.count() == 1 and log.snapshot() == Snapshot() and log.snapshot_size() == 0
    assert log.db.query("SELECT max(version) FROM schema_migrations")[0][0] == EVENTS_SCHEMA[-1][0]
    assert len(log.catalog_id) == 32  # an id made at the upgrade
    log.close()
    assert EventLog(tmp_path / "events.sqlite3").catalog_id == log.catalog_id


def test_a_log_keeps_one_catalog_id_that_a_second_open_reads_and_another_log_does_not_share(logs, tmp_path):
    from catalog.logstore.logs import open_logs

    again = open_logs(tmp_path / "data", getattr(logs.events.db, "url", None))  # the same logs, opened again
    other = EventLog(tmp_path / "other.sqlite3")
    try:
        assert again.events.catalog_id == logs.events.catalog_id != other.catalog_id
    finally:
        again.close()
        other.close()


def test_rate_limit_tokens_and_audit_progress(logs):
    coordination = logs.coordination
    waits = [coordination.take_token("key1", 1.0, 3) for _ in range(4)]
    assert waits[:3] == [0, 0, 0] and waits[3] > 0.5  # a burst of 3, then one a second
    assert coordination.take_token("key2", 1.0, 3) == 0  # another key has its own bucket
    audit = coordination.lease("audit")
    assert audit.try_acquire()
    coordination.save_progress({"id": "r1", "status": "running", "phase": "rules", "done": 5, "total": 10})
    assert coordination.progress("r1")["done"] == 5
    assert coordination.running_audit() == "r1"
    coordination.save_progress({"id": "r1", "status": "complete", "phase": "complete", "done": 10, "total": 10})
    audit.release()
    assert coordination.progress("r1")["status"] == "complete" and coordination.running_audit() is None
    assert coordination.progress("nope") is None


def test_an_unreachable_database_is_a_clear_error(tmp_path):
    from catalog.logstore.logs import open_logs

    with pytest.raises(LogsUnavailable, match="cannot connect to PostgreSQL at postgresql://catalog:\\*\\*\\*@127.0.0.1:9"):
        open_logs(tmp_path, "postgresql://catalog:secret@127.0.0.1:9/nowhere")
    with pytest.raises(ValueError, match="unsupported database URL scheme 'mysql'"):
        open_logs(tmp_path, "mysql://x@y/z")
