"""Kafka ingestion end to end: `catalog serve --kafka-bootstrap` on a real broker, fed by the real
openlineage-python client, read back through GraphQL; and the faults (a SIGKILLed catalog, a restarted broker)."""

from __future__ import annotations

import json
import signal
import time
import uuid
from datetime import datetime, timezone

import confluent_kafka
import httpx
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset, sql_job
from openlineage.client.transport.http import HttpConfig, HttpTransport
from openlineage.client.transport.kafka import KafkaConfig, KafkaTransport

from tests.catalog.api.test_graphql import data as graphql
from tests.conftest import ServerProcess
from tests.engines import KafkaProcess, create_topic
from tests.ingestors.test_kafka import read_all, wait_for

PRODUCER = "https://github.com/lineage-catalog/tests/kafka"


def kafka_server(tmp_path, graph_args, bootstrap: str, topic: str) -> ServerProcess:
    return ServerProcess(tmp_path / "data", *graph_args, "--kafka-bootstrap", bootstrap, "--kafka-topic", topic,
                         "--kafka-group", f"catalog-{topic}")


def health(server: ServerProcess) -> dict:
    return httpx.get(server.url + "/health", timeout=10).json()


def emit_pipeline(client: OpenLineageClient, namespace: str) -> None:
    """A job that joins two tables in SQL, with column lineage; one run completes, the next fails."""
    def fields(*names):
        return schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type="VARCHAR") for n in names])

    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(fields={
        "email": column_lineage_dataset.Fields(inputFields=[
            column_lineage_dataset.InputField(namespace, "public.users", "email")]),
        "total": column_lineage_dataset.Fields(inputFields=[
            column_lineage_dataset.InputField(namespace, "public.orders", "amount")]),
    })
    job = Job(namespace=namespace, name="orders_by_user",
              facets={"sql": sql_job.SQLJobFacet(query="SELECT u.email, sum(o.amount) AS total FROM public.users u "
                                                       "JOIN public.orders o ON o.user_id = u.id GROUP BY u.email")})
    inputs = [InputDataset(namespace=namespace, name="public.users", facets={"schema": fields("id", "email")}),
              InputDataset(namespace=namespace, name="public.orders", facets={"schema": fields("user_id", "amount")})]
    outputs = [OutputDataset(namespace=namespace, name="analytics.orders_by_user",
                             facets={"schema": fields("email", "total"), "columnLineage": lineage})]
    for end in (RunState.COMPLETE, RunState.FAIL):
        run = Run(runId=str(uuid.uuid4()))
        for state in (RunState.START, end):
            client.emit(RunEvent(eventType=state, eventTime=datetime.now(timezone.utc).isoformat(), run=run,
                                 job=job, producer=PRODUCER, inputs=inputs, outputs=outputs))


def read_pipeline(server: ServerProcess, namespace: str) -> dict:
    """What GraphQL says of emit_pipeline's lineage, with the namespace taken out so two can be compared."""
    data = graphql(server, """
      query($node: String!, $field: String!, $ns: String!) {
        lineage(nodeId: $node, direction: UPSTREAM, depth: 2) { nodes { id type } edges { origin destination } }
        columnLineage(nodeId: $field, direction: UPSTREAM, depth: 2) { nodes { id } }
        job(namespace: $ns, name: "orders_by_user") { sql latestRun { state } runs { state } }
      }""", node=f"dataset:{namespace}:analytics.orders_by_user",
                   field=f"datasetField:{namespace}:analytics.orders_by_user:email", ns=namespace)

    def plain(text: str) -> str:
        return text.replace(f":{namespace}:", ":NS:")

    return {
        "nodes": sorted(plain(n["id"]) for n in data["lineage"]["nodes"]),
        "edges": sorted((plain(e["origin"]), plain(e["destination"])) for e in data["lineage"]["edges"]),
        "columns": sorted(plain(n["id"]) for n in data["columnLineage"]["nodes"]),
        "sql": data["job"]["sql"],
        "latest": data["job"]["latestRun"]["state"],
        "runs": sorted(r["state"] for r in data["job"]["runs"]),
    }


