"""``catalog scan``: find personal data in a file, a table or a whole database, and record it.

The scan runs here, next to the data; only findings and counts go to the server, never values.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

import click

from catalog.audit_cli import key_option, url_option
from catalog.client import CatalogClient, CatalogRefused, CatalogUnavailable
from catalog.text_table import table as text_table


def split_dataset(value: str) -> tuple[str, str]:
    namespace, _, name = value.rpartition("/")
    if not namespace or not name:
        raise click.BadParameter("use NAMESPACE/NAME, e.g. food_delivery/public.customers", param_hint="--dataset")
    return namespace, name


def _regions(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    import phonenumbers

    regions = tuple(r.strip().upper() for r in value.split(",") if r.strip())
    unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise click.BadParameter(f"not ISO 3166 regions libphonenumber knows: {', '.join(unknown)}",
                                 param_hint="--phone-regions")
    return regions


def _findings_table(result: dict) -> str:
    header = ("column", "entity", "category", "score", "matched", "recognizer", "evidence")
    rows = []
    for column in result["columns"]:
        if not column["findings"]:
            rows.append((column["column"], "-", "", "", f"0/{column['sampled']}", column["note"] or "", ""))
        for f in column["findings"]:
            category = f["category"] + (" (Art. 9)" if f["special"] else "")
            evidence = f["evidence"] + (f" at {f['json_path']}" if f.get("json_path") else "")
            rows.append((column["column"], f["entity"], category, f"{f['score']:.2f}",
                         f"{f['matched']}/{f['sampled']}", f["recognizer"], evidence))
    return text_table(header, rows)


def _record(client: CatalogClient, namespace: str, name: str, result: dict) -> dict | None:
    """The server's answer, or None when it has no such dataset."""
    response = client.request("POST", "/api/v1/scans", (201, 404),
                              json={"namespace": namespace, "name": name, **result})
    return response.json() if response.status_code == 201 else None


@click.command()
@click.argument("source")
@click.option("--dataset", "dataset", metavar="NAMESPACE/NAME",
              help="the catalogued dataset the file or table holds (split at the last '/'); a database URL "
                   "without --dataset or --table scans every table")
@click.option("--table", help="for a SQL source: the one table to sample  [default: the dataset name]")
@click.option("--schema", help="for a whole-database scan: the schema whose tables are scanned  "
                               "[default: the database's default schema]")
@click.option("--namespace", help="for a whole-database scan: the OpenLineage namespace the tables are catalogued "
                                  "under  [default: from the URL, e.g. postgres://host:5432]")
@click.option("--sample", "sample_rows", default=1000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="rows to sample per table or file; the scan never reads more")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--min-ratio", default=0.5, show_default=True, type=click.FloatRange(0.01, 1.0),
              help="share of a structured column's sampled cells that must match an entity type")
@click.option("--phone-regions", envvar="CATALOG_PHONE_REGIONS", metavar="CC,CC,...",
              help="regions to try phone numbers without a country code in, after those the data's country "
                   "columns and column names suggest  [default: the EU/EEA, GB, CH, US]")
@click.option("--workers", type=click.IntRange(1, 64), help="processes classifying columns  [default: the cores, "
                                                             "at most 4]")
@click.option("--spacy-model", envvar="CATALOG_SPACY_MODEL",
              help="an installed spaCy NER model (e.g. en_core_web_sm) for PERSON in columns the name "
                   "gazetteer does not settle")
