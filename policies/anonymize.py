"""Anonymizing data files by policy: the plan (what happens to each column, and why), and the run.

The plan is plain data from the policy, what is known about the dataset and the entity
types of its columns; the GraphQL dry run and ``catalog anonymize`` share it. The run
streams CSV or Parquet in record batches through the column operators into a temporary
file that replaces the output only when everything (including the k-anonymity check)
succeeded, so memory stays flat and a failed run leaves no half-written output.
"""

from __future__ import annotations

import csv
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.parquet as pq

from policies import operators
from policies.policy import ANY_ENTITY, DatasetFacts, KAnonymity, Policy, Rule, applicable_rules
from policies.sources import CsvFormat, SourceError, csv_format

BATCH_ROWS = 65_536
CSV_BLOCK_BYTES = 4 << 20


class AnonymizeError(ValueError):
    pass


@dataclass
class ColumnPlan:
    column: str
    entities: list[str]
    operator: object | None = None
    rule: str | None = None
    entity: str | None = None
    reason: str = ""

    def to_dict(self) -> dict:
        op = self.operator
        return {"column": self.column, "entities": self.entities, "rule": self.rule, "entity": self.entity,
                "operator": op.operator if op else None,
                "parameters": op.model_dump(exclude={"operator"}, exclude_none=True) if op else {},
                "description": operators.describe(op) if op else "kept as is",
                "subtype": operators.SUBTYPES[op.operator] if op else "IDENTITY", "reason": self.reason}


