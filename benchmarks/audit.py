"""Audit time on a generated catalog of 100K datasets, on the embedded engine.

The catalog: ``--datasets`` datasets in 10 namespaces, 5 fields each; 20% hold personal data
(a scanned classification, 1 in 10 of them special category), a tenth of those pass it on
along column lineage to another dataset (propagated classification with its path); governance
attributes, owners, scans and writes (2020-2024) on a share of them. One policy with
retention, allowed locations and a require-anonymized rule.

Timed, ``--repeats`` times, medians printed:

* ``audit``: ``policies.audit.audit`` end to end (count, snapshot in bulk queries, every rule
  on every dataset, lineage paths of the findings);
* ``record``: ``policies.audit_runs.record_run`` (compare with the previous run, governance
  log entry, findings written to the graph);
* baseline ``per-dataset reads``: what the audit would cost reading each dataset on its own
  (``registry.dataset_facts`` + owners + writes: 5 queries per dataset, as a resolver-style
  implementation would), timed on ``--baseline-sample`` datasets and scaled to all of them.

With ``--keep-audits N``, audit retention runs after each record (catalog.retention.expire_audits,
with a horizon that makes every earlier run old enough): only the newest N runs and their
findings stay, as with ``--audit-retention-days`` shorter than the time between audits. Each
repeat's times are printed, to see whether consecutive audits slow down.

With ``--propagation``, classification propagation (``policies.propagate.propagate``, what the server
re-runs after column lineage arrives) is timed instead, ``--repeats`` times on the same catalog: the first
run writes what the generated catalog lacks, the others find nothing to change.

    python benchmarks/audit.py [--datasets 100000] [--repeats 3] [--baseline-sample 2000] [--keep-audits 2]
    python benchmarks/audit.py --propagation [--datasets 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalog.engine import EmbeddedEngine  # noqa: E402
from catalog.govlog import GovernanceLog  # noqa: E402
from catalog.retention import expire_audits  # noqa: E402
from catalog.store import reads  # noqa: E402
from catalog.store.falkor_backend import FalkorStore  # noqa: E402
from policies import audit_runs, registry  # noqa: E402
from policies.audit import audit  # noqa: E402
from policies.policy_files import parse_policy  # noqa: E402
from policies.propagate import propagate  # noqa: E402

BATCH = 20_000
DAY = 86_400_000
POLICY = """
name: bench
rules:
  - name: personal
    applies_to: {classifications: [contact, identity, health]}
    retention_days: 1095
    allowed_locations: [EU, EEA]
  - name: analytics
    applies_to: {datasets: ["ns9/*"]}
    require_anonymized: true
