"""``catalog keys create|list|revoke``: API keys of a catalog, in its data directory or its PostgreSQL.

They work on the database directly (the server reads keys from there), so a key works, or stops
working, the moment the command returns (on replicas sharing PostgreSQL, within the 2 s each
keeps a checked key); safe while the server runs. Creating and revoking are recorded in the
governance log.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime, timezone

import click

from catalog.keys import ROLES, ApiKeyError
from catalog.logs_cli import data_dir_option, database_option, open_cli_logs
from catalog.text_table import table


def _cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


def _time(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M") if ms else "-"


@click.group()
def keys() -> None:
    """API keys and their roles (the server refuses requests without a live key).

    \b
    Roles:
      producer            post lineage events (with --namespace: only into those namespaces)
      viewer              read lineage, datasets, jobs, classifications, policies
      steward             viewer + descriptions, tags, owners, governance attributes, scans,
                          classification decisions; read audits, register, erasure impact
      compliance_officer  viewer + load/remove policies, run audits; read audits, register, impact
      admin               everything
    Clients send the key as 'Authorization: Bearer <key>' (openlineage-python: auth type
    api_key); the catalog CLI reads it from --api-key or CATALOG_API_KEY; web pages ask for it
    at /login.
    """


@keys.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(list(ROLES)), help="what the key may do (see `catalog keys`)")
@click.option("--namespace", "namespaces", multiple=True, metavar="GLOB",
              help="producers only: a namespace (or glob, e.g. 'postgres://prod-*') its events may write to; "
                   "repeat for more. Every namespace an event touches (job, inputs, outputs, column-lineage "
                   "sources, parent job) must match one.")
@data_dir_option
@database_option
def keys_create(name, role, namespaces, data_dir, database) -> None:
    """Create a key; prints it once on standard output (only its hash is stored).

    \b
    Examples:
        catalog keys create airflow-prod --role producer --namespace 'postgres://prod-db*' --namespace airflow
        export CATALOG_API_KEY=$(catalog keys create dpo-laptop --role compliance_officer)
    """
    logs = open_cli_logs(data_dir, database)
    try:
        key, token = logs.keys.create(name, role, tuple(namespaces), logs.governance, _cli_actor())
    except ApiKeyError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        logs.close()
    scope = f" for namespaces {', '.join(key.namespaces)}" if key.namespaces else ""
    click.echo(f"created key {key.id} ({key.name}): {key.role}{scope}. It is shown only now; store it safely.",
               err=True)
    click.echo(token)


@keys.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@data_dir_option
@database_option
def keys_list(fmt, data_dir, database) -> None:
    """Every key with its id, name, role, namespaces, and when it was created and revoked (never the key)."""
    logs = open_cli_logs(data_dir, database)
    try:
        found = logs.keys.list()
    finally:
        logs.close()
    if fmt == "json":
        click.echo(json.dumps([key.as_dict() for key in found], indent=2))
        return
    if not found:
        click.echo("no keys yet: create one with `catalog keys create NAME --role ROLE`", err=True)
        return
    click.echo(table(("id", "name", "role", "namespaces", "created (UTC)", "revoked (UTC)"), [
        (k.id, k.name, k.role, ",".join(k.namespaces) or "*", _time(k.created_at), _time(k.revoked_at))
        for k in found]))


@keys.command("revoke")
@click.argument("key_id")
@data_dir_option
@database_option
def keys_revoke(key_id, data_dir, database) -> None:
    """Revoke a key by its id (from `catalog keys list`); the server refuses it from now on."""
    logs = open_cli_logs(data_dir, database)
    try:
        key = logs.keys.revoke(key_id, logs.governance, _cli_actor())
    except ApiKeyError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    finally:
        logs.close()
    click.echo(f"revoked key {key.id} ({key.name}, {key.role}) at {_time(key.revoked_at)} UTC")