@dataclass
class Plan:
    policy: Policy
    dataset: str
    rules: list[tuple[Rule, list[str]]]
    columns: list[ColumnPlan]
    k_anonymity: list[tuple[str, KAnonymity]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def unprotected(self) -> list[ColumnPlan]:
        """Columns holding personal data that no matching rule anonymizes."""
        return [c for c in self.columns if c.entities and c.operator is None]

    def to_dict(self) -> dict:
        return {"policy": self.policy.name, "version": self.policy.version, "dataset": self.dataset,
                "rules": [{"rule": rule.name, "why": why} for rule, why in self.rules],
                "columns": [c.to_dict() for c in self.columns],
                "kAnonymity": [{"rule": name, **k.model_dump()} for name, k in self.k_anonymity],
                "unprotected": [c.column for c in self.unprotected], "problems": self.problems}


def make_plan(policy: Policy, facts: DatasetFacts, columns: list[str],
              column_entities: dict[str, list[str]]) -> Plan:
    """Per column: a matching rule's column operator, else its operator for the column's first
    entity type that has one (entities in order of confidence), else ``'*'``, else untouched."""
    facts = replace(facts, entities=facts.entities | {e for found in column_entities.values() for e in found})
    rules = applicable_rules(policy, facts)
    planned = []
    for column in columns:
        entities = list(column_entities.get(column, []))
        plan = ColumnPlan(column, entities, reason="no personal data found" if not entities else
                          f"classified {', '.join(entities)}, but no matching rule has an operator for it")
        for rule, _ in rules:
            if column in rule.columns:
                plan.operator, plan.rule, plan.reason = rule.columns[column], rule.name, f"column rule in {rule.name!r}"
                break
        else:
            for entity in entities + ([ANY_ENTITY] if entities else []):
                found = next(((rule, rule.entities[entity]) for rule, _ in rules if entity in rule.entities), None)
                if found:
                    plan.operator, plan.rule = found[1], found[0].name
                    plan.entity = entities[0] if entity == ANY_ENTITY else entity
                    plan.reason = f"classified {plan.entity}; rule {found[0].name!r} " + (
                        "covers any personal data ('*')" if entity == ANY_ENTITY else f"has an operator for {entity}")
                    break
        planned.append(plan)
    problems = []
    k_checks = [(rule.name, rule.k_anonymity) for rule, _ in rules if rule.k_anonymity]
    for name, check in k_checks:
        missing = [c for c in check.quasi_identifiers if c not in columns]
        if missing:
            problems.append(f"rule {name!r}: k-anonymity quasi-identifiers not in the data: {', '.join(missing)}")
    for c in planned:
        by = getattr(c.operator, "by", None)
        if by and by not in columns:
            problems.append(f"column {c.column!r}: date_shift by {by!r}, which is not a column of the data")
    return Plan(policy, f"{facts.namespace}/{facts.name}", rules, planned, k_checks, problems)


# ---------------------------------------------------------------------------- files
def file_format(path: Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise AnonymizeError(f"{path}: unsupported file type {suffix!r}; use .csv, .tsv or .parquet")


def _csv_format(path: Path) -> CsvFormat:
    try:
        return csv_format(path)
    except SourceError as exc:
        raise AnonymizeError(str(exc)) from None


def read_columns(path: Path) -> list[str]:
    """Column names of a CSV (header row) or Parquet file."""
    if file_format(path) == "parquet":
        return pq.ParquetFile(path).schema_arrow.names
    fmt = _csv_format(path)
    with open(path, newline="", encoding=fmt.encoding) as handle:
        header = next(csv.reader(handle, delimiter=fmt.delimiter), None)
    if not header:
        raise AnonymizeError(f"{path}: no header row")
    if len(set(header)) != len(header):
        raise AnonymizeError(f"{path}: duplicate column names in the header")
    return header


def progress_total(path: Path) -> int:
    """What :func:`anonymize_file` reports progress in: bytes of a CSV, rows of a Parquet file."""
    return pq.ParquetFile(path).metadata.num_rows if file_format(path) == "parquet" else os.path.getsize(path)


class _Reader:
    """Record batches of a file, and how far through it they are (bytes for CSV, rows for Parquet)."""

    def __init__(self, path: Path, columns: list[str], batch_rows: int, csv_block_bytes: int):
        self.format = file_format(path)
        self.delimiter = ","  # of a CSV source; what a CSV written from a Parquet source uses
        if self.format == "parquet":
            self._file = pq.ParquetFile(path)
            self.schema = self._file.schema_arrow
            self._batches = self._file.iter_batches(batch_size=batch_rows)
        else:
            self.schema = pa.schema([(c, pa.string()) for c in columns])
            fmt = _csv_format(path)
            self.delimiter = fmt.delimiter
            self._handle = open(path, "rb")
            self._batches = pv.open_csv(
                self._handle, read_options=pv.ReadOptions(block_size=csv_block_bytes, encoding=fmt.encoding),
                parse_options=pv.ParseOptions(delimiter=fmt.delimiter, newlines_in_values=True),
                # Everything as text: zip codes keep their leading zeros, ids their format.
                convert_options=pv.ConvertOptions(column_types={c: pa.string() for c in columns},
                                                  strings_can_be_null=True))

    def __iter__(self):
        rows = 0
        for batch in self._batches:
            rows += len(batch)
            yield batch, self._handle.tell() if self.format == "csv" else rows

    def close(self) -> None:
        if self.format == "csv":
            self._handle.close()


class _Writer:
    def __init__(self, path: Path, delimiter: str):
        self.format = file_format(path)
        self.path = path
        self.delimiter = delimiter
        self._writer = None
        self.schema = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self._writer is None:
            self.schema = batch.schema
            self._writer = pq.ParquetWriter(self.path, self.schema) if self.format == "parquet" else \
                pv.CSVWriter(self.path, self.schema, write_options=pv.WriteOptions(delimiter=self.delimiter))
        self._writer.write_batch(batch if batch.schema == self.schema else batch.cast(self.schema))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _k_result(rule: str, check: KAnonymity, groups: Counter) -> dict:
    small = [n for n in groups.values() if n < check.k]
    return {"rule": rule, "quasiIdentifiers": check.quasi_identifiers, "k": check.k, "groups": len(groups),
            "smallestGroup": min(groups.values(), default=0), "rowsInSmallGroups": sum(small),
            "ok": not small, "onFailure": check.on_failure}


def anonymize_file(plan: Plan, source: Path, target: Path, keyring: operators.Keyring, vaults: operators.Vaults,
                   spacy_model: str | None = None, progress: Callable[[int], None] | None = None,
                   batch_rows: int = BATCH_ROWS, csv_block_bytes: int = CSV_BLOCK_BYTES) -> dict:
    """Apply ``plan`` to ``source`` and write ``target`` (CSV or Parquet, by suffix).

    ``progress`` gets how far the run is, out of :func:`progress_total`.
    """
    if plan.problems:
        raise AnonymizeError("; ".join(plan.problems))
    source, target = Path(source), Path(target)
    if source.resolve() == target.resolve():
        raise AnonymizeError("the output must be a different file than the input")
    columns = read_columns(source)
    rule_entities = {r.name: r.entities for r, _ in plan.rules}
    column_ops = {c.column: operators.compile_operator(c.operator, c.entity, keyring, vaults, spacy_model,
                                                       rule_entities.get(c.rule))
                  for c in plan.columns if c.operator is not None and c.column in columns}
    groups = [Counter() for _ in plan.k_anonymity]
    partial = target.with_name(f".{target.stem}.partial-{os.getpid()}{target.suffix}")
    started, rows = time.perf_counter(), 0
    reader = _Reader(source, columns, batch_rows, csv_block_bytes)
    # A CSV keeps its delimiter (a semicolon file stays one); a .tsv target is tab-separated.
    writer = _Writer(partial, "\t" if target.suffix.lower() == ".tsv" else reader.delimiter)
    try:
        for batch, done in reader:
            if column_ops:
                arrays = [column_ops[name](batch, name) if name in column_ops else batch[name]
                          for name in batch.schema.names]
                batch = pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
            for (_, check), counter in zip(plan.k_anonymity, groups):
                counted = pa.Table.from_batches([batch.select(check.quasi_identifiers)]) \
                    .group_by(check.quasi_identifiers).aggregate([([], "count_all")])
                for row in counted.to_pylist():
                    counter[tuple(row[c] for c in check.quasi_identifiers)] += row["count_all"]
            writer.write(batch)
            rows += batch.num_rows
            if progress:
                progress(done)
        writer.close()
        if writer.schema is None:  # an input with a header and no rows
            writer.write(pa.RecordBatch.from_pylist([], schema=reader.schema))
            writer.close()
        k_results = [_k_result(name, check, counter) for (name, check), counter in zip(plan.k_anonymity, groups)]
        failed = [k for k in k_results if not k["ok"] and k["onFailure"] == "fail"]
        if failed:
            raise AnonymizeError("; ".join(
                f"k-anonymity (rule {k['rule']!r}, k={k['k']}) not met on {', '.join(k['quasiIdentifiers'])}: "
                f"smallest group has {k['smallestGroup']} rows, {k['rowsInSmallGroups']} rows in groups under k; "
                "generalize the quasi-identifiers more" for k in failed))
        os.replace(partial, target)
    except BaseException:
        writer.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        reader.close()
        vaults.close()
    return {"input": str(source), "output": str(target), "rows": rows, "seconds": time.perf_counter() - started,
            "columns": {c.column: c.to_dict() for c in plan.columns}, "kAnonymity": k_results}
