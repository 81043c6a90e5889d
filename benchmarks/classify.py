"""PII scan throughput: the catalog's sampled batch scan against Presidio's analyze() per cell.

Writes a CSV of ``--rows`` rows x 20 columns (personal data and look-alikes, values drawn
from pools made with Faker), then, ``--repeats`` times:

* ``catalog``: ``policies.classify.scan`` on a ``--sample``-row sample read by
  ``policies.sources.read_sample`` (spread over the file): distinct values per column, shape
  checks first and Presidio's checksum recognizers only where a cell could hold an id; timed
  from opening the file to the last column's findings, on one process and on ``--workers``;
* ``per-cell``: ``AnalyzerEngine.analyze()`` called once per cell of the same sample (the
  same analyzer and recognizers, no batching, no de-duplication), the way a naive scanner
  calls Presidio.

Cells/s counts sampled cells; medians are printed with the ratios, and each repeat lists the
column findings per-cell Presidio makes (half the cells matching) that the catalog lacks.

    python benchmarks/classify.py [--rows 1000000] [--sample 1000] [--repeats 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
from collections import Counter
import sys
import tempfile
import time
from pathlib import Path

from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies.classify import scan
from policies.entities import IGNORED_PRESIDIO
from policies.recognizers import LANGUAGE, build_analyzer
from policies.sources import read_sample

POOL = 5000


def pools(fake: Faker, rng: random.Random) -> dict[str, list[str]]:
    def many(make):
        return [str(make()) for _ in range(POOL)]
    return {
        "customer_id": [str(i) for i in rng.sample(range(10**8, 10**9), POOL)],
        "full_name": many(fake.name), "email": many(fake.email), "phone": many(fake.phone_number),
        "iban": many(fake.iban), "card_number": many(fake.credit_card_number), "ip_address": many(fake.ipv4),
        "date_of_birth": many(lambda: fake.date_of_birth().isoformat()), "city": many(fake.city),
        "street_address": many(fake.street_address), "notes": many(lambda: fake.sentence(nb_words=12)),
        "order_ref": [f"SCN-{rng.randint(100, 10**10)}" for _ in range(POOL)],
        "email_verified": ["0", "1"], "amount": [f"{rng.random() * 500:.2f}" for _ in range(POOL)],
        "order_date": many(lambda: fake.date_this_decade().isoformat()), "status": ["new", "paid", "shipped"],
        "product_name": many(fake.catch_phrase), "company": many(fake.company),
        "sku": [f"SKU-{rng.randint(10**7, 10**8)}" for _ in range(POOL)], "page_views": [str(i) for i in range(POOL)],
    }


def write_csv(path: Path, rows: int) -> None:
    fake = Faker(["en_US", "de_DE", "fr_FR"])
    fake.seed_instance(1)
    rng = random.Random(1)
    columns = pools(fake, rng)
    names = list(columns)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for start in range(0, rows, 10_000):
            writer.writerows([[rng.choice(columns[n]) for n in names] for _ in range(min(10_000, rows - start))])


def per_cell(sample) -> tuple[float, set[str]]:
    """Seconds, and the column:entity pairs where half the non-empty cells matched (score >= 0.5)."""
    analyzer = build_analyzer()
    started = time.perf_counter()
    found = set()
    for name, values in sample.columns.items():
        counts: Counter = Counter()
        present = [v for v in values if v is not None]
        for value in present:
            counts.update({r.entity_type for r in analyzer.analyze(value, language=LANGUAGE, context=[name])
                           if r.score >= 0.5 and r.entity_type not in IGNORED_PRESIDIO})
        found |= {f"{name}:{entity}" for entity, n in counts.items() if present and n >= 0.5 * len(present)}
    return time.perf_counter() - started, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    build_analyzer()  # load once, outside the timings
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.csv"
        started = time.perf_counter()
        write_csv(path, args.rows)
        print(f"wrote {args.rows:,} rows x 20 columns ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        ours, parallel, naive = [], [], []
        for repeat in range(args.repeats):
            started = time.perf_counter()
            sample = read_sample(str(path), args.sample)
            result = scan(sample)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            scan(read_sample(str(path), args.sample), workers=args.workers)
            parallel.append(time.perf_counter() - started)
            seconds, presidio_found = per_cell(sample)
            naive.append(seconds)
            cells = sum(1 for values in sample.columns.values() for v in values if v is not None)
            found = {f"{c.column}:{f.entity}" for c in result.columns for f in c.findings}
            print(f"repeat {repeat + 1}: catalog {ours[-1]:.2f} s ({args.workers} workers {parallel[-1]:.2f} s), "
                  f"per-cell {naive[-1]:.2f} s, {cells} cells; findings {sorted(found)}; per-cell findings "
                  f"the catalog lacks: {sorted(presidio_found - found) or 'none'}", flush=True)
    ours_s, parallel_s, naive_s = statistics.median(ours), statistics.median(parallel), statistics.median(naive)
    print(f"\nmedian over {args.repeats}: {cells} sampled cells of {args.rows * 20:,}")
    print(f"  catalog scan, 1 process:             {ours_s:.2f} s = {cells / ours_s:,.0f} cells/s")
    print(f"  catalog scan, {args.workers} workers:           {parallel_s:.2f} s = {cells / parallel_s:,.0f} cells/s")
    print(f"  Presidio analyze() per cell:         {naive_s:.2f} s = {cells / naive_s:,.0f} cells/s")
    print(f"  ratio: {naive_s / ours_s:.1f}x (1 process), {naive_s / parallel_s:.1f}x ({args.workers} workers)")


if __name__ == "__main__":
    main()
