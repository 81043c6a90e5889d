"""The ``catalog`` command."""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
from pathlib import Path

import click
import httpx

from catalog.audit_cli import audit, impact, key_option, register, url_option
from catalog.client import CatalogClient, CatalogRefused, CatalogUnavailable
from catalog.config import ACKNOWLEDGE_MODES
from catalog.keys_cli import keys
from catalog.logs_cli import database_option, governance_log, move, prune, rebuild, settings_for
from catalog.scan_cli import scan, split_dataset
from catalog.text_table import table

SAMPLE_POLICY = Path(__file__).resolve().parent.parent / "policies" / "samples" / "food_delivery.yaml"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def main() -> None:
    """lineage-catalog: an OpenLineage lineage graph with a GDPR policy engine.

    \b
    Start a server on the embedded graph engine, with sample lineage:
        catalog serve --demo
    then open http://127.0.0.1:5000/ in a browser: search, datasets, lineage, compliance.
    Send events from files or folders (JSON, JSON arrays, JSON Lines):
        catalog ingest ./events/
    Read lineage back:
        curl 'http://127.0.0.1:5000/api/v1/lineage?nodeId=dataset:food_delivery:public.orders&depth=2'
    Find personal data in a dataset and record it:
        catalog scan customers.csv --dataset food_delivery/public.customers
    Anonymize a file by policy (the run shows up in the lineage):
        catalog anonymize --policy gdpr.yaml customers.csv customers_anon.parquet \\
            --dataset food_delivery/public.customers

    Every option also reads a CATALOG_* environment variable (e.g. CATALOG_DATA_DIR).
    """


@main.command()
@click.option("--host", help="interface to bind  [default: 127.0.0.1]")
@click.option("--port", type=int, help="TCP port  [default: 5000]")
@click.option("--workers", type=click.IntRange(1, 64), metavar="N",
              help="processes serving the port, to use more cores (see below)  [default: 1]")
@click.option("--data-dir", type=click.Path(path_type=Path), help="event log and embedded graph  [default: ./catalog-data]")
@click.option("--graph-url", help="use an external graph: neo4j://host:7687, bolt://..., falkordb://host:6379 "
              "(Neo4j credentials from CATALOG_NEO4J_USER / CATALOG_NEO4J_PASSWORD)")
@click.option("--graph-database", help="the Neo4j database to use  [default: the server's default database]")
@database_option
@click.option("--demo", is_flag=True, help="load the bundled sample lineage (food delivery) and a PII scan of its "
              "customers table if the catalog is empty, and the sample GDPR policy")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--no-auth", is_flag=True, default=None,
              help="local development only: accept requests without an API key, everyone an admin; refused "
                   "unless --host is a loopback address")
@click.option("--kafka-bootstrap", metavar="HOST:PORT[,...]",
              help="also consume OpenLineage events from Kafka (what the clients' KafkaTransport sends)")
@click.option("--kafka-topic", metavar="TOPIC", help="the topic to consume  [default: openlineage]")
@click.option("--kafka-group", metavar="ID", help="the consumer group  [default: lineage-catalog]")
@click.option("--retention-days", type=click.FloatRange(min=0, min_open=True), metavar="DAYS",
              help="prune runs and dataset versions last seen more than DAYS ago, every hour, and fold raw events "
              "that old into the event log's snapshot (see `catalog prune --help`)  [default: keep everything]")
@click.option("--audit-retention-days", type=click.FloatRange(min=0, min_open=True), metavar="DAYS",
              help="prune audit runs finished more than DAYS ago (the newest two stay)  [default: keep them all]")
@click.option("--acknowledge", type=click.Choice(ACKNOWLEDGE_MODES),
              help="when a posted event gets its 201: once in the graph too (a client reads what it just posted), or "
              "once durable in the event log (faster for many small posts; the graph follows)  [default: graph]")