def test_python_client_over_kafka_and_http_reads_back_the_same_through_graphql(tmp_path, graph_args, kafka):
    topic = create_topic(kafka, partitions=2)
    with kafka_server(tmp_path, graph_args, kafka, topic) as server:
        over_kafka = OpenLineageClient(transport=KafkaTransport(KafkaConfig(
            topic=topic, config={"bootstrap.servers": kafka}, flush=True)))
        over_http = OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict(
            {"url": server.url, "timeout": 10, "retry": {"total": 0}})))
        emit_pipeline(over_kafka, "kafka_ns")
        emit_pipeline(over_http, "http_ns")
        wait_for(lambda: health(server)["eventLog"]["events"] == 8 and health(server)["kafka"]["lag"] == 0
                 and health(server)["projection"]["lag"] == 0, what="the 4 Kafka events logged, committed, projected")

        from_kafka, from_http = read_pipeline(server, "kafka_ns"), read_pipeline(server, "http_ns")
        assert from_kafka == from_http
        assert from_kafka["nodes"] == ["dataset:NS:analytics.orders_by_user", "dataset:NS:public.orders",
                                       "dataset:NS:public.users", "job:NS:orders_by_user"]
        assert from_kafka["columns"] == ["datasetField:NS:analytics.orders_by_user:email",
                                         "datasetField:NS:public.users:email"]
        assert from_kafka["sql"].startswith("SELECT u.email, sum(o.amount)")
        assert from_kafka["latest"] == "FAIL" and from_kafka["runs"] == ["COMPLETE", "FAIL"]

        status = health(server)["kafka"]
        assert status["consumed"] == 4 and status["deadLettered"] == 0 and status["brokersUp"]
        assert sorted(p["committed"] or 0 for p in status["partitions"]) == [0, 4]  # one job: one key, one partition
        metrics = httpx.get(server.url + "/metrics").text
        assert f'catalog_kafka_messages_total{{outcome="ingested",topic="{topic}"}} 4.0' in metrics
        assert 'catalog_events_total{outcome="accepted",type="RunEvent"} 8.0' in metrics


def test_invalid_messages_are_dead_lettered_counted_and_write_nothing(tmp_path, graph_args, kafka):
    topic = create_topic(kafka)
    good = run_events(1, "dlq_ns")
    missing_job = {k: v for k, v in good[0].items() if k != "job"}
    messages = [json.dumps(good[0]).encode(), b"{not json", json.dumps(missing_job).encode(),
                json.dumps([good[1]]).encode(), json.dumps(good[1]).encode()]
    produce(kafka, topic, messages)
    with kafka_server(tmp_path, graph_args, kafka, topic) as server:
        wait_for(lambda: health(server)["kafka"]["consumed"] == 5, what="5 messages consumed")
        status = health(server)
        assert status["eventLog"]["events"] == 2
        assert status["kafka"]["deadLettered"] == 3
        letters = {dict(m.headers())["catalog.source"].decode(): dict(m.headers())
                   for m in read_all(kafka, f"{topic}.dead-letter", 3)}
        assert set(letters) == {f"{topic}/0/1", f"{topic}/0/2", f"{topic}/0/3"}
        assert json.loads(letters[f"{topic}/0/2"]["catalog.errors"]) == [{"field": "/job", "message": "is required"}]
        assert b"must be a JSON object" in letters[f"{topic}/0/3"]["catalog.reason"]
        metrics = httpx.get(server.url + "/metrics").text
        assert f'catalog_kafka_messages_total{{outcome="dead_letter",topic="{topic}"}} 3.0' in metrics
        assert 'catalog_events_total{outcome="rejected",type="unknown"} 2.0' in metrics
        store = server.graph()
        assert store.query("MATCH (r:Run) RETURN count(r) AS n")[0]["n"] == 1
        store.close()


def run_events(runs: int, namespace: str, jobs: int = 20) -> list[dict]:
    """START and COMPLETE of ``runs`` runs spread over ``jobs`` jobs, as plain OpenLineage JSON."""
    events = []
    for n in range(runs):
        run_id = str(uuid.UUID(int=uuid.uuid4().int))
        job = {"namespace": namespace, "name": f"job_{n % jobs}"}
        for state, second in (("START", 0), ("COMPLETE", 1)):
            events.append({"eventType": state, "eventTime": f"2026-11-30T10:{n // 60 % 60:02d}:{n % 60:02d}.{second}Z",
                           "run": {"runId": run_id}, "job": job, "producer": PRODUCER,
                           "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                           "inputs": [{"namespace": namespace, "name": f"raw_{n % jobs}"}],
                           "outputs": [{"namespace": namespace, "name": f"clean_{n % jobs}"}]})
    return events


