"""Anonymization throughput and memory: `catalog anonymize`'s streaming run against Presidio's
anonymizer applied per cell.

Writes a customers-like CSV of each size in ``--rows`` (id, name, email, phone, address,
city_id, created_at; every email unique), then, ``--repeats`` times per size:

* ``catalog``: ``policies.anonymize.anonymize_file`` with a policy that tokenizes names,
  hashes emails (HMAC), masks phones, redacts addresses and generalizes dates, CSV in, CSV
  out, in a fresh child process whose peak RSS is reported;
* ``per-cell``: Presidio's ``AnonymizerEngine.anonymize()`` called once per cell of the
  same five columns (entity spans given, so no analysis; hash, mask, redact, replace), on
  the first ``--baseline-rows`` rows of the file, as a script would with Presidio alone.

Peak memory is the child's VmHWM (peak RSS since its exec), so it covers the whole run:
reading, operators, writing.

Prints medians of rows/s and peak memory, and the ratio of the two rows/s.

    python benchmarks/anonymize.py [--rows 1000000 10000000] [--repeats 3] [--baseline-rows 20000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies.anonymize import anonymize_file, make_plan, read_columns  # noqa: E402
from policies.operators import Keyring, Vaults  # noqa: E402
from policies.policy import DatasetFacts  # noqa: E402
from policies.policy_files import parse_policy  # noqa: E402

POLICY = """\
name: bench
secrets: {k: {env: BENCH_KEY}}
rules:
  - name: customers
    entities:
      PERSON: {operator: tokenize, key: k}
      EMAIL_ADDRESS: {operator: hash, key: k}
      PHONE_NUMBER: {operator: mask, keep_last: 2}
      LOCATION: {operator: redact}
    columns:
      created_at: {operator: generalize, date: month}
"""
ENTITIES = {"name": ["PERSON"], "email": ["EMAIL_ADDRESS"], "phone": ["PHONE_NUMBER"], "address": ["LOCATION"]}
KEY = {"BENCH_KEY": "benchmark-key-0123456789abcdef"}
FIRST = ["Anna", "Ben", "Chloé", "Daan", "Emma", "Finn", "Greta", "Hugo", "Inès", "Jan", "Kai", "Lena", "Mo", "Nora"]
LAST = ["de Vries", "Martin", "Müller", "Rossi", "García", "Nowak", "Jansen", "Dubois", "Smith", "O'Brien"]
CHUNK = 1_000_000


def write_input(path: Path, rows: int) -> None:
    """Generated with Arrow compute in chunks, so 10M rows take seconds, not minutes."""
    writer = None
    for start in range(0, rows, CHUNK):
        ids = pa.array(range(start, min(rows, start + CHUNK)), pa.int64())
        text = pc.cast(ids, pa.string())
        first = pc.take(pa.array(FIRST), pc.cast(pc.divide(ids, 7), pa.int64()).to_numpy() % len(FIRST))
        last = pc.take(pa.array(LAST), ids.to_numpy() % len(LAST))
        batch = pa.record_batch({
            "id": text,
            "name": pc.binary_join_element_wise(first, last, " "),
            "email": pc.binary_join_element_wise("customer", text, "@example.com", ""),
            "phone": pc.binary_join_element_wise("+49 30 ", pc.cast(pc.add(ids, 1_000_000), pa.string()), ""),
            "address": pc.binary_join_element_wise(pc.cast(pc.add(pc.cast(ids, pa.int64()).to_numpy() % 300, 1),
                                                           pa.string()), "Market Street", " "),
            "city_id": pc.cast(pa.array(ids.to_numpy() % 40), pa.string()),
            "created_at": pa.array([f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00" for i in range(len(ids))]),
        })
        if writer is None:
            writer = pv.CSVWriter(path, batch.schema)
        writer.write_batch(batch)
    writer.close()


def _catalog_run(source: str, target: str, queue) -> None:
    policy = parse_policy(POLICY)
    source_path = Path(source)
    plan = make_plan(policy, DatasetFacts("bench", "customers"), read_columns(source_path), ENTITIES)
    keyring = Keyring(policy.secrets, environ=KEY)
    started = time.perf_counter()
    result = anonymize_file(plan, source_path, Path(target), keyring, Vaults({}, keyring))
    queue.put((result["rows"], time.perf_counter() - started, peak_rss()))


def peak_rss() -> int:
    """This process's peak resident memory since exec (VmHWM; ru_maxrss would include the parent's at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def catalog_run(source: Path, target: Path) -> tuple[int, float, int]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_catalog_run, args=(str(source), str(target), queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def per_cell_run(source: Path, rows: int) -> tuple[int, float]:
    from presidio_analyzer import RecognizerResult
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig

    batches, count = [], 0
    with pv.open_csv(source, read_options=pv.ReadOptions(block_size=1 << 20)) as reader:
        for batch in reader:  # only the first rows: the parent's memory stays small
            batches.append(batch)
            count += batch.num_rows
            if count >= rows:
                break
    table = pa.Table.from_batches(batches).slice(0, rows)
    engine = AnonymizerEngine()
    operators = {
        "PERSON": OperatorConfig("hash", {"hash_type": "sha256", "salt": KEY["BENCH_KEY"]}),
        "EMAIL_ADDRESS": OperatorConfig("hash", {"hash_type": "sha256", "salt": KEY["BENCH_KEY"]}),
        "PHONE_NUMBER": OperatorConfig("mask", {"masking_char": "*", "chars_to_mask": 100, "from_end": False}),
        "LOCATION": OperatorConfig("redact", {}),
        "DATE_TIME": OperatorConfig("replace", {"new_value": "2024-01"}),
    }
    columns = {**{c: e[0] for c, e in ENTITIES.items()}, "created_at": "DATE_TIME"}
    values = {c: [str(v) for v in table[c].to_pylist()] for c in columns}
    started = time.perf_counter()
    for column, entity in columns.items():
        for value in values[column]:
            engine.anonymize(text=value, analyzer_results=[RecognizerResult(entity, 0, len(value), 1.0)],
                             operators=operators)
    return table.num_rows, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            source, target = Path(tmp) / f"customers-{rows}.csv", Path(tmp) / "out.csv"
            started = time.perf_counter()
            write_input(source, rows)
            print(f"\n{rows:,} rows, {os.path.getsize(source) / 1e6:,.0f} MB CSV "
                  f"(written in {time.perf_counter() - started:.1f} s)", flush=True)
            ours, peaks, baseline = [], [], []
            for repeat in range(args.repeats):
                done, seconds, peak = catalog_run(source, target)
                assert done == rows
                ours.append(rows / seconds)
                peaks.append(peak)
                counted, base_seconds = per_cell_run(source, args.baseline_rows)
                baseline.append(counted / base_seconds)
                print(f"  repeat {repeat + 1}: catalog {rows / seconds:,.0f} rows/s, peak {peak / 2**20:,.0f} MiB; "
                      f"per-cell Presidio {counted / base_seconds:,.0f} rows/s", flush=True)
            print(f"  median: catalog {statistics.median(ours):,.0f} rows/s (peak RSS "
                  f"{statistics.median(peaks) / 2**20:,.0f} MiB), per-cell Presidio {statistics.median(baseline):,.0f} "
                  f"rows/s; ratio {statistics.median(ours) / statistics.median(baseline):,.1f}x", flush=True)


if __name__ == "__main__":
    main()