def serve(host, port, workers, data_dir, graph_url, graph_database, database, demo, log_level, no_auth,
          kafka_bootstrap, kafka_topic, kafka_group, retention_days, audit_retention_days, acknowledge) -> None:
    """Run the HTTP server (REST, GraphQL at /graphql, pages, /health, /metrics).

    With no --graph-url the embedded FalkorDB engine is started as a child process on a
    free loopback port, with its data under --data-dir, and stopped with the server.
    Events are appended to the event log before they are acknowledged; after a crash the
    graph catches up from the log on the next start.

    \b
    Every request needs an API key with a role that allows it (see `catalog keys`):
        catalog keys create airflow --role producer
        catalog serve
    Limits (CATALOG_* variables): MAX_BODY_BYTES, MAX_BATCH_EVENTS, MAX_LINEAGE_DEPTH,
    MAX_LINEAGE_NODES, RATE_LIMIT_PER_SECOND / RATE_LIMIT_BURST per key,
    REQUEST_TIMEOUT_SECONDS.

    \b
    \b
    Replicas: any number of servers on one PostgreSQL and one external graph,
        catalog serve --database postgresql://catalog@db:5432/catalog --graph-url bolt://neo4j:7687
    Each accepts events (acknowledged once committed in PostgreSQL) and serves reads; one at a
    time projects the log into the graph, and another takes over within a second if it dies.
    Audits run one at a time across them, and rate limits count per key across them.

    \b
    More cores: --workers N starts N-1 more processes on the same port, data and graph,
        catalog serve --workers 2
    Each serves reads and accepts events (acknowledged once in the event log; this process
    projects them into the graph within 0.2 s). Rate limits count per key across them, and
    audits run one at a time. /health says which process answered; /metrics counts per
    process. One per core at most: each is a Python interpreter of about 190 MB.

    \b
    Many small posts (one event per request, as the OpenLineage HTTP transport sends):
        catalog serve --acknowledge log
    answers 201 once an event is durable in the event log, before the graph has it; the
    graph follows in larger groups, at most 10,000 events behind (posts wait beyond that).
    The default, --acknowledge graph, answers once the graph has it too.

    \b
    Retention bounds growth: with --retention-days 30 the projecting server prunes, every hour,
    runs and dataset versions last seen over 30 days ago (each job's latest run and each
    dataset's current version stay), and folds raw events that old into the event log's
    snapshot, from which a rebuild gives the same lineage. Lineage, datasets, fields, jobs and
    the governance log stay. --audit-retention-days does the same for audit runs.

    \b
    Events from Kafka go through the same validation and event log as HTTP:
        catalog serve --kafka-bootstrap broker1:9092,broker2:9092 --kafka-topic openlineage
    Offsets are committed once the events are in the event log. Messages that are not
    valid events go to TOPIC.dead-letter (CATALOG_KAFKA_DEAD_LETTER_TOPIC) with the reason
    in their headers. Consumer lag per partition is in /health and /metrics. TLS, SASL
    and other client settings: CATALOG_KAFKA_CONFIG='{"security.protocol": "SASL_SSL", ...}'.
    """
    import uvicorn

    from catalog import logs
    from catalog.api.app import create_app
    from catalog.api.metrics import share_between_processes
    from catalog.engine import DataDirLocked, EngineStartError
    from catalog.ingest import GraphOfAnotherLog
    from catalog.logstore.base import LogsUnavailable
    from catalog.runtime import Catalog
    from catalog.workers import Workers, listen, serve_until_stopped, worker_settings

    settings = settings_for(host=host, port=port, workers=workers, data_dir=data_dir, graph_url=graph_url,
                         neo4j_database=graph_database, database_url=database, log_level=log_level, no_auth=no_auth,
                         kafka_bootstrap=kafka_bootstrap, kafka_topic=kafka_topic, kafka_group=kafka_group,
                         retention_days=retention_days, audit_retention_days=audit_retention_days,
                         acknowledge=acknowledge)
    if settings.kafka_bootstrap is not None and not settings.kafka_bootstrap.strip():
        raise click.UsageError("--kafka-bootstrap is empty: give HOST:PORT[,...] of the Kafka brokers")
    if settings.kafka_bootstrap:
        from ingestors.kafka import check_client_config

        try:
            check_client_config(settings.kafka_bootstrap, settings.kafka_config)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    if settings.no_auth and not _loopback(settings.host):
        raise click.UsageError(f"--no-auth is for local development: it needs a loopback --host, not {settings.host!r}")
    if demo:
        settings.policies.append(SAMPLE_POLICY)
    logs.configure(settings.log_level)
    if settings.workers > 1:
        try:  # before the catalog opens: a port in use is the commonest mistake, and should cost nothing
            sockets = listen(settings.host, settings.port, settings.workers)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
    try:
        catalog = Catalog.open(settings)
    except (DataDirLocked, EngineStartError, GraphOfAnotherLog, LogsUnavailable, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if settings.workers > 1:  # once the data directory is this server's: it clears the counts a last run left
        share_between_processes(settings.data_dir / "metrics")
    log = logging.getLogger("catalog.serve")
    if settings.no_auth:
        log.warning("authentication is off (--no-auth): every request is served as a local admin")
    elif not any(key.revoked_at is None for key in catalog.keys.list()):
        log.warning("no API keys yet: every request will get 401; create one with "
                    "`catalog keys create NAME --role admin`")
    try:
        app = create_app(settings, catalog=catalog, load_samples=demo)
        # uvicorn turns SIGTERM and Ctrl-C into a graceful shutdown; the workers, then the engine stop after it.
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None,
                                access_log=False, timeout_graceful_shutdown=10)
        if settings.workers == 1:
            serve_until_stopped(uvicorn.Server(config))
        else:
            workers = Workers(worker_settings(settings, catalog.engine and catalog.engine.port), sockets[1:]).start()
            try:
                serve_until_stopped(uvicorn.Server(config), sockets[:1])
            finally:
                workers.stop()
    finally:
        catalog.close()


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@url_option
@key_option
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
@url_option
@key_option
@click.pass_context
def demo(ctx, url, api_key) -> None:
    """Send the bundled sample lineage (a food-delivery pipeline) to a running server."""
    from ingestors.files import SAMPLES

    ctx.invoke(ingest, paths=(SAMPLES,), url=url, api_key=api_key, batch_size=500)


