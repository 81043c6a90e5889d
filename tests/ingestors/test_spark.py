"""Spark with the real openlineage-spark listener: a pyspark job reads two CSV files, joins them in SQL and
writes a table; the listener's composite transport sends each event over HTTP and over Kafka."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.producers import http_and_kafka_catalogs, read_back, wait_until_consumed

REPO = Path(__file__).resolve().parents[2]
JOB = Path(__file__).parent / "producers" / "spark_join.py"
CLASSPATH = REPO / "scripts" / "spark" / "target" / "classpath.txt"  # written by scripts/setup.sh --test


def transport_conf(http_url: str | None = None, kafka: str | None = None, topic: str | None = None) -> dict:
    """The listener's transport, HTTP or Kafka. Not both through its composite transport: openlineage-spark 1.53
    splits the dotted Kafka property names under transports.<name>.properties into nested objects and then
    cannot build the config, so each transport gets a run of its own."""
    transport = "spark.openlineage.transport"
    if http_url:
        return {f"{transport}.type": "http", f"{transport}.url": http_url}
    serializer = "org.apache.kafka.common.serialization.StringSerializer"
    return {f"{transport}.type": "kafka", f"{transport}.topicName": topic,
            f"{transport}.properties.bootstrap.servers": kafka,
            f"{transport}.properties.key.serializer": serializer,
            f"{transport}.properties.value.serializer": serializer}


def start_job(work: Path, conf: dict) -> subprocess.Popen:
    work.mkdir()
    jars = CLASSPATH.read_text().strip().replace(":", ",")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable,
           "SPARK_CONF_JSON": json.dumps({"spark.openlineage.namespace": "spark_test", **conf})}
    return subprocess.Popen([sys.executable, str(JOB), str(work), jars], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(job: subprocess.Popen) -> None:
    output, _ = job.communicate(timeout=300)
    assert job.returncode == 0, output[-4000:]


def test_pyspark_job_with_the_openlineage_listener_reads_back_over_http_and_kafka(tmp_path, neo4j_url, kafka):
    assert CLASSPATH.is_file(), "run scripts/setup.sh --test: it fetches the openlineage-spark jar"
    with http_and_kafka_catalogs(tmp_path, neo4j_url, kafka) as (over_http, over_kafka, topic):
        # The same job twice, side by side: once sending over HTTP, once over Kafka.
        jobs = {"http": start_job(tmp_path / "http", transport_conf(http_url=over_http.url)),
                "kafka": start_job(tmp_path / "kafka", transport_conf(kafka=kafka, topic=topic))}
        for job in jobs.values():
            finish(job)
        events = wait_until_consumed(over_kafka, kafka, topic)

        write_job = ("spark_test", "orders_by_country.adaptive_spark_plan.warehouse_orders_by_country")
        answers = []
        for server, work in ((over_http, tmp_path / "http"), (over_kafka, tmp_path / "kafka")):
            table = f"{work}/warehouse/orders_by_country"
            found = read_back(server, f"dataset:file:{table}", f"datasetField:file:{table}:total_amount", write_job)
            answers.append(json.loads(json.dumps(found).replace(str(work), "WORK")))
        errors = [entry for server in (over_http, over_kafka) for entry in server.log_entries()
                  if entry["level"] == "error"]
    assert answers[0] == answers[1], "HTTP into FalkorDB and Kafka into Neo4j read back differently"
    assert not errors, errors
    found = answers[0]
    table = "dataset:file:WORK/warehouse/orders_by_country"
    datasets = {n["id"] for n in found["lineage"]["nodes"] if n["type"] == "DATASET"}
    assert {"dataset:file:WORK/customers.csv", "dataset:file:WORK/orders.csv", table} <= datasets
    assert found["job"]["inputs"] == ["dataset:file:WORK/customers.csv", "dataset:file:WORK/orders.csv"]
    assert found["job"]["outputs"] == [table]
    assert {n["id"] for n in found["columns"]["nodes"]} == {
        "datasetField:file:WORK/warehouse/orders_by_country:total_amount", "datasetField:file:WORK/orders.csv:amount"}
    assert "JOIN orders o ON o.customer_id = c.id" in found["job"]["sql"]
    assert found["job"]["latestRun"]["state"] == "COMPLETE"
    print(f"pyspark + openlineage-spark: {events} events per transport, the same answers from both catalogs")
