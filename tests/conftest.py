"""Shared fixtures: a real embedded engine, real stores, real servers in child processes."""

from __future__ import annotations

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from catalog.engine import EmbeddedEngine
from catalog.store.falkor_backend import FalkorStore
from tests.chromium import start_chromium
from tests.engines import (
    BACKENDS,
    KafkaProcess,
    Neo4jProcess,
    PostgresProcess,
    SharedNeo4j,
    postgres_data_dir,
    store_at,
)

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CATALOG_SHARED_DIR", REPO.parent / "shared")) / "openlineage"
VALID_DIR = SHARED / "events" / "valid"
INVALID_DIR = SHARED / "events" / "invalid"


def load_events(directory: Path) -> list[tuple[str, dict]]:
    """(source, event) for every event under a folder; arrays are unrolled."""
    events = []
    for path in sorted(glob.glob(str(directory / "**" / "*.json"), recursive=True)):
        data = json.loads(Path(path).read_text())
        for index, event in enumerate(data if isinstance(data, list) else [data]):
            events.append((f"{Path(path).relative_to(directory)}[{index}]", event))
    return events


@pytest.fixture(scope="session")
def valid_events() -> list[tuple[str, dict]]:
    events = load_events(VALID_DIR)
    assert len(events) > 80, f"expected the OpenLineage corpus under {VALID_DIR}"
    return events


@pytest.fixture(scope="session")
def invalid_events() -> list[tuple[str, dict]]:
    return load_events(INVALID_DIR)


@pytest.fixture(scope="session")
def browser():
    """The session's headless Chromium, offline but for this machine (tests.chromium)."""
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    """One embedded FalkorDB process for the session; each test gets its own graph in it."""
    with EmbeddedEngine(tmp_path_factory.mktemp("engine")) as running:
        yield running


@pytest.fixture(scope="session")
def neo4j(tmp_path_factory):
    """The session's Neo4j: CATALOG_NEO4J_URI if set, else a real server started by scripts/neo4j.sh."""
    if os.environ.get("CATALOG_NEO4J_URI"):
        yield SharedNeo4j(os.environ["CATALOG_NEO4J_URI"])
        return
    with Neo4jProcess(tmp_path_factory.mktemp("neo4j")) as running:
        yield SharedNeo4j(running.url)


@pytest.fixture(scope="session")
def kafka(tmp_path_factory) -> str:
    """The bootstrap address of the session's broker: CATALOG_KAFKA_BOOTSTRAP if set, else a real single-node
    Kafka started by scripts/kafka.sh. Tests share it and each uses topics of its own (tests.engines.create_topic)."""
    if os.environ.get("CATALOG_KAFKA_BOOTSTRAP"):
        yield os.environ["CATALOG_KAFKA_BOOTSTRAP"]
        return
    with KafkaProcess(tmp_path_factory.mktemp("kafka")) as running:
        yield running.url


@pytest.fixture(scope="session")
def postgres() -> str:
    """The URL of the session's PostgreSQL: CATALOG_TEST_POSTGRES_URL if set, else Debian's server started by
    scripts/postgres.sh. Tests create databases of their own in it."""
    if os.environ.get("CATALOG_TEST_POSTGRES_URL"):
        yield os.environ["CATALOG_TEST_POSTGRES_URL"]
        return
    with postgres_data_dir() as data, PostgresProcess(data) as running:
        yield running.url


@pytest.fixture
def postgres_dir() -> Path:
    """A data directory for a PostgreSQL of one test's own (see tests.engines.postgres_data_dir)."""
    with postgres_data_dir() as path:
        yield path


@pytest.fixture
def database_url(postgres) -> str:
    """A new, empty PostgreSQL database for one test (dropped after it): what `--database` takes."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield postgres.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=("sqlite", "postgresql"))
def logs(request, tmp_path):
    """The logs of a catalog on each backend: SQLite files in a data directory, a PostgreSQL database."""
    from catalog.logstore.logs import open_logs

    opened = open_logs(tmp_path / "data", request.getfixturevalue("database_url") if request.param == "postgresql"
                       else None)
    yield opened
    opened.close()


@pytest.fixture
def neo4j_url(neo4j, request):
    """The session's Neo4j, emptied and held for one test."""
    with neo4j.lease(request.node.nodeid) as url:
        yield url