@main.command()
def schema() -> None:
    """Print the GraphQL schema (SDL); docs/schema.graphql is this output, checked by the tests."""
    from catalog.api.graphql import schema as graphql_schema

    click.echo(graphql_schema.as_str())

@main.group()
def policy() -> None:
    """GDPR policies as code: validate, publish the JSON Schema, load into a catalog.

    \b
    A policy file (YAML) names rules; each selects datasets and says how their personal
    data is anonymized, who sees what, and what audits check. See docs/policies.md.
    """


def _load_policy_or_fail(path: Path):
    from policies.policy_files import PolicyError, load_policy

    try:
        return load_policy(path)
    except PolicyError as exc:
        raise click.ClickException(f"{len(exc.problems)} problem(s) in the policy:\n" + str(exc)) from None


@policy.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def policy_validate(files) -> None:
    """Check policy files; errors name the file, line, column and field. Exit 1 on any error."""
    from policies.policy_files import PolicyError, load_policy, policy_files

    failed = 0
    try:
        paths = policy_files(list(files))
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    for path in paths:
        try:
            found = load_policy(path)
            click.echo(f"{path}: ok, policy {found.name} version {found.version}, {len(found.rules)} rules")
        except PolicyError as exc:
            failed += 1
            click.echo(str(exc), err=True)
    sys.exit(1 if failed else 0)


@policy.command("schema")
def policy_schema() -> None:
    """Print the policy file's JSON Schema (for editors; docs/policy.schema.json is this output)."""
    from policies.policy import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@policy.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@url_option
@key_option
def policy_load(files, url, api_key) -> None:
    """Validate policy files and load them into a running catalog (a changed file is a new version)."""
    from policies.policy_files import policy_files

    client = CatalogClient(url, api_key)
    for path in policy_files(list(files)):
        _load_policy_or_fail(path)
        try:
            answer = client.post("/api/v1/policies", params={"source": str(path)}, content=path.read_bytes(),
                                 headers={"Content-Type": "application/yaml"})
        except (CatalogUnavailable, CatalogRefused) as exc:
            raise click.ClickException(str(exc)) from None
        state = "loaded as a new version" if answer["changed"] else "unchanged"
        click.echo(f"{path}: policy {answer['name']} version {answer['version']} {state}")


def _plan_table(plan: dict) -> str:
    header = ("column", "personal data", "operator", "what happens", "rule")
    rows = [(c["column"], ", ".join(c["entities"]) or "-", c["operator"] or "-", c["description"], c["rule"] or "")
            for c in plan["columns"]]
    return table(header, rows)


