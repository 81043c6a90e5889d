"""The ``catalog`` command."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click
import httpx

from catalog.config import Settings

DEFAULT_URL = "http://127.0.0.1:5000"


def _settings(**overrides) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def main() -> None:
    """lineage-catalog: an OpenLineage lineage graph with a GDPR policy engine.

    \b
    Start a server on the embedded graph engine, with sample lineage:
        catalog serve --demo
    Send events from files or folders (JSON, JSON arrays, JSON Lines):
        catalog ingest ./events/
    Read lineage back:
        curl 'http://127.0.0.1:5000/api/v1/lineage?nodeId=dataset:food_delivery:public.orders&depth=2'

    Every option also reads a CATALOG_* environment variable (e.g. CATALOG_DATA_DIR).
    """


@main.command()
@click.option("--host", help="interface to bind  [default: 127.0.0.1]")
@click.option("--port", type=int, help="TCP port  [default: 5000]")
@click.option("--data-dir", type=click.Path(path_type=Path), help="event log and embedded graph  [default: ./catalog-data]")
@click.option("--graph-url", help="use an external graph: neo4j://host:7687, bolt://..., falkordb://host:6379 "
              "(Neo4j credentials from CATALOG_GRAPH_USER / CATALOG_GRAPH_PASSWORD)")
@click.option("--demo", is_flag=True, help="load the bundled sample lineage (food delivery) if the catalog is empty")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def serve(host, port, data_dir, graph_url, demo, log_level) -> None:
    """Run the HTTP server (REST, /health, /metrics).

    With no --graph-url the embedded FalkorDB engine is started as a child process on a
    free loopback port, with its data under --data-dir, and stopped with the server.
    Events are appended to the event log before they are acknowledged; after a crash the
    graph catches up from the log on the next start.
    """
    import uvicorn

    from catalog import logs
    from catalog.api.app import create_app
    from catalog.engine import DataDirLocked, EngineStartError
    from catalog.runtime import Catalog

    settings = _settings(host=host, port=port, data_dir=data_dir, graph_url=graph_url, log_level=log_level)
    logs.configure(settings.log_level)
    try:
        catalog = Catalog.open(settings)
    except (DataDirLocked, EngineStartError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        app = create_app(settings, catalog=catalog, load_samples=demo)
        # uvicorn turns SIGTERM and Ctrl-C into a graceful shutdown; the engine stops after it.
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None,
                                access_log=False, timeout_graceful_shutdown=10)
        uvicorn.Server(config).run()
    finally:
        catalog.close()


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--url", default=DEFAULT_URL, show_default=True, envvar="CATALOG_URL", help="the catalog server")
@click.option("--api-key", envvar="CATALOG_API_KEY", help="sent as 'Authorization: Bearer <key>'")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10000),
              help="events per request to /api/v1/lineage/batch")
def ingest(paths, url, api_key, batch_size) -> None:
    """Send OpenLineage events from files and folders to a running server.

    PATHS are .json files (one event or an array), .jsonl/.ndjson files (one event per
    line) or folders searched recursively. Prints accepted / rejected counts with the
    reason for each rejection; exits with status 1 if any event was rejected.
    """
    from ingestors.files import expand_paths, read_events

    files = expand_paths(list(paths))
    items = [item for path in files for item in read_events(path)]
    rejected = [(item.source, item.error) for item in items if item.error]
    events = [item for item in items if not item.error]
    accepted = duplicates = 0
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client, click.progressbar(
        length=len(events), label=f"Sending {len(events)} events", file=sys.stderr
    ) as bar:
        for start in range(0, len(events), batch_size):
            chunk = events[start:start + batch_size]
            try:
                response = client.post("/api/v1/lineage/batch", json=[e.event for e in chunk])
            except httpx.HTTPError as exc:
                raise click.ClickException(f"cannot reach the catalog at {url}: {exc}") from None
            if response.status_code not in (200, 207):
                raise click.ClickException(f"server answered {response.status_code}: {response.text[:500]}")
            for result in response.json()["results"]:
                if result["status"] == 201:
                    accepted += 1
                    duplicates += result.get("duplicate", False)
                else:
                    rejected.append((chunk[result["index"]].source, result["reason"]))
            bar.update(len(chunk))
    click.echo(f"accepted: {accepted} ({duplicates} already known)   rejected: {len(rejected)}")
    for source, reason in rejected:
        click.echo(f"  rejected {source}: {reason}", err=True)
    sys.exit(1 if rejected else 0)


@main.command()
@click.option("--url", default=DEFAULT_URL, show_default=True, envvar="CATALOG_URL", help="the catalog server")
@click.pass_context
def demo(ctx, url) -> None:
    """Send the bundled sample lineage (a food-delivery pipeline) to a running server."""
    from ingestors.files import SAMPLES

    ctx.invoke(ingest, paths=(SAMPLES,), url=url, api_key=None, batch_size=500)


@main.command()
@click.option("--data-dir", type=click.Path(path_type=Path), help="[default: ./catalog-data]")
@click.option("--graph-url", help="external graph to rebuild instead of the embedded one")
def rebuild(data_dir, graph_url) -> None:
    """Empty the graph and replay the whole event log into it (the server must be stopped)."""
    from catalog import logs
    from catalog.engine import DataDirLocked
    from catalog.runtime import Catalog

    logs.configure("WARNING")
    settings = _settings(data_dir=data_dir, graph_url=graph_url)
    try:
        catalog = Catalog.open(settings)
    except DataDirLocked as exc:
        raise click.ClickException(str(exc)) from None
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        total = catalog.log.count()
        with click.progressbar(length=total, label=f"Replaying {total} events", file=sys.stderr) as bar:
            replayed = catalog.projector.rebuild(progress=bar.update)
        click.echo(json.dumps({"replayed": replayed, "graph": catalog.store.counts()}, sort_keys=True))
    finally:
        catalog.close()


@main.command()
def schema() -> None:
    """Print the GraphQL schema (SDL); docs/schema.graphql is this output, checked by the tests."""
    from catalog.api.graphql import schema as graphql_schema

    click.echo(graphql_schema.as_str())


if __name__ == "__main__":
    main()
