from catalog.eventlog import EventLog


def test_append_dedupes_and_orders(tmp_path):
    log = EventLog(tmp_path / "events.sqlite3")
    first = log.append([("a", '{"a":1}', "RunEvent", 1), ("b", '{"b":1}', "RunEvent", 2)])
    assert first == [(1, True), (2, True)]
    again = log.append([("b", '{"b":1}', "RunEvent", 2), ("c", '{"c":1}', "JobEvent", 3)])
    assert again == [(2, False), (3, True)]
    assert log.count() == 3 and log.last_seq() == 3
    assert [e.digest for e in log.read(after=1)] == ["b", "c"]
    assert [[e.seq for e in batch] for batch in log.iterate(chunk=2)] == [[1, 2], [3]]
    log.close()


def test_durable_settings_and_reopen(tmp_path):
    path = tmp_path / "events.sqlite3"
    log = EventLog(path)
    assert log.db.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert log.db.connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    log.append([("a", "{}", "RunEvent", 1)])
    log.close()
    reopened = EventLog(path)
    assert [e.body for e in reopened.read()] == ["{}"]


def test_failed_transaction_writes_nothing(tmp_path):
    log = EventLog(tmp_path / "events.sqlite3")
    try:
        log.append([("a", "{}", "RunEvent", 1), ("b", None, "RunEvent", 2)])  # body NOT NULL
    except Exception:
        pass
    assert log.count() == 0