def _column_entities(client, source: Path, dataset, force_scan: bool, columns: list[str]):
    """Facts about the dataset and entity types per column: from the catalog, or a scan of the input."""
    from policies.classify import scan as run_scan
    from policies.policy import DatasetFacts
    from policies.sources import read_sample

    namespace, name = dataset or ("file", str(source.resolve()))
    facts = DatasetFacts(namespace, name)
    known = None
    if dataset and client:
        try:
            known = client.dataset(namespace, name)
        except (CatalogUnavailable, CatalogRefused) as exc:
            raise click.ClickException(f"{exc} (use --offline to work without the catalog)") from None
        if known is None:
            raise click.ClickException(f"no dataset {namespace}/{name} in the catalog; ingest its lineage first, "
                                       "or leave out --dataset")
        facts.tags = set(known["tags"])
        facts.locations = {v for v in known["governance"].values() if v}
        classified = {f["name"]: [c["entity"] for c in f["classifications"] if c["state"] != "REJECTED"]
                      for f in known["fields"]}
        if not force_scan and any(classified.values()):
            click.echo(f"Personal data per column: from the catalog's classifications of {namespace}/{name}",
                       err=True)
            return facts, classified
    sample = read_sample(str(source), 1000, None)
    with click.progressbar(length=len(sample.columns), label=f"Scanning "
                           f"{len(sample.columns)} columns of the input for personal data", file=sys.stderr) as bar:
        result = run_scan(sample, progress=bar.update)
    return facts, {c.column: [f.entity for f in sorted(c.findings, key=lambda f: -f.score)] for c in result.columns}


@main.command()
@click.option("--policy", "policy_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the policy file (YAML)")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dataset", metavar="NAMESPACE/NAME", help="the catalogued dataset SOURCE holds: its classifications, "
              "tags and location pick the rules, and the lineage names it")
@click.option("--output-dataset", metavar="NAMESPACE/NAME", help="the dataset TARGET becomes in the lineage  "
              "[default: file/<absolute path>]")
@click.option("--job", metavar="NAMESPACE/NAME", help="the job in the lineage  [default: the output's namespace, "
              "anonymize.<output name>]")
@click.option("--scan", "force_scan", is_flag=True, help="classify SOURCE's columns with a scan even when the "
              "catalog has classifications")
@click.option("--allow-unprotected", is_flag=True, help="write the output even when columns with personal data "
              "have no operator in any matching rule")
