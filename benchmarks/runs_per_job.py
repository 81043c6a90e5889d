"""Lineage reads of a job with many runs: how the latest-run lookup grows with the runs kept.

Writes COMPLETE events of one job (``n.hourly``, reading ``n.in`` and writing ``n.out``) into the embedded
FalkorDB through the catalog's write path, each with a new run, and after each step times, on the same graph:

* the REST view at depth 1 of ``n.out`` (``catalog.lineage.marquez_plan``: its jobs come with their latest run);
* the latest-run read GraphQL's ``latestRun`` uses (``catalog.store.reads.latest_runs_read``);
* the latest-version read of ``n.out`` (each run writes a version of it) that the dataset views use
  (``catalog.store.reads.latest_version_read``), and beside it, on the same graph, the statement it replaced,
  which sorts all the dataset's versions.

Jobs and datasets keep a pointer to their latest run and version, so none should grow with the runs. With
``--baseline REF`` the same script of that commit (a git worktree) runs first, on its own engine, and the
table gives both with ratios.

    python benchmarks/runs_per_job.py [--runs 1 1000 10000 50000] [--repeats 30] [--baseline REF]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from catalog.engine import EmbeddedEngine  # noqa: E402
from catalog.lineage import marquez_plan  # noqa: E402
from catalog.store.falkor_backend import FalkorStore  # noqa: E402
from catalog.store.reads import latest_runs_read, latest_version_read  # noqa: E402
from ingestors.openlineage import GraphWrites, canonical_json, event_hash, map_event  # noqa: E402

# How a dataset's latest version was read before datasets kept it: every version, sorted.
VERSION_BY_SORTING = ("MATCH (:Dataset {key: $key})-[:HAS_VERSION]->(v:DatasetVersion) "
                      "RETURN v {.*} AS v ORDER BY v.lastSeen DESC, v.key DESC LIMIT 1")
WRITE_GROUP = 2000  # events per write, as a batch post makes them


def run_event(n: int) -> dict:
    return {"eventType": "COMPLETE", "eventTime": f"2024-01-{1 + n // 86400 % 28:02d}T{n // 3600 % 24:02d}:"
            f"{n // 60 % 60:02d}:{n % 60:02d}Z", "producer": "https://example.com/bench",
            "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "n", "name": "hourly"},
            "inputs": [{"namespace": "n", "name": "in"}], "outputs": [{"namespace": "n", "name": "out"}]}


def write_runs(store: FalkorStore, first: int, count: int) -> None:
    for start in range(first, first + count, WRITE_GROUP):
        writes = GraphWrites()
        for n in range(start, min(start + WRITE_GROUP, first + count)):
            event = run_event(n)
            map_event(event, event_hash(canonical_json(event)), writes)
        store.execute_writes(store.prepare(writes))


def median_ms(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def measure(runs_at: list[int], repeats: int) -> list[tuple[int, float, float, float, float]]:
    """(runs of the job, REST view ms, latest-run read ms, latest-version read ms, the same by sorting ms) at each
    run count, medians of ``repeats``."""
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = EmbeddedEngine(Path(tmp)).start()
        try:
            store = FalkorStore("127.0.0.1", engine.port)
            store.ensure_schema()
            written = 0
            for runs in runs_at:
                write_runs(store, written, runs - written)
                written = runs
                rest = median_ms(lambda: store.run(marquez_plan(store, "dataset:n:out", 1, max_depth=25,
                                                                max_nodes=5000)), repeats)
                latest = median_ms(lambda: store.read(latest_runs_read(["job:n:hourly"])), repeats)
                version = median_ms(lambda: store.read(latest_version_read("dataset:n:out")), repeats)
                sorted_version = median_ms(lambda: store.rows(VERSION_BY_SORTING, {"key": "dataset:n:out"}), repeats)
                found.append((runs, rest, latest, version, sorted_version))
                print(f"| {runs:,} | {rest:.2f} | {latest:.2f} |", file=sys.stderr, flush=True)
        finally:
            engine.stop()
    return found


def measure_baseline(ref: str, runs_at: list[int], repeats: int) -> list[tuple[int, float, float]]:
    """The same measurement by commit ``ref``'s own script, from its table."""
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "baseline-code"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), ref], check=True,
                       capture_output=True)
        try:
            done = subprocess.run([sys.executable, str(worktree / "benchmarks" / "runs_per_job.py"), "--repeats",
                                   str(repeats), "--runs", *map(str, runs_at)], check=True, capture_output=True,
                                  text=True, cwd=worktree)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], check=False)
    found = {}  # its (runs, REST view, latest-run read) rows, whichever output and table they are in
    for line in (done.stdout + "\n" + done.stderr).splitlines():
        cells = line.strip().strip("|").split("|")
        if line.startswith("| ") and line[2].isdigit() and len(cells) == 3:
            runs = int(cells[0].strip().replace(",", ""))
            found.setdefault(runs, (runs, float(cells[1]), float(cells[2])))
    return [found[runs] for runs in runs_at]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 1000, 10000, 50000],
                        help="run counts to measure at, ascending")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--baseline", metavar="REF", help="also measure this git commit's code, for ratios")
    args = parser.parse_args()
    before = measure_baseline(args.baseline, args.runs, args.repeats) if args.baseline else None
    found = measure(args.runs, args.repeats)
    print("| runs of the job | latest-version read (ms) | by sorting the versions (ms) | ratio |\n|---|---|---|---|")
    for runs, _, _, version, sorted_version in found:
        print(f"| {runs:,} | {version:.2f} | {sorted_version:.2f} | {sorted_version / version:.1f}x |")
    print()
    if before is None:
        print("| runs of the job | REST view, depth 1 (ms) | latest-run read (ms) |\n|---|---|---|")
        for runs, rest, latest, _, _ in found:
            print(f"| {runs:,} | {rest:.2f} | {latest:.2f} |")
        return
    print(f"| runs of the job | REST view, depth 1 (ms) | {args.baseline} | ratio | latest-run read (ms) | "
          f"{args.baseline} | ratio |\n|---|---|---|---|---|---|---|")
    for (runs, rest, latest, _, _), (_, rest_before, latest_before) in zip(found, before):
        print(f"| {runs:,} | {rest:.2f} | {rest_before:.2f} | {rest_before / rest:.1f}x | {latest:.2f} | "
              f"{latest_before:.2f} | {latest_before / latest:.1f}x |")


if __name__ == "__main__":
    main()