"""


def _unwind(store: FalkorStore, cypher: str, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        store.query("UNWIND $rows AS r " + cypher, {"rows": rows[start:start + BATCH]})


def generate(store: FalkorStore, n: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    datasets, fields, classes, owners, runs, derives = [], [], [], [], [], []
    t0 = 1577836800000  # 2020-01-01
    for i in range(n):
        ns, name = f"ns{i % 10}", f"table_{i}"
        key = f"dataset:{ns}:{name}"
        personal = rng.random() < 0.2
        props = {"key": key, "namespace": ns, "name": name}
        if rng.random() < 0.6:
            props["scannedAt"] = t0
        if personal and rng.random() < 0.7:
            props.update(gov_legalBasis="contract", gov_retentionDays=rng.choice([365, 1095, 3650]),
                         gov_storageCountry=rng.choice(["DE", "FR", "IE", "US", "NO"]))
        datasets.append(props)
        for c in range(5):
            fields.append({"key": f"datasetField:{ns}:{name}:c{c}", "dataset": key, "name": f"c{c}"})
        if rng.random() < 0.5:
            owners.append({"key": key, "owner": f"owner:team{i % 50}", "name": f"team{i % 50}"})
        if personal:
            special = rng.random() < 0.1
            field = f"datasetField:{ns}:{name}:c0"
            classes.append({"key": f"classification:{field}:EMAIL_ADDRESS", "field": field, "dataset": key,
                            "entity": "HEALTH" if special else "EMAIL_ADDRESS",
                            "category": "health" if special else "contact", "special": special, "origin": "scan",
                            "state": "suggested", "path": None})
            runs.append({"key": f"run:{uuid.UUID(int=rng.getrandbits(128))}", "job": f"job:{ns}:load_{i}",
                         "dataset": key, "at": t0 + rng.randrange(5 * 365) * DAY})
            if rng.random() < 0.1 and i + 1 < n:
                target_ns, target = f"ns{(i + 1) % 10}", f"table_{i + 1}"
                dst = f"datasetField:{target_ns}:{target}:c1"
                derives.append({"src": field, "dst": dst, "job": f"job:{target_ns}:load_{i + 1}"})
                classes.append({"key": f"classification:{dst}:EMAIL_ADDRESS", "field": dst,
                                "dataset": f"dataset:{target_ns}:{target}", "entity": "EMAIL_ADDRESS",
                                "category": "contact", "special": False, "origin": "propagated",
                                "state": "suggested", "path": json.dumps([field, dst])})
    _unwind(store, "CREATE (d:Dataset) SET d = r", datasets)
    _unwind(store, "MATCH (d:Dataset {key: r.dataset}) CREATE (d)-[:HAS_FIELD]->(f:Field) "
                   "SET f.key = r.key, f.dataset = r.dataset, f.name = r.name", fields)
    _unwind(store, "MATCH (f:Field {key: r.field}) CREATE (f)-[:CLASSIFIED_AS]->(c:Classification) SET c = r", classes)
    _unwind(store, "MATCH (d:Dataset {key: r.key}) MERGE (o:Owner {key: r.owner}) ON CREATE SET o.name = r.name "
                   "CREATE (o)-[:OWNS]->(d)", owners)
    _unwind(store, "MATCH (d:Dataset {key: r.dataset}) CREATE (x:Run {key: r.key, job: r.job}) "
                   "CREATE (x)-[:WROTE {firstSeen: r.at, lastSeen: r.at}]->(d)", runs)
    _unwind(store, "MATCH (a:Field {key: r.src}) MATCH (b:Field {key: r.dst}) "
                   "CREATE (b)-[:DERIVES_FROM {job: r.job, masking: false}]->(a)", derives)
    return {"datasets": n, "fields": len(fields), "classifications": len(classes), "writes": len(runs),
            "column_edges": len(derives)}


def per_dataset_reads(store: FalkorStore, keys: list[str]) -> float:
    start = time.perf_counter()
    for key in keys:
        registry.dataset_facts(store, key)
        reads.owners_of(store, "Dataset", [key])
        store.query("MATCH (r:Run)-[w:WROTE]->(:Dataset {key: $k}) RETURN r.key, w.firstSeen", {"k": key},
                    read_only=True)
    return time.perf_counter() - start


def time_propagation(store: FalkorStore, repeats: int) -> None:
    times = []
    for repeat in range(repeats):
        started = time.perf_counter()
        stats = propagate(store)
        times.append(time.perf_counter() - started)
        print(f"repeat {repeat + 1}: propagation {times[-1]:.2f} s, {stats}", flush=True)
    print(f"first run {times[0]:.2f} s; later runs (nothing to change) median {statistics.median(times[1:]):.2f} s"
          if repeats > 1 else f"one run {times[0]:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-sample", type=int, default=2000)
    parser.add_argument("--keep-audits", type=int, help="prune audit runs after each record, keeping the newest N")
    parser.add_argument("--propagation", action="store_true", help="time classification propagation instead")
    args = parser.parse_args()
    policy = parse_policy(POLICY, "bench.yaml")
    with tempfile.TemporaryDirectory() as tmp, EmbeddedEngine(Path(tmp) / "engine") as engine:
        store = FalkorStore("127.0.0.1", engine.port, graph="bench-audit", timeout=600)
        store.ensure_schema()
        started = time.perf_counter()
        shape = generate(store, args.datasets)
        print(f"generated {shape} in {time.perf_counter() - started:.1f} s", flush=True)
        if args.propagation:
            return time_propagation(store, args.repeats)
        log = GovernanceLog(Path(tmp) / "governance.sqlite3")
        audits, records, baselines, found = [], [], [], 0
        sample = [f"dataset:ns{i % 10}:table_{i}" for i in random.Random(1).sample(range(args.datasets),
                                                                                  args.baseline_sample)]
        for repeat in range(args.repeats):
            started = time.perf_counter()
            result = audit(store, [policy])
            audits.append(time.perf_counter() - started)
            started = time.perf_counter()
            run = audit_runs.record_run(store, log, "bench", result)
            if args.keep_audits is not None:
                expire_audits(store, int(time.time() * 1000) + 1, args.keep_audits)
            records.append(time.perf_counter() - started)
            found = len(result.findings)
            baselines.append(per_dataset_reads(store, sample) * args.datasets / len(sample))
            print(f"repeat {repeat + 1}: audit {audits[-1]:.2f} s, record {records[-1]:.2f} s, "
                  f"{found} findings ({run['new']} new, {run['unchanged']} unchanged), "
                  f"per-dataset reads (scaled) {baselines[-1]:.1f} s", flush=True)
        log.close()
    audit_s, record_s, base_s = (statistics.median(x) for x in (audits, records, baselines))
    print("\n| datasets | findings | audit (median) | record (median) | total | per-dataset reads, scaled | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.datasets:,} | {found:,} | {audit_s:.2f} s | {record_s:.2f} s | {audit_s + record_s:.2f} s "
          f"| {base_s:.1f} s | {base_s / audit_s:.1f}x |")


if __name__ == "__main__":
    main()
