"""Many processes on one set of logs, on both backends that allow it: the SQLite files of a server with
--workers (MachineCoordination) and a PostgreSQL database of replicas. Real processes, real files and server."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from catalog.eventlog import EventLog
from catalog.logstore.logs import EVENTS_FILE
from catalog.logstore.postgres_backend import PostgresCoordination, PostgresDatabase
from catalog.logstore.sqlite_backend import MachineCoordination

# Child processes open the logs as the tests do, with the helpers below.
APPEND = textwrap.dedent("""
    import sys
    from tests.catalog.logstore.test_processes import event_log
    log = event_log(sys.argv[1])
    for batch in range(60):
        log.append([(f"{sys.argv[2]}-{batch}-{i}", "{}", "RunEvent", 1) for i in range(8)])
""")
HOLD = textwrap.dedent("""
    import sys, time
    from tests.catalog.logstore.test_processes import coordination
    lease = coordination(sys.argv[1]).lease("projector")  # kept: a collected lease lets go
    assert lease.try_acquire()
    print("held", flush=True)
    time.sleep(600)
""")


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request, tmp_path) -> str:
    """A data directory (SQLite files) or a PostgreSQL database URL."""
    return request.getfixturevalue("database_url") if request.param == "postgresql" else str(tmp_path)


def event_log(where: str) -> EventLog:
    return EventLog(PostgresDatabase(where) if where.startswith("postgresql") else os.path.join(where, EVENTS_FILE))


def coordination(where: str):
    return PostgresCoordination(PostgresDatabase(where)) if where.startswith("postgresql") else \
        MachineCoordination(where)


def close(coordinations) -> None:
    for opened in coordinations:
        opened.close()
        opened.database.close()


def test_a_tail_of_the_log_never_skips_an_event_appended_by_other_processes(where):
    """Two processes append at once while this one reads ``seq > last seen``, as the projector does. Seqs must
    commit in order, or the tail would move past a seq still uncommitted and never see it."""
    log = event_log(where)
    writers = [subprocess.Popen([sys.executable, "-c", APPEND, where, name]) for name in ("w1", "w2")]
    seen: list[int] = []
    while any(w.poll() is None for w in writers):
        seen += [e.seq for e in log.read(after=seen[-1] if seen else 0, limit=5000)]
    seen += [e.seq for e in log.read(after=seen[-1] if seen else 0, limit=5000)]
    assert all(w.returncode == 0 for w in writers)
    everything = [e.seq for batch in log.iterate() for e in batch]
    assert len(everything) == 2 * 60 * 8
    assert seen == everything  # nothing skipped, nothing twice, in order
    log.close()


def test_a_lease_is_exclusive_and_freed_when_its_holder_is_killed(where):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, where], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    mine = coordination(where)
    lease = mine.lease("projector")
    assert not lease.try_acquire() and not lease.held()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    deadline = time.monotonic() + 10
    while not lease.try_acquire():
        assert time.monotonic() < deadline, "the lease of a killed process was not freed"
        time.sleep(0.1)
    assert lease.held() and lease.try_acquire()  # re-entrant for its holder
    lease.release()
    close([mine])


def test_rate_limits_and_audits_hold_across_processes_sharing_the_logs(where):
    one, two = coordination(where), coordination(where)
    waits = [opened.take_token("k", 1.0, 4) for opened in (one, two, one, two, one)]
    assert waits[:4] == [0, 0, 0, 0] and waits[4] > 0.5  # one bucket of 4 for the key, whichever process asks
    assert one.take_token("other", 1.0, 4) == 0  # another key has its own
    first, second = one.lease("audit"), two.lease("audit")
    assert first.try_acquire() and not second.try_acquire()
    one.save_progress({"id": "a1", "status": "running", "phase": "rules", "done": 1, "total": 9})
    assert two.running_audit() == "a1" and two.progress("a1")["status"] == "running"
    first.release()  # as when the process running it dies: its lock is gone with it
    assert two.running_audit() is None
    stale = two.progress("a1")
    assert stale["status"] == "failed" and "stopped before it finished" in stale["error"]
    assert second.try_acquire()
    close([one, two])
