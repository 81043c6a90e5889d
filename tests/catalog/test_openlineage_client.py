"""The real openlineage-python client (HttpTransport, gzip, api key) against a live server."""

import uuid
from datetime import datetime, timezone

import httpx
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import schema_dataset
from openlineage.client.transport.http import HttpConfig, HttpTransport

from catalog.keys import KeyStore
from tests.conftest import ServerProcess

@pytest.fixture
def keys(tmp_path):
    store = KeyStore(tmp_path / "data")
    tokens = {"producer": store.create("python-client", "producer")[1], "viewer": store.create("reader", "viewer")[1]}
    store.close()
    return tokens


@pytest.fixture
def secured_server(tmp_path, keys, graph_args):
    with ServerProcess(tmp_path / "data", *graph_args, auth=True) as server:
        yield server


def client_for(url: str, key: str) -> OpenLineageClient:
    config = HttpConfig.from_dict({"url": url, "compression": "gzip", "timeout": 10,
                                   "auth": {"type": "api_key", "apiKey": key}, "retry": {"total": 0}})
    return OpenLineageClient(transport=HttpTransport(config))


def emit_pipeline(client: OpenLineageClient) -> str:
    run_id = str(uuid.uuid4())
    now = datetime.now(timezone.utc).isoformat()
    schema = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="email", type="TEXT")])
    job = Job(namespace="python-client", name="load_users")
    inputs = [InputDataset(namespace="postgres://db", name="public.users", facets={"schema": schema})]
    outputs = [OutputDataset(namespace="s3://lake", name="users_copy")]
    for state in (RunState.START, RunState.COMPLETE):
        client.emit(RunEvent(eventType=state, eventTime=now, run=Run(runId=run_id), job=job,
                             producer="https://example.com/test", inputs=inputs, outputs=outputs))
    return run_id


def test_client_posts_with_gzip_and_api_key_and_lineage_reads_back(secured_server, keys):
    emit_pipeline(client_for(secured_server.url, keys["producer"]))
    headers = {"Authorization": f"Bearer {keys['viewer']}"}
    graph = httpx.get(secured_server.url + "/api/v1/lineage", headers=headers,
                      params={"nodeId": "dataset:s3://lake:users_copy", "depth": 2}).json()["graph"]
    ids = {node["id"] for node in graph}
    assert ids == {"dataset:s3://lake:users_copy", "dataset:postgres://db:public.users", "job:python-client:load_users"}
    job = next(n for n in graph if n["type"] == "JOB")
    assert job["data"]["latestRun"]["state"] == "COMPLETE"
    metrics = httpx.get(secured_server.url + "/metrics").text
    assert 'catalog_ingest_bodies_total{encoding="gzip"} 2.0' in metrics


def test_wrong_or_missing_key_is_refused_and_writes_nothing(secured_server):
    with pytest.raises(Exception):
        emit_pipeline(client_for(secured_server.url, "wrong-key"))
    assert httpx.get(secured_server.url + "/api/v1/lineage").status_code == 401
    assert httpx.get(secured_server.url + "/health").json()["eventLog"]["events"] == 0
    assert "wrong-key" not in secured_server.log()
