"""Real OpenLineage producers (dbt-ol, Spark's listener) pointed at two catalogs at once.

One run of a producer emits through a composite transport: over HTTP to a catalog on the
embedded FalkorDB, and over Kafka to a catalog on Neo4j that consumes the topic. Each test
then reads the lineage back through GraphQL from both and expects the same answers, so one
producer run covers both transports and both engines.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import yaml

from tests.catalog.test_kafka_ingest import graphql, health
from tests.conftest import ServerProcess
from tests.engines import create_topic
from tests.ingestors.test_kafka import wait_for


@contextlib.contextmanager
def http_and_kafka_catalogs(tmp_path: Path, neo4j_url: str, kafka: str):
    """(catalog fed over HTTP, on FalkorDB; catalog fed over Kafka, on Neo4j; the topic)."""
    topic = create_topic(kafka, partitions=2)
    with ServerProcess(tmp_path / "over-http") as over_http, \
            ServerProcess(tmp_path / "over-kafka", "--graph-url", neo4j_url, "--kafka-bootstrap", kafka,
                          "--kafka-topic", topic) as over_kafka:
        yield over_http, over_kafka, topic


def write_openlineage_yml(path: Path, http_url: str, kafka: str, topic: str) -> Path:
    """openlineage.yml for the Python client (dbt-ol): every event to both transports; a failure fails."""
    transport = {"type": "composite", "continue_on_failure": False, "transports": {
        "http": {"type": "http", "url": http_url, "timeout": 10},
        "kafka": {"type": "kafka", "topic": topic, "flush": True, "config": {"bootstrap.servers": kafka}},
    }}
    path.write_text(yaml.safe_dump({"transport": transport}))
    return path


def wait_until_consumed(over_http: ServerProcess, over_kafka: ServerProcess) -> int:
    """Wait until the Kafka-fed catalog holds as many events as the HTTP-fed one, all projected."""
    expected = health(over_http)["eventLog"]["events"]
    assert expected > 0, f"the producer sent nothing over HTTP: {over_http.log()}"
    wait_for(lambda: (lambda h: h["eventLog"]["events"] >= expected and h["projection"]["lag"] == 0
                      and h["kafka"]["lag"] == 0)(health(over_kafka)), timeout=60,
             what=f"{expected} events consumed from Kafka")
    assert health(over_kafka)["eventLog"]["events"] == expected
    return expected


LINEAGE = """
query($node: String!, $depth: Int!) {
  lineage(nodeId: $node, direction: UPSTREAM, depth: $depth) {
    nodes { id type depth }
    edges { origin destination impliedBy }
  }
}"""

COLUMNS = """
query($field: String!) {
  columnLineage(nodeId: $field, direction: UPSTREAM, depth: 6) { nodes { id depth } edges { origin destination } }
}"""

JOB = """
query($ns: String!, $name: String!) {
  job(namespace: $ns, name: $name) { sql latestRun { state } runs { state } inputs { id } outputs { id } }
}"""


def sorted_graph(data: dict) -> dict:
    return {key: sorted(value, key=lambda item: sorted(item.items())) for key, value in data.items()}


def read_back(server: ServerProcess, node: str, field: str, job: tuple[str, str], depth: int = 6) -> dict:
    """Dataset lineage upstream of ``node``, column lineage upstream of ``field``, and ``job``'s SQL and runs."""
    lineage = graphql(server, LINEAGE, node=node, depth=depth)["lineage"]
    columns = graphql(server, COLUMNS, field=field)["columnLineage"]
    found = graphql(server, JOB, ns=job[0], name=job[1])["job"]
    assert found, f"no job {job} in {server.url}"
    return {"lineage": sorted_graph(lineage), "columns": sorted_graph(columns),
            "job": {**found, "runs": sorted(r["state"] for r in found["runs"]),
                    "inputs": sorted(d["id"] for d in found["inputs"]),
                    "outputs": sorted(d["id"] for d in found["outputs"])}}

