"""Scanning a whole database for personal data: every table, a bounded sample of each, the
columns classified in parallel, and each table named as OpenLineage names it, so its findings
land on the dataset its pipelines already reported."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from policies.classify import DEFAULT_PHONE_REGIONS, MIN_RATIO, ScanContext, ScanResult, classify_columns, \
    phone_regions
from policies.recognizers import build_analyzer
from policies.sources import Sample, SourceError, engine_url, list_tables, openlineage_dataset, read_sql


@dataclass
class TableSample:
    table: str
    sample: Sample
    seconds: float  # to sample it


@dataclass
class TableScan:
    table: str
    namespace: str
    name: str
    result: ScanResult


def tables_to_scan(url: str, schema: str | None = None) -> list[str]:
    """The tables of ``url`` (in ``schema``); none is an error."""
    tables = list_tables(url, schema)
    if not tables:
        raise SourceError(f"{url}: no tables" + (f" in schema {schema!r}" if schema else ""))
    return tables


def sample_tables(url: str, tables: list[str], sample_rows: int,
                  on_sampled: Callable[[int], None] | None = None) -> list[TableSample]:
    """A bounded sample of each table, over one connection pool; ``on_sampled`` gets 1 per table."""
    import sqlalchemy as sa

    engine = sa.create_engine(engine_url(url))
    samples = []
    try:
        for table in tables:
            started = time.perf_counter()
            sample = read_sql(url, table, sample_rows, engine)
            samples.append(TableSample(table, sample, time.perf_counter() - started))
            if on_sampled:
                on_sampled(1)
    finally:
        engine.dispose()
    return samples


def classify_tables(url: str, samples: list[TableSample], *, model: str | None = None,
                    min_ratio: float = MIN_RATIO, default_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS,
                    namespace: str | None = None, workers: int = 1,
                    on_column: Callable[[int], None] | None = None) -> list[TableScan]:
    """Every column of every sample on ``workers`` processes; ``on_column`` gets 1 per column.
    ``namespace`` replaces the one the URL gives (a database reached through a tunnel is
    catalogued under its real address)."""
    if model:
        build_analyzer(model)
    contexts = [ScanContext(phone_regions(s.sample, default_regions), model, min_ratio) for s in samples]
    tasks = [(column, values, context) for s, context in zip(samples, contexts)
             for column, values in s.sample.columns.items()]
    results, started = [], time.perf_counter()
    for result in classify_columns(tasks, workers):
        results.append(result)
        if on_column:
            on_column(1)
    classified = time.perf_counter() - started
    cells = sum(len(values) for _, values, _ in tasks) or 1
    scans, offset = [], 0
    for s, context in zip(samples, contexts):
        columns = results[offset:offset + len(s.sample.columns)]
        offset += len(s.sample.columns)
        ol_namespace, ol_name = openlineage_dataset(url, s.table)
        # Its sampling time and its cells' share of the parallel classification.
        seconds = s.seconds + classified * sum(map(len, s.sample.columns.values())) / cells
        scans.append(TableScan(s.table, namespace or ol_namespace, ol_name, ScanResult(
            s.sample.source, s.sample.rows, round(seconds, 3), model, columns, list(context.regions))))
    return scans


def scan_database(url: str, *, schema: str | None = None, sample_rows: int = 1000, **options) -> list[TableScan]:
    """Sample and classify every table of ``url`` (in ``schema``); options as :func:`classify_tables`."""
    return classify_tables(url, sample_tables(url, tables_to_scan(url, schema), sample_rows), **options)
