"""Locks shared by the processes of one machine: flocks on files, freed by the kernel when their holder dies.

What several ``catalog serve --workers`` processes must agree on without a database server: who
projects, who audits, and one writer at a time on the embedded graph.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path


def try_lock(path: Path) -> int | None:
    """An exclusive flock on ``path`` (created if missing), or None if another open file holds it: the fd."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def is_locked(path: Path) -> bool:
    """Whether some process (this one included) holds an exclusive flock on ``path``.

    Tested by taking a shared flock for an instant, so a holder's own check answers True too.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the shared flock, if it was taken


class ProcessLock:
    """A re-entrant lock across the threads of this process and every process locking the same file."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._threads = threading.RLock()
        self._depth = 0

    def __enter__(self) -> "ProcessLock":
        self._threads.acquire()
        if self._depth == 0:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise
        self._depth += 1
        return self

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if self._depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()
