"""The servers the tests run on: the embedded FalkorDB, a real Neo4j started by scripts/neo4j.sh, a real
Kafka broker started by scripts/kafka.sh, and Debian's PostgreSQL started by scripts/postgres.sh.

Neo4j Community has one user database, so the tests share one server and take turns: a
test (or a module's server) leases it, which empties the database, and gives it back when
done. Two holders at once is a test bug and fails loudly instead of mixing graphs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BACKENDS = ("falkordb", "neo4j")


class ScriptProcess:
    """``scripts/SCRIPT DATA_DIR [PORT]`` as a child process group, as a user or CI runs it; it prints its
    address once it serves."""

    script = ""
    address_prefix = ""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = data_dir
        self.port = port
        self.url: str | None = None
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 240):
        args = ["bash", str(REPO / "scripts" / self.script), str(self.data_dir)] + ([str(self.port)] if self.port else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)  # its own group: kill() reaches the JVM too
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not line or not line[0].startswith(self.address_prefix):
            self.kill()
            raise RuntimeError(f"scripts/{self.script} did not print its address: {self.proc.stderr.read()[-3000:]}")
        self.url = line[0].strip()
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        return self

    def stop(self) -> int:
        """SIGTERM, as a service manager sends it: the server shuts down cleanly."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the script and its JVM: a crash, not a shutdown."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Neo4jProcess(ScriptProcess):
    script = "neo4j.sh"
    address_prefix = "bolt://"


class KafkaProcess(ScriptProcess):
    """A single-node broker; ``url`` is its bootstrap address, HOST:PORT."""

    script = "kafka.sh"
    address_prefix = "127.0.0.1:"


class PostgresProcess(ScriptProcess):
    """Debian's PostgreSQL; ``url`` is postgresql://catalog@127.0.0.1:PORT/postgres (trust auth)."""

    script = "postgres.sh"
    address_prefix = "postgresql://"


@contextmanager
def postgres_data_dir():
    """A directory for a PostgreSQL server's data, outside pytest's temporary root, removed afterwards.

    Run as root, the server runs as the postgres user, which must traverse every directory above its data. Each
    pytest session takes other users' access away from /tmp/pytest-of-<user>: a second session started meanwhile
    (a developer's, beside the suite) would cut the running servers off their files."""
    path = Path(tempfile.mkdtemp(prefix="catalog-test-postgres-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def create_topic(bootstrap: str, partitions: int = 1) -> str:
    """A new topic with a unique name on the broker at ``bootstrap``."""
    import uuid

    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"test-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(30)
    return name


class SharedNeo4j:
    """One Neo4j for the session, leased to one holder at a time."""

    def __init__(self, url: str):
        self.url = url
        self.holder: str | None = None

    @contextmanager
    def lease(self, holder: str):
        """The URL of an empty database, for as long as the caller holds it."""
        if self.holder:
            raise RuntimeError(f"Neo4j is leased to {self.holder}, so {holder} cannot have it: a module's tests "
                               "must share one module-scoped holder or each hold it themselves, not both")
        self.holder = holder
        try:
            store = store_at(self.url)
            store.clear()
            store.close()
            yield self.url
        finally:
            self.holder = None


def store_at(url: str):
    """A store on the graph at ``url``, built as `catalog serve --graph-url` builds it (CATALOG_NEO4J_* included)."""
    from catalog.config import Settings
    from catalog.runtime import open_store

    return open_store(Settings(graph_url=url), None)
