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
    Find personal data in a dataset and record it:
        catalog scan customers.csv --dataset food_delivery/public.customers

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


def _split_dataset(value: str) -> tuple[str, str]:
    namespace, _, name = value.rpartition("/")
    if not namespace or not name:
        raise click.BadParameter("use NAMESPACE/NAME, e.g. food_delivery/public.customers", param_hint="--dataset")
    return namespace, name


def _findings_table(result: dict) -> str:
    header = ("column", "entity", "category", "score", "matched", "recognizer", "evidence")
    rows = []
    for column in result["columns"]:
        if not column["findings"]:
            rows.append((column["column"], "-", "", "", f"0/{column['sampled']}", column["note"] or "", ""))
        for f in column["findings"]:
            category = f["category"] + (" (Art. 9)" if f["special"] else "")
            rows.append((column["column"], f["entity"], category, f"{f['score']:.2f}",
                         f"{f['matched']}/{f['sampled']}", f["recognizer"], f["evidence"]))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in [header, tuple("-" * w for w in widths), *rows])


@main.command()
@click.argument("source")
@click.option("--dataset", "dataset", required=True, metavar="NAMESPACE/NAME",
              help="the catalogued dataset the source holds (split at the last '/')")
@click.option("--table", help="for a SQL source: the table to sample  [default: the dataset name]")
@click.option("--sample", "sample_rows", default=1000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="rows to sample; the scan never reads more")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--min-ratio", default=0.5, show_default=True, type=click.FloatRange(0.01, 1.0),
              help="share of a structured column's sampled cells that must match an entity type")
@click.option("--spacy-model", envvar="CATALOG_SPACY_MODEL",
              help="an installed spaCy NER model (e.g. en_core_web_sm) for PERSON/LOCATION in any column")
@click.option("--url", default=DEFAULT_URL, show_default=True, envvar="CATALOG_URL", help="the catalog server")
@click.option("--api-key", envvar="CATALOG_API_KEY", help="sent as 'Authorization: Bearer <key>'")
@click.option("--dry-run", is_flag=True, help="print the findings, send nothing to the catalog")
def scan(source, dataset, table, sample_rows, output, min_ratio, spacy_model, url, api_key, dry_run) -> None:
    """Find personal data in a dataset's columns and record it in the catalog.

    SOURCE is a .csv/.tsv or .parquet file, or a SQLAlchemy URL (sqlite:///shop.db,
    postgresql://user@host/db) with --table. A bounded sample of rows is analysed with
    Presidio (offline: no model download); findings per column are printed and sent to the
    server with their evidence (recognizer, score, matched/sampled cells), never values.
    Classifications then flow downstream along column lineage.

    \b
    Examples:
        catalog scan customers.csv --dataset food_delivery/public.customers
        catalog scan sqlite:///shop.db --table customers --dataset shop/main.customers --sample 5000
        catalog scan events.parquet --dataset s3://lake/events --format json --dry-run
    """
    from policies.classify import scan as run_scan
    from policies.sources import SourceError, read_sample

    namespace, name = _split_dataset(dataset)
    try:
        sample = read_sample(source, sample_rows, table or name)
        with click.progressbar(length=len(sample.columns), label=f"Scanning {len(sample.columns)} columns "
                               f"({sample.rows} sampled rows)", file=sys.stderr) as bar:
            result = run_scan(sample, model=spacy_model, min_ratio=min_ratio, progress=bar.update).to_dict()
    except (SourceError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    recorded = None
    if not dry_run:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        try:
            response = httpx.post(f"{url}/api/v1/scans", json={"namespace": namespace, "name": name, **result},
                                  headers=headers, timeout=60)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach the catalog at {url}: {exc} (use --dry-run to only print)")
        if response.status_code != 201:
            raise click.ClickException(f"the catalog refused the scan ({response.status_code}): "
                                       f"{response.json().get('error', response.text[:300])}")
        recorded = response.json()
    if output == "json":
        click.echo(json.dumps({"dataset": f"{namespace}/{name}", **result, "recorded": recorded}, indent=2))
        return
    click.echo(_findings_table(result))
    found = sum(len(c["findings"]) for c in result["columns"])
    click.echo(f"\n{found} findings in {len(result['columns'])} columns, {result['rows']} rows sampled, "
               f"{result['seconds']:.1f} s" + (f"; recorded, {recorded['propagated']} propagated downstream"
                                               if recorded else "; not recorded (--dry-run)"))


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
