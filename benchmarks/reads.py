"""Read requests/s under load on the demo graph: GraphQL and the REST view, lineage at depth 1.

Starts ``catalog serve --demo`` (embedded FalkorDB, or the graph at ``--graph-url``; --no-auth) on a fresh
data directory and drives it with wrk (``--connections`` connections, ``--seconds`` per measurement):

* GraphQL: POST /graphql of ``lineage(nodeId: ..., depth: 1)`` with nodes and edges;
* REST: GET /api/v1/lineage?nodeId=...&depth=1 (the Marquez-shaped view);
* with ``--floor``, also GraphQL ``{ __typename }``: the same HTTP, middleware and GraphQL steps with no
  engine work, which bounds what any read can reach on this machine;
* with ``--dataset``, also GraphQL ``dataset(...)`` with its fields, tags, owners and classifications: five
  reads batched by the request's DataLoaders.

``--workers 1 2`` starts one server per count (``catalog serve --workers N``: N processes on
one port). With ``--baseline REF`` one more server runs the code of that git commit (a
worktree, one process). Each repeat measures every server, interleaved, so that machine noise
hits all alike; the ratios are each server's over the first one's, per repeat. Reported:
medians of requests/s, p50 and p99 latency, and the CPU time per request of the server's processes and of
the embedded engine it started (read from /proc around each run: steadier than requests/s on a noisy machine);
non-2xx answers fail the run.

    python benchmarks/reads.py [--seconds 10] [--connections 8] [--repeats 3] [--workers 1 2] [--baseline HEAD~1]
                               [--floor] [--dataset] [--graph-url bolt://127.0.0.1:7687]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import ServerProcess  # noqa: E402

NODE = "dataset:food_delivery:public.orders"
GRAPHQL = {"query": "query($id: String!) { lineage(nodeId: $id, depth: 1) { nodes { id type } "
                    "edges { origin destination } isPartial } }", "variables": {"id": NODE}}
REST = f"/api/v1/lineage?nodeId={NODE}&depth=1"
FLOOR = {"query": "{ __typename }"}
DATASET = {"query": "query($ns: String!, $n: String!) { dataset(namespace: $ns, name: $n) { id name "
                    "fields { name type } tags owners { name } classifications { entity } } }",
           "variables": {"ns": "food_delivery", "n": "public.orders"}}


def wrk(url: str, connections: int, seconds: int, body: Path | None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-s", str(REPO / "benchmarks" / "post_body.lua"), url, "--", str(body)] if body else [url]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    latency = {line.split()[0]: line.split()[1] for line in out.splitlines() if line.strip()[:3] in ("50%", "99%")}
    return {"rps": float(out.split("Requests/sec:")[1].split()[0]),
            "p50": _ms(latency["50%"]), "p99": _ms(latency["99%"])}


def cpu_seconds(root: int) -> dict[str, float]:
    """CPU seconds used so far by a server's processes (``root`` and its workers) and by its embedded engine."""
    used = {"server": 0.0, "engine": 0.0}
    pending = [root]
    while pending:
        pid = pending.pop()
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            children = [Path(task, "children").read_text().split() for task in Path(f"/proc/{pid}/task").iterdir()]
        except (FileNotFoundError, ProcessLookupError):  # it ended meanwhile
            continue
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        used["engine" if name.startswith("redis-server") else "server"] += \
            (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        pending += [int(child) for listed in children for child in listed]
    return used


def measured(server: ServerProcess, path: str, connections: int, seconds: int, body: Path | None) -> dict:
    """One wrk run against ``server``, with the CPU milliseconds per request its processes and engine spent."""
    before = cpu_seconds(server.proc.pid)
    result = wrk(server.url + path, connections, seconds, body)
    after = cpu_seconds(server.proc.pid)
    requests = result["rps"] * seconds
    return result | {f"{part} ms": (after[part] - before[part]) * 1000 / requests for part in after}


def _ms(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    raise ValueError(text)


def start(tmp: Path, name: str, code: Path | None, workers: int = 1, graph_url: str | None = None) -> ServerProcess:
    args = (("--workers", str(workers)) if workers > 1 else ()) + (("--graph-url", graph_url) if graph_url else ())
    server = ServerProcess(tmp / name.replace(" ", "-"), "--demo", *args, code=code).start(timeout=120)
    # Same answers from both, before timing anything.
    httpx.post(server.url + "/graphql", json=GRAPHQL, timeout=30).raise_for_status()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1], metavar="N",
                        help="serve with N processes (one server per value given)")
    parser.add_argument("--baseline", metavar="REF", help="also run this git commit's server, for ratios")
    parser.add_argument("--floor", action="store_true",
                        help="also measure GraphQL `{ __typename }`: every step of a read but the engine's")
    parser.add_argument("--graph-url", metavar="URL",
                        help="serve from this graph (e.g. the bolt:// URL scripts/neo4j.sh prints) instead of the "
                             "embedded FalkorDB; every server shares it")
    parser.add_argument("--dataset", action="store_true",
                        help="also measure GraphQL `dataset(...)` with its fields, tags, owners and classifications "
                             "(five batched reads)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reads-") as tmp_name:
        tmp = Path(tmp_name)
        body, floor, dataset = tmp / "graphql.json", tmp / "floor.json", tmp / "dataset.json"
        body.write_text(json.dumps(GRAPHQL))
        floor.write_text(json.dumps(FLOOR))
        dataset.write_text(json.dumps(DATASET))
        reads = {"graphql": ("/graphql", body), "rest": (REST, None)}
        if args.floor:
            reads["graphql, no engine"] = ("/graphql", floor)
        if args.dataset:
            reads["graphql dataset"] = ("/graphql", dataset)
        worktree = tmp / "baseline-code"
        if args.baseline:  # first: a bad commit fails the run before any server starts
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), args.baseline],
                           check=True, capture_output=True)
        servers = {}
        try:
            for n in args.workers:
                servers[f"this, {n} process{'es' if n > 1 else ''}"] = start(tmp, f"this {n}", None, n, args.graph_url)
            if args.baseline:
                servers["baseline"] = start(tmp, "baseline", worktree, graph_url=args.graph_url)
            results = {name: {kind: [] for kind in reads} for name in servers}
            for repeat in range(args.repeats):
                for name, server in servers.items():
                    for kind, (path, posted) in reads.items():
                        results[name][kind].append(measured(server, path, args.connections, args.seconds, posted))
                print(f"repeat {repeat + 1}: " + ", ".join(
                    f"{name} {kind} {runs[-1]['rps']:.0f}/s" for name, kinds in results.items()
                    for kind, runs in kinds.items()), file=sys.stderr)
        finally:
            for server in servers.values():
                server.stop()
            if args.baseline:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], check=False)
    first = next(iter(results))
    print(f"| server | read | requests/s | p50 ms | p99 ms | server CPU ms/request | engine CPU ms/request "
          f"| / {first} |")
    print("|---|---|---|---|---|---|---|---|")
    for name, kinds in results.items():
        for kind, runs in kinds.items():
            ratio = statistics.median(a["rps"] / b["rps"] for a, b in zip(runs, results[first][kind]))
            rps, p50, p99, server_ms, engine_ms = (statistics.median(r[measure] for r in runs) for measure in
                                                   ("rps", "p50", "p99", "server ms", "engine ms"))
            engine = f"{engine_ms:.2f}" if engine_ms else "- (not a child)"
            print(f"| {name} | {kind} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {server_ms:.2f} | {engine} | {ratio:.2f}x |")
    print(json.dumps({"args": vars(args), "results": results}))


if __name__ == "__main__":
    main()