def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Send each value keyed as the OpenLineage clients key it (by job), so one run's events share a partition."""
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for value in values:
        try:
            job = json.loads(value)["job"]
            key = f"run:{job['namespace']}/{job['name']}".encode()
        except (ValueError, KeyError, TypeError):
            key = None
        producer.produce(topic, value=value, key=key)
    assert producer.flush(60) == 0


def counted(server: ServerProcess) -> dict:
    """Events in the server's log (unique by digest), and completed runs in its graph."""
    store = server.graph()
    try:
        runs = store.query("MATCH (r:Run) WHERE r.state = 'COMPLETE' RETURN count(r) AS n")[0]["n"]
    finally:
        store.close()
    return {"logged": health(server)["eventLog"]["events"], "completed_runs_in_graph": runs}


def test_a_catalog_killed_while_consuming_keeps_every_event_exactly_once(tmp_path, graph_args, kafka, capsys):
    topic = create_topic(kafka, partitions=3)
    events = run_events(750, "crash_ns")
    invalid = [b"{broken"] * 15
    values = [json.dumps(e).encode() for e in events]
    for index, letter in enumerate(invalid):
        values.insert(index * 97, letter)  # spread over the batches
    produce(kafka, topic, values)

    server = kafka_server(tmp_path, graph_args, kafka, topic).start()
    wait_for(lambda: health(server)["eventLog"]["events"] >= 300, what="some events consumed")
    at_kill = health(server)["eventLog"]["events"]
    server.stop(signal.SIGKILL)

    with kafka_server(tmp_path, graph_args, kafka, topic) as again:
        wait_for(lambda: health(again)["kafka"]["lag"] == 0 and health(again)["kafka"]["partitions"]
                 and health(again)["projection"]["lag"] == 0 and health(again)["eventLog"]["events"] >= len(events),
                 timeout=120, what="the rest consumed after the restart")
        reread = health(again)["kafka"]["consumed"]
        result = counted(again)
    letters = len(read_all(kafka, f"{topic}.dead-letter", len(invalid)))
    with capsys.disabled():
        print(f"\n[kafka SIGKILL] produced {len(events)} valid + {len(invalid)} invalid; {at_kill} logged at the kill; "
              f"{reread} messages read after the restart; {result['logged']} in the log, "
              f"{result['completed_runs_in_graph']} completed runs in the graph, {letters} dead letters")
    assert result == {"logged": len(events), "completed_runs_in_graph": 750}
    assert letters >= len(invalid)  # at least once: a kill between dead-lettering and the commit sends it again


def test_the_consumer_resumes_by_itself_after_the_broker_restarts(tmp_path, capsys):
    # Reconnecting is the consumer's business, whatever the graph: the embedded engine only (40 s off the suite).
    graph_args = ()
    broker = KafkaProcess(tmp_path / "kafka").start()
    topic = create_topic(broker.url, partitions=2)
    first, second = run_events(100, "restart_ns"), run_events(100, "restart_ns")
    try:
        with kafka_server(tmp_path, graph_args, broker.url, topic) as server:
            produce(broker.url, topic, [json.dumps(e).encode() for e in first])
            wait_for(lambda: health(server)["eventLog"]["events"] == 200 and health(server)["projection"]["lag"] == 0,
                     what="the first 200 events")
            broker.kill()  # a crash, not a clean shutdown
            wait_for(lambda: not health(server)["kafka"]["brokersUp"], what="the broker seen down")
            down = health(server)
            assert down["status"] == "degraded"
            assert httpx.get(server.url + "/health").status_code == 200  # HTTP ingestion and reads go on

            broker = KafkaProcess(broker.data_dir, broker.port).start()
            produce(broker.url, topic, [json.dumps(e).encode() for e in second])
            started = time.monotonic()
            wait_for(lambda: health(server)["eventLog"]["events"] == 400, timeout=120,
                     what="the next 200 logged after the broker came back")
            resumed = time.monotonic() - started
            wait_for(lambda: health(server)["projection"]["lag"] == 0, what="the graph caught up")
            status = health(server)
            result = counted(server)
    finally:
        broker.stop()
    with capsys.disabled():
        print(f"\n[kafka broker restart] {len(first)} events before the kill, {len(second)} after the restart; "
              f"all in the log {resumed:.1f} s after the restart: {result}")
    assert status["status"] == "ok" and status["kafka"]["brokersUp"]
    assert result == {"logged": 400, "completed_runs_in_graph": 200}
