"""Whole-database scans on real databases: SQLite files and Debian's PostgreSQL."""

import uuid

import sqlalchemy as sa

from policies.database_scan import scan_database
from policies.sources import list_tables, openlineage_dataset, read_sql

ROWS = 5000


def _fill(engine, schema: str | None = None) -> None:
    prefix = f"{schema}." if schema else ""
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE TABLE {prefix}kunden (id INTEGER, vorname TEXT, email TEXT, "
                                   "telefon TEXT, geburtsdatum TEXT, status TEXT)"))
        connection.execute(sa.text(f"INSERT INTO {prefix}kunden VALUES (:i, :v, :e, :t, :g, :s)"), [
            {"i": i, "v": ["Anna", "Jürgen", "Zoé", "Łukasz", "Mónica", "Pieter"][i % 6], "e": f"k{i}@shop.de",
             "t": f"030 {1000000 + i * 13}", "g": f"{1 + i % 28:02d}.{1 + i % 12:02d}.{1950 + i % 50}",
             "s": ["neu", "aktiv"][i % 2]} for i in range(ROWS)])
        connection.execute(sa.text(f"CREATE TABLE {prefix}bestellungen (id INTEGER, menge INTEGER, preis TEXT)"))
        connection.execute(sa.text(f"INSERT INTO {prefix}bestellungen VALUES (:i, :m, :p)"),
                           [{"i": i, "m": i % 7, "p": f"{i % 90},95"} for i in range(ROWS)])


def _entities(result) -> dict[str, set[str]]:
    return {c.column: {f.entity for f in c.findings} for c in result.columns}


EXPECTED = {"kunden": {"id": set(), "vorname": {"PERSON"}, "email": {"EMAIL_ADDRESS"}, "telefon": {"PHONE_NUMBER"},
                       "geburtsdatum": {"DATE_OF_BIRTH"}, "status": set()},
            "bestellungen": {"id": set(), "menge": set(), "preis": set()}}


def test_a_sqlite_database_is_scanned_table_by_table_on_two_processes(tmp_path):
    path = tmp_path / "shop.db"
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    _fill(engine)
    engine.dispose()
    assert list_tables(url) == ["bestellungen", "kunden"]
    scans = scan_database(url, sample_rows=400, workers=2)  # 3,600 cells: enough to start the workers
    assert [(s.table, s.namespace, s.name) for s in scans] == [
        ("bestellungen", f"sqlite://{path}", "main.bestellungen"), ("kunden", f"sqlite://{path}", "main.kunden")]
    assert {s.table: _entities(s.result) for s in scans} == EXPECTED
    ids = [int(i) for i in read_sql(url, "kunden", 200).columns["id"]]
    assert len(ids) == 200 and max(ids) > ROWS / 2 and ids != sorted(ids)  # spread, not the first rows


def test_a_postgresql_schema_is_sampled_with_tablesample_and_named_as_openlineage_does(postgres):
    database = f"shop_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {database}"))
    admin.dispose()
    url = postgres.rsplit("/", 1)[0] + f"/{database}"
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE SCHEMA crm"))
    _fill(engine, "crm")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE public.other (x INTEGER)"))
        connection.execute(sa.text("ANALYZE"))  # the row estimate TABLESAMPLE is sized from
    engine.dispose()
    assert list_tables(url, "crm") == ["crm.bestellungen", "crm.kunden"]
    port = url.split(":")[-1].split("/")[0]
    assert openlineage_dataset(url, "crm.kunden") == (f"postgres://127.0.0.1:{port}", f"{database}.crm.kunden")
    scans = scan_database(url, schema="crm", sample_rows=100, workers=2)
    assert {s.table: _entities(s.result) for s in scans} == {f"crm.{k}": v for k, v in EXPECTED.items()}
    ids = [int(i) for i in read_sql(url, "crm.kunden", 100).columns["id"]]
    assert len(ids) == 100 and len({i // 500 for i in ids}) >= 8  # rows from all over the table
    assert len(read_sql(url, "crm.kunden", 10).columns["id"]) == 10  # page sampling, or its fallbacks


def test_the_postgres_script_keeps_its_data_and_stops_with_a_client_connected(postgres_dir):
    import time

    from tests.engines import PostgresProcess

    with PostgresProcess(postgres_dir) as server:
        engine = sa.create_engine(server.url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE kept (x INTEGER)"))
        held = engine.connect()  # a client that never leaves must not keep the server up
        started = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - started < 30
        held.close()
        engine.dispose()
    with PostgresProcess(postgres_dir) as again:
        assert list_tables(again.url) == ["kept"]
