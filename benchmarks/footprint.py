"""Footprint per event, with and without retention, on each graph engine.

Pipelines that run forever: every event is a new run of the same jobs, in the shape of Marquez's
seed (ingestors/samples/food_delivery.json, fresh run ids, the same datasets and jobs). The events
span ``--days`` of simulated time, ingested in ``--chunks`` steps; after each step the run without
retention just measures, and the run with retention first applies a ``--retention-days`` horizon
at the step's simulated time (catalog.retention.apply, as the projecting server does hourly).

Measured after each step, in the same run for both:

* the graph: FalkorDB's ``used_memory`` (INFO memory) less the empty engine's; Neo4j's store
  files on disk (data/databases/neo4j, measured after a clean stop, which checkpoints them;
  Neo4j is started again for the next step; transaction logs left out: Neo4j rotates and prunes
  them itself);
* FalkorDB's resident memory too (``used_memory_rss``: what the machine gives it, allocator
  fragmentation included);
* the event log file (SQLite, after a WAL checkpoint), snapshot included.

Events go through the same code as ``POST /api/v1/lineage`` without HTTP: prepare_event, the
event log, the projector.

    python benchmarks/footprint.py [--engines falkordb neo4j] [--events 45000] [--chunks 9]
                                   [--days 90] [--retention-days 30]
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from catalog import retention  # noqa: E402
from catalog.engine import EmbeddedEngine  # noqa: E402
from catalog.eventlog import EventLog  # noqa: E402
from catalog.ingest import Projector, prepare_event  # noqa: E402
from catalog.store.falkor_backend import FalkorStore  # noqa: E402
from ingestors.files import SAMPLES  # noqa: E402
from tests.engines import Neo4jProcess, store_at  # noqa: E402

TEMPLATES = json.loads((SAMPLES / "food_delivery.json").read_text())
MB = 1024 * 1024


def seed_runs(copies: range, start: datetime, step: timedelta) -> list[dict]:
    """The seed's events once per copy, with fresh run ids, copy ``k`` at ``start + k * step``."""
    events = []
    for k in copies:
        run_ids: dict[str, str] = {}
        for offset, template in enumerate(TEMPLATES):
            event = copy.deepcopy(template)
            event["run"]["runId"] = run_ids.setdefault(template["run"]["runId"], str(uuid.uuid4()))
            parent = (event["run"].get("facets") or {}).get("parent")
            if parent:
                parent["run"]["runId"] = run_ids.setdefault(parent["run"]["runId"], str(uuid.uuid4()))
            event["eventTime"] = (start + k * step + timedelta(seconds=offset)).isoformat()
            events.append(event)
    return events


