"""Bounded samples of rows from CSV files, Parquet files and SQL tables.

The classifier never reads a whole table. CSV: the header and rows from evenly spread
offsets of the file (or its head when fields span lines); Parquet: rows from evenly spread
row groups; SQL: the first rows the database returns (``LIMIT``). Values become strings;
empty cells and NULLs become None.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

SPREAD_BLOCKS = 20  # places in a large CSV that rows are read from


class SourceError(ValueError):
    pass


@dataclass
class Sample:
    source: str
    columns: dict[str, list[str | None]]

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()), []))


def _cell(value) -> str | None:
    if value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text if text.strip() else None


def _from_rows(source: str, header: list[str], rows: list[list]) -> Sample:
    if len(set(header)) != len(header):
        raise SourceError(f"{source}: duplicate column names in {header}")
    columns = {name: [] for name in header}
    for row in rows:
        for i, name in enumerate(header):
            columns[name].append(_cell(row[i]) if i < len(row) else None)
    return Sample(source, columns)


def read_csv(path: Path, limit: int) -> Sample:
    size = path.stat().st_size
    with path.open("rb") as handle:
        raw = handle.read(1 << 20)
    whole = len(raw) == size
    head = raw.decode("utf-8", "replace")
    if not head.strip():
        raise SourceError(f"{path}: empty file")
    try:
        dialect = csv.Sniffer().sniff(head.split("\n", 1)[0] + "\n", delimiters=",;\t|")
    except csv.Error:  # one column: no delimiter to find
        dialect = csv.excel
    lines = head.splitlines(keepends=True)
    if not whole:
        lines = lines[:-1]  # the last line of the read window may be cut
    parsed = list(csv.reader(lines, dialect))
    header, head_rows = parsed[0], parsed[1:]
    # A file that fits the head, or fields spanning lines (offsets could land inside one): the head rows.
    if whole or len(parsed) != len(lines):
        return _from_rows(str(path), header, head_rows[:limit])
    return _from_rows(str(path), header, _spread_rows(path, size, dialect, limit))


def _spread_rows(path: Path, size: int, dialect, limit: int) -> list[list[str]]:
    per_block = max(1, -(-limit // SPREAD_BLOCKS))
    rows: list[list[str]] = []
    with path.open("rb") as handle:
        for block in range(SPREAD_BLOCKS):
            handle.seek(size * block // SPREAD_BLOCKS)
            handle.readline()  # skip the header or a partial line
            chunk = [handle.readline() for _ in range(per_block)]
            text = b"".join(chunk).decode("utf-8", "replace")
            rows.extend(r for r in csv.reader(io.StringIO(text), dialect) if r)
            if len(rows) >= limit:
                break
    return rows[:limit]


def read_parquet(path: Path, limit: int) -> Sample:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:
        raise SourceError(f"{path}: not a readable Parquet file ({exc})") from None
    groups = parquet.num_row_groups
    if groups == 0:
        return Sample(str(path), {name: [] for name in parquet.schema_arrow.names})
    wanted = min(groups, SPREAD_BLOCKS)
    per_group = max(1, -(-limit // wanted))
    columns: dict[str, list] = {name: [] for name in parquet.schema_arrow.names}
    for index in sorted({groups * i // wanted for i in range(wanted)}):
        table = parquet.read_row_group(index)
        step = max(1, table.num_rows // per_group)
        picked = table.take(list(range(0, table.num_rows, step))[:per_group])
        for name in columns:
            columns[name].extend(_cell(v) for v in picked.column(name).to_pylist())
        if len(next(iter(columns.values()))) >= limit:
            break
    return Sample(str(path), {name: values[:limit] for name, values in columns.items()})


def read_sql(url: str, table: str, limit: int) -> Sample:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        schema, _, name = table.rpartition(".")
        try:
            reflected = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=engine)
        except sa.exc.NoSuchTableError:
            raise SourceError(f"{url}: no table {table!r}") from None
        with engine.connect() as connection:
            rows = connection.execute(sa.select(reflected).limit(limit)).all()
        return _from_rows(f"{url}#{table}", [c.name for c in reflected.columns], [list(r) for r in rows])
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(f"{url}: {exc.__class__.__name__}: {exc}") from None
    finally:
        engine.dispose()


def read_sample(source: str, limit: int, table: str | None = None) -> Sample:
    """A sample of at most ``limit`` rows from a file path or a SQLAlchemy URL (with ``table``)."""
    if limit < 1:
        raise SourceError("the sample size must be at least 1 row")
    if "://" in source:
        if not table:
            raise SourceError("a SQL source needs the table to sample (--table)")
        return read_sql(source, table, limit)
    path = Path(source)
    if not path.is_file():
        raise SourceError(f"{source}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return read_parquet(path, limit)
    if suffix in (".csv", ".tsv", ".txt"):
        return read_csv(path, limit)
    raise SourceError(f"{source}: unknown file type {suffix!r}; expected .csv, .tsv or .parquet")
