"""dbt-ol, the real OpenLineage dbt integration, running `dbt build` on a small dbt-duckdb project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.catalog.test_kafka_ingest import graphql, health
from tests.producers import http_and_kafka_catalogs, read_back, wait_until_consumed, write_openlineage_yml

PROJECT = Path(__file__).parent / "producers" / "dbt_shop"
ASSERTIONS = """query($ns: String!) {
  dataset(namespace: $ns, name: "shop.main.stg_customers") { qualityAssertions { assertion column success } }
}"""


def dbt_ol(project: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    bin_dir = str(Path(sys.executable).parent)  # dbt-ol runs `dbt` from PATH
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}", "OPENLINEAGE_CONFIG": str(config),
           "SHOP_DUCKDB_PATH": str(project / "shop.duckdb"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "DBT_VERSION_CHECK": "false"}
    return subprocess.run([f"{bin_dir}/dbt-ol", *args, "--project-dir", str(project), "--profiles-dir", str(project)],
                          env=env, capture_output=True, text=True, timeout=300)


def test_dbt_ol_build_reads_back_with_seeds_in_both_lineages(tmp_path, neo4j_url, kafka):
    project = tmp_path / "dbt_shop"
    shutil.copytree(PROJECT, project)
    with http_and_kafka_catalogs(tmp_path, neo4j_url, kafka) as (over_http, over_kafka, topic):
        config = write_openlineage_yml(tmp_path / "openlineage.yml", over_http.url, kafka, topic)
        done = dbt_ol(project, config, "build")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "Emitted 10 OpenLineage events" in done.stdout + done.stderr
        events = wait_until_consumed(over_kafka, kafka, topic)
        assert events == 10 == health(over_http)["eventLog"]["events"]

        ns = f"duckdb://{project / 'shop.duckdb'}"
        model = ("dbt", "shop.main.shop.customer_orders.build.run")
        answers = [read_back(server, f"dataset:{ns}:shop.main.customer_orders",
                             f"datasetField:{ns}:shop.main.customer_orders:email_hash", model)
                   for server in (over_http, over_kafka)]
        assertions = [graphql(server, ASSERTIONS, ns=ns)["dataset"]["qualityAssertions"]
                      for server in (over_http, over_kafka)]
    assert answers[0] == answers[1], "HTTP into FalkorDB and Kafka into Neo4j read back differently"
    found = answers[0]
    datasets = {n["id"].removeprefix(f"dataset:{ns}:") for n in found["lineage"]["nodes"] if n["type"] == "DATASET"}
    # The seeds are in the dataset lineage though dbt-ol lists no input for the staging models.
    assert datasets == {"shop.main.customer_orders", "shop.main.stg_customers", "shop.main.stg_orders",
                        "shop.main.raw_customers", "shop.main.raw_orders"}
    implied = {(e["origin"].removeprefix(f"dataset:{ns}:"), e["destination"])
               for e in found["lineage"]["edges"] if e["impliedBy"] == "columnLineage"}
    assert implied == {("shop.main.raw_customers", "job:dbt:shop.main.shop.stg_customers.build.run"),
                       ("shop.main.raw_orders", "job:dbt:shop.main.shop.stg_orders.build.run")}
    # The hashed email goes back to the seed's email column, and every dataset column lineage reaches is
    # in the dataset lineage.
    assert {n["id"].removeprefix(f"datasetField:{ns}:") for n in found["columns"]["nodes"]} == {
        "shop.main.customer_orders:email_hash", "shop.main.stg_customers:email", "shop.main.raw_customers:email"}
    assert "md5(lower(c.email)) as email_hash" in found["job"]["sql"]
    assert found["job"]["latestRun"]["state"] == "COMPLETE" and found["job"]["runs"] == ["COMPLETE"]
    assert found["job"]["inputs"] == [f"dataset:{ns}:shop.main.stg_customers", f"dataset:{ns}:shop.main.stg_orders"]
    # dbt tests are assertions on the staging model, once each (dbt-ol sends them as a dataset facet and again
    # as an input facet).
    assert assertions[0] == assertions[1]
    assert sorted((a["assertion"], a["column"], a["success"]) for a in assertions[0]) == [
        ("not_null", "customer_id", True), ("not_null", "email", True), ("unique", "customer_id", True)]
    print(f"dbt-ol build: {events} events, the same answers from both catalogs")
