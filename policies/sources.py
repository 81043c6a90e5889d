"""Bounded samples of rows from CSV files, Parquet files and SQL tables.

The classifier never reads a whole table.

* CSV: the header and rows from evenly spread offsets of the file (or its head when fields
  span lines), parsed with the delimiter that fits the first records and the encoding the
  bytes allow; a row that does not fit the header is an error, never shifted.
* Parquet: rows from evenly spread row groups.
* SQL: rows spread over the table (TABLESAMPLE on PostgreSQL, random order elsewhere).

Values become strings; empty cells and NULLs become None.
"""

from __future__ import annotations

import csv
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


DELIMITERS = (",", ";", "\t", "|")
HEAD_BYTES = 1 << 20  # what is read to find the format, and all that is read of a smaller file
FORMAT_RECORDS = 200  # records the delimiter is chosen on


@dataclass(frozen=True)
class CsvFormat:
    encoding: str
    delimiter: str


def _decode(raw: bytes, whole: bool) -> tuple[str, str]:
    """The text and encoding of a file's head: a BOM decides, then UTF-8, then Windows-1252 / Latin-1."""
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            return raw.decode(encoding, "replace"), encoding
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if not whole and exc.start >= len(raw) - 3:  # a character cut at the end of the head window
            return raw[:exc.start].decode("utf-8"), "utf-8"
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined
        return raw.decode("latin-1"), "latin-1"


def _records(lines: list[str], delimiter: str):
    """(last physical line number, fields) per non-empty record."""
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    for fields in reader:
        if fields and any(f.strip() for f in fields):
            yield reader.line_num, fields


def _choose_delimiter(lines: list[str]) -> str:
    """The delimiter that splits most of the first records into as many fields as the header, as a
    real parser reads them: quoted fields keep their commas, so JSON in a cell cannot tip it."""
    best, best_score = ",", (-1.0, 0)
    for delimiter in DELIMITERS:
        records = [fields for _, (_, fields) in zip(range(FORMAT_RECORDS + 1), _records(lines, delimiter))]
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        body = records[1:] or records
        consistent = sum(len(r) == width for r in body) / len(body)
        if (consistent, width) > best_score:
            best, best_score = delimiter, (consistent, width)
    return best


