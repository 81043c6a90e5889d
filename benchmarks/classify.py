"""PII scan throughput: the catalog's sampled batch scan against Presidio's analyze() per cell.

Writes a CSV of ``--rows`` rows x 20 columns (personal data and look-alikes, values drawn
from pools made with Faker), then, ``--repeats`` times:

* ``catalog``: ``policies.classify.scan`` on a ``--sample``-row sample read by
  ``policies.sources.read_sample`` (spread over the file): distinct values per column through
  Presidio's BatchAnalyzerEngine with the column name as context; timed from opening the
  file to the last column's findings;
* ``per-cell``: ``AnalyzerEngine.analyze()`` called once per cell of the same sample (the
  same analyzer and recognizers, no batching, no de-duplication), the way a naive scanner
  calls Presidio.

Cells/s counts sampled cells; medians are printed with the ratio of the two.

    python benchmarks/classify.py [--rows 1000000] [--sample 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies.classify import scan
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


def per_cell(sample) -> float:
    analyzer = build_analyzer()
    started = time.perf_counter()
    for name, values in sample.columns.items():
        for value in values:
            if value is not None:
                analyzer.analyze(value, language=LANGUAGE, context=[name])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    build_analyzer()  # load once, outside the timings
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.csv"
        started = time.perf_counter()
        write_csv(path, args.rows)
        print(f"wrote {args.rows:,} rows x 20 columns ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        ours, naive = [], []
        for repeat in range(args.repeats):
            started = time.perf_counter()
            sample = read_sample(str(path), args.sample)
            result = scan(sample)
            ours.append(time.perf_counter() - started)
            naive.append(per_cell(sample))
            cells = sum(1 for values in sample.columns.values() for v in values if v is not None)
            found = sorted(f"{c.column}:{f.entity}" for c in result.columns for f in c.findings)
            print(f"repeat {repeat + 1}: catalog {ours[-1]:.2f} s, per-cell {naive[-1]:.2f} s, {cells} cells; "
                  f"findings {found}", flush=True)
    ours_s, naive_s = statistics.median(ours), statistics.median(naive)
    print(f"\nmedian over {args.repeats}: {cells} sampled cells of {args.rows * 20:,}")
    print(f"  catalog scan (sample + batch engine): {ours_s:.2f} s = {cells / ours_s:,.0f} cells/s")
    print(f"  Presidio analyze() per cell:          {naive_s:.2f} s = {cells / naive_s:,.0f} cells/s")
    print(f"  ratio: {naive_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
