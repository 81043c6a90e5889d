"""The embedded engine as a real child process: start, lock, orphans, supervision."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from catalog.engine import DELTA_MAX_PENDING_CHANGES, DataDirLock, DataDirLocked, EmbeddedEngine
from catalog.store.falkor_backend import FalkorStore
from tests.catalog.store.test_falkor_backend import transactions
from tests.conftest import free_port


def answers(port: int) -> bool:
    try:
        return redis.Redis(port=port, socket_timeout=1).ping()
    except redis.ConnectionError:
        return False


def test_starts_with_persistence_and_stops_cleanly(tmp_path):
    engine = EmbeddedEngine(tmp_path).start()
    try:
        config = redis.Redis(port=engine.port).config_get("append*")
        assert config["appendonly"] == "yes" and config["appendfsync"] == "everysec"
        assert redis.Redis(port=engine.port).execute_command("GRAPH.CONFIG", "GET", "DELTA_MAX_PENDING_CHANGES") == \
            [b"DELTA_MAX_PENDING_CHANGES", DELTA_MAX_PENDING_CHANGES]
        assert (tmp_path / "graph" / "engine.pid").read_text() == str(engine.pid)
    finally:
        engine.stop()
    assert not answers(engine.port)
    assert not (tmp_path / "graph" / "engine.pid").exists()


def allocator_option(port: int, name: str) -> str:
    stats = redis.Redis(port=port).execute_command("MEMORY", "MALLOC-STATS").decode()
    return next(line.split(":", 1)[1].strip() for line in stats.splitlines() if line.strip().startswith(f"opt.{name}:"))


def test_the_engines_allocator_caches_result_blocks_unless_the_operator_says_otherwise(tmp_path, monkeypatch):
    with EmbeddedEngine(tmp_path / "ours") as engine:
        assert allocator_option(engine.port, "tcache_max") == "1048576"
    monkeypatch.setenv("JE_MALLOC_CONF", "tcache_max:65536")
    with EmbeddedEngine(tmp_path / "theirs") as engine:
        assert allocator_option(engine.port, "tcache_max") == "65536"


def test_data_survives_a_restart(tmp_path):
    with EmbeddedEngine(tmp_path) as engine:
        redis.Redis(port=engine.port).execute_command("GRAPH.QUERY", "g", "CREATE (:T {v: 1})")
    with EmbeddedEngine(tmp_path) as engine:
        result = redis.Redis(port=engine.port).execute_command("GRAPH.QUERY", "g", "MATCH (t:T) RETURN t.v")
        assert result[1] == [[1]]


def test_writes_sent_as_one_transaction_survive_a_restart(tmp_path):
    """A small group of writes goes between MULTI and EXEC (catalog.store.falkor_backend): the engine's append-only
    file must give it back."""
    statements = [("CREATE (:T {v: 1})", None), ("MATCH (t:T) SET t.w = 2", None)]
    with EmbeddedEngine(tmp_path) as engine:
        before = transactions(engine)
        store = FalkorStore("127.0.0.1", engine.port, graph="g")
        store.execute_writes(statements)
        store.close()
        sent_as_one = transactions(engine) - before
    with EmbeddedEngine(tmp_path) as engine:
        result = redis.Redis(port=engine.port).execute_command("GRAPH.QUERY", "g", "MATCH (t:T) RETURN t.v, t.w")
    assert sent_as_one == 1 and result[1] == [[1, 2]]


def test_second_live_owner_gets_a_clear_error_and_a_dead_ones_lock_is_taken_over(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from catalog.engine import DataDirLock;"
        f"DataDirLock(Path({str(tmp_path)!r})).acquire(); print('locked', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(DataDirLocked, match=f"in use by another catalog server \\(pid {holder.pid}\\)"):
            DataDirLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    lock = DataDirLock(tmp_path)  # the stale lock of a killed owner is simply taken over
    lock.acquire()
    lock.release()


def test_orphaned_engine_of_a_killed_server_is_stopped(tmp_path):
    # A server killed before its engine (the engine outlives it here: started detached).
    engine = EmbeddedEngine(tmp_path)
    engine.graph_dir.mkdir(parents=True)
    engine.port = free_port()
    orphan = subprocess.Popen(engine._command(), start_new_session=True, cwd=engine.graph_dir)
    (engine.graph_dir / "engine.pid").write_text(str(orphan.pid))
    deadline = time.monotonic() + 10
    while not answers(engine.port) and time.monotonic() < deadline:
        time.sleep(0.05)
    with EmbeddedEngine(tmp_path) as fresh:
        assert orphan.wait(timeout=10) is not None  # stopped before the new engine started
        assert answers(fresh.port)


def test_supervisor_restarts_a_dead_engine_on_the_same_port(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="catalog.engine")
    with EmbeddedEngine(tmp_path) as engine:
        first_pid = engine.pid
        os.kill(first_pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while (engine.restarts == 0 or not answers(engine.port)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.restarts == 1 and engine.pid != first_pid and answers(engine.port)
    died = next(r for r in caplog.records if r.getMessage() == "graph engine died; restarting")
    # What the dead engine last wrote comes with the report (here its start-up lines: SIGKILL leaves no crash report).
    assert died.exit_code == -signal.SIGKILL and "Ready to accept connections" in died.engine_log_tail


def test_relative_data_dir_works(tmp_path, monkeypatch):
    # The default --data-dir is relative (./catalog-data); the engine runs in another cwd.
    monkeypatch.chdir(tmp_path)
    with EmbeddedEngine(Path("catalog-data")) as engine:
        assert answers(engine.port)
    assert (tmp_path / "catalog-data" / "graph" / "engine.log").exists()