def _head(path: Path) -> tuple[list[str], CsvFormat, bool]:
    """The complete lines of a CSV's head, its format, and whether the head is the whole file."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        raw = handle.read(HEAD_BYTES)
    whole = len(raw) == size
    head, encoding = _decode(raw, whole)
    if not head.strip():
        raise SourceError(f"{path}: empty file")
    lines = head.splitlines(keepends=True)
    if not whole:
        lines = lines[:-1]  # the last line of the read window may be cut
    return lines, CsvFormat(encoding, _choose_delimiter(lines)), whole


def csv_format(path: Path) -> CsvFormat:
    """The encoding and delimiter of a CSV file, found on its first records."""
    return _head(Path(path))[1]


def read_csv(path: Path, limit: int) -> Sample:
    lines, fmt, whole = _head(path)
    records = list(_records(lines, fmt.delimiter))
    if not records:
        raise SourceError(f"{path}: no complete line in its first {HEAD_BYTES >> 20} MiB")
    (_, header), head_rows = records[0], records[1:]
    header = [name.strip() for name in header]
    # A file that fits the head, or fields spanning lines (offsets could land inside one): the head rows.
    spans_lines = len(records) != sum(1 for line in lines if line.strip())
    if whole or spans_lines or fmt.encoding == "utf-16":  # UTF-16 lines cannot be found by seeking
        return _from_rows(str(path), header, _checked(path, header, head_rows[:limit], fmt, "line"))
    rows = _spread_rows(path, path.stat().st_size, fmt, limit)
    return _from_rows(str(path), header, _checked(path, header, rows, fmt, "byte"))


def _checked(path: Path, header: list[str], rows: list[tuple[int, list[str]]], fmt: CsvFormat,
             unit: str) -> list[list[str]]:
    """The rows, or an error naming the first one whose field count differs from the header's:
    a row is never shifted onto the wrong columns."""
    for where, fields in rows:
        if len(fields) != len(header):
            place = f"line {where}" if unit == "line" else f"the row at byte {where}"
            raise SourceError(f"{path}: {place} has {len(fields)} fields, the header has {len(header)} "
                              f"(delimiter {fmt.delimiter!r}, found on the first rows); fix the file or quote "
                              "the field")
    return [fields for _, fields in rows]


def _spread_rows(path: Path, size: int, fmt: CsvFormat, limit: int) -> list[tuple[int, list[str]]]:
    per_block = max(1, -(-limit // SPREAD_BLOCKS))
    rows: list[tuple[int, list[str]]] = []
    with path.open("rb") as handle:
        for block in range(SPREAD_BLOCKS):
            handle.seek(size * block // SPREAD_BLOCKS)
            handle.readline()  # skip the header or a partial line
            for _ in range(per_block):
                offset, line = handle.tell(), handle.readline()
                text = line.decode(fmt.encoding.replace("-sig", ""), "replace")
                rows.extend((offset, fields) for _, fields in _records([text], fmt.delimiter))
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


def engine_url(url: str) -> str:
    """SQLAlchemy's URL for ``url``: postgresql:// goes through psycopg 3 (a dependency) unless
    the URL names a driver. A SQLite file must exist: connecting would create an empty one."""
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise SourceError(f"{url}: not a database URL ({exc})") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).is_file():
        raise SourceError(f"{url}: no such SQLite file {parsed.database}")
    return "postgresql+psycopg://" + url[len("postgresql://"):] if url.startswith("postgresql://") else url


OVERSAMPLE = 5  # a database sample holds this many times the rows wanted, then is shuffled and cut


def _sample_queries(engine, table, limit: int) -> list:
    """Queries for rows spread over the table, not its first ones, cheapest first. PostgreSQL:
    TABLESAMPLE sized from its row estimate, SYSTEM (whole pages) on a table over 100 times
    the sample, else BERNOULLI (rows), shuffled so a page's neighbours do not fill the sample;
    then, and everywhere else, ORDER BY random()."""
    import sqlalchemy as sa

    dialect = engine.dialect.name
    rand = sa.func.rand() if dialect in ("mysql", "mariadb") else sa.func.random()
    queries = []
    if dialect == "postgresql":
        with engine.connect() as connection:
            estimate = connection.execute(sa.text("SELECT reltuples::bigint FROM pg_class WHERE oid = "
                                                  "CAST(:t AS regclass)"), {"t": _qualified(table)}).scalar() or 0
        percent = min(100.0, 100.0 * OVERSAMPLE * limit / estimate) if estimate > 0 else 100.0
        if estimate > 100 * limit:
            queries.append(sa.select(table.tablesample(sa.func.system(percent))).order_by(rand).limit(limit))
        if estimate > 2 * OVERSAMPLE * limit:
            queries.append(sa.select(table.tablesample(sa.func.bernoulli(percent))).order_by(rand).limit(limit))
    return queries + [sa.select(table).order_by(rand).limit(limit)]


def _qualified(table) -> str:
    quote = lambda name: '"' + name.replace('"', '""') + '"'
    return ".".join(quote(part) for part in (table.schema, table.name) if part)


def list_tables(url: str, schema: str | None = None) -> list[str]:
    """Every table of a database (in ``schema``, or the default one), as ``schema.table`` or ``table``."""
    import sqlalchemy as sa

    engine = sa.create_engine(engine_url(url))
    try:
        names = sa.inspect(engine).get_table_names(schema=schema)
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(f"{url}: {exc.__class__.__name__}: {exc}") from None
    finally:
        engine.dispose()
    return [f"{schema}.{name}" if schema else name for name in sorted(names)]


def read_sql(url: str, table: str, limit: int, engine=None) -> Sample:
    import sqlalchemy as sa

    own = engine is None
    engine = engine or sa.create_engine(engine_url(url))
    try:
        schema, _, name = table.rpartition(".")
        try:
            reflected = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=engine)
        except sa.exc.NoSuchTableError:
            raise SourceError(f"{url}: no table {table!r}") from None
        with engine.connect() as connection:
            for query in _sample_queries(engine, reflected, limit):
                rows = connection.execute(query).all()
                if len(rows) >= limit:  # page samples of a small or skewed table can come back short
                    break
        return _from_rows(f"{url}#{table}", [c.name for c in reflected.columns], [list(r) for r in rows])
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(f"{url}: {exc.__class__.__name__}: {exc}") from None
    finally:
        if own:
            engine.dispose()


def openlineage_dataset(url: str, table: str) -> tuple[str, str]:
    """The OpenLineage (namespace, name) of a table, by the naming spec: postgres://host:port and
    database.schema.table, mysql://host:port and database.table; a SQLite file is
    sqlite://<absolute path> and schema.table (schema ``main``)."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    schema, _, name = table.rpartition(".")
    if backend == "postgresql":
        return (f"postgres://{parsed.host or 'localhost'}:{parsed.port or 5432}",
                f"{parsed.database}.{schema or 'public'}.{name}")
    if backend in ("mysql", "mariadb"):
        return f"mysql://{parsed.host or 'localhost'}:{parsed.port or 3306}", f"{schema or parsed.database}.{name}"
    if backend == "sqlite":
        return f"sqlite://{Path(parsed.database or ':memory:').resolve()}", f"{schema or 'main'}.{name}"
    return f"{backend}://{parsed.host or 'localhost'}" + (f":{parsed.port}" if parsed.port else ""), table


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
