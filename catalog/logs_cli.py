"""``catalog rebuild``, ``catalog log verify`` and ``catalog move``: the logs, on either backend."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import click
from pydantic import ValidationError

from catalog.config import Settings

database_option = click.option(
    "--database", metavar="URL", help="the catalog's PostgreSQL (postgresql://user:password@host:5432/db)  "
    "[default: CATALOG_DATABASE_URL, else SQLite files in the data directory]")
data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                               help="the catalog's data directory  [default: CATALOG_DATA_DIR or ./catalog-data]")


def graph_options(command):
    """--graph-url and --graph-database, for commands that work on the catalog's graph."""
    command = click.option("--graph-database", help="the Neo4j database  [default: the server's default "
                           "database]")(command)
    return click.option("--graph-url", help="an external graph instead of the data directory's embedded one: "
                        "bolt://, neo4j:// or falkordb:// (Neo4j credentials from CATALOG_NEO4J_USER / "
                        "CATALOG_NEO4J_PASSWORD)")(command)


def settings_for(**overrides) -> Settings:
    """Settings from CATALOG_* variables and the command's options; a usage error naming what is wrong."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'} (CATALOG_"
                             f"{'_'.join(map(str, e['loc'])).upper()}): {e['msg']}" for e in exc.errors())
        raise click.UsageError(f"invalid settings: {problems}") from None


def open_cli_logs(data_dir: Path | None, database: str | None):
    """The logs a command works on; a clear error if the database cannot be reached."""
    from catalog.logstore.base import LogsUnavailable
    from catalog.logstore.logs import open_logs

    settings = settings_for(data_dir=data_dir, database_url=database)
    try:
        return open_logs(settings.data_dir, settings.database_url)
    except (LogsUnavailable, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


def _open_catalog(settings: Settings, replay: bool = True):
    from catalog.engine import DataDirLocked
    from catalog.ingest import GraphOfAnotherLog
    from catalog.logstore.base import LogsUnavailable
    from catalog.runtime import Catalog

    try:
        catalog = Catalog.open(settings, replay=replay)
    except (DataDirLocked, GraphOfAnotherLog, LogsUnavailable, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if not catalog.projector.leading:
        catalog.close()
        raise click.ClickException("a catalog server is running on this database (it holds the projector lease): "
                                   "stop every replica first")
    return catalog


@click.command()
@data_dir_option
@database_option
@graph_options
def rebuild(data_dir, database, graph_url, graph_database) -> None:
    """Empty the graph and replay the whole event log, then the governance log, into it.

    The server (every replica) must be stopped. With --graph-url this also moves a catalog to
    another engine: rebuild onto Neo4j, then serve with that --graph-url.

    \b
        catalog rebuild --data-dir catalog-data --graph-url bolt://127.0.0.1:7687
        catalog serve   --data-dir catalog-data --graph-url bolt://127.0.0.1:7687
    """
    from catalog import logs

    logs.configure("WARNING")
    catalog = _open_catalog(settings_for(data_dir=data_dir, database_url=database, graph_url=graph_url,
                                         neo4j_database=graph_database), replay=False)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        total = catalog.log.count()
        with click.progressbar(length=total, label=f"Replaying {total} events", file=sys.stderr) as bar:
            replayed = catalog.projector.rebuild(progress=bar.update)
        click.echo(json.dumps({"replayed": replayed, "graph": catalog.store.counts()}, sort_keys=True))
    finally:
        catalog.close()


@click.command()
@data_dir_option
@database_option
@graph_options
@click.option("--older-than", "days", type=click.FloatRange(min=0, min_open=True), metavar="DAYS",
              help="prune runs and dataset versions last seen more than DAYS ago, and fold raw events that old "
              "into the snapshot  [default: CATALOG_RETENTION_DAYS]")
@click.option("--audits-older-than", "audit_days", type=click.FloatRange(min=0, min_open=True), metavar="DAYS",
              help="prune audit runs (with their findings) that finished more than DAYS ago; the newest two stay  "
              "[default: CATALOG_AUDIT_RETENTION_DAYS]")
def prune(data_dir, database, graph_url, graph_database, days, audit_days) -> None:
    """Apply retention once: what a server with CATALOG_RETENTION_DAYS does every hour.

    
    Leaves the graph: runs last seen more than DAYS ago (each job's latest run stays), their
    facets and run inputs, dataset versions as old (each dataset's current version stays), and
    audit runs past --audits-older-than (the newest two stay).
    Stays: datasets, fields, jobs, lineage edges with their first and last seen times, owners,
    tags, classifications and the whole governance log.
    Raw events older than DAYS are folded into the event log's snapshot, one merged row per node
    and edge; `catalog rebuild` loads it and replays the rest, so the lineage comes out the same.

    The server (every replica) must be stopped; a running one prunes by itself when configured.

    
        catalog prune --data-dir catalog-data --older-than 30 --audits-older-than 365
    """
    from catalog import logs

    logs.configure("WARNING")
    settings = settings_for(data_dir=data_dir, database_url=database, graph_url=graph_url,
                            neo4j_database=graph_database, retention_days=days, audit_retention_days=audit_days)
    if settings.retention_days is None and settings.audit_retention_days is None:
        raise click.UsageError("say how old is too old: --older-than DAYS and/or --audits-older-than DAYS")
    catalog = _open_catalog(settings)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        horizon = catalog.projector.retention.horizons(int(time.time() * 1000))[0]  # built from the settings
        total = catalog.log.count(before_time=horizon) if horizon is not None else 0
        with click.progressbar(length=total, label=f"Pruning; folding {total} events", file=sys.stderr) as bar:
            pruned = catalog.projector.retain(progress=bar.update)
        click.echo(json.dumps({"pruned": pruned.as_dict(), "snapshotRows": catalog.log.snapshot_size(),
                               "eventsLeft": catalog.log.count(), "graph": catalog.store.counts()}, sort_keys=True))
    finally:
        catalog.close()


@click.group("log")
def governance_log() -> None:
    """The governance log: every stewardship edit, classification decision, policy change and
    audit run, with who and when, in a SHA-256 hash chain."""


@governance_log.command("verify")
@data_dir_option
@database_option
@click.option("--expect-head", metavar="SEQ:HASH", help="a head printed by an earlier verify: fail unless the log "
              "still holds that entry unchanged (the chain alone cannot show that its newest entries were cut off)")
def log_verify(data_dir, database, expect_head) -> None:
    """Check that no entry of the governance log was edited or deleted; exit 1 if one was.

    \b
    Each entry's hash covers the previous entry's hash and its own content, so changing or
    removing any entry breaks the chain from there on. Keep the printed head somewhere else
    (a ticket, a CI artifact) and pass it back with --expect-head to also catch a truncated
    tail. Safe to run while the server runs.

    \b
    Examples:
        catalog log verify --data-dir catalog-data --expect-head 120:9f2c...
        catalog log verify --database postgresql://catalog@db:5432/catalog
    """
    from catalog.govlog import GOVERNANCE_FILE

    settings = settings_for(data_dir=data_dir, database_url=database)
    if not settings.database_url and not (settings.data_dir / GOVERNANCE_FILE).exists():
        raise click.ClickException(f"no governance log at {settings.data_dir / GOVERNANCE_FILE}")
    opened = open_cli_logs(data_dir, database)
    log = opened.governance
    try:
        intact, broken_at = log.verify()
        seq, digest = log.head()
        if not intact:
            click.echo(f"governance log BROKEN at entry {broken_at}: that entry was edited, or one before it was "
                       "deleted", err=True)
            sys.exit(1)
        if expect_head:
            expected_seq, _, expected_hash = expect_head.partition(":")
            if not expected_seq.isdigit() or not expected_hash:
                raise click.BadParameter("give SEQ:HASH as printed by an earlier verify", param_hint="--expect-head")
            if log.hash_at(int(expected_seq)) != expected_hash:
                click.echo(f"governance log BROKEN: entry {expected_seq} is missing or differs from the head "
                           "recorded earlier (entries were cut off or rewritten)", err=True)
                sys.exit(1)
        click.echo(f"governance log intact: {seq} entries; head {seq}:{digest}")
    finally:
        opened.close()


@click.command()
@data_dir_option
@click.option("--database", required=True, metavar="URL", help="the PostgreSQL database to move the logs to "
              "(postgresql://user:password@host:5432/db); it must hold no catalog yet")
@graph_options
def move(data_dir, database, graph_url, graph_database) -> None:
    """Move an embedded catalog to PostgreSQL (and Neo4j): copy its event log, governance log
    and API keys from the SQLite files of --data-dir into --database, then rebuild the graph at
    --graph-url from them. The server must be stopped; the SQLite files are left as they were.

    Every event keeps its seq, every governance entry its hash (the chain is verified after the
    copy), every key its hash, so keys go on working and `catalog log verify --expect-head`
    still accepts a head recorded before the move.

    \b
        catalog move --data-dir catalog-data --database postgresql://catalog@db:5432/catalog \\
                     --graph-url bolt://neo4j:7687
        catalog serve --database postgresql://catalog@db:5432/catalog --graph-url bolt://neo4j:7687
    """
    from catalog.engine import DataDirLock, DataDirLocked
    from catalog.logstore.copy import CopyRefused, copy_logs, copy_size
    from catalog.logstore.logs import database_kind

    try:
        if database_kind(database) != "postgresql":
            raise ValueError("--database must be a postgresql:// URL")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--database") from None
    directory = settings_for(data_dir=data_dir).data_dir
    lock = DataDirLock(directory)
    try:
        lock.acquire()
    except DataDirLocked as exc:
        raise click.ClickException(str(exc)) from None
    try:
        source, target = open_cli_logs(directory, None), open_cli_logs(directory, database)
        try:
            total = copy_size(source)
            with click.progressbar(length=total, label=f"Copying {total} events, governance entries and keys",
                                   file=sys.stderr) as bar:
                copied = copy_logs(source, target, bar.update)
        except CopyRefused as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            source.close()
            target.close()
    finally:
        lock.release()
    click.echo(json.dumps({"copied": copied}, sort_keys=True), err=True)
    rebuild.callback(directory, database, graph_url, graph_database)