class Falkor:
    name = "falkordb"

    def __init__(self, tmp: Path):
        self.engine = EmbeddedEngine(tmp).start()
        self.client = redis.Redis(port=self.engine.port)
        self.store = FalkorStore("127.0.0.1", self.engine.port, graph="footprint")
        self.store.ensure_schema()

    def graph_bytes(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def resident_bytes(self) -> int | None:
        """The engine process's resident memory: used_memory plus the allocator's fragmentation."""
        return int(self.client.info("memory")["used_memory_rss"])

    def stop(self) -> None:
        self.store.close()
        self.engine.stop()


class Neo4j:
    name = "neo4j"

    def __init__(self, tmp: Path):
        self.home = tmp / "neo4j"
        self.files = self.home / "data" / "databases" / "neo4j"
        self._start()
        self.store.ensure_schema()

    def _start(self) -> None:
        self.process = Neo4jProcess(self.home).start()
        self.store = store_at(self.process.url)

    def graph_bytes(self) -> int:
        # Community Neo4j has no checkpoint procedure: a clean stop writes the store files out.
        self.stop()
        size = int(subprocess.run(["du", "-sb", str(self.files)], capture_output=True, text=True,
                                  check=True).stdout.split()[0])
        self._start()
        return size

    def resident_bytes(self) -> int | None:
        return None  # a JVM's heap and page cache are sized by configuration, not by the graph

    def stop(self) -> None:
        self.store.close()
        self.process.stop()


def log_bytes(log: EventLog, path: Path) -> int:
    log.db.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def run(engine, tmp: Path, args, keep_days: float | None) -> list[dict]:
    """One pass over the simulated time on a new engine process; a measurement per chunk."""
    path = tmp / "events.sqlite3"
    log = EventLog(path)
    empty = engine.graph_bytes()
    projector = Projector(log, engine.store)
    copies = args.events // len(TEMPLATES)
    per_chunk = copies // args.chunks
    start = datetime.now(UTC) - timedelta(days=args.days)
    step = timedelta(days=args.days) / copies
    rules = retention.Retention(days=keep_days) if keep_days else None
    steps, ingested = [], 0
    for chunk in range(args.chunks):
        events = seed_runs(range(chunk * per_chunk, (chunk + 1) * per_chunk), start, step)
        began = time.monotonic()
        for group in range(0, len(events), 500):
            prepared = [prepare_event(e) for e in events[group:group + 500]]
            accepted = log.append([(p.digest, p.body, p.kind, p.time) for p in prepared])
            projector.apply([(seq, p.writes) for (seq, new), p in zip(accepted, prepared) if new])
        ingested += len(events)
        now = start + (chunk + 1) * per_chunk * step
        pruned = retention.apply(engine.store, log, rules, now_ms=int(now.timestamp() * 1000)) if rules else None
        graph, logged = engine.graph_bytes() - empty, log_bytes(log, path)
        projector.store = engine.store  # Neo4j was restarted to measure it
        resident = engine.resident_bytes()
        steps.append({"events": ingested, "graphMB": round(graph / MB, 1), "logMB": round(logged / MB, 1),
                      "residentMB": None if resident is None else round(resident / MB, 1),
                      "runs": engine.store.rows("MATCH (r:Run) RETURN count(r)")[0][0],
                      "eventsInLog": log.count(), "snapshotRows": log.snapshot_size(),
                      "seconds": round(time.monotonic() - began, 1),
                      "pruned": pruned.as_dict() if pruned else None})
        print(engine.name, keep_days, json.dumps(steps[-1]), file=sys.stderr)
    log.close()
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", nargs="+", default=["falkordb", "neo4j"], choices=["falkordb", "neo4j"])
    parser.add_argument("--events", type=int, default=45_000, help="events over the whole simulated time")
    parser.add_argument("--chunks", type=int, default=9, help="steps of ingest, each followed by a measurement")
    parser.add_argument("--days", type=float, default=90, help="simulated time the events span")
    parser.add_argument("--retention-days", type=float, default=30, help="the horizon of the run with retention")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="footprint-") as tmp_name:
        for name in args.engines:
            results[name] = {}
            for mode, keep_days in (("keepAll", None), ("retention", args.retention_days)):
                tmp = Path(tmp_name) / name / mode
                tmp.mkdir(parents=True)
                engine = Falkor(tmp) if name == "falkordb" else Neo4j(tmp)
                try:
                    results[name][mode] = run(engine, tmp, args, keep_days)
                finally:
                    engine.stop()
    for name, modes in results.items():
        full, kept = modes["keepAll"][-1], modes["retention"][-1]
        events = full["events"]
        print(f"\n{name}: {events} events over {args.days:g} days, retention {args.retention_days:g} days")
        print("| events | graph MB, all kept | graph MB, retention | resident MB, all kept | resident MB, retention "
              "| log MB, all kept | log MB, retention |")
        print("|---|---|---|---|---|---|---|")
        for a, b in zip(modes["keepAll"], modes["retention"]):
            print(f"| {a['events']} | {a['graphMB']} | {b['graphMB']} | {a['residentMB'] or '-'} | "
                  f"{b['residentMB'] or '-'} | {a['logMB']} | {b['logMB']} |")
        per_event = {mode: 1024 * (last["graphMB"] + last["logMB"]) / events
                     for mode, last in (("keepAll", full), ("retention", kept))}
        print(f"per event at the end: {per_event['keepAll']:.2f} KB all kept, {per_event['retention']:.2f} KB with "
              f"retention ({per_event['retention'] / per_event['keepAll']:.2f}x)")
    print(json.dumps({"args": vars(args), "results": results}))


if __name__ == "__main__":
    main()