def _graph_args(request):
    """Arguments of `catalog serve` for the engine the test runs on, holding Neo4j while it runs."""
    if request.param == "falkordb":
        yield ()
        return
    with request.getfixturevalue("neo4j").lease(request.node.nodeid) as url:
        yield ("--graph-url", url)


@pytest.fixture(params=BACKENDS)
def graph_args(request):
    yield from _graph_args(request)


@pytest.fixture(scope="module", params=BACKENDS)
def module_graph_args(request):
    """graph_args for a server that lives as long as its module."""
    yield from _graph_args(request)


def _store_on(request, engine):
    """A store on the engine the test runs on: a fresh graph in the embedded FalkorDB, an emptied Neo4j."""
    if request.param == "neo4j":
        with request.getfixturevalue("neo4j").lease(request.node.nodeid) as url:
            backend = store_at(url)
            backend.ensure_schema()
            yield backend
            backend.close()
        return
    backend = FalkorStore("127.0.0.1", engine.port, graph=f"test-{uuid.uuid4().hex[:12]}")
    backend.ensure_schema()
    yield backend
    backend.drop()  # not only emptied: the session's engine would keep every test's indexes
    backend.close()


@pytest.fixture(params=BACKENDS)
def store(request, engine):
    yield from _store_on(request, engine)


@pytest.fixture(scope="module", params=BACKENDS)
def module_store(request, engine):
    """A store for a module's tests to share."""
    yield from _store_on(request, engine)


@pytest.fixture
def falkor_store(engine):
    backend = FalkorStore("127.0.0.1", engine.port, graph=f"test-{uuid.uuid4().hex[:12]}")
    backend.ensure_schema()
    yield backend
    backend.drop()  # not only emptied: the session's engine would keep every test's indexes
    backend.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``catalog serve`` in a child process, as a user runs it; ``auth=False`` adds --no-auth."""

    def __init__(self, data_dir: Path, *extra: str, env: dict | None = None, auth: bool = False,
                 code: Path | None = None):
        self.data_dir = data_dir
        self.code = code  # a checkout whose catalog package to run (benchmarks compare commits); None: this one
        self.extra = extra if auth else ("--no-auth", *extra)
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        # One client for the checks of this server: httpx.get builds a client, with its TLS context, per call (about
        # 40 ms of CPU, taken from the server starting beside it). No keep-alive: each check on a new connection.
        self.http = httpx.Client(base_url=self.url, timeout=5, limits=httpx.Limits(max_keepalive_connections=0))

    def start(self, timeout: float = 30) -> "ServerProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "catalog.cli", "serve", "--port", str(self.port), "--data-dir",
             str(self.data_dir), *self.extra],
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, **self.env},
            cwd=self.code,  # `python -m` puts the working directory first on the path
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log()}")
            try:
                if self.serving_processes() >= self.processes:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not become healthy: {self.log()}")

    @property
    def processes(self) -> int:
        return int(self.extra[self.extra.index("--workers") + 1]) if "--workers" in self.extra else 1

    def serving_processes(self, tries: int = 20) -> int:
        """How many distinct processes answered /health, each asked on a new connection (0 if none was healthy)."""
        if self.processes == 1:
            return int(self.http.get("/health", timeout=1).status_code == 200)
        pids = set()
        for _ in range(tries):
            answer = self.http.get("/health", timeout=1)
            if answer.status_code == 200:
                pids.add(answer.json()["process"]["pid"])
        return len(pids)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def log_entries(self) -> list[dict]:
        """The server's structured log lines, parsed (lines that are not JSON, such as a crash's, left out)."""
        entries = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    def graph(self):
        """A store on the server's own graph: the one at its --graph-url, or the catalog graph in its embedded engine."""
        if "--graph-url" in self.extra:
            return store_at(self.extra[self.extra.index("--graph-url") + 1])
        return FalkorStore("127.0.0.1", self.http.get("/health").json()["graph"]["port"])

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@pytest.fixture
def server(tmp_path, graph_args):
    with ServerProcess(tmp_path / "data", *graph_args) as running:
        yield running


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
