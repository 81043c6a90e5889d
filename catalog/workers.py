"""More processes serving one catalog on one machine: ``catalog serve --workers N``.

One Python process serves on one core. With ``--workers N`` the server (the primary) binds the
port, opens the catalog as usual (it holds the data directory, runs the embedded engine and
projects the event log) and starts N-1 worker processes. Each process listens on a socket of
its own on the port (SO_REUSEPORT), and the kernel spreads new connections over them.
A worker is a replica of the primary on the same logs and graph, as replicas on PostgreSQL are
(docs/deployment.md): it logs the events it accepts (the primary projects them within 0.2 s),
serves reads, and shares the leases, rate limits and audit progress (MachineCoordination). It
does not load the demo or consume Kafka; the primary does.

Workers die with the primary (even by SIGKILL); one that exits on its own is started again.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from catalog.config import Settings
from catalog.engine import die_with_parent

log = logging.getLogger("catalog.workers")

SETTINGS_VARIABLE = "CATALOG_WORKER_SETTINGS"  # the primary's settings, as JSON, for its workers
RESTART_DELAY = 1.0  # seconds before a worker that exited is started again
YOUNG_COLLECTION_THRESHOLD = 50_000  # new objects between the cyclic collector's young collections in a server


def listen(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening TCP sockets on ``host``:``port``, one per process, bound with SO_REUSEPORT so the
    kernel spreads new connections evenly over them (one shared socket lets whichever process wakes first
    take a whole burst of connections)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Plainly first: SO_REUSEPORT alone would also share the port with another server of the same user.
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, port))
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(2048)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Workers:
    """The worker processes of a primary: started, restarted when one exits, stopped before the primary closes
    the catalog (they use its engine)."""

    def __init__(self, settings: Settings, sockets: list[socket.socket]):
        """One worker per socket; the primary keeps the sockets open, so connections the kernel hands a worker that
        is being restarted wait in its socket's queue."""
        self.settings, self.sockets = settings, sockets
        self.processes: list[subprocess.Popen] = []
        self.restarts = 0
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def start(self) -> "Workers":
        self.processes = [self._spawn(sock) for sock in self.sockets]
        # Restarts fork from the supervisor, which lives until stop(): PR_SET_PDEATHSIG follows the forking thread.
        self._supervisor = threading.Thread(target=self._supervise, name="worker-supervisor", daemon=True)
        self._supervisor.start()
        log.info("workers started", extra={"pids": [p.pid for p in self.processes]})
        return self

    def _spawn(self, sock: socket.socket) -> subprocess.Popen:
        env = dict(os.environ, **{SETTINGS_VARIABLE: self.settings.model_dump_json()})
        return subprocess.Popen([sys.executable, "-m", "catalog.workers", str(sock.fileno())],
                                pass_fds=(sock.fileno(),), env=env, stdin=subprocess.DEVNULL,
                                preexec_fn=die_with_parent)

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            for i, process in enumerate(self.processes):
                if process.poll() is None or self._stopping.is_set():
                    continue
                log.error("a worker exited; starting another", extra={"pid": process.pid, "code": process.returncode})
                time.sleep(RESTART_DELAY)
                if not self._stopping.is_set():
                    self.processes[i] = self._spawn(self.sockets[i])
                    self.restarts += 1

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM every worker (each finishes its requests, as the primary does), then SIGKILL what is left."""
        self._stopping.set()
        if self._supervisor:
            self._supervisor.join()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

def serve_until_stopped(server, sockets: list[socket.socket] | None = None) -> None:
    """Run a uvicorn server until SIGTERM or Ctrl-C, and return, so that what the caller closes after it (workers,
    the engine, the data directory's lock) closes in order. uvicorn stops gracefully on either signal and then
    raises it again, which by default would end the process on the spot; here that second signal is a no-op."""
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    # What is imported and opened by now lives as long as the process: frozen out of the collector's sight, a
    # full collection scans only what requests left behind (it took 130-170 ms with the modules in it: reads' p99).
    gc.collect()
    gc.freeze()
    # Young collections rarer than the default (every 700 new objects): a batch of events makes millions of
    # short-lived objects without cycles, and scanning them took a fifth of the server's CPU in batch ingest.
    thresholds = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *thresholds[1:])
    try:
        server.run(sockets=sockets)
    finally:
        gc.set_threshold(*thresholds)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def worker_settings(settings: Settings, engine_port: int | None) -> Settings:
    """What a worker runs with: the primary's settings, pointed at its engine, without the primary's duties."""
    changes = {"kafka_bootstrap": None}
    if not settings.graph_url:
        changes["graph_url"] = f"falkordb://127.0.0.1:{engine_port}"
    return settings.model_copy(update=changes)


def main(fd: int) -> None:
    """A worker: open the catalog beside the primary and serve on the inherited socket until SIGTERM."""
    import uvicorn

    from catalog import logs
    from catalog.api.app import create_app
    from catalog.runtime import Catalog

    settings = Settings.model_validate_json(os.environ.pop(SETTINGS_VARIABLE))
    logs.configure(settings.log_level)
    sock = socket.socket(fileno=fd)
    catalog = Catalog.open(settings, worker=True)
    try:
        config = uvicorn.Config(create_app(settings, catalog=catalog), log_config=None, access_log=False,
                                timeout_graceful_shutdown=10)
        serve_until_stopped(uvicorn.Server(config), [sock])
    finally:
        catalog.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
