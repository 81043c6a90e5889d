"""Ingest events/s and read requests/s with one replica and with two, on one PostgreSQL and one graph.

Starts Debian's PostgreSQL (scripts/postgres.sh) and a FalkorDB that both replicas reach by URL,
then two ``catalog serve --database ... --graph-url falkordb://...`` processes (the first loads the
demo). Each repeat measures, with wrk, over ``--seconds``:

* single posts of new events (benchmarks/single_post.lua): all connections on one replica, then
  half on each replica at once (the sum of both);
* reads, GET /api/v1/lineage depth 1 of a demo dataset: the same split.

Reported: medians over the repeats, and two replicas / one replica per repeat (same run).

    python benchmarks/replicas.py [--seconds 10] [--connections 16] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from catalog.engine import EmbeddedEngine  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402
from tests.engines import PostgresProcess  # noqa: E402

READ = "/api/v1/lineage?nodeId=dataset:food_delivery:public.orders&depth=1"
EVENT = {"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "https://example.com/bench",
         "run": {"runId": "00000000-0000-4000-8000-__S__"}, "job": {"namespace": "bench", "name": "job___S__"},
         "inputs": [{"namespace": "bench", "name": "source"}], "outputs": [{"namespace": "bench", "name": "out___S__"}]}


def wrk(urls: list[str], connections: int, seconds: int, templates: Path | None) -> float:
    """Requests/s summed over one wrk per URL, run at once, the connections split between them."""
    each = max(1, connections // len(urls))
    # Each wrk gets a tag of its own, so that no two post the same events (see single_post.lua).
    commands = [["wrk", "-t1", f"-c{each}", f"-d{seconds}s", "--latency"]
                + (["-s", str(REPO / "benchmarks" / "single_post.lua"), url, "--", str(templates),
                    uuid.uuid4().hex[:8]] if templates else [url + READ]) for url in urls]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for command in commands]
    total = 0.0
    for run in runs:
        out = run.communicate(timeout=seconds + 60)[0]
        if templates and "non-201 responses: 0" not in out or "Non-2xx" in out:
            raise RuntimeError(f"wrk saw failed requests:\n{out}")
        total += float(out.split("Requests/sec:")[1].split()[0])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        templates = work / "templates.jsonl"
        templates.write_text(json.dumps(EVENT) + "\n")
        database = PostgresProcess(work / "postgres").start()
        graph = EmbeddedEngine(work / "graph").start()
        servers = []
        try:
            with psycopg.connect(database.url, autocommit=True) as admin:
                admin.execute("CREATE DATABASE bench")
            url = database.url.rsplit("/", 1)[0] + "/bench"
            common = ("--database", url, "--graph-url", f"falkordb://127.0.0.1:{graph.port}")
            servers.append(ServerProcess(work / "a", *common, "--demo").start(timeout=120))
            servers.append(ServerProcess(work / "b", *common).start(timeout=120))
            assert httpx.get(servers[1].url + READ).status_code == 200
            rows = {name: [] for name in ("ingest 1", "ingest 2", "read 1", "read 2")}
            one, both = [servers[0].url], [s.url for s in servers]
            for repeat in range(args.repeats):
                rows["ingest 1"].append(wrk(one, args.connections, args.seconds, templates))
                rows["ingest 2"].append(wrk(both, args.connections, args.seconds, templates))
                rows["read 1"].append(wrk(one, args.connections, args.seconds, None))
                rows["read 2"].append(wrk(both, args.connections, args.seconds, None))
                print(f"repeat {repeat + 1}: " + ", ".join(f"{k} {v[-1]:.0f}/s" for k, v in rows.items()), flush=True)
                time.sleep(1)
            for kind in ("ingest", "read"):
                ratios = [b / a for a, b in zip(rows[f"{kind} 1"], rows[f"{kind} 2"])]
                print(f"{kind}: one replica {statistics.median(rows[f'{kind} 1']):.0f}/s, two replicas "
                      f"{statistics.median(rows[f'{kind} 2']):.0f}/s, ratio {statistics.median(ratios):.2f}x")
        finally:
            for server in servers:
                server.stop()
            graph.stop()
            database.stop()


if __name__ == "__main__":
    main()