@click.option("--dry-run", is_flag=True, help="print the plan (operator per column and why), write nothing")
@click.option("--offline", is_flag=True, help="no catalog: classify by scanning SOURCE, send no lineage")
@click.option("--spacy-model", envvar="CATALOG_SPACY_MODEL", help="installed spaCy NER model for free-text columns")
@url_option
@key_option
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def anonymize(policy_file, source, target, dataset, output_dataset, job, force_scan, allow_unprotected, dry_run,
              offline, spacy_model, url, api_key, output) -> None:
    """Anonymize a CSV or Parquet file by policy, streaming, and record the run in the lineage.

    \b
    Which rules apply and which operator each column gets is decided from the policy and
    the dataset's classifications in the catalog (or a scan of SOURCE when there are none):
    a rule's column operator first, else its operator for the column's entity type. The
    output is written to a temporary file that replaces TARGET only when the whole run,
    including the k-anonymity checks, succeeded. Keys for hash / tokenize / date_shift come
    from the environment or files named in the policy's secrets.

    \b
    The run sends OpenLineage START and COMPLETE (or FAIL) events to the catalog: the
    lineage shows the anonymization step, anonymized columns carry a masking
    transformation, and classification propagation stops there.

    \b
    Examples:
        export CATALOG_PSEUDONYM_KEY=$(openssl rand -hex 32) CATALOG_VAULT_KEY=$(openssl rand -hex 32)
        catalog anonymize --policy gdpr.yaml customers.csv customers_anon.csv \\
            --dataset food_delivery/public.customers --output-dataset food_delivery/analytics.customers
        catalog anonymize --policy gdpr.yaml events.parquet events_anon.parquet --dry-run
        catalog anonymize --policy gdpr.yaml people.tsv people_anon.tsv --offline
    """
    from policies.anonymize import AnonymizeError, anonymize_file, file_format, make_plan, progress_total, \
        read_columns
    from policies.operators import Keyring, OperatorError, Vaults
    from policies.vault import VaultError

    loaded = _load_policy_or_fail(policy_file)
    try:
        file_format(source), file_format(target)
        columns = read_columns(source)
    except AnonymizeError as exc:
        raise click.ClickException(str(exc)) from None
    client = None if offline else CatalogClient(url, api_key)
    source_id = split_dataset(dataset) if dataset else None
    facts, column_entities = _column_entities(client, source, source_id, force_scan, columns)
    plan = make_plan(loaded, facts, columns, column_entities)
    summary = plan.to_dict()
    if output == "table":
        applied = "; ".join(f"{r['rule']} ({', '.join(r['why'])})" for r in summary["rules"]) or "none"
        click.echo(f"Policy {loaded.name} {loaded.version} on {plan.dataset}; rules: {applied}\n")
        click.echo(_plan_table(summary))
    for problem in plan.problems:
        click.echo(f"problem: {problem}", err=True)
    if plan.unprotected:
        click.echo(f"{'warning' if allow_unprotected else 'error'}: personal data with no operator in a matching "
                   f"rule: {', '.join(c.column for c in plan.unprotected)}", err=True)
    if dry_run:
        if output == "json":
            click.echo(json.dumps(summary, indent=2))
        return
    if plan.problems:
        sys.exit(2)
    if plan.unprotected and not allow_unprotected:
        raise click.ClickException("not anonymizing: add operators for those columns to the policy, "
                                   "or pass --allow-unprotected")
    target_id = split_dataset(output_dataset) if output_dataset else ("file", str(target.resolve()))
    job_id = split_dataset(job) if job else (target_id[0], f"anonymize.{Path(target_id[1]).name}")
    reporter = None
    if not offline:
        from policies.run_lineage import RunReporter

        reporter = RunReporter(url, api_key, plan, source_id or ("file", str(source.resolve())), target_id,
                               columns, job_id)
        try:
            reporter.start()
        except Exception as exc:  # the client raises requests' errors; nothing written yet
            raise click.ClickException(f"cannot send the run's START event to {url}: {exc} "
                                       "(use --offline to anonymize without recording the lineage)") from None
    keyring = Keyring(loaded.secrets)
    try:
        with click.progressbar(length=progress_total(source), label=f"Anonymizing {source.name}",
                               file=sys.stderr) as bar:
            result = anonymize_file(plan, source, target, keyring, Vaults(loaded.vaults, keyring), spacy_model,
                                    progress=lambda done: bar.update(done - bar.pos))
    except (AnonymizeError, OperatorError, VaultError, OSError) as exc:
        if reporter:
            reporter.fail(str(exc))
        raise click.ClickException(str(exc)) from None
    if reporter:
        reporter.complete(result)
    if output == "json":
        click.echo(json.dumps({"plan": summary, **result, "job": "/".join(job_id) if reporter else None}, indent=2))
        return
    rate = result["rows"] / result["seconds"] if result["seconds"] else 0
    click.echo(f"\n{result['rows']} rows -> {target} in {result['seconds']:.1f} s ({rate:,.0f} rows/s)")
    for k in result["kAnonymity"]:
        click.echo(f"k-anonymity {'ok' if k['ok'] else 'NOT MET (warning)'}: k={k['k']} on "
                   f"{', '.join(k['quasiIdentifiers'])}, {k['groups']} groups, smallest {k['smallestGroup']}")
    if reporter:
        click.echo(f"lineage: job {'/'.join(job_id)} run {reporter.run_id}, output {'/'.join(target_id)}")


@main.group()
def vault() -> None:
    """Token vaults of a policy: reverse pseudonyms (needs the vault's key)."""


@vault.command("reveal")
@click.option("--policy", "policy_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--vault", "vault_name", required=True, help="the vault's name in the policy")
@click.argument("tokens", nargs=-1, required=True)
def vault_reveal(policy_file, vault_name, tokens) -> None:
    """Print the original value of each token (tab-separated); exit 1 if any token is unknown.

    The vault's key is read from the environment or file the policy names for it; with
    any other key the vault refuses to open.
    """
    from policies.operators import Keyring, OperatorError, Vaults
    from policies.vault import VaultError

    loaded = _load_policy_or_fail(policy_file)
    if vault_name not in loaded.vaults:
        raise click.BadParameter(f"the policy has no vault {vault_name!r} (has: {', '.join(loaded.vaults) or 'none'})",
                                 param_hint="--vault")
    keyring = Keyring(loaded.secrets)
    vaults = Vaults(loaded.vaults, keyring)
    missing = 0
    try:
        opened = vaults.get(vault_name)
        for item in tokens:
            value = opened.reveal(item)
            missing += value is None
            click.echo(f"{item}\t{value if value is not None else '(not in the vault)'}")
    except (OperatorError, VaultError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        vaults.close()
    sys.exit(1 if missing else 0)


for command in (audit, register, impact, keys, scan, rebuild, prune, governance_log, move):
    main.add_command(command)

if __name__ == "__main__":
    main()