@url_option
@key_option
@click.option("--dry-run", is_flag=True, help="print the findings, send nothing to the catalog")
def scan(source, dataset, table, schema, namespace, sample_rows, output, min_ratio, phone_regions, workers,
         spacy_model, url, api_key, dry_run) -> None:
    """Find personal data in columns and record it in the catalog.

    SOURCE is a .csv/.tsv or .parquet file, or a SQLAlchemy URL (sqlite:///shop.db,
    postgresql://user@host/db). A bounded sample of rows, spread over the file or table, is
    classified offline (no model download): column names in the EU's main languages, values
    by shape (emails, national phone and date formats, IBANs, cards, national ids, names of
    people, JSON leaves, Art. 9 terms). Findings per column are printed and sent to the server
    with their evidence (recognizer, score, matched/sampled cells), never values.
    Classifications then flow downstream along column lineage.

    A database URL with neither --dataset nor --table scans every table (of --schema), each
    recorded on the dataset its OpenLineage name gives: postgres://HOST:PORT and
    DATABASE.SCHEMA.TABLE for PostgreSQL. Tables the catalog does not know are reported.

    \b
    Examples:
        catalog scan customers.csv --dataset food_delivery/public.customers
        catalog scan sqlite:///shop.db --table customers --dataset shop/main.customers --sample 5000
        catalog scan postgresql://reader@db:5432/shop --schema public
        catalog scan events.parquet --dataset s3://lake/events --format json --dry-run
    """
    from policies.classify import DEFAULT_PHONE_REGIONS, default_workers
    from policies.sources import SourceError

    regions = _regions(phone_regions) or DEFAULT_PHONE_REGIONS
    workers = workers or default_workers()
    options = dict(model=spacy_model, min_ratio=min_ratio, default_regions=regions, workers=workers)
    try:
        if "://" in source and not dataset and not table:
            _scan_database(source, schema, namespace, sample_rows, options, output, url, api_key, dry_run)
        elif not dataset:
            raise click.UsageError("--dataset is required for a file or a single table")
        else:
            _scan_one(source, split_dataset(dataset), table, sample_rows, options, output, url, api_key, dry_run)
    except (SourceError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    except CatalogUnavailable as exc:
        raise click.ClickException(f"{exc} (use --dry-run to only print)") from None
    except CatalogRefused as exc:
        raise click.ClickException(str(exc)) from None


def _scan_one(source, dataset, table, sample_rows, options, output, url, api_key, dry_run) -> None:
    from policies.classify import scan as run_scan
    from policies.sources import read_sample

    namespace, name = dataset
    sample = read_sample(source, sample_rows, table or name)
    with click.progressbar(length=len(sample.columns), label=f"Scanning {len(sample.columns)} columns "
                           f"({sample.rows} sampled rows)", file=sys.stderr) as bar:
        result = run_scan(sample, progress=bar.update, **options).to_dict()
    recorded = None
    if not dry_run:
        recorded = _record(CatalogClient(url, api_key), namespace, name, result)
        if recorded is None:
            raise click.ClickException(f"no dataset {namespace}/{name} in the catalog; ingest its lineage "
                                       "first (or use --dry-run to only print)")
    if output == "json":
        click.echo(json.dumps({"dataset": f"{namespace}/{name}", **result, "recorded": recorded}, indent=2))
        return
    click.echo(_findings_table(result))
    found = sum(len(c["findings"]) for c in result["columns"])
    click.echo(f"\n{found} findings in {len(result['columns'])} columns, {result['rows']} rows sampled, "
               f"{result['seconds']:.1f} s" + (f"; recorded, {recorded['propagated']} propagated downstream"
                                               if recorded else "; not recorded (--dry-run)"))


def _scan_database(source, schema, namespace, sample_rows, options, output, url, api_key, dry_run) -> None:
    from policies.database_scan import classify_tables, sample_tables, tables_to_scan

    tables = tables_to_scan(source, schema)  # a SourceError becomes the command's error in scan()
    with click.progressbar(length=len(tables), label=f"Sampling {len(tables)} tables", file=sys.stderr) as bar:
        samples = sample_tables(source, tables, sample_rows, on_sampled=bar.update)
    columns = sum(len(s.sample.columns) for s in samples)
    with click.progressbar(length=columns, label=f"Classifying {columns} columns", file=sys.stderr) as bar:
        scans = classify_tables(source, samples, namespace=namespace, on_column=bar.update, **options)
    client = None if dry_run else CatalogClient(url, api_key)
    report, missing, entities = [], [], Counter()
    for table_scan in scans:
        result = table_scan.result.to_dict()
        recorded = _record(client, table_scan.namespace, table_scan.name, result) if client else None
        if client and recorded is None:
            missing.append(f"{table_scan.namespace}/{table_scan.name}")
        entities.update(f["entity"] for c in result["columns"] for f in c["findings"])
        report.append({"table": table_scan.table, "dataset": f"{table_scan.namespace}/{table_scan.name}", **result,
                       "recorded": recorded})
    if output == "json":
        click.echo(json.dumps({"source": source, "tables": report, "notInCatalog": missing}, indent=2))
        return
    for item in report:
        click.echo(f"\n{item['table']} -> {item['dataset']}")
        click.echo(_findings_table(item))
    flagged = sum(1 for item in report if any(c["findings"] for c in item["columns"]))
    click.echo(f"\n{len(report)} tables, {columns} columns scanned; {flagged} tables hold personal data "
               f"({', '.join(f'{e} {n}' for e, n in entities.most_common()) or 'none found'})")
    if dry_run:
        click.echo("not recorded (--dry-run)")
    else:
        click.echo(f"recorded {len(report) - len(missing)} tables" +
                   (f"; not in the catalog: {', '.join(missing)}" if missing else ""))
