"""CLI commands for compliance officers: ``catalog audit``, ``catalog register``, ``catalog impact``.

They talk to a running catalog server over HTTP (the server owns the graph); reports come
back in the format asked for and are written to a file or standard output.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from catalog.client import DEFAULT_URL, CatalogClient, CatalogRefused, CatalogUnavailable
from policies.audit import SEVERITIES, severity_rank
from policies.reports import FORMATS

FINDINGS_EXIT = 3  # distinct from 1 (an error) and 2 (a usage error), for CI gates
POLL_SECONDS = 0.2

url_option = click.option("--url", default=DEFAULT_URL, show_default=True, envvar="CATALOG_URL",
                          help="the catalog server")
key_option = click.option("--api-key", envvar="CATALOG_API_KEY", help="sent as 'Authorization: Bearer <key>'")


def _write(text: str, output: str, what: str) -> None:
    if output == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    click.echo(f"{what} written to {path}", err=True)


def _wait(client: CatalogClient, run_id: str) -> dict:
    """Poll the audit until it is done, drawing its progress: reading datasets, then checking them."""
    bar = None
    try:
        while True:
            state = client.get(f"/api/v1/audits/{run_id}").json()
            if state["status"] == "failed":
                raise click.ClickException(f"audit {run_id} failed on the server: {state.get('error')}")
            if state["status"] == "complete":
                if bar:
                    bar.update(bar.length - bar.pos)
                return state
            total = state.get("total") or 0
            if total and bar is None:
                bar = click.progressbar(length=2 * total, label=f"Auditing {total} datasets", file=sys.stderr)
                bar.__enter__()
            if bar:
                position = state["done"] + (total if state["phase"] in ("checking", "recording") else 0)
                bar.update(max(0, min(position, bar.length) - bar.pos))
            time.sleep(POLL_SECONDS)
    finally:
        if bar:
            bar.__exit__(None, None, None)


def _summary(run: dict, url: str) -> str:
    severities = ", ".join(f"{n} {s}" for s, n in run["summary"]["bySeverity"].items() if n) or "none"
    policies = ", ".join(f"{p['name']} {p['version']}" for p in run["policies"]) or "none (GDPR baseline rules)"
    return (f"Audit {run['id']}: {run['datasets']} datasets, {run['open']} open findings ({severities}); "
            f"{run['new']} new, {run['resolved']} resolved, {run['unchanged']} unchanged since the previous run\n"
            f"Policies: {policies}\nReport: {url.rstrip('/')}/audits/{run['id']}")


@click.command()
@click.option("--policy", "policy_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="audit against this policy file instead of the catalog's active policies (for this run only; "
                   "it is not loaded)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True,
              help="report format")
@click.option("--output", "-o", metavar="PATH", help="where the report goes, '-' for standard output  "
              "[default: audit-<run id>.<format>]")
@click.option("--fail-on", type=click.Choice(SEVERITIES + ("none",)), default="high", show_default=True,
              help=f"exit with {FINDINGS_EXIT} when open findings at or above this severity exist; 'none' never does")
@url_option
@key_option
def audit(policy_file, fmt, output, fail_on, url, api_key) -> None:
    """Audit every dataset in the catalog against GDPR rules and policies, and write the report.

    \b
    Rules (each finding names its GDPR article, the dataset/column, evidence with the
    lineage path, and a remediation):
      lawful-basis                Art. 6(1)      personal data with no lawful basis recorded
      special-category-condition  Art. 9(2)      special category data with no Art. 9 condition
      retention-exceeded          Art. 5(1)(e)   data older than the retention days (writes since
                                                 the last overwrite/truncate count)
      accountability              Art. 5(2)      personal data with no owner or steward
      unanonymized-flow           Art. 25 / 32   personal data reaching a dataset a policy rule
                                                 requires anonymized, with no anonymizing step
      transfer-outside-allowed    Art. 44        stored outside the rule's allowed_locations
      transfer-unverifiable       Art. 44        storage location unknown where a rule restricts it
      never-scanned               coverage       dataset never scanned for personal data

    \b
    The run is recorded in the catalog and compared with the previous one (new, resolved,
    unchanged findings). Exit status: 0 clean, 3 open findings at or above --fail-on,
    1 an error (server unreachable, bad policy), 2 a usage error.

    \b
    Examples:
        catalog audit                                   # HTML report, fail on high or critical
        catalog audit --format json -o audit.json --fail-on critical
        catalog audit --policy gdpr.yaml --format csv -o - | column -s, -t
    """
    client = CatalogClient(url, api_key)
    try:
        body = policy_file.read_bytes() if policy_file else b""
        params = {"source": str(policy_file)} if policy_file else {}
        started = client.post("/api/v1/audits", expect=(202,), content=body, params=params,
                              headers={"Content-Type": "application/yaml"})
        run = _wait(client, started["id"])
        report = client.get(f"/api/v1/audits/{run['id']}/report", params={"format": fmt}).text
    except (CatalogUnavailable, CatalogRefused) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()
    _write(report, output or f"audit-{run['id']}.{fmt}", "Report")
    click.echo(_summary(run, url), err=True)
    if fail_on != "none":
        failing = sum(n for s, n in run["summary"]["bySeverity"].items() if severity_rank(s) >= severity_rank(fail_on))
        if failing:
            click.echo(f"{failing} open findings at or above {fail_on}: exit {FINDINGS_EXIT}", err=True)
            sys.exit(FINDINGS_EXIT)


def _fetch(url: str, api_key: str | None, path: str, params: dict) -> str:
    client = CatalogClient(url, api_key)
    try:
        return client.get(path, params=params).text
    except (CatalogUnavailable, CatalogRefused) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()


@click.command(short_help="The register of processing activities (GDPR Art. 30), from the catalog.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--output", "-o", metavar="PATH", default="-", show_default=True, help="'-' for standard output")
@url_option
@key_option
def register(fmt, output, url, api_key) -> None:
    """The register of processing activities (GDPR Art. 30), generated from the catalog.

    \b
    One activity per job that reads or writes personal data, with its purposes, lawful
    bases, categories of data and data subjects, recipients, transfers outside the EEA,
    retention, anonymizing safeguards, and what is missing from the record. Purposes,
    bases, subjects and recipients come from the datasets' governance attributes
    (GraphQL setGovernance).

    \b
    Example:
        catalog register --format html -o register.html
    """
    _write(_fetch(url, api_key, "/api/v1/register", {"format": fmt}), output, "Register")


@click.command()
@click.argument("field_id")
@click.option("--depth", default=50, show_default=True, type=click.IntRange(1, 50), help="lineage hops to follow")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--output", "-o", metavar="PATH", default="-", show_default=True, help="'-' for standard output")
@url_option
@key_option
def impact(field_id, depth, fmt, output, url, api_key) -> None:
    """Erasure / subject-access impact: every dataset and column fed by a source column.

    \b
    FIELD_ID is the source column, datasetField:<namespace>:<dataset>:<column>. Each column
    reached says whether it holds the value itself or something derived through a masking,
    hashing, aggregating or indirect step (still personal data to whoever holds the key).

    \b
    Example:
        catalog impact datasetField:food_delivery:public.customers:email --format html -o email.html
    """
    _write(_fetch(url, api_key, "/api/v1/impact", {"fieldId": field_id, "depth": depth, "format": fmt}), output,
           "Impact report")
