"""The graph engines the tests run on: the embedded FalkorDB and a real Neo4j started by scripts/neo4j.sh.

Neo4j Community has one user database, so the tests share one server and take turns: a
test (or a module's server) leases it, which empties the database, and gives it back when
done. Two holders at once is a test bug and fails loudly instead of mixing graphs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BACKENDS = ("falkordb", "neo4j")


class Neo4jProcess:
    """``scripts/neo4j.sh DATA_DIR`` as a child process group, as a user or CI runs it."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = data_dir
        self.port = port
        self.url: str | None = None
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 240) -> "Neo4jProcess":
        args = ["bash", str(REPO / "scripts" / "neo4j.sh"), str(self.data_dir)] + ([str(self.port)] if self.port else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)  # its own group: kill() reaches the JVM too
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not line or not line[0].startswith("bolt://"):
            self.kill()
            raise RuntimeError(f"scripts/neo4j.sh did not print a Bolt URL: {self.proc.stderr.read()[-3000:]}")
        self.url = line[0].strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def stop(self) -> int:
        """SIGTERM, as a service manager sends it: Neo4j shuts down cleanly."""
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
