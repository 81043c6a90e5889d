"""Real OpenLineage producers (dbt-ol, Spark's listener) pointed at two catalogs at once.

One run of a producer emits through a composite transport: over HTTP to a catalog on the
embedded FalkorDB, and over Kafka to a catalog on Neo4j that consumes the topic. Each test
then reads the lineage back through GraphQL from both and expects the same answers, so one
producer run covers both transports and both engines.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import confluent_kafka
import yaml
from confluent_kafka import TopicPartition

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


def topic_end(kafka: str, topic: str) -> int:
    """Messages in the topic, from the broker itself: the sum of its partitions' high watermarks."""
    consumer = confluent_kafka.Consumer({"bootstrap.servers": kafka, "group.id": f"watermarks-{topic}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions)
    finally:
        consumer.close()


def wait_until_consumed(over_kafka: ServerProcess, kafka: str, topic: str) -> int:
    """Wait until the Kafka-fed catalog committed every message in the topic and projected it; the count."""
    end = topic_end(kafka, topic)
    assert end > 0, "the producer sent nothing over Kafka"

    def done() -> bool:
        status = health(over_kafka)
        committed = sum(p["committed"] or 0 for p in status["kafka"]["partitions"])
        return committed == end and status["projection"]["lag"] == 0

    wait_for(done, timeout=60, what=f"{end} messages consumed from Kafka")
    return end


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

